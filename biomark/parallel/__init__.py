"""Run independent, separately seeded chunks of work locally or on a Dask cluster.

Monte Carlo null iterations, permutations and simulation replicates are split into chunks; chunk
``k`` derives its random generator from ``(seed, k)`` only (:func:`chunk_rng`), so the combined
result is identical whatever the backend or the number of workers. Results are always returned
in chunk order.

Backends
--------
``serial``   in this process (``jobs=1``);
``local``    a ``concurrent.futures.ProcessPoolExecutor`` with ``jobs`` processes;
``dask``     an existing ``distributed`` scheduler (``scheduler="tcp://host:port"``) or a
             ``LocalCluster`` started for the run (``dask_local=N`` workers). A worker lost
             mid-run has its chunks recomputed (same seeds, same result); an unreachable or
             lost scheduler, or a chunk that keeps killing workers, raises
             :class:`ParallelError` with a one-line message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from biomark.errors import BiomarkError
from biomark.parallel._local import (
    PendingChunks,
    local_pool,
    preload_in_workers,
    shared_local_pool,
)

__all__ = [
    "Backend",
    "ParallelError",
    "PendingChunks",
    "chunk_rng",
    "chunk_seeds",
    "chunk_sizes",
    "gather_in_order",
    "local_pool",
    "make_backend",
    "map_chunks",
    "preload_in_workers",
    "shared_local_pool",
]

BackendKind = Literal["serial", "local", "dask"]


class ParallelError(BiomarkError):
    """The execution backend failed (unreachable scheduler, cluster lost mid-run)."""


@dataclass(frozen=True, slots=True)
class Backend:
    """Where chunks run. Build with :func:`make_backend`.

    ``connect_timeout_s`` bounds every wait on a Dask scheduler: connecting, waiting for a
    first worker, and — when no chunk has finished for that long — its answer to a ping.
    """

    kind: BackendKind = "serial"
    jobs: int = 1
    scheduler: str | None = None
    dask_local: int | None = None
    connect_timeout_s: float = 10.0

    def describe(self) -> str:
        """A short description for provenance, e.g. ``"local processes (2)"``."""
        if self.kind == "dask":
            where = self.scheduler or f"LocalCluster({self.dask_local} workers)"
            return f"dask {where}"
        return "serial" if self.kind == "serial" else f"local processes ({self.jobs})"


def make_backend(
    jobs: int = 1, scheduler: str | None = None, dask_local: int | None = None
) -> Backend:
    """Choose a backend from CLI-style options (Dask options win over ``jobs``)."""
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if scheduler is not None and dask_local is not None:
        raise ValueError("give either a Dask scheduler address or --dask-local N, not both")
    if scheduler is not None or dask_local is not None:
        if dask_local is not None and dask_local < 1:
            raise ValueError(f"--dask-local needs >= 1 worker, got {dask_local}")
        return Backend("dask", jobs, scheduler, dask_local)
    return Backend("local" if jobs > 1 else "serial", jobs)


def chunk_seeds(seed: int, n_chunks: int) -> list[np.random.SeedSequence]:
    """Independent seed sequences for chunks ``0..n_chunks-1`` of a run seeded with ``seed``."""
    return np.random.SeedSequence(seed).spawn(n_chunks)


def chunk_rng(seed: int, chunk_index: int) -> np.random.Generator:
    """The generator of chunk ``chunk_index``: depends only on ``seed`` and the index."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(chunk_index,)))


def chunk_sizes(total: int, chunk_size: int) -> list[int]:
    """Split ``total`` items into chunks of ``chunk_size`` (the last may be smaller)."""
    if total < 0 or chunk_size < 1:
        raise ValueError("total must be >= 0 and chunk_size >= 1")
    full, rest = divmod(total, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def map_chunks(
    fn: Callable[[Any, int], Any],
    spec: Any,
    n_chunks: int,
    backend: Backend,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """Evaluate ``fn(spec, k)`` for every chunk ``k`` and return the results in chunk order.

    ``fn`` must be a picklable top-level function and must draw its randomness only from
    :func:`chunk_rng` (or an equivalent keyed on ``k``). ``progress`` is called with the number
    of chunks finished so far.
    """
    if backend.kind == "dask":
        # lazy: distributed is heavy and only needed for this backend
        from biomark.parallel._dask import map_dask

        return map_dask(fn, spec, n_chunks, backend, progress)
    # one job (or one chunk) runs in this process, inside PendingChunks.results
    jobs = backend.jobs if backend.kind == "local" else 1
    with PendingChunks(fn, spec, n_chunks, jobs) as pending:
        return pending.results(progress)


def gather_in_order(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate per-chunk arrays (already in chunk order) along the first axis."""
    return np.concatenate([np.asarray(p) for p in parts], axis=0)
