"""Compiled (numba) inner loop of the Monte Carlo FWE null; see :mod:`biomark.ale.montecarlo`.

Everything random is drawn by the caller with numpy, so this code is deterministic and gives the
same numbers as the numpy reference path. It works on one flat, padded volume (the mask's
bounding box grown by the largest kernel radius on every side), so every kernel box and every
neighbour of an in-mask voxel is in bounds and no index ever needs clipping.

Per iteration, with foci at flat indices ``c``:

1. Foci of one experiment whose kernel boxes overlap are joined (union-find, the smallest focus
   index is the root), as in the numpy path; each focus also gets the list of those overlapping
   foci (its neighbours).
2. Lone foci add their ``log1p(−K)`` kernel into ``logsum`` in focus order; then every group
   adds its voxel-wise minimum of its members' log-kernels (MA = max over foci, Turkeltaub
   2012): kernel rows no neighbour reaches are added directly, the shared rows go through a
   zeroed scratch volume (minimum in a first pass, add-and-zero in a second). The order of
   additions is the numpy path's, so sums agree bit for bit.
3. One pass over the kernel boxes reads each voxel's log-sum once: the minimum gives the maximum
   ALE, voxels with ``logsum < log1p(−threshold)`` (ALE above the threshold, NiMARE's strict
   ``>``) are recorded, and the voxel is reset to its template value (0 in the mask, +inf
   outside, so out-of-mask voxels never count).
4. Supra-threshold voxels, sorted by flat index, are joined with their half-set of neighbour
   offsets (union-find); cluster sizes and masses Σ(ALE − threshold) are summed in that order.

No ``parallel=True``: parallelism is across chunks (:mod:`biomark.parallel`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Literal

import numba
import numpy as np

log = logging.getLogger(__name__)


@functools.cache
def _warn_no_cache() -> None:
    log.warning(
        "no writable numba cache directory (set NUMBA_CACHE_DIR); the Monte Carlo kernel is "
        "compiled in memory, which costs ~15-30 s in every process"
    )


def _jit(fn: Callable[..., Any], fastmath: bool | set[str] = False, inline: bool = True) -> Any:
    """``numba.njit`` with an on-disk cache when some cache directory is writable.

    numba looks for a writable ``__pycache__`` beside this file, then a user-wide cache
    directory (``NUMBA_CACHE_DIR`` overrides both); when none is writable, caching raises at
    decoration time, and we compile in memory instead (each process then pays the compile).
    """
    # Helpers are inlined into their callers at numba-IR level: an out-of-line call per kernel
    # row pays reference-count updates for every array argument (~3x slower overall).
    how: Literal["always", "never"] = "always" if inline else "never"
    try:
        return numba.njit(cache=True, nogil=True, fastmath=fastmath, inline=how)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        _warn_no_cache()
        return numba.njit(cache=False, nogil=True, fastmath=fastmath, inline=how)(fn)


def _find_py(parent: Any, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


_find = _jit(_find_py)


def _union_py(parent: Any, a: int, b: int) -> None:
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    elif rb < ra:
        parent[ra] = rb


_union = _jit(_union_py)


def _close_py(c_ijk: Any, rad: Any, fa: int, fb: int) -> bool:
    near = True
    for d in range(3):
        near = near and abs(c_ijk[fa, d] - c_ijk[fb, d]) <= rad[fa, d] + rad[fb, d]
    return near


_close = _jit(_close_py)


def _group_foci_py(
    c_ijk: Any, rad: Any, exps: tuple[Any, Any], root: Any, count: Any, ptr: Any
) -> Any:
    """Root (smallest member) and group size of each focus; groups = overlapping boxes.

    Returns, in CSR form with ``ptr``, the foci of the same experiment whose boxes overlap each
    focus's box: the only ones that can share a voxel with it. Pairs are tested twice (count,
    then fill) so memory stays linear in the number of overlapping pairs.
    """
    exp_ptr, exp_foci = exps
    n_foci = root.shape[0]
    for f in range(n_foci):
        root[f] = f
        count[f] = 0
    ptr[:] = 0
    idx = np.zeros(0, dtype=np.int64)
    for fill in (False, True):
        if fill:
            ptr[1:] = np.cumsum(ptr[1:])
            idx = np.zeros(ptr[n_foci], dtype=np.int64)
            nxt = ptr[:-1].copy()
        for e in range(exp_ptr.shape[0] - 1):
            for a in range(exp_ptr[e], exp_ptr[e + 1]):
                fa = exp_foci[a]
                for b in range(a + 1, exp_ptr[e + 1]):
                    fb = exp_foci[b]
                    if not _close(c_ijk, rad, fa, fb):
                        continue
                    if fill:
                        idx[nxt[fa]] = fb
                        idx[nxt[fb]] = fa
                        nxt[fa] += 1
                        nxt[fb] += 1
                    else:
                        _union(root, fa, fb)
                        ptr[fa + 1] += 1
                        ptr[fb + 1] += 1
    for f in range(n_foci):
        root[f] = _find(root, f)
        count[root[f]] += 1
    return idx


_group_foci = _jit(_group_foci_py)


def _box_start_py(centre: int, r: Any, sx: int, sy: int) -> int:
    return int(centre - r[0] * sx - r[1] * sy - r[2])


_box_start = _jit(_box_start_py)


# Rows are handled through slices indexed from 0: with a signed ``row + k`` index numba emits
# a negative-index wraparound test per element that stops LLVM from vectorising (6× slower).


def _add_kernel_py(logsum: Any, centre: int, r: Any, vals: Any, p: int, sx: int, sy: int) -> None:
    start = _box_start(centre, r, sx, sy)
    nz = 2 * r[2] + 1
    for i in range(2 * r[0] + 1):
        for j in range(2 * r[1] + 1):
            row = start + i * sx + j * sy
            dst = logsum[row : row + nz]
            src = vals[p : p + nz]
            for k in range(nz):
                dst[k] += src[k]
            p += nz


_add_kernel = _jit(_add_kernel_py)


def _covered_rows_py(cov: Any, g: int, nbrs: Any, c_ijk: Any, rad: Any) -> None:
    """``cov[i, j]`` = 1 where a neighbour's box reaches row ``(i, j)`` of ``g``'s box, else 0."""
    nx = 2 * rad[g, 0] + 1
    ny = 2 * rad[g, 1] + 1
    cov[:nx, :ny] = 0
    x0 = c_ijk[g, 0] - rad[g, 0]
    y0 = c_ijk[g, 1] - rad[g, 1]
    for h in nbrs:
        i0 = max(0, c_ijk[h, 0] - rad[h, 0] - x0)
        i1 = min(nx - 1, c_ijk[h, 0] + rad[h, 0] - x0)
        j0 = max(0, c_ijk[h, 1] - rad[h, 1] - y0)
        j1 = min(ny - 1, c_ijk[h, 1] + rad[h, 1] - y0)
        cov[i0 : i1 + 1, j0 : j1 + 1] = 1


_covered_rows = _jit(_covered_rows_py)


def _lower_rows_py(
    logsum: Any, scratch: Any, g: int, cov: Any, geom: tuple[Any, Any, Any, Any], strides: Any
) -> None:
    """First pass over a group member's box.

    Rows no neighbour's box reaches go straight into ``logsum``; on the others ``scratch`` is
    lowered to the log-kernel (minimum = MA as the maximum kernel). Every member reaching a
    voxel shared with another member sees its row as shared, so each voxel takes one route.
    """
    sx, sy = strides
    c_flat, rad, kptr, vals = geom
    r = rad[g]
    start = _box_start(c_flat[g], r, sx, sy)
    nz = 2 * r[2] + 1
    p = kptr[g]
    for i in range(2 * r[0] + 1):
        for j in range(2 * r[1] + 1):
            row = start + i * sx + j * sy
            src = vals[p : p + nz]
            p += nz
            if cov[i, j] == 0:
                dst = logsum[row : row + nz]
                for k in range(nz):
                    dst[k] += src[k]
            else:
                low = scratch[row : row + nz]
                for k in range(nz):
                    low[k] = src[k] if src[k] < low[k] else low[k]


_lower_rows = _jit(_lower_rows_py)


def _flush_rows_py(
    logsum: Any, scratch: Any, g: int, cov: Any, geom: tuple[Any, Any, Any, Any], strides: Any
) -> None:
    """Second pass: add ``scratch`` on the shared rows to ``logsum`` and zero it there.

    A voxel an earlier member already flushed holds +0.0 and adds nothing, so every voxel
    receives its group's MA exactly once.
    """
    sx, sy = strides
    c_flat, rad = geom[0], geom[1]
    r = rad[g]
    start = _box_start(c_flat[g], r, sx, sy)
    nz = 2 * r[2] + 1
    for i in range(2 * r[0] + 1):
        for j in range(2 * r[1] + 1):
            if cov[i, j] == 0:
                continue
            row = start + i * sx + j * sy
            dst = logsum[row : row + nz]
            low = scratch[row : row + nz]
            for k in range(nz):
                dst[k] += low[k]
                low[k] = 0.0


_flush_rows = _jit(_flush_rows_py)


def _record_row_py(
    row: Any, first: int, log_thr: float, label: Any, supra: Any, supra_x: Any, state: Any
) -> None:
    """Record the supra-threshold voxels of one row not recorded yet (``state[0]`` counts)."""
    for k in range(row.shape[0]):
        v = first + k
        if row[k] < log_thr and label[v] == 0:
            n = state[0]
            label[v] = n + 1
            supra[n] = v
            supra_x[n] = row[k]
            state[0] = n + 1


_record_row = _jit(_record_row_py)


def _scan_box_py(
    logsum: Any,
    label: Any,
    centre: int,
    r: Any,
    strides: tuple[int, int],
    log_thr: float,
    supra: Any,
    supra_x: Any,
    state: Any,
) -> float:
    """Minimum log-sum in one box; record supra-threshold voxels once; reset the box.

    Out-of-mask voxels hold +inf, which never wins the minimum, never passes the threshold and
    is kept by the reset; in-mask voxels go back to 0. A voxel seen again (boxes overlap) was
    already reset, so it neither lowers the minimum nor is recorded twice.
    """
    sx, sy = strides
    start = _box_start(centre, r, sx, sy)
    nz = 2 * r[2] + 1
    low = np.inf
    for i in range(2 * r[0] + 1):
        for j in range(2 * r[1] + 1):
            first = start + i * sx + j * sy
            row = logsum[first : first + nz]
            row_low = np.inf
            for k in range(nz):
                row_low = min(row_low, row[k])
            if row_low < log_thr:
                _record_row(row, first, log_thr, label, supra, supra_x, state)
            low = min(low, row_low)
            for k in range(nz):
                row[k] = 0.0 if row[k] < np.inf else np.inf
    return float(low)


# nnan lets LLVM vectorise the row minimum; no NaN can occur (sums of finite logs and +inf).
_scan_box = _jit(_scan_box_py, fastmath={"nnan", "nsz"})


def _scan_all_py(
    logsum: Any, label: Any, log_thr: float, supra: Any, supra_x: Any, state: Any
) -> float:
    """:func:`_scan_box` over the whole volume, in blocks of 64 voxels."""
    low = np.inf
    n = logsum.shape[0]
    for first in range(0, n, 64):
        block = logsum[first : min(first + 64, n)]
        block_low = np.inf
        for k in range(block.shape[0]):
            block_low = min(block_low, block[k])
        if block_low < log_thr:
            _record_row(block, first, log_thr, label, supra, supra_x, state)
        low = min(low, block_low)
        for k in range(block.shape[0]):
            block[k] = 0.0 if block[k] < np.inf else np.inf
    return float(low)


_scan_all = _jit(_scan_all_py, fastmath={"nnan", "nsz"})


def _clusters_py(
    supra: Any, supra_x: Any, n: int, label: Any, offsets: Any, thr: float
) -> tuple[float, float]:
    """Largest cluster size and mass among the ``n`` recorded voxels; clears their labels."""
    if n == 0:
        return 0.0, 0.0
    order = np.argsort(supra[:n])
    vox = supra[:n][order]
    x = supra_x[:n][order]
    for a in range(n):
        label[vox[a]] = a + 1
    parent = np.arange(n)
    for a in range(n):
        for o in offsets:
            b = label[vox[a] + o]
            if b > 0:
                _union(parent, a, b - 1)
    size = np.zeros(n)
    mass = np.zeros(n)
    for a in range(n):
        root = _find(parent, a)
        size[root] += 1.0
        mass[root] += -np.expm1(x[a]) - thr
        label[vox[a]] = 0
    return float(size.max()), float(mass.max())


_clusters = _jit(_clusters_py)


def _add_experiments_py(
    logsum: Any,
    c_flat: Any,
    c_ijk: Any,
    geom: tuple[Any, Any, Any, Any, Any, Any],
    groups: tuple[Any, Any, Any, Any],
    strides: tuple[int, int],
    scratch: tuple[Any, Any],
) -> None:
    """Lone foci first (focus order), then overlap groups (order of their smallest focus).

    A group's MA is built in the volume ``scratch[0]`` (all zeros between groups) on the
    kernel rows some neighbour's box reaches (``scratch[1]`` marks them), then added. The
    other rows, most of them, are added directly. Comparing every row with the other
    members instead cost ~10x more on dense data sets, where most foci are in groups.
    """
    rad, kptr, vals, focus_exp, exp_ptr, exp_foci = geom
    root, count, ptr, idx = groups
    low, cov = scratch
    sx, sy = strides
    n_foci = c_flat.shape[0]
    for f in range(n_foci):
        if count[root[f]] == 1:
            _add_kernel(logsum, c_flat[f], rad[f], vals, kptr[f], sx, sy)
    for f in range(n_foci):
        if root[f] != f or count[f] < 2:
            continue
        foci = exp_foci[exp_ptr[focus_exp[f]] : exp_ptr[focus_exp[f] + 1]]
        for second in (False, True):
            for g in foci:
                if root[g] != f:
                    continue
                _covered_rows(cov, g, idx[ptr[g] : ptr[g + 1]], c_ijk, rad)
                if second:
                    _flush_rows(logsum, low, g, cov, (c_flat, rad, kptr, vals), strides)
                else:
                    _lower_rows(logsum, low, g, cov, (c_flat, rad, kptr, vals), strides)


_add_experiments = _jit(_add_experiments_py)


def run_iterations_py(
    draws: Any,
    mask_flat: Any,
    mask_ijk: Any,
    geom: tuple[Any, Any, Any, Any, Any, Any],
    base: Any,
    strides: tuple[int, int],
    offsets: Any,
    thresholds: tuple[float, float],
) -> Any:
    """Max ALE, max cluster size and max cluster mass per iteration, ``(n_iter, 3)``.

    Parameters
    ----------
    draws
        In-mask voxel number of every focus in every iteration, ``(n_iter, n_foci)``.
    mask_flat, mask_ijk
        Flat index and ``(i, j, k)`` in the padded volume of each in-mask voxel.
    geom
        ``(rad, kptr, vals, focus_exp, exp_ptr, exp_foci)``: kernel radius ``(n_foci, 3)`` and
        offset into ``vals`` (all log-kernels, C order, concatenated) per focus, experiment of
        each focus, and the foci of each experiment in CSR form.
    base
        Template of the padded volume: 0 in the mask, +inf outside.
    strides
        Flat strides of the first two axes (the last is 1).
    offsets
        Flat offsets of half the neighbours for the connectivity.
    thresholds
        ``(log1p(-threshold), threshold)``.
    """
    log_thr, thr = thresholds
    n_iter, n_foci = draws.shape
    rad = geom[0]
    logsum = base.copy()
    side = 2 * int(rad.max()) + 1
    scratch = (np.zeros(base.shape[0]), np.zeros((side, side), dtype=np.int64))
    label = np.zeros(base.shape[0], dtype=np.int64)
    supra = np.zeros(mask_flat.shape[0], dtype=np.int64)
    supra_x = np.zeros(mask_flat.shape[0])
    state = np.zeros(1, dtype=np.int64)
    root = np.zeros(n_foci, dtype=np.int64)
    count = np.zeros(n_foci, dtype=np.int64)
    c_flat = np.zeros(n_foci, dtype=np.int64)
    c_ijk = np.zeros((n_foci, 3), dtype=np.int64)
    nbr_ptr = np.zeros(n_foci + 1, dtype=np.int64)
    out = np.zeros((n_iter, 3))
    # With more kernel voxels than volume voxels one linear pass beats a pass per box.
    box_voxels = 0
    for f in range(n_foci):
        box_voxels += (2 * rad[f, 0] + 1) * (2 * rad[f, 1] + 1) * (2 * rad[f, 2] + 1)
    dense = box_voxels > base.shape[0]
    for it in range(n_iter):
        for f in range(n_foci):
            c_flat[f] = mask_flat[draws[it, f]]
            c_ijk[f] = mask_ijk[draws[it, f]]
        nbr_idx = _group_foci(c_ijk, rad, (geom[4], geom[5]), root, count, nbr_ptr)
        groups = (root, count, nbr_ptr, nbr_idx)
        _add_experiments(logsum, c_flat, c_ijk, geom, groups, strides, scratch)
        state[0] = 0
        if dense:
            low = min(0.0, _scan_all(logsum, label, log_thr, supra, supra_x, state))
        else:
            low = 0.0
            for f in range(n_foci):
                box_low = _scan_box(
                    logsum, label, c_flat[f], rad[f], strides, log_thr, supra, supra_x, state
                )
                low = min(low, box_low)
        size, mass = _clusters(supra, supra_x, state[0], label, offsets, thr)
        out[it, 0] = -np.expm1(low)
        out[it, 1] = size
        out[it, 2] = mass
    return out


run_iterations = _jit(run_iterations_py, inline=False)
