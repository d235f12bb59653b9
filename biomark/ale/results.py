"""Self-describing, frozen results of an ALE analysis and of a two-group contrast.

Maps are 1-D over the in-mask voxels (``(n_mask_voxels,)``, in ``numpy.flatnonzero(mask)``
order); :meth:`AleResult.volume` puts any of them back on the grid. Arrays are read-only. Each
result carries its parameters, warnings, a methods paragraph and its references, so that a
report only reads it. Cluster tables are built on demand from a result with
:func:`ale_cluster_table` / :func:`contrast_cluster_table` (atlases are passed in: no file I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from biomark.ale.clusters import Clusters, cluster_table
from biomark.ale.labels import AtlasArrays
from biomark.ale.montecarlo import MonteCarloNull
from biomark.ale.null import NullHistogram
from biomark.space import Grid, mm_to_ijk

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Correction = Literal["cfwe", "vfwe", "fdr", "none"]
Direction = Literal["a_minus_b", "b_minus_a", "conjunction"]


def frozen_array(values: NDArray[Any]) -> NDArray[Any]:
    """A read-only copy-free view of ``values`` (results never change after fitting)."""
    out = np.asarray(values).view()
    out.setflags(write=False)
    return out


def to_volume(values: NDArray[Any], mask: BoolArray, fill: float = 0.0) -> NDArray[Any]:
    """Put masked values ``(n_mask_voxels,)`` back on the grid of ``mask`` (``fill`` outside)."""
    values = np.asarray(values)
    out = np.full(mask.shape, fill, dtype=values.dtype)
    out[mask] = values
    return out


@dataclass(frozen=True, eq=False)
class AleResult:
    """One ALE analysis (Eickhoff 2009/2012, Turkeltaub 2012), fitted by ``fit_ale``.

    Attributes
    ----------
    grid, mask
        The voxel grid and the 3-D boolean brain mask the maps live in.
    ale, p, z, logp
        Masked maps ``(n_mask_voxels,)``: ALE, analytic-null p, z = Φ⁻¹(1 − p), −log10 p.
    n_experiments, n_foci, n_foci_outside_mask
        Input counts; foci outside the mask still contribute their in-mask kernel tail.
    n_subjects, ma_peak, ma_n_voxels
        Per experiment: sample size, largest MA value and number of in-mask voxels with MA > 0.
    null
        The analytic ALE null histogram.
    cluster_forming_threshold
        ALE value above which voxels form clusters (voxel p < ``cluster_forming_p``).
    montecarlo
        Monte Carlo null maxima per iteration (``None`` when no Monte Carlo was run).
    p_voxel_fwe
        Voxel-level FWE p, masked (``None`` without Monte Carlo).
    cluster_labels
        Masked int map: clusters of ALE > ``cluster_forming_threshold``, 1..n (0 = none),
        numbered in ``scipy.ndimage.label`` scan order.
    cluster_size_voxels, cluster_mass, cluster_p_fwe, cluster_mass_p_fwe
        Per cluster label 1..n (index 0 = label 1): size, mass Σ(ALE − threshold) and their
        FWE p against the Monte Carlo maxima (NaN without Monte Carlo).
    significant
        Masked bool: voxels surviving the chosen correction (and the minimum cluster volume).
    z_thresholded
        ``z`` where ``significant``, else 0.
    correction
        ``"cfwe"``, ``"vfwe"``, ``"fdr"`` or ``"none"``.
    warnings, parameters, methods, references
        What the report must say about this analysis.
    """

    grid: Grid
    mask: BoolArray
    ale: FloatArray
    p: FloatArray
    z: FloatArray
    logp: FloatArray
    n_experiments: int
    n_foci: int
    n_foci_outside_mask: int
    n_subjects: FloatArray
    ma_peak: FloatArray
    ma_n_voxels: IntArray
    null: NullHistogram
    cluster_forming_threshold: float
    montecarlo: MonteCarloNull | None
    p_voxel_fwe: FloatArray | None
    cluster_labels: IntArray
    cluster_size_voxels: FloatArray
    cluster_mass: FloatArray
    cluster_p_fwe: FloatArray
    cluster_mass_p_fwe: FloatArray
    significant: BoolArray
    z_thresholded: FloatArray
    correction: Correction
    warnings: tuple[str, ...]
    parameters: Mapping[str, Any]
    methods: str
    references: tuple[str, ...]

    @property
    def n_mask_voxels(self) -> int:
        """Number of in-mask voxels (length of every masked map)."""
        return int(self.ale.shape[0])

    @property
    def ale_thresholded(self) -> FloatArray:
        """ALE where the chosen correction survives, else 0 (masked)."""
        out: FloatArray = np.where(self.significant, self.ale, 0.0)
        return out

    def volume(self, values: NDArray[Any], fill: float = 0.0) -> NDArray[Any]:
        """A masked map of this result on its grid, e.g. ``result.volume(result.z)``."""
        return to_volume(values, self.mask, fill)


@dataclass(frozen=True, eq=False)
class ContrastResult:
    """A two-group ALE contrast (subtraction both ways and conjunction), fitted by ``fit_contrast``.

    Attributes
    ----------
    names
        Group names ``(A, B)``.
    main_a, main_b
        The groups' own ALE analyses (their ``significant`` maps gate the contrast).
    mode
        ``"gated"`` (GingerALE: A − B tested only where A's main effect survives, B − A only
        where B's does) or ``"whole_mask"`` (NiMARE).
    diff
        ALE_A − ALE_B, masked.
    p_a_minus_b, p_b_minus_a
        One-sided permutation p of each direction, masked; 1 where not tested.
    z_a_minus_b, z_b_minus_a
        Φ⁻¹(1 − p), masked; 0 where not tested.
    tested_a_minus_b, tested_b_minus_a
        Masked bool: where each direction was tested.
    a_minus_b, b_minus_a
        Thresholded z maps (p < ``contrast_p`` and the minimum cluster volume), else 0.
    conjunction
        Voxel-wise minimum of the two groups' thresholded ALE maps.
    n_permutations
        Label permutations used.
    warnings, parameters, methods, references
        What the report must say about this contrast.
    """

    grid: Grid
    mask: BoolArray
    names: tuple[str, str]
    main_a: AleResult
    main_b: AleResult
    mode: Literal["gated", "whole_mask"]
    diff: FloatArray
    p_a_minus_b: FloatArray
    p_b_minus_a: FloatArray
    z_a_minus_b: FloatArray
    z_b_minus_a: FloatArray
    tested_a_minus_b: BoolArray
    tested_b_minus_a: BoolArray
    a_minus_b: FloatArray
    b_minus_a: FloatArray
    conjunction: FloatArray
    n_permutations: int
    warnings: tuple[str, ...]
    parameters: Mapping[str, Any]
    methods: str
    references: tuple[str, ...]

    def volume(self, values: NDArray[Any], fill: float = 0.0) -> NDArray[Any]:
        """A masked map of this result on its grid."""
        return to_volume(values, self.mask, fill)


def ale_cluster_table(
    result: AleResult,
    atlases: Mapping[str, AtlasArrays] | None = None,
    *,
    subpeak_min_distance_mm: float = 8.0,
) -> tuple[pd.DataFrame, Clusters]:
    """The cluster table of a fitted ALE (clusters of ``z_thresholded``), largest first.

    Adds ``cluster_p_fwe`` (the cluster-level FWE p of the cluster-forming cluster holding the
    table cluster's peak; NaN without Monte Carlo).
    """
    table, found = cluster_table(
        result.volume(result.z_thresholded),
        ale_map_3d=result.volume(result.ale),
        z_map_3d=result.volume(result.z),
        grid=result.grid,
        connectivity=int(result.parameters["connectivity"]),
        min_volume_mm3=float(result.parameters["min_cluster_mm3"]),
        subpeak_min_distance_mm=subpeak_min_distance_mm,
        atlases=atlases,
    )
    if len(table):
        labels_3d = result.volume(result.cluster_labels)
        p_by_label = np.concatenate([[np.nan], result.cluster_p_fwe])
        ijk = mm_to_ijk(table[["peak_x", "peak_y", "peak_z"]].to_numpy(), result.grid)
        table["cluster_p_fwe"] = p_by_label[labels_3d[tuple(ijk.T)]]
    return table, found


def contrast_cluster_table(
    result: ContrastResult,
    direction: Direction,
    atlases: Mapping[str, AtlasArrays] | None = None,
    *,
    subpeak_min_distance_mm: float = 8.0,
) -> tuple[pd.DataFrame, Clusters]:
    """The cluster table of one contrast map (``a_minus_b``, ``b_minus_a`` or ``conjunction``).

    Peaks are found on the map itself (z for the subtractions, ALE for the conjunction).
    """
    stat = {
        "a_minus_b": result.a_minus_b,
        "b_minus_a": result.b_minus_a,
        "conjunction": result.conjunction,
    }[direction]
    min_mm3 = (
        float(result.parameters["contrast_min_cluster_mm3"]) if direction != "conjunction" else 0.0
    )
    return cluster_table(
        result.volume(stat),
        ale_map_3d=result.volume(result.diff) if direction != "conjunction" else None,
        z_map_3d=None
        if direction == "conjunction"
        else result.volume(result.z_a_minus_b if direction == "a_minus_b" else result.z_b_minus_a),
        grid=result.grid,
        connectivity=int(result.parameters["connectivity"]),
        min_volume_mm3=min_mm3,
        subpeak_min_distance_mm=subpeak_min_distance_mm,
        atlases=atlases,
        peaks_on="stat",
    )


#: Voxels of GingerALE's "more conservative" MNI152 2 mm mask (NiMARE ships the same set).
GINGERALE_MASK_VOXELS = 228483

FDR_WARNING = (
    "Voxel-level FDR is not recommended for ALE: Eickhoff et al. (2016) found it both liberal "
    "and spatially unspecific, and GingerALE up to 2.3.2 applied it too liberally (Eickhoff et "
    "al., 2017, erratum). Cluster-level FWE is the recommended correction."
)

REFERENCES: Mapping[str, str] = {
    "eickhoff2009": "Eickhoff SB, Laird AR, Grefkes C, Wang LE, Zilles K, Fox PT (2009). "
    "Coordinate-based activation likelihood estimation meta-analysis of neuroimaging data: a "
    "random-effects approach based on empirical estimates of spatial uncertainty. Hum Brain "
    "Mapp 30:2907-2926.",
    "eickhoff2011": "Eickhoff SB, Bzdok D, Laird AR, Roski C, Caspers S, Zilles K, Fox PT "
    "(2011). Co-activation patterns distinguish cortical modules, their connectivity and "
    "functional differentiation. NeuroImage 57:938-949.",
    "eickhoff2012": "Eickhoff SB, Bzdok D, Laird AR, Kurth F, Fox PT (2012). Activation "
    "likelihood estimation meta-analysis revisited. NeuroImage 59:2349-2361.",
    "eickhoff2016": "Eickhoff SB, Nichols TE, Laird AR, Hoffstaedter F, Amunts K, Fox PT, "
    "Bzdok D, Eickhoff CR (2016). Behavior, sensitivity, and power of activation likelihood "
    "estimation characterized by massive empirical simulation. NeuroImage 137:70-85.",
    "eickhoff2017": "Eickhoff SB, Laird AR, Fox PM, Lancaster JL, Fox PT (2017). Implementation "
    "errors in the GingerALE Software: Description and recommendations. Hum Brain Mapp 38:7-11.",
    "turkeltaub2012": "Turkeltaub PE, Eickhoff SB, Laird AR, Fox M, Wiener M, Fox P (2012). "
    "Minimizing within-experiment and within-group effects in activation likelihood estimation "
    "meta-analyses. Hum Brain Mapp 33:1-13.",
    "salo2023": "Salo T, Yarkoni T, Nichols TE, Poline J-B, Kent JD, Gorgolewski KJ, et al. "
    "(2023). NiMARE: Neuroimaging Meta-Analysis Research Environment. Aperture Neuro 3.",
    "bh1995": "Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a practical "
    "and powerful approach to multiple testing. J R Stat Soc B 57:289-300.",
    "by2001": "Benjamini Y, Yekutieli D (2001). The control of the false discovery rate in "
    "multiple testing under dependency. Ann Stat 29:1165-1188.",
}


def _correction_sentence(opts: Mapping[str, Any]) -> tuple[str, list[str]]:
    c, n = opts["correction"], opts["n_iterations"]
    conn = f"{opts['connectivity']}-connected"
    if c == "cfwe":
        return (
            f"Results were thresholded at cluster-level family-wise error (FWE) p < "
            f"{opts['cluster_p']:g} with a cluster-forming threshold of voxel p < "
            f"{opts['cluster_forming_p']:g} (ALE > {opts['cluster_forming_ale']:.5f}); the null "
            f"distribution of the largest {conn} cluster came from {n:,} Monte Carlo iterations "
            "that relocated every focus to a random in-mask voxel (Eickhoff et al., 2012, 2016), "
            "and corrected p = (1 + #null ≥ observed) / (1 + iterations).",
            ["eickhoff2016"],
        )
    if c == "vfwe":
        return (
            f"Results were thresholded at voxel-level FWE p < {opts['voxel_fwe_p']:g}, against "
            f"the maximum ALE of {n:,} Monte Carlo iterations with randomly relocated foci "
            "(Eickhoff et al., 2012).",
            [],
        )
    if c == "fdr":
        rule = (
            "Benjamini-Hochberg (pID)"
            if opts["fdr_method"] == "bh"
            else ("Benjamini-Yekutieli (pN)")
        )
        return (
            f"Results were thresholded at voxel-level false discovery rate q < {opts['fdr_q']:g} "
            f"({rule}). Voxel-level FDR is not recommended for ALE (Eickhoff et al., 2016), and "
            "GingerALE up to 2.3.2 applied it too liberally (Eickhoff et al., 2017).",
            ["eickhoff2016", "eickhoff2017", "bh1995" if opts["fdr_method"] == "bh" else "by2001"],
        )
    return (
        f"Results were thresholded at uncorrected voxel p < {opts['cluster_forming_p']:g}, "
        "without correction for multiple comparisons.",
        [],
    )


def ale_methods(
    opts: Mapping[str, Any], n_experiments: int, n_foci: int, n_subjects: float,
    n_outside: int, grid: Grid,
) -> tuple[str, tuple[str, ...]]:  # fmt: skip
    """The methods paragraph of an ALE analysis and its references."""
    vox = "×".join(f"{v:g}" for v in grid.voxel_size_mm)
    correction, extra = _correction_sentence(opts)
    mask = (
        "GingerALE's 'more conservative' MNI152 2 mm brain mask"
        if opts["n_mask_voxels"] == GINGERALE_MASK_VOXELS and vox == "2×2×2"
        else "the brain mask"
    )
    text = (
        "Activation likelihood estimation (ALE; Eickhoff et al., 2009, 2012; Turkeltaub et al., "
        f"2012) combined {n_experiments} experiments ({n_foci} foci, {n_subjects:g} subjects). "
        f"Each focus was assigned to the nearest voxel of a {vox} mm grid, rounding halves to "
        f"even as NiMARE does (Salo et al., 2023), and analysed within {mask} "
        f"({opts['n_mask_voxels']:,} voxels); the {n_outside} foci outside it contributed only "
        "the in-mask part of their kernels. Each focus was modelled as a 3-D Gaussian whose "
        "width combines between-template and between-subject uncertainty for the experiment's "
        "sample size (Eickhoff et al., 2009), with the standard deviation converted to voxels "
        "per axis so that it is correct at any voxel size (NiMARE's conversion is exact only at "
        "2 mm isotropic voxels, where both agree). Each experiment's modelled-activation map "
        "took the voxel-wise maximum over its foci (Turkeltaub et al., 2012), and "
        "ALE = 1 − Π(1 − MA). Voxel p-values came from the analytic null distribution "
        f"(Eickhoff et al., 2012) on an ALE grid of step 10⁻⁵. {correction}"
    )
    if opts["min_cluster_mm3"] > 0:
        text += f" Clusters smaller than {opts['min_cluster_mm3']:g} mm³ were discarded."
    keys = ["eickhoff2009", "eickhoff2012", "turkeltaub2012", "salo2023", *extra]
    return text, tuple(REFERENCES[k] for k in dict.fromkeys(keys))


def contrast_methods(
    opts: Mapping[str, Any], names: tuple[str, str], n_a: int, n_b: int
) -> tuple[str, tuple[str, ...]]:
    """The methods paragraph of a two-group contrast and its references."""
    a, b = names
    gate = (
        f"As in GingerALE, {a} > {b} was tested only in voxels significant in the {a} main "
        f"effect and {b} > {a} only in those significant in the {b} main effect."
        if opts["mode"] == "gated"
        else "As in NiMARE, every in-mask voxel was tested."
    )
    text = (
        f"Group differences between {a} ({n_a} experiments) and {b} ({n_b} experiments) were "
        f"assessed by ALE subtraction (Eickhoff et al., 2011, 2012): the difference of the group "
        f"ALE maps was compared with {opts['n_permutations']:,} random re-assignments of "
        "experiments to groups of the original sizes, giving one-sided voxel p = (1 + #permuted "
        "difference ≥ observed) / (1 + permutations). Log(1 − MA) values were rounded to "
        "multiples of 2⁻⁴⁰ so that every grouping's sum is exact and the observed grouping ties "
        "with its own permuted copies (NiMARE 0.22.1 compares float32 with float64 values "
        f"there, which makes p too small in low-ALE voxels). {gate} Differences were thresholded "
        f"at p < {opts['contrast_p']:g}"
        + (
            f" with a minimum cluster volume of {opts['contrast_min_cluster_mm3']:g} mm³."
            if opts["contrast_min_cluster_mm3"] > 0
            else "."
        )
        + " The conjunction is the voxel-wise minimum of the two thresholded main-effect ALE "
        "maps."
    )
    return text, tuple(REFERENCES[k] for k in ("eickhoff2011", "eickhoff2012", "salo2023"))
