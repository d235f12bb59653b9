"""Local worker processes: chunks started in the background, and a pool shared by a whole run.

Starting a pool costs each worker its imports (about 1.5 CPU-seconds for the ALE kernels); a
report maps chunks half a dozen times, so :func:`shared_local_pool` lets every map of a run
reuse one pool.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from contextvars import ContextVar
from multiprocessing import forkserver
from typing import Any

_SHARED: ContextVar[tuple[int, ProcessPoolExecutor] | None] = ContextVar(
    "biomark_shared_pool", default=None
)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver avoids forking a process whose BLAS/OpenMP threads may hold locks.
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("forkserver")
    )


def _terminate(pool: ProcessPoolExecutor) -> None:
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        proc.terminate()


def preload_in_workers(modules: Sequence[str]) -> None:
    """Import ``modules`` once in the process that forks every local worker.

    Workers then start without their own imports and share those pages with each other. Only
    takes effect before the first local worker of this program starts. The fork server starts
    at once, so that it imports while this process goes on (the first worker would otherwise
    wait seconds for those imports).
    """
    preload = [*modules, "biomark.parallel._freeze"]
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    forkserver.ensure_running()


@contextmanager
def local_pool(jobs: int) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``jobs`` processes for several :class:`PendingChunks` in turn (``pool=``).

    ``None`` for ``jobs <= 1``. Workers keep what they cached between maps. Leaving the block by
    an exception terminates them at once; otherwise the pool is shut down.
    """
    if jobs <= 1:
        yield None
        return
    pool = _new_pool(jobs)
    try:
        yield pool
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


@contextmanager
def shared_local_pool(jobs: int, warm_up: Callable[[], Any] | None = None) -> Iterator[None]:
    """Within the block, every :class:`PendingChunks` of ``jobs`` workers uses one pool.

    ``warm_up`` (a picklable top-level function) runs once per worker right away, so that the
    workers import what the chunks need while this process is still loading data. Leaving the
    block by an exception (SIGTERM arrives as ``SystemExit``) terminates the workers at once;
    otherwise the pool is shut down after its last chunk.
    """
    with local_pool(jobs) as pool:
        if pool is None:
            yield
            return
        if warm_up is not None:
            for _ in range(jobs):
                pool.submit(warm_up)
        token = _SHARED.set((jobs, pool))
        try:
            yield
        finally:
            _SHARED.reset(token)


class PendingChunks:
    """Chunks running in the background on ``jobs`` local processes, started at construction.

    Use as a context manager: leaving it by an exception (a failure elsewhere, or SIGTERM
    arriving as ``SystemExit``) cancels the queued chunks and terminates the running ones.
    ``jobs=1`` runs nothing in the background: the chunks run in this process in
    :meth:`results`. Inside :func:`shared_local_pool` of the same size the chunks go to that
    pool (unless ``own_pool``), which is left running for the next map; ``pool`` (from
    :func:`local_pool`) names the pool to use instead.
    """

    def __init__(
        self, fn: Callable[[Any, int], Any], spec: Any, n_chunks: int, jobs: int,
        *, own_pool: bool = False, pool: ProcessPoolExecutor | None = None,
    ) -> None:  # fmt: skip
        self._fn, self._spec, self._n = fn, spec, n_chunks
        self._pool: ProcessPoolExecutor | None = None
        self._owned = True
        self._futures: dict[Future[Any], int] = {}
        if jobs <= 1 or n_chunks <= 1:
            return
        shared = None if own_pool else _SHARED.get()
        if pool is not None:
            self._pool, self._owned = pool, False
        elif shared is not None and shared[0] == jobs:
            self._pool, self._owned = shared[1], False
        else:
            self._pool = _new_pool(min(jobs, n_chunks))
        try:
            self._futures = {self._pool.submit(fn, spec, k): k for k in range(n_chunks)}
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> PendingChunks:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.stop()
        elif self._pool is not None and self._owned:
            self._pool.shutdown(wait=True)

    def results(self, progress: Callable[[int], None] | None = None) -> list[Any]:
        """Wait for every chunk; results in chunk order (a chunk's exception is re-raised)."""
        if self._pool is None:
            out = []
            for k in range(self._n):
                out.append(self._fn(self._spec, k))
                if progress:
                    progress(k + 1)
            return out
        results: list[Any] = [None] * self._n
        try:
            for done, fut in enumerate(as_completed(self._futures), start=1):
                results[self._futures[fut]] = fut.result()
                if progress:
                    progress(done)
        except BaseException:
            self.stop()
            raise
        return results

    def stop(self) -> None:
        """Drop the queued chunks and stop the running ones now (idempotent).

        A shared pool is not terminated here: its owner does that when the exception reaches
        :func:`shared_local_pool`; only this map's queued chunks are cancelled.
        """
        if self._pool is None:
            return
        if self._owned:
            _terminate(self._pool)
        else:
            for fut in self._futures:
                fut.cancel()
