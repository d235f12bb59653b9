"""The design of a simulated meta-analysis whose power biomark estimates (plain data).

A :class:`PowerDesign` fixes what one simulated meta-analysis looks like — two groups of
experiments with their subjects and foci, the planted ipsilesional-MI ventral shift between the
groups and an optional region that some experiments of one group report — and how much
simulation to spend on it. :data:`PRESETS` names ready-made designs; ``outcome`` is the seed
paper's outcome comparison (SCIENCE.md §1: 9 good-outcome experiments, 95 subjects, 59 foci vs 5
poor-outcome experiments, 35 subjects, 48 foci).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np

from biomark.ale.montecarlo import CHUNK_SIZE
from biomark.errors import InputError
from biomark.parallel import chunk_sizes
from biomark.simulate.design import REGIONS, SimulationDesign

GroupKey = Literal["a", "b"]

# Per-experiment sizes of the paper's outcome analyses as the embedded dataset realises them
# (biomark/simulate/design.py): good = Yc, I1, G2, G3, G4, G5, G6, G7, G8 (the 62-day cohort-K
# experiment I1 included, which makes the paper's 9 / 95 / 59 exact, see data/embedded/README.md);
# poor = P2, P1, P3, P4, P5 (5 / 35 / 48).
_GOOD_N: Final = (32, 17, 6, 6, 6, 8, 8, 6, 6)
_GOOD_FOCI: Final = (12, 9, 6, 6, 4, 4, 6, 6, 6)
_POOR_N: Final = (6, 8, 7, 8, 6)
_POOR_FOCI: Final = (22, 9, 9, 4, 4)


@dataclass(frozen=True, slots=True)
class PowerDesign:
    """One simulated two-group meta-analysis design and the simulation effort spent on it.

    Attributes
    ----------
    name
        Preset name or a free label, stamped into every result.
    label_a, label_b
        Plain names of the two groups, e.g. ``"good-outcome"``.
    n_subjects_a, n_subjects_b
        Subjects per experiment; the number of experiments of a group is their count.
    foci_a, foci_b
        Foci per experiment (≥ 2: one ipsilesional-MI peak plus background foci).
    shift_mm
        Planted ventral shift (mm, along −z) of the MI peaks of ``shifted_group``.
    shifted_group
        The group whose MI peaks lie ``shift_mm`` ventral of the other group's.
    mi_centre_mm
        The unshifted true MI peak (MNI mm, ipsilesional = left).
    cohort_sd_mm
        Per-axis SD of a cohort's true peak around its group position (between-study spread).
    mi_neighbours
        Whether the experiments of the peak-shift simulations also report dorsal premotor and
        somatosensory foci at the rates of the real motor tables
        (:data:`biomark.shift.neighbours.MI_NEIGHBOURS`), as users' experiments do.
    target_mm, target_fraction, target_group
        A region (MNI mm) reported by ``round(target_fraction · n)`` experiments of
        ``target_group`` (one extra focus each, with Eickhoff noise); ``None`` = no target.
    hit_radius_mm
        An ALE cluster detects a planted location when one of its voxels lies this close to it.
    replicates
        Simulated meta-analyses for ALE power (and for the null calibration of ALE).
    bayes_replicates, bayes_block_size
        Simulated data sets fitted with the Bayesian model (each costs seconds), and how many
        share one compiled model (one chunk).
    curve_shifts_mm, curve_replicates
        Shift sizes of the Welch power curve and replicates per shift; the Welch power at
        ``shift_mm`` is read from the same simulation.
    ale_iterations
        Monte Carlo iterations of the (shared) cluster-level FWE null.
    contrast_splits, contrast_permutations
        Null splits in the contrast calibration and label permutations per split.
    chains, draws, tune
        NUTS settings of each Bayesian fit (one core per fit).
    alpha, p_direction, hdi_prob, cluster_forming_p
        Test level, Bayesian decision threshold on P(direction), HDI mass, voxel p forming
        ALE clusters.
    block_size
        Replicates per chunk of :func:`biomark.parallel.map_chunks` (fixes which random numbers a
        replicate sees, so it is part of the design, not of the backend).
    """

    name: str = "custom"
    label_a: str = "group A"
    label_b: str = "group B"
    n_subjects_a: tuple[int, ...] = (12,) * 10
    n_subjects_b: tuple[int, ...] = (12,) * 10
    foci_a: tuple[int, ...] = (8,) * 10
    foci_b: tuple[int, ...] = (8,) * 10
    shift_mm: float = 6.0
    shifted_group: GroupKey = "b"
    mi_centre_mm: tuple[float, float, float] = REGIONS["mi_ipsi"].centre_mm
    cohort_sd_mm: float = SimulationDesign().cohort_sd_mm
    mi_neighbours: bool = True
    target_mm: tuple[float, float, float] | None = None
    target_fraction: float = 0.5
    target_group: GroupKey = "a"
    hit_radius_mm: float = 4.0
    replicates: int = 400
    bayes_replicates: int = 40
    bayes_block_size: int = 5
    curve_shifts_mm: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0)
    curve_replicates: int = 2000
    ale_iterations: int = 10000
    contrast_splits: int = 40
    contrast_permutations: int = 1000
    chains: int = 2
    draws: int = 500
    tune: int = 500
    alpha: float = 0.05
    p_direction: float = 0.95
    hdi_prob: float = 0.95
    cluster_forming_p: float = 0.001
    block_size: int = 25

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def n_a(self) -> int:
        """Experiments in group a."""
        return len(self.n_subjects_a)

    @property
    def n_b(self) -> int:
        """Experiments in group b."""
        return len(self.n_subjects_b)

    @property
    def replicate_blocks(self) -> list[int]:
        """Sizes of the blocks of ``block_size`` replicates covering ``replicates``."""
        return chunk_sizes(self.replicates, self.block_size)

    @property
    def bayes_blocks(self) -> list[int]:
        """Sizes of the blocks of ``bayes_block_size`` fits covering ``bayes_replicates``."""
        return chunk_sizes(self.bayes_replicates, self.bayes_block_size)

    @property
    def null_chunks(self) -> int:
        """Chunks of the shared ALE Monte Carlo null (``ale_iterations`` in Monte Carlo chunks)."""
        return -(-self.ale_iterations // CHUNK_SIZE)

    @property
    def n_target_carriers(self) -> int:
        """Experiments of ``target_group`` that report the target (0 without a target)."""
        if self.target_mm is None:
            return 0
        n = self.n_a if self.target_group == "a" else self.n_b
        return round(self.target_fraction * n)

    def group_sizes(self, group: GroupKey) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """``(subjects per experiment, foci per experiment)`` of one group."""
        if group == "a":
            return self.n_subjects_a, self.foci_a
        return self.n_subjects_b, self.foci_b

    def as_dict(self) -> dict[str, Any]:
        """JSON-able description (tuples become lists) for provenance."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def _validate(d: PowerDesign) -> None:
    for group in ("a", "b"):
        n, foci = d.group_sizes(group)
        if len(n) < 2 or len(n) != len(foci):
            raise InputError(
                f"group {group} needs ≥ 2 experiments with as many focus counts as sample sizes; "
                f"got {len(n)} sample sizes and {len(foci)} focus counts",
                source="power design",
            )
        if min(n) < 1 or min(foci) < 2:
            raise InputError(
                f"group {group}: every experiment needs ≥ 1 subject and ≥ 2 foci (the MI peak "
                "and at least one more)",
                source="power design",
            )
    checks = (
        (d.shift_mm >= 0, f"shift_mm must be ≥ 0 (a ventral shift), got {d.shift_mm}"),
        (d.cohort_sd_mm >= 0, f"cohort_sd_mm must be ≥ 0, got {d.cohort_sd_mm}"),
        (
            0 <= d.target_fraction <= 1,
            f"target_fraction must lie in [0, 1], got {d.target_fraction}",
        ),
        (d.replicates >= 2, f"replicates must be ≥ 2, got {d.replicates}"),
        (d.bayes_replicates >= 0, f"bayes_replicates must be ≥ 0, got {d.bayes_replicates}"),
        (d.curve_replicates >= 2, f"curve_replicates must be ≥ 2, got {d.curve_replicates}"),
        (d.contrast_splits >= 2, f"contrast_splits must be ≥ 2, got {d.contrast_splits}"),
        (d.contrast_permutations >= 1, "contrast_permutations must be ≥ 1"),
        (d.ale_iterations >= 1, f"ale_iterations must be ≥ 1, got {d.ale_iterations}"),
        (
            min(d.chains, d.draws, d.tune, d.block_size, d.bayes_block_size) >= 1,
            "chains, draws, tune and block sizes must be ≥ 1",
        ),
        (0 < d.alpha < 1 and 0 < d.cluster_forming_p < 1, "alpha and p levels must lie in (0, 1)"),
        (0.5 < d.p_direction < 1 and 0 < d.hdi_prob < 1, "p_direction in (0.5, 1), hdi in (0, 1)"),
        (d.hit_radius_mm >= 0, f"hit_radius_mm must be ≥ 0, got {d.hit_radius_mm}"),
    )
    for ok, message in checks:
        if not ok:
            raise InputError(message, source="power design")


def resize(design: PowerDesign, n_a: int | None = None, n_b: int | None = None) -> PowerDesign:
    """The design with ``n_a`` / ``n_b`` experiments; sample sizes and foci repeat cyclically."""

    def cycle(values: tuple[int, ...], n: int | None) -> tuple[int, ...]:
        if n is None:
            return values
        if n < 2:
            raise InputError(f"a group needs ≥ 2 experiments, got {n}", source="power design")
        return tuple(int(v) for v in np.resize(np.asarray(values), n))

    return replace(
        design,
        n_subjects_a=cycle(design.n_subjects_a, n_a),
        foci_a=cycle(design.foci_a, n_a),
        n_subjects_b=cycle(design.n_subjects_b, n_b),
        foci_b=cycle(design.foci_b, n_b),
    )


PRESETS: Final[Mapping[str, PowerDesign]] = MappingProxyType(
    {
        # Good-outcome MI peaks lie ventral of poor-outcome ones (SCIENCE.md §1: the MI shift goes
        # with good outcome); the target is the contralesional SMA, one of the good > poor
        # regions, far enough from MI (≈ 40 mm) that the two never share a cluster.
        "outcome": PowerDesign(
            name="outcome",
            label_a="good-outcome",
            label_b="poor-outcome",
            n_subjects_a=_GOOD_N,
            n_subjects_b=_POOR_N,
            foci_a=_GOOD_FOCI,
            foci_b=_POOR_FOCI,
            shift_mm=6.0,
            shifted_group="a",
            target_mm=REGIONS["sma_contra"].centre_mm,
            target_fraction=0.5,
            target_group="a",
        ),
    }
)


def preset(name: str) -> PowerDesign:
    """The named design of :data:`PRESETS`.

    Raises
    ------
    InputError
        Unknown name.
    """
    if name not in PRESETS:
        raise InputError(f"unknown design {name!r}; expected one of {sorted(PRESETS)}")
    return PRESETS[name]
