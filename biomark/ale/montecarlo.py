"""Monte Carlo null for voxel- and cluster-level FWE (Eickhoff et al. 2012, 2016).

Each iteration moves every focus to a uniformly drawn in-mask voxel, keeping experiments, their
N and focus counts, and records the maximum ALE, the largest cluster size (voxels) and the
largest cluster mass (Σ(ALE − threshold)) above the cluster-forming ALE threshold.

Speed: kernels are turned into ``log1p(−K)`` once; an iteration adds each focus's log-kernel
into a padded log-sum volume (foci of one experiment whose boxes overlap are first combined by
a minimum, i.e. MA = max), finds the maximum, and labels only the bounding box of the
suprathreshold voxels. Work is split into chunks of fixed size whose generators come from
``SeedSequence(seed, spawn_key=(chunk,))`` (:func:`biomark.parallel.chunk_rng`), so results never
depend on the number of workers or the backend (:func:`biomark.parallel.map_chunks`).

Two engines do the same arithmetic in the same order: ``"numpy"`` (the reference, in this module)
and ``"numba"`` (:mod:`biomark.ale._mc_kernel`, ~20× faster). All random numbers of a chunk are
drawn here with numpy before either engine runs, so both see the same foci; the maxima agree bit
for bit except for the last-ulp differences ``expm1`` may have between numpy and libm.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, sparse
from scipy.sparse import csgraph

from biomark.ale.engine import Engine
from biomark.ale.engine import resolve_engine as _resolve_engine
from biomark.ale.kernels import ale_kernel
from biomark.parallel import Backend, make_backend, map_chunks
from biomark.parallel import chunk_rng as chunk_rng  # re-exported: contrast.py imports it here
from biomark.space import Grid

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

CONNECTIVITY = {6: 1, 18: 2, 26: 3}


def structure(connectivity: int) -> BoolArray:
    """The ``scipy.ndimage.label`` structure for 6-, 18- or 26-connectivity."""
    if connectivity not in CONNECTIVITY:
        raise ValueError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    out: BoolArray = ndimage.generate_binary_structure(3, CONNECTIVITY[connectivity])
    return out


#: Iterations per chunk: fixes which random numbers each iteration gets, whatever the workers.
CHUNK_SIZE: Final = 250


@dataclass(frozen=True)
class MonteCarloSpec:
    """Everything one chunk of iterations needs (picklable, plain arrays).

    Attributes
    ----------
    mask
        Boolean brain mask, grid shape.
    voxel_size_mm
        Grid voxel size, ``(3,)``.
    n_subjects
        Sample size per experiment, ``(n_experiments,)``.
    experiment_index
        Experiment of each focus, ``(n_foci,)``.
    ale_threshold
        Cluster-forming ALE threshold (voxels with ALE > it form clusters).
    connectivity
        6, 18 or 26.
    n_iterations, seed, chunk_size
        Total iterations, master seed, iterations per chunk (the chunk size, not the number of
        workers, decides which random numbers each iteration sees).
    engine
        ``"numba"`` (compiled, fast), ``"numpy"`` (the reference) or ``"auto"`` (numba when it
        imports, else numpy). Same numbers either way.
    """

    mask: BoolArray
    voxel_size_mm: tuple[float, float, float]
    n_subjects: FloatArray
    experiment_index: IntArray
    ale_threshold: float
    connectivity: int = 6
    n_iterations: int = 10000
    seed: int = 0
    chunk_size: int = CHUNK_SIZE
    engine: Engine = "auto"

    @property
    def n_chunks(self) -> int:
        """Number of chunks covering ``n_iterations``."""
        return -(-self.n_iterations // self.chunk_size)


@dataclass(frozen=True)
class MonteCarloNull:
    """Per-iteration maxima: ``max_ale``, ``max_cluster_size`` (voxels), ``max_cluster_mass``."""

    max_ale: FloatArray
    max_cluster_size: FloatArray
    max_cluster_mass: FloatArray


class _Volume:
    """Log-sum volume over the mask's bounding box and per-experiment log-kernels."""

    def __init__(self, spec: MonteCarloSpec) -> None:
        self.logk = [np.log1p(-ale_kernel(float(n), spec.voxel_size_mm)) for n in spec.n_subjects]
        ijk = np.argwhere(spec.mask)
        self.origin = ijk.min(axis=0)
        box = tuple(
            slice(int(a), int(b) + 1) for a, b in zip(self.origin, ijk.max(axis=0), strict=True)
        )
        self.template = np.where(spec.mask[box], 0.0, np.inf)
        self.vol = self.template.copy()
        self.shape = np.asarray(self.template.shape)
        self.mask_ijk = ijk - self.origin
        self.exp = spec.experiment_index
        self.focus_radius = (np.array([k.shape for k in self.logk]) // 2)[self.exp]
        self.same_exp = self.exp[:, None] == self.exp[None, :]
        np.fill_diagonal(self.same_exp, False)
        self.log_thr = float(np.log1p(-spec.ale_threshold))
        self.thr = spec.ale_threshold
        self.offsets = _neighbour_offsets(structure(spec.connectivity))

    def _boxes(self, centres: IntArray) -> tuple[list[list[int]], list[list[int]]]:
        lo = centres - self.focus_radius
        hi = centres + self.focus_radius + 1
        vlo = np.maximum(lo, 0)
        vhi = np.minimum(hi, self.shape)
        klo = vlo - lo
        return np.hstack([vlo, vhi]).tolist(), np.hstack([klo, klo + vhi - vlo]).tolist()

    def _overlap_groups(self, centres: IntArray) -> IntArray:
        """Component id of each focus in the graph 'same experiment and boxes overlap'."""
        reach = self.focus_radius[:, None, :] + self.focus_radius[None, :, :]
        close = np.all(np.abs(centres[:, None, :] - centres[None, :, :]) <= reach, axis=2)
        close &= self.same_exp
        if not close.any():
            return np.arange(centres.shape[0])
        _, groups = csgraph.connected_components(sparse.csr_array(close), directed=False)
        return np.asarray(groups, dtype=np.int64)

    def _add_foci(self, centres: IntArray) -> None:
        self._centres = centres
        vbox, kbox = self._boxes(centres)
        groups = self._overlap_groups(centres)
        counts = np.bincount(groups)
        vol = self.vol
        for f in np.flatnonzero(counts[groups] == 1).tolist():
            a, b, c, d, e, g = vbox[f]
            i, j, k, i2, j2, k2 = kbox[f]
            view = vol[a:d, b:e, c:g]
            np.add(view, self.logk[self.exp[f]][i:i2, j:j2, k:k2], out=view)
        for grp in np.flatnonzero(counts > 1).tolist():
            self._add_group(np.flatnonzero(groups == grp), vbox)

    def _add_group(self, foci: IntArray, vbox: list[list[int]]) -> None:
        """Overlapping foci of one experiment: min of log-kernels (MA = max), then add."""
        boxes = np.asarray([vbox[f] for f in foci.tolist()])
        blo, bhi = boxes[:, :3].min(axis=0), boxes[:, 3:].max(axis=0)
        local = np.zeros(tuple(bhi - blo))
        for f in foci.tolist():
            a, b, c, d, e, g = vbox[f]
            view = local[a - blo[0] : d - blo[0], b - blo[1] : e - blo[1], c - blo[2] : g - blo[2]]
            klo = self._kernel_lo(f, (a, b, c))
            ksl = tuple(slice(int(s), int(s) + w) for s, w in zip(klo, view.shape, strict=True))
            np.minimum(view, self.logk[self.exp[f]][ksl], out=view)
        target = self.vol[blo[0] : bhi[0], blo[1] : bhi[1], blo[2] : bhi[2]]
        np.add(target, local, out=target)

    def iteration(self, centres: IntArray) -> tuple[float, float, float]:
        """Max ALE, max cluster size and mass for foci at (bounding-box) voxel indices."""
        np.copyto(self.vol, self.template)
        self._add_foci(centres)
        flat = self.vol.ravel()
        max_ale = float(-np.expm1(flat.min()))
        supra = np.flatnonzero(flat < self.log_thr)
        if supra.size == 0:
            return max_ale, 0.0, 0.0
        labels = _components(supra, self.template.shape, self.offsets)
        sizes = np.bincount(labels)
        mass = np.bincount(labels, weights=-np.expm1(flat[supra]) - self.thr)
        return max_ale, float(sizes.max()), float(mass.max())

    def _kernel_lo(self, f: int, vlo: tuple[int, int, int]) -> IntArray:
        lo = self._centres[f] - self.focus_radius[f]
        out: IntArray = np.asarray(vlo) - lo
        return out


def _neighbour_offsets(struct: BoolArray) -> IntArray:
    """Half of the structure's neighbour offsets (the other half are their negatives)."""
    off = np.argwhere(struct) - 1
    keep = [tuple(o) > (0, 0, 0) for o in off]
    out: IntArray = off[np.asarray(keep)]
    return out


def _components(flat_idx: IntArray, shape: tuple[int, ...], offsets: IntArray) -> IntArray:
    """Connected-component label (0..n-1) of each voxel in the sorted flat index list."""
    ijk = np.stack(np.unravel_index(flat_idx, shape), axis=1)
    rows, cols = [], []
    for off in offsets:
        nb = ijk + off
        ok = np.all((nb >= 0) & (nb < np.asarray(shape)), axis=1)
        cand = np.ravel_multi_index(tuple(nb[ok].T), shape)
        pos = np.searchsorted(flat_idx, cand)
        pos = np.minimum(pos, flat_idx.shape[0] - 1)
        hit = flat_idx[pos] == cand
        rows.append(np.flatnonzero(ok)[hit])
        cols.append(pos[hit])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    n = flat_idx.shape[0]
    graph = sparse.coo_array((np.ones(r.shape[0]), (r, c)), shape=(n, n)).tocsr()
    _, labels = csgraph.connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


@dataclass(frozen=True)
class _Padded:
    """Inputs of the compiled engine (see :func:`biomark.ale._mc_kernel.run_iterations`)."""

    mask_flat: IntArray
    mask_ijk: IntArray
    geom: tuple[IntArray, IntArray, FloatArray, IntArray, IntArray, IntArray]
    base: FloatArray
    strides: tuple[int, int]
    offsets: IntArray
    thresholds: tuple[float, float]


_PADDED_CACHE: dict[bytes, _Padded] = {}


def _padded(spec: MonteCarloSpec) -> _Padded:
    """Padded flat volume, log-kernels and experiment layout; cached per process and spec."""
    mask = np.asarray(spec.mask, dtype=bool)
    n_subj = np.asarray(spec.n_subjects, dtype=np.float64)
    exp = np.asarray(spec.experiment_index, dtype=np.int64)
    digest = hashlib.blake2b(digest_size=16)
    for part in (mask, n_subj, exp, np.asarray(spec.voxel_size_mm, dtype=np.float64)):
        digest.update(np.ascontiguousarray(part).tobytes())
    digest.update(repr((spec.ale_threshold, spec.connectivity, mask.shape)).encode())
    key = digest.digest()
    if key not in _PADDED_CACHE:
        if len(_PADDED_CACHE) >= 4:
            _PADDED_CACHE.clear()
        _PADDED_CACHE[key] = _build_padded(spec, mask, n_subj, exp)
    return _PADDED_CACHE[key]


def _build_padded(
    spec: MonteCarloSpec, mask: BoolArray, n_subj: FloatArray, exp: IntArray
) -> _Padded:
    distinct, kernel_of_exp = np.unique(n_subj, return_inverse=True)
    logk = [np.log1p(-ale_kernel(float(n), spec.voxel_size_mm)) for n in distinct]
    radii = np.array([np.asarray(k.shape) // 2 for k in logk], dtype=np.int64)
    # Padding by the largest radius keeps every kernel box and every neighbour in bounds.
    pad = max(int(radii.max()), 1)
    ijk = np.argwhere(mask)
    lo = ijk.min(axis=0) - pad
    shape = ijk.max(axis=0) - lo + 1 + pad
    mask_ijk = (ijk - lo).astype(np.int64)
    strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)
    base = np.full(int(np.prod(shape)), np.inf)
    mask_flat = mask_ijk @ strides
    base[mask_flat] = 0.0
    kernel_start = np.concatenate([[0], np.cumsum([k.size for k in logk])[:-1]]).astype(np.int64)
    focus_kernel = kernel_of_exp[exp]
    exp_ptr = np.concatenate([[0], np.cumsum(np.bincount(exp, minlength=n_subj.shape[0]))])
    geom = (
        np.ascontiguousarray(radii[focus_kernel]),
        kernel_start[focus_kernel],
        np.concatenate([k.ravel() for k in logk]),
        exp,
        exp_ptr.astype(np.int64),
        np.argsort(exp, kind="stable").astype(np.int64),
    )
    offsets = _neighbour_offsets(structure(spec.connectivity)) @ strides
    thr = float(spec.ale_threshold)
    return _Padded(
        mask_flat=mask_flat,
        mask_ijk=mask_ijk,
        geom=geom,
        base=base,
        strides=(int(strides[0]), int(strides[1])),
        offsets=offsets.astype(np.int64),
        thresholds=(float(np.log1p(-thr)), thr),
    )


def resolve_engine(engine: Engine) -> Literal["numba", "numpy"]:
    """The engine ``"auto"`` stands for here: numba if its kernel imports, else numpy."""
    return _resolve_engine(engine, "biomark.ale._mc_kernel")


def _run_numba(spec: MonteCarloSpec, draws: IntArray) -> FloatArray:
    from biomark.ale._mc_kernel import run_iterations  # lazy: numba import costs ~0.5 s

    p = _padded(spec)
    args = (p.mask_flat, p.mask_ijk, p.geom, p.base, p.strides, p.offsets, p.thresholds)
    out: FloatArray = run_iterations(draws, *args)
    return out.T


def _run_numpy(spec: MonteCarloSpec, draws: IntArray) -> FloatArray:
    vol = _Volume(spec)
    out = np.zeros((3, draws.shape[0]))
    for it in range(draws.shape[0]):
        out[:, it] = vol.iteration(vol.mask_ijk[draws[it]])
    return out


def run_chunk(spec: MonteCarloSpec, chunk_index: int) -> MonteCarloNull:
    """Run the iterations of chunk ``chunk_index`` (picklable entry point for executors)."""
    start = chunk_index * spec.chunk_size
    n_iter = max(0, min(spec.chunk_size, spec.n_iterations - start))
    rng = chunk_rng(spec.seed, chunk_index)
    n_mask = int(np.count_nonzero(spec.mask))
    draws = rng.integers(0, n_mask, size=(n_iter, spec.experiment_index.shape[0]))
    if n_iter == 0:
        out = np.zeros((3, 0))
    elif resolve_engine(spec.engine) == "numba":
        out = _run_numba(spec, draws)
    else:
        out = _run_numpy(spec, draws)
    return MonteCarloNull(out[0].copy(), out[1].copy(), out[2].copy())


def run_montecarlo(
    spec: MonteCarloSpec,
    backend: Backend | None = None,
    *,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> MonteCarloNull:
    """Run all chunks on ``backend`` (default: ``jobs`` local processes). Same numbers either way.

    Parameters
    ----------
    spec
        What to simulate.
    backend
        Where chunks run (:func:`biomark.parallel.make_backend`); overrides ``jobs``.
    jobs
        Local worker processes when no backend is given.
    progress
        Called with the number of chunks finished so far.

    Returns
    -------
    MonteCarloNull
        Per-iteration maxima, ``(n_iterations,)`` each, in iteration order.
    """
    chosen = backend if backend is not None else make_backend(jobs)
    parts: list[Any] = map_chunks(run_chunk, spec, spec.n_chunks, chosen, progress)
    return MonteCarloNull(
        np.concatenate([p.max_ale for p in parts]),
        np.concatenate([p.max_cluster_size for p in parts]),
        np.concatenate([p.max_cluster_mass for p in parts]),
    )


def label_clusters(
    ale_3d: FloatArray, ale_threshold: float, connectivity: int = 6
) -> tuple[IntArray, FloatArray, FloatArray]:
    """Clusters of ALE > threshold: labels volume (0 = none), sizes and masses per label 1..n."""
    labels, n = ndimage.label(ale_3d > ale_threshold, structure(connectivity))
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=n + 1)[1:].astype(float)
    mass = np.bincount(flat, weights=ale_3d.ravel() - ale_threshold, minlength=n + 1)[1:]
    return labels.astype(np.int64), sizes, mass


def grid_voxel_size(grid: Grid) -> tuple[float, float, float]:
    """A grid's voxel size as a plain tuple (for :class:`MonteCarloSpec`)."""
    v = grid.voxel_size_mm
    return float(v[0]), float(v[1]), float(v[2])
