"""ALE scores and their analytic null distribution (Eickhoff et al. 2012, NeuroImage 59:2349).

ALE = 1 − Π_e (1 − MA_e), computed as ``-expm1(Σ_e log1p(−MA_e))`` for speed and precision.
Under the null every experiment's MA value at a voxel is a draw from the histogram of its own
MA map over all mask voxels (zeros included); the ALE null is the distribution of
1 − Π(1 − MA_e) over independent draws, built by combining the histograms one experiment at a
time on NiMARE's grid of bin centres (step 1e-5, values assigned to the nearest centre, ties
upward). This is exact on that grid and reproduces NiMARE 0.22.1's null bin for bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from biomark.ale.engine import Engine
from biomark.ale.engine import resolve_engine as _resolve_engine
from biomark.ale.ma import MaMaps

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


#: Width of an analytic-null histogram bin, in ALE units (NiMARE's grid).
BIN_STEP = 1e-5


@dataclass(frozen=True, slots=True)
class NullHistogram:
    """An ALE null distribution on a grid: ``weights[b]`` = P(ALE falls in bin ``b``).

    ``bin_centres`` start at 0 with step :data:`BIN_STEP`.
    """

    bin_centres: FloatArray
    weights: FloatArray

    @property
    def upper_tail(self) -> FloatArray:
        """P(ALE ≥ bin centre b) for every bin, ``(n_bins,)``."""
        tail = np.cumsum(self.weights[::-1])[::-1]
        out: FloatArray = tail / tail[0]
        return out


def ale_from_ma(ma: MaMaps) -> FloatArray:
    """ALE per in-mask voxel, ``(n_mask_voxels,)``, in [0, 1)."""
    # Row by row (a row's columns are distinct): every voxel's terms are added in the same
    # order as by one bincount over all rows, without that bincount's nnz-sized temporaries
    # (~200 MB for 1,000 experiments).
    log_sum = np.zeros(ma.n_mask_voxels)
    for e in range(ma.n_experiments):
        columns, values = ma.row(e)
        log_sum[columns] += np.log1p(-values)
    out: FloatArray = -np.expm1(log_sum)
    return out


def nearest_bin(values: FloatArray, inv_step: float, n_bins: int) -> IntArray:
    """Index of the nearest bin centre (half-way values go up), clipped to the grid."""
    scaled = np.asarray(values, dtype=np.float64) * inv_step
    floor = np.floor(scaled)
    idx = floor.astype(np.int64) + (scaled - floor >= 0.5)
    return np.clip(idx, 0, n_bins - 1)


def null_bin_centres(max_ma: FloatArray) -> FloatArray:
    """NiMARE's bin centres: 0 … the largest attainable ALE, step 1e-5."""
    inv = round(1.0 / BIN_STEP)
    top = np.ceil(np.asarray(max_ma, dtype=np.float64) * inv) / inv
    max_ale = 1.0 - float(np.prod(1.0 - top))
    return np.round(np.arange(0.0, max_ale + 1.5 * BIN_STEP, BIN_STEP), 5)


def _experiment_histogram(
    values: FloatArray, n_mask_voxels: int, inv_step: float, n_bins: int
) -> FloatArray:
    hist = np.bincount(nearest_bin(values, inv_step, n_bins), minlength=n_bins).astype(float)
    hist[0] += n_mask_voxels - values.shape[0]
    out: FloatArray = hist / n_mask_voxels
    return out


def combine_numpy(ale_hist: FloatArray, exp_hist: FloatArray, centres: FloatArray) -> FloatArray:
    """Distribution of 1 − (1 − a)(1 − b) for independent a ~ ale_hist, b ~ exp_hist.

    The numpy reference of the compiled :func:`biomark.ale._null_kernel.combine_into`.
    """
    inv_step = 1.0 / (centres[1] - centres[0])
    a_idx = np.flatnonzero(ale_hist)
    out = np.zeros_like(ale_hist)
    for e_idx in np.array_split(np.flatnonzero(exp_hist), max(1, a_idx.shape[0] // 4096)):
        one_minus = 1.0 - centres[e_idx]
        scores = 1.0 - np.outer(one_minus, 1.0 - centres[a_idx])
        probs = np.outer(exp_hist[e_idx], ale_hist[a_idx])
        bins = nearest_bin(scores.ravel(), inv_step, centres.shape[0])
        out += np.bincount(bins, weights=probs.ravel(), minlength=centres.shape[0])
    return out


def _combine_numba(ale_hist: FloatArray, exp_hist: FloatArray, centres: FloatArray) -> FloatArray:
    from biomark.ale._null_kernel import combine_into  # lazy: numba import costs ~0.5 s

    inv_step = 1.0 / (centres[1] - centres[0])
    exp_bins = np.flatnonzero(exp_hist)
    out = np.zeros_like(ale_hist)
    combine_into(ale_hist, exp_bins, exp_hist[exp_bins], centres, inv_step, out)
    return out


def resolve_engine(engine: Engine) -> Literal["numba", "numpy"]:
    """The engine ``"auto"`` stands for here: numba if its kernel imports, else numpy."""
    return _resolve_engine(engine, "biomark.ale._null_kernel")


def analytic_null(ma: MaMaps, engine: Engine = "auto") -> NullHistogram:
    """The analytic ALE null for these MA maps (Eickhoff 2012), on NiMARE's bin grid.

    ``engine`` picks the histogram convolution: ``"numba"`` (compiled, ~10x faster),
    ``"numpy"`` (the reference) or ``"auto"``. Both put every pair of bins in the same output
    bin; bin weights may differ in the last bits (order of additions).
    """
    combine = _combine_numba if resolve_engine(engine) == "numba" else combine_numpy
    centres = null_bin_centres(ma.row_max())
    inv_step = 1.0 / (centres[1] - centres[0])
    hist: FloatArray | None = None
    for e in range(ma.n_experiments):
        _, values = ma.row(e)
        exp_hist = _experiment_histogram(values, ma.n_mask_voxels, inv_step, centres.shape[0])
        hist = exp_hist if hist is None else combine(hist, exp_hist, centres)
    if hist is None:
        hist = np.zeros_like(centres)
        hist[0] = 1.0
    return NullHistogram(bin_centres=centres, weights=hist)


def p_from_null(ale: FloatArray, null: NullHistogram) -> FloatArray:
    """Upper-tail p of each ALE value under ``null``; 1 where ALE is 0.

    p is read at the bin nearest the ALE value (halves away from zero, as NiMARE) and never
    falls below the smallest non-zero tail probability.
    """
    ale = np.asarray(ale, dtype=np.float64)
    tail = null.upper_tail
    inv_step = 1.0 / (null.bin_centres[1] - null.bin_centres[0])
    p = np.ones_like(ale)
    pos = ale > 0
    p[pos] = tail[nearest_bin(ale[pos], inv_step, tail.shape[0])]
    smallest = tail[tail > 0].min()
    out: FloatArray = np.clip(p, smallest, 1.0)
    return out


def z_from_p(p: FloatArray) -> FloatArray:
    """One-sided z = Φ⁻¹(1 − p)."""
    out: FloatArray = stats.norm.isf(np.asarray(p, dtype=np.float64))
    return out


def ale_threshold(null: NullHistogram, p: float) -> float:
    """The cluster-forming ALE threshold for voxel-level ``p`` (voxels with ALE > it pass).

    The last bin centre whose upper-tail probability still exceeds ``p`` (NiMARE's rule, so
    the threshold is conservative).
    """
    if not 0 < p < 1:
        raise ValueError(f"p must lie in (0, 1), got {p}")
    below = np.flatnonzero(null.upper_tail <= p)
    if below.size == 0:
        return float(null.bin_centres[-1])
    return float(null.bin_centres[max(0, int(below[0]) - 1)])
