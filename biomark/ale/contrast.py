"""ALE subtraction (Eickhoff et al. 2011 NeuroImage 57:938; 2012) and conjunction.

The null of the group difference ALE_A − ALE_B comes from permuting experiment labels while
keeping the group sizes. MA maps are computed once; a permutation only regroups rows.

No exponentials per permutation. With ``q_e = log(1 − MA_e)`` at a voxel, ``S_A = Σ_{e∈A} q_e``
and the fixed total ``S = Σ_e q_e``, the difference is ``e^{S − S_A} − e^{S_A}``, strictly
decreasing in ``S_A``; so "permuted difference ≥ observed" is exactly "permuted S_A ≤ observed
S_A", and a permutation costs one matrix product and two comparisons.

Exact ties: NiMARE 0.22.1 stores the observed group ALE in float32 but the permuted ones in
float64, so in low-ALE voxels the observed difference never ties with its own permuted copies
and ~13 % of the mask reaches p = 1/n on a null split. biomark rounds ``q`` to a multiple of
2⁻⁴⁰ first; sums of such numbers are exact in float64 whatever the summation order (BLAS
blocking included), so every grouping's sum is one well-defined number and ties compare equal.
(MA values below 2⁻⁴¹ ≈ 5·10⁻¹³, far kernel tails, round to zero: no difference there.)

Sparse voxels: most voxels see only a few experiments (median 3 for 25 experiments). A voxel's
comparison depends only on the labels of the ``k`` experiments with MA > 0 there, so voxels with
the same support share one histogram of permuted label patterns (``2^k`` bins, the pattern read
off as one integer by the same matrix product); after all permutations each voxel's counts come
from its ``2^k`` exact subset sums. This is the same count as comparing every permutation at
every voxel, bit for bit. Voxels with many experiments are compared directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from biomark.ale.ma import MaMaps
from biomark.parallel import Backend, chunk_rng, map_chunks

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_QUANTUM = 2.0**-40
#: Largest support (experiments with MA > 0 at a voxel) handled by pattern histograms.
MAX_PATTERN_BITS = 8
#: Upper bound on histogram bins (groups × 2^bits) kept per chunk.
_HIST_BUDGET = 1 << 22
_BATCH = 128


@dataclass(frozen=True)
class PermutationSpec:
    """Inputs of one permutation chunk (picklable, plain arrays).

    Attributes
    ----------
    weights
        ``(n_experiments, n_groups + n_direct)``: the first ``n_groups`` columns turn a 0/1 label
        row into each support group's pattern code (bit ``j`` = label of the group's ``j``-th
        experiment); the rest are quantised ``log(1 − MA)`` of the directly compared voxels.
    n_groups, n_bits
        Number of support groups and bits per pattern code.
    observed_direct
        Observed ``S_A`` at the directly compared voxels, ``(n_direct,)``.
    in_group_a
        Observed labels, ``(n_experiments,)``.
    n_permutations, seed, chunk_size
        Total permutations, master seed, permutations per chunk.
    """

    weights: FloatArray
    n_groups: int
    n_bits: int
    observed_direct: FloatArray
    in_group_a: BoolArray
    n_permutations: int
    seed: int
    chunk_size: int = 1000

    @property
    def n_chunks(self) -> int:
        """Number of chunks covering ``n_permutations``."""
        return -(-self.n_permutations // self.chunk_size)


@dataclass(frozen=True)
class PermutationCounts:
    """One chunk's tallies: pattern histograms ``(n_groups · 2^bits,)`` and direct counts.

    ``n_le[v]`` counts permutations with ``S_A ≤`` observed (difference A − B ≥ observed),
    ``n_ge[v]`` those with ``S_A ≥`` observed.
    """

    pattern_hist: IntArray
    n_le: IntArray
    n_ge: IntArray


@dataclass(frozen=True)
class SubtractionResult:
    """Group difference on tested voxels and its permutation p-values.

    ``voxels`` are masked voxel indices; ``diff`` = ALE_A − ALE_B there; ``p_upper`` is the
    one-sided p of A > B (share of permutations with a difference ≥ the observed one, counting
    the observed labelling: (1 + count) / (1 + n)), ``p_lower`` that of B > A, ``p`` two-sided
    = min(1, 2·min(p_upper, p_lower)). Voxels where no experiment has MA > 0 get p = 1.
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
    out: FloatArray = np.round(log_ma / _QUANTUM) * _QUANTUM
    _check_exact(np.abs(out).sum(axis=0))
    return out


def _check_exact(abs_sum_per_voxel: FloatArray) -> None:
    if abs_sum_per_voxel.size and abs_sum_per_voxel.max() >= 2.0**12:
        raise ValueError("too many experiments for exact log-sums (|Σ log(1−MA)| ≥ 4096)")


def quantised_dense(ma: MaMaps, columns: IntArray) -> FloatArray:
    """:func:`quantised_log_complement` of ``ma.dense(columns)``, transforming non-zeros only."""
    quantised = np.round(np.log1p(-ma.values) / _QUANTUM) * _QUANTUM
    _check_exact(np.bincount(ma.columns, weights=-quantised, minlength=ma.n_mask_voxels))
    out: FloatArray = replace(ma, values=quantised).dense(columns)
    return out


def group_diff(labels_a: FloatArray, log_ma: FloatArray) -> FloatArray:
    """ALE_A − ALE_B for 0/1 group-A rows ``(n_perm, n_exp)``; ``(n_perm, n_vox)``."""
    s_a = labels_a @ log_ma
    s_b = (1.0 - labels_a) @ log_ma
    out: FloatArray = np.expm1(s_b) - np.expm1(s_a)
    return out


@dataclass(frozen=True)
class PermutationPlan:
    """How the voxels (columns of ``q``) are tallied.

    ``pattern_cols`` use their support group's pattern histogram (``group_of``: group id;
    ``q_padded`` ``(n_pattern_cols, n_bits)``: ``q`` of the supporting experiments in group
    order, zero-padded); ``direct_cols`` are compared permutation by permutation.
    """

    spec: PermutationSpec
    pattern_cols: IntArray
    group_of: IntArray
    q_padded: FloatArray
    direct_cols: IntArray


def _support_groups(support: BoolArray) -> tuple[IntArray, IntArray, IntArray]:
    """Group id of every column by support set, each group's representative column and size."""
    packed = np.ascontiguousarray(np.packbits(support, axis=0).T)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return inverse.astype(np.int64), first.astype(np.int64), support[:, first].sum(axis=0)


def _choose_bits(group_k: IntArray) -> int:
    for bits in range(MAX_PATTERN_BITS, -1, -1):
        if int((group_k <= bits).sum()) << bits <= _HIST_BUDGET:
            return bits
    return 0


def plan_permutations(
    q: FloatArray, in_group_a: BoolArray, n_permutations: int, seed: int, chunk_size: int = 1000
) -> PermutationPlan:
    """Split the columns of quantised ``q`` ``(n_experiments, n_voxels)`` into two kinds.

    Pattern-histogram groups take voxels whose support is ≤ ``n_bits`` experiments; the others
    are compared directly. ``n_bits`` is the largest value ≤ :data:`MAX_PATTERN_BITS` whose
    histograms fit the budget.
    """
    support = q != 0
    group_all, rep, group_k = _support_groups(support)
    bits = _choose_bits(group_k)
    small = np.flatnonzero(group_k <= bits)
    new_id = np.full(group_k.shape[0], -1, dtype=np.int64)
    new_id[small] = np.arange(small.shape[0])
    gid = new_id[group_all]
    pattern_cols = np.flatnonzero(gid >= 0)
    direct_cols = np.flatnonzero(gid < 0)
    rep_support = support[:, rep[small]]
    position = np.cumsum(rep_support, axis=0) - 1
    code_w = np.where(rep_support, np.exp2(position), 0.0)
    sub = support[:, pattern_cols]
    pos = np.cumsum(sub, axis=0) - 1
    e_idx, v_idx = np.nonzero(sub)
    q_padded = np.zeros((pattern_cols.shape[0], bits))
    q_padded[v_idx, pos[e_idx, v_idx]] = q[:, pattern_cols][e_idx, v_idx]
    q_direct = q[:, direct_cols]
    observed = in_group_a.astype(np.float64) @ q_direct
    spec = PermutationSpec(
        weights=np.ascontiguousarray(np.hstack([code_w, q_direct])),
        n_groups=int(small.shape[0]),
        n_bits=bits,
        observed_direct=observed,
        in_group_a=in_group_a,
        n_permutations=n_permutations,
        seed=seed,
        chunk_size=chunk_size,
    )
    return PermutationPlan(spec, pattern_cols, gid[pattern_cols], q_padded, direct_cols)


def chunk_labels(spec: PermutationSpec, chunk_index: int) -> FloatArray:
    """The 0/1 group-A label rows of one chunk, ``(n_in_chunk, n_experiments)``."""
    start = chunk_index * spec.chunk_size
    n = max(0, min(spec.chunk_size, spec.n_permutations - start))
    rng = chunk_rng(spec.seed, chunk_index)
    base = np.broadcast_to(spec.in_group_a.astype(np.float64), (n, spec.in_group_a.shape[0]))
    out: FloatArray = rng.permuted(base, axis=1)
    return out


def run_permutation_chunk(spec: PermutationSpec, chunk_index: int) -> PermutationCounts:
    """Tallies of one chunk of permutations (picklable entry point for executors)."""
    labels = chunk_labels(spec, chunk_index)
    n_bins = 1 << spec.n_bits
    offsets = np.arange(spec.n_groups, dtype=np.int64) * n_bins
    hist = np.zeros(spec.n_groups * n_bins, dtype=np.int64)
    n_le = np.zeros(spec.observed_direct.shape[0], dtype=np.int64)
    n_ge = np.zeros_like(n_le)
    for lo in range(0, labels.shape[0], _BATCH):
        s = labels[lo : lo + _BATCH] @ spec.weights
        codes = s[:, : spec.n_groups].astype(np.int64) + offsets
        hist += np.bincount(codes.ravel(), minlength=hist.shape[0])
        direct = s[:, spec.n_groups :]
        n_le += np.count_nonzero(direct <= spec.observed_direct, axis=0)
        n_ge += np.count_nonzero(direct >= spec.observed_direct, axis=0)
    return PermutationCounts(hist, n_le, n_ge)


def _pattern_counts(plan: PermutationPlan, hist: IntArray) -> tuple[IntArray, IntArray]:
    """Counts ≤ / ≥ observed for pattern voxels from their groups' pattern histograms.

    A voxel with ``k`` supporting experiments uses bits ``0..k-1`` only, so its ``2^k`` subset
    sums are enough; voxels are processed in blocks of equal ``k``.
    """
    spec = plan.spec
    hist_2d = hist.reshape(spec.n_groups, 1 << spec.n_bits)
    weights = spec.weights[:, : spec.n_groups]
    observed_code = (spec.in_group_a.astype(np.float64) @ weights).astype(np.int64)
    k_of = np.count_nonzero(plan.q_padded, axis=1)
    n_le = np.zeros(plan.pattern_cols.shape[0], dtype=np.int64)
    n_ge = np.zeros_like(n_le)
    for k in np.unique(k_of).tolist():
        codes = np.arange(1 << k)
        subset = ((codes[:, None] >> np.arange(k)) & 1).astype(np.float64)
        rows = np.flatnonzero(k_of == k)
        for lo in range(0, rows.shape[0], max(1, (1 << 21) >> k)):
            idx = rows[lo : lo + max(1, (1 << 21) >> k)]
            sums = plan.q_padded[idx, :k] @ subset.T
            gid = plan.group_of[idx]
            obs = np.take_along_axis(sums, observed_code[gid][:, None], axis=1)
            h = hist_2d[gid, : 1 << k]
            n_le[idx] = (h * (sums <= obs)).sum(axis=1)
            n_ge[idx] = (h * (sums >= obs)).sum(axis=1)
    return n_le, n_ge


def _check_groups(in_group_a: BoolArray, n_experiments: int) -> BoolArray:
    labels = np.asarray(in_group_a, dtype=bool)
    if labels.shape != (n_experiments,) or labels.all() or not labels.any():
        raise ValueError("in_group_a must flag some but not all experiments")
    return labels


def subtraction(
    ma: MaMaps,
    in_group_a: BoolArray,
    *,
    n_permutations: int = 10000,
    seed: int = 0,
    voxels: IntArray | None = None,
    backend: Backend | None = None,
    chunk_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> SubtractionResult:
    """Permutation test of ALE_A − ALE_B at ``voxels`` (masked indices; default whole mask).

    Parameters
    ----------
    ma
        MA maps of all experiments of both groups.
    in_group_a
        ``(n_experiments,)`` True for group A.
    n_permutations, seed, chunk_size
        Permutations, master seed; chunk ``k`` draws from ``chunk_rng(seed, k)`` so the result
        does not depend on ``backend`` or its number of workers.
    voxels
        Masked voxel indices to test (GingerALE gating passes the main effects' union).
    backend
        Where chunks run (default: serial).
    progress
        Called with the number of chunks done.

    Returns
    -------
    SubtractionResult
    """
    labels = _check_groups(in_group_a, ma.n_experiments)
    voxels = np.arange(ma.n_mask_voxels) if voxels is None else np.asarray(voxels, np.int64)
    touched = np.zeros(ma.n_mask_voxels, dtype=bool)
    touched[ma.columns] = True
    where = touched[voxels]
    q = quantised_dense(ma, voxels[where])
    plan = plan_permutations(q, labels, n_permutations, seed, chunk_size)
    parts = map_chunks(
        run_permutation_chunk, plan.spec, plan.spec.n_chunks, backend or Backend(), progress
    )
    n_le = np.zeros(q.shape[1], dtype=np.int64)
    n_ge = np.zeros(q.shape[1], dtype=np.int64)
    if parts:
        hist = np.sum([c.pattern_hist for c in parts], axis=0)
        n_le[plan.pattern_cols], n_ge[plan.pattern_cols] = _pattern_counts(plan, hist)
        n_le[plan.direct_cols] = np.sum([c.n_le for c in parts], axis=0)
        n_ge[plan.direct_cols] = np.sum([c.n_ge for c in parts], axis=0)
    diff = np.zeros(voxels.shape[0])
    diff[where] = group_diff(labels.astype(np.float64)[None, :], q)[0]
    p_up = np.ones(voxels.shape[0])
    p_lo = np.ones(voxels.shape[0])
    p_up[where] = (1.0 + n_le) / (1.0 + n_permutations)
    p_lo[where] = (1.0 + n_ge) / (1.0 + n_permutations)
    p = np.minimum(1.0, 2.0 * np.minimum(p_up, p_lo))
    return SubtractionResult(voxels, diff, p_up, p_lo, p, n_permutations)


def conjunction(thresholded_a: FloatArray, thresholded_b: FloatArray) -> FloatArray:
    """Voxel-wise minimum of two thresholded main-effect maps (0 where either is 0)."""
    out: FloatArray = np.minimum(thresholded_a, thresholded_b)
    return out
