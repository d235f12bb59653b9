"""Dask ``distributed`` backend of :func:`biomark.parallel.map_chunks`.

The spec is scattered once to every worker, each chunk is one task keyed by its index, and a
worker that dies mid-run has its chunks recomputed by the scheduler — with the same chunk seeds,
so the result is unchanged. Connection problems and a lost scheduler become one-line
:class:`~biomark.parallel.ParallelError` messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from biomark.parallel import Backend, ParallelError


@contextlib.contextmanager
def _client(backend: Backend) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if backend.scheduler is not None:
        try:
            client = Client(backend.scheduler, timeout=backend.connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ParallelError(
                f"cannot reach Dask scheduler at {backend.scheduler!r} within "
                f"{backend.connect_timeout_s:g} s ({exc.__class__.__name__}); expected an "
                "address like tcp://127.0.0.1:8786 of a running scheduler"
            ) from None
        with client:
            yield client
        return
    n = backend.dask_local or 1
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def map_dask(
    fn: Callable[[Any, int], Any],
    spec: Any,
    n_chunks: int,
    backend: Backend,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """Run ``fn(spec, k)`` for ``k < n_chunks`` on Dask; results in chunk order."""
    from concurrent.futures import CancelledError

    from distributed import KilledWorker, as_completed

    with _client(backend) as client:
        try:
            spec_future = client.scatter(spec, broadcast=True, hash=False)
            futures = [
                client.submit(fn, spec_future, k, key=f"biomark-chunk-{k}-{id(spec)}", pure=False)
                for k in range(n_chunks)
            ]
            index = {f.key: k for k, f in enumerate(futures)}
            results: list[Any] = [None] * n_chunks
            for done, fut in enumerate(as_completed(futures), start=1):
                results[index[fut.key]] = fut.result()
                if progress:
                    progress(done)
            return results
        except KilledWorker as exc:
            raise ParallelError(
                f"a chunk killed Dask workers repeatedly ({exc}); giving up on this run"
            ) from None
        except (OSError, TimeoutError, CancelledError) as exc:
            raise ParallelError(
                f"lost the Dask cluster mid-run ({exc.__class__.__name__}: {exc}); "
                "no partial result was written"
            ) from None
