"""Dask ``distributed`` backend of :func:`biomark.parallel.map_chunks`.

The spec is held by one small task (not ``scatter``-ed: scattered data is lost for good when the
worker holding it dies, whereas a task is recomputed), each chunk is one task keyed by its index
and depending on the spec, and a worker that dies mid-run has its chunks recomputed by the
scheduler — with the same chunk seeds, so the result is unchanged. A chunk that kills
``distributed.scheduler.allowed-failures + 1`` workers, an unreachable or worker-less scheduler,
a scheduler lost mid-run and one that stops answering (pinged whenever no chunk has finished for
``Backend.connect_timeout_s``) become one-line :class:`~biomark.parallel.ParallelError` messages
naming the address; ``distributed``'s own log records (tracebacks of the lost connection) are
held back below CRITICAL while a run is in progress, so the user sees only that line.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError  # distributed's FutureCancelledError derives from it
from typing import Any
from urllib.parse import urlsplit

from biomark.parallel import Backend, ParallelError

_EXAMPLE = "expected an address like tcp://127.0.0.1:8786 of a running scheduler"


class _ChunkRaised(Exception):
    """Carries an exception raised by the chunk function itself past the cluster handlers."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(original)
        self.original = original


class _SchedulerSilent(Exception):
    """The scheduler did not answer a ping within the given seconds."""


def hold(spec: Any) -> Any:
    """Task body that keeps the run's spec in worker memory (recomputable, unlike scatter)."""
    return spec


def probe_scheduler_address(address: str, timeout_s: float) -> None:
    """Fail fast with one line when a ``tcp://host:port`` address cannot be connected to.

    ``distributed.Client`` keeps retrying a refused connection until its timeout and then
    reports a generic timeout; a plain socket tells "nothing listens there" or "no such host"
    at once. Other schemes (``tls://``, ``ucx://``, ...) are left to ``distributed``.
    """
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ParallelError(f"malformed Dask scheduler address {address!r}; {_EXAMPLE}")
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except ConnectionRefusedError:
        raise ParallelError(
            f"cannot reach Dask scheduler at {address!r}: nothing is listening on port {port} "
            f"of {host}; {_EXAMPLE}"
        ) from None
    except socket.gaierror:
        raise ParallelError(
            f"cannot reach Dask scheduler at {address!r}: unknown host {host!r}; {_EXAMPLE}"
        ) from None
    except OSError as exc:
        raise ParallelError(
            f"cannot reach Dask scheduler at {address!r} within {timeout_s:g} s "
            f"({exc.__class__.__name__}); {_EXAMPLE}"
        ) from None


@contextlib.contextmanager
def _quiet_distributed_logs() -> Iterator[None]:
    # dask's logging config gives "distributed" and some children (e.g. "distributed.client")
    # their own level and stderr handler, so every such logger is raised, not just the root.
    loggers = [logging.getLogger("distributed")] + [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("distributed.")
    ]
    old = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, old, strict=True):
            lg.setLevel(level)


@contextlib.contextmanager
def _client(backend: Backend) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if backend.scheduler is not None:
        address, timeout_s = backend.scheduler, backend.connect_timeout_s
        probe_scheduler_address(address, timeout_s)
        try:
            client = Client(address, timeout=timeout_s)
        except ValueError as exc:
            detail = str(exc).splitlines()[0] if str(exc) else "ValueError"
            raise ParallelError(
                f"malformed Dask scheduler address {address!r} ({detail}); {_EXAMPLE}"
            ) from None
        except (OSError, TimeoutError) as exc:
            raise ParallelError(
                f"cannot reach Dask scheduler at {address!r} within {timeout_s:g} s "
                f"({exc.__class__.__name__}); {_EXAMPLE}"
            ) from None
        with client:
            _wait_for_a_worker(client, address, timeout_s)
            yield client
        return
    import dask

    # Workers sample their own stacks every 10 ms for the dashboard's profiler, which costs the
    # compute thread ~10 % here; a cluster started for one run has no dashboard to show it.
    quiet_workers = {
        "distributed.worker.profile.enabled": False,
        "distributed.admin.system-monitor.interval": "1s",
        "distributed.scheduler.work-stealing": False,
    }
    with (
        dask.config.set(quiet_workers),
        LocalCluster(
            n_workers=backend.dask_local or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # the scheduler's HTTP server (health routes) runs even without a dashboard; a free
            # loopback port instead of 8787 avoids a "port in use" warning beside other clusters
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _wait_for_a_worker(client: Any, address: str, timeout_s: float) -> None:
    # Without workers the tasks would wait forever; say so instead.
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except (OSError, TimeoutError):
        raise ParallelError(
            f"the Dask scheduler at {address!r} has no workers (none joined within "
            f"{timeout_s:g} s); start some with `dask worker {address}`"
        ) from None


def map_dask(
    fn: Callable[[Any, int], Any],
    spec: Any,
    n_chunks: int,
    backend: Backend,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """Run ``fn(spec, k)`` for ``k < n_chunks`` on Dask; results in chunk order.

    Raises
    ------
    ParallelError
        The scheduler cannot be reached or has no workers, the connection to it was lost
        mid-run, or one chunk killed more workers than ``distributed.scheduler.allowed-failures``
        allows. Exceptions raised by ``fn`` itself propagate unchanged.
    """
    from distributed import KilledWorker

    where = (
        f"Dask scheduler at {backend.scheduler!r}" if backend.scheduler else "local Dask cluster"
    )
    with _quiet_distributed_logs(), _client(backend) as client:
        try:
            return _submit_and_gather(
                client, fn, spec, n_chunks, progress, backend.connect_timeout_s
            )
        except _ChunkRaised as raised:
            raise raised.original from None
        except _SchedulerSilent as silent:
            raise ParallelError(
                f"the {where} stopped answering (no reply within {silent.args[0]:g} s) "
                "mid-run; no partial result was written"
            ) from None
        except KilledWorker as exc:
            raise ParallelError(_killed_message(exc, where)) from None
        except (OSError, TimeoutError, CancelledError) as exc:
            reason = getattr(exc, "reason", None) or exc.__class__.__name__
            raise ParallelError(
                f"lost the {where} mid-run ({reason}); no partial result was written"
            ) from None


def _submit_and_gather(
    client: Any,
    fn: Callable[[Any, int], Any],
    spec: Any,
    n_chunks: int,
    progress: Callable[[int], None] | None,
    patience_s: float,
) -> list[Any]:
    from distributed import KilledWorker, wait

    # Unique keys: a long-lived scheduler must never hand back another run's results.
    token = uuid.uuid4().hex
    spec_future = client.submit(hold, spec, key=f"biomark-spec-{token}", pure=False)
    # A copy on every worker before the chunks are submitted: otherwise the scheduler places
    # a handful of chunks all next to their one dependency, i.e. on a single worker.
    wait(spec_future)
    client.replicate([spec_future])
    futures = [
        client.submit(fn, spec_future, k, key=f"biomark-chunk-{token}-{k}", pure=False)
        for k in range(n_chunks)
    ]
    index = {f.key: k for k, f in enumerate(futures)}
    results: list[Any] = [None] * n_chunks
    pending, done = set(futures), 0
    while pending:
        try:
            finished, pending = wait(pending, timeout=patience_s, return_when="FIRST_COMPLETED")
        except TimeoutError:
            # No chunk for a while: fine if the scheduler still answers. A hung or unreachable
            # scheduler host keeps the TCP connection open, so nothing else would notice.
            _ping_scheduler(client, patience_s)
            continue
        for fut in sorted(finished, key=lambda f: index[f.key]):
            # an OSError of the chunk itself must not read as a lost cluster
            if fut.status == "error" and not isinstance(err := fut.exception(), KilledWorker):
                raise _ChunkRaised(err.with_traceback(fut.traceback()))
            results[index[fut.key]] = fut.result()
            done += 1
            if progress:
                progress(done)
    return results


def _ping_scheduler(client: Any, timeout_s: float) -> None:
    try:
        client.sync(client.scheduler.identity, callback_timeout=timeout_s)
    except (OSError, TimeoutError):
        raise _SchedulerSilent(timeout_s) from None


def _killed_message(exc: Any, where: str) -> str:
    # The scheduler blames every task that was assigned to a dying worker, so the chunk named
    # is the first one to run out of retries, not necessarily the culprit.
    key = str(getattr(exc, "task", ""))
    chunk = key.rsplit("-", 1)[-1] if key.startswith("biomark-chunk-") else None
    what = f"chunk {chunk}" if chunk is not None else f"task {key!r}"
    n = getattr(exc, "allowed_failures", None)
    times = f"{n + 1} times" if isinstance(n, int) else "repeatedly"
    return (
        f"workers of the {where} died {times} while {what} was on them (a crash or out of "
        "memory?); giving up (dask config distributed.scheduler.allowed-failures sets the limit)"
    )
