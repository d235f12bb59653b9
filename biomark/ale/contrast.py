"""ALE subtraction (Eickhoff et al. 2011 NeuroImage 57:938; 2012) and conjunction.

The null of the group difference ALE₁ − ALE₂ comes from permuting experiment labels while
keeping the group sizes. MA maps are computed once; a permutation only regroups rows, so each
batch of permutations is one matrix product ``labels @ log(1 − MA)``.

Exact ties: NiMARE 0.22.1 stores the observed group ALE in float32 but the permuted ones in
float64, so in low-ALE voxels the observed difference never ties with its own permuted copies
and ~13 % of the mask reaches p = 1/n on a null split. biomark rounds ``log(1 − MA)`` to a
multiple of 2⁻⁴⁰ first; sums of such numbers are exact in float64 whatever the summation
order, so the observed difference and every permuted difference with the same grouping are
bit-identical and ties compare equal. Under a null split p is then uniform.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from biomark.ale.ma import MaMaps
from biomark.ale.montecarlo import chunk_rng

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_QUANTUM = 2.0**-40


@dataclass(frozen=True)
class PermutationSpec:
    """Inputs of one permutation chunk: quantised ``log(1 − MA)`` ``(n_exp, n_vox)`` etc."""

    log_ma: FloatArray
    in_group1: BoolArray
    observed_diff: FloatArray
    n_permutations: int
    seed: int
    chunk_size: int = 100

    @property
    def n_chunks(self) -> int:
        """Number of chunks covering ``n_permutations``."""
        return -(-self.n_permutations // self.chunk_size)


@dataclass(frozen=True)
class SubtractionResult:
    """Group difference on tested voxels and its permutation p-values.

    ``voxels`` are masked voxel indices; ``diff`` = ALE₁ − ALE₂ there; ``p_upper``/``p_lower``
    one-sided, ``p`` two-sided = min(1, 2·min(p_upper, p_lower)).
    """

    voxels: IntArray
    diff: FloatArray
    p_upper: FloatArray
    p_lower: FloatArray
    p: FloatArray
    n_permutations: int


def quantised_log_complement(ma_dense: FloatArray) -> FloatArray:
    """``log1p(−MA)`` rounded to a multiple of 2⁻⁴⁰ so that sums of rows are exact."""
    log_ma = np.log1p(-np.asarray(ma_dense, dtype=np.float64))
    if log_ma.size and np.abs(log_ma).sum(axis=0).max() >= 2.0**12:
        raise ValueError("too many experiments for exact log-sums (|Σ log(1−MA)| ≥ 4096)")
    out: FloatArray = np.round(log_ma / _QUANTUM) * _QUANTUM
    return out


def group_diff(labels_1: FloatArray, log_ma: FloatArray) -> FloatArray:
    """ALE₁ − ALE₂ for 0/1 group-1 indicator rows ``(n_perm, n_exp)``; ``(n_perm, n_vox)``."""
    s1 = labels_1 @ log_ma
    s2 = (1.0 - labels_1) @ log_ma
    out: FloatArray = np.exp(s2) - np.exp(s1)
    return out


def run_permutation_chunk(spec: PermutationSpec, chunk_index: int) -> tuple[IntArray, IntArray]:
    """Counts of permuted ≥ observed and ≤ observed per voxel for one chunk."""
    start = chunk_index * spec.chunk_size
    n = max(0, min(spec.chunk_size, spec.n_permutations - start))
    rng = chunk_rng(spec.seed, chunk_index)
    base = spec.in_group1.astype(np.float64)
    labels = np.stack([rng.permutation(base) for _ in range(n)]) if n else np.zeros((0, base.size))
    upper = np.zeros(spec.observed_diff.shape[0], dtype=np.int64)
    lower = np.zeros_like(upper)
    for lo in range(0, n, 25):
        d = group_diff(labels[lo : lo + 25], spec.log_ma)
        upper += (d >= spec.observed_diff).sum(axis=0)
        lower += (d <= spec.observed_diff).sum(axis=0)
    return upper, lower


def subtraction(
    ma: MaMaps,
    in_group1: BoolArray,
    *,
    n_permutations: int = 10000,
    seed: int = 0,
    voxels: IntArray | None = None,
    jobs: int = 1,
) -> SubtractionResult:
    """Permutation test of ALE₁ − ALE₂ at ``voxels`` (masked indices; default whole mask).

    GingerALE tests only voxels significant in a main effect: pass their union as ``voxels``.
    Voxels where no experiment has MA > 0 have difference 0 and p = 1 without permuting.
    """
    in_group1 = np.asarray(in_group1, dtype=bool)
    if in_group1.shape != (ma.n_experiments,) or in_group1.all() or not in_group1.any():
        raise ValueError("in_group1 must flag some but not all experiments")
    if voxels is None:
        voxels = np.arange(ma.n_mask_voxels)
    touched = np.zeros(ma.n_mask_voxels, dtype=bool)
    touched[ma.columns] = True
    active = voxels[touched[voxels]]
    log_ma = quantised_log_complement(ma.dense(active))
    observed = group_diff(in_group1.astype(np.float64)[None, :], log_ma)[0]
    spec = PermutationSpec(log_ma, in_group1, observed, n_permutations, seed)
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            parts = list(
                pool.map(run_permutation_chunk, [spec] * spec.n_chunks, range(spec.n_chunks))
            )
    else:
        parts = [run_permutation_chunk(spec, c) for c in range(spec.n_chunks)]
    upper = np.sum([u for u, _ in parts], axis=0) if parts else np.zeros(active.size)
    lower = np.sum([lo for _, lo in parts], axis=0) if parts else np.zeros(active.size)
    diff = np.zeros(voxels.shape[0])
    p_up = np.ones(voxels.shape[0])
    p_lo = np.ones(voxels.shape[0])
    where = touched[voxels]
    diff[where] = observed
    p_up[where] = (1.0 + upper) / (1.0 + n_permutations)
    p_lo[where] = (1.0 + lower) / (1.0 + n_permutations)
    p = np.minimum(1.0, 2.0 * np.minimum(p_up, p_lo))
    return SubtractionResult(voxels, diff, p_up, p_lo, p, n_permutations)


def conjunction(thresholded_1: FloatArray, thresholded_2: FloatArray) -> FloatArray:
    """Voxel-wise minimum of two thresholded main-effect maps (0 where either is 0)."""
    out: FloatArray = np.minimum(thresholded_1, thresholded_2)
    return out
