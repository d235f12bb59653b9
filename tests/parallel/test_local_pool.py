"""One pool of worker processes for a whole run, and chunks started in the background."""

import time
from pathlib import Path

import numpy as np
import pytest

from biomark.parallel import PendingChunks, make_backend, map_chunks, shared_local_pool
from tests.parallel.chunkfns import draw, fail_first_else_sleep, pid_after_sleep


def _alive(pid: int) -> bool:
    try:
        with Path(f"/proc/{pid}/status").open() as fh:
            return "\tZ" not in next(line for line in fh if line.startswith("State:"))
    except FileNotFoundError:
        return False


def test_maps_inside_a_shared_pool_reuse_its_workers():
    backend = make_backend(jobs=2)
    with shared_local_pool(2):
        first = set(map_chunks(pid_after_sleep, 0.3, 4, backend))
        second = set(map_chunks(pid_after_sleep, 0.3, 4, backend))
    assert first == second and len(first) == 2
    # outside the block every map starts its own processes
    third = set(map_chunks(pid_after_sleep, 0.3, 4, backend))
    assert not third & first


def test_shared_pool_gives_the_serial_numbers():
    spec = (11, 5)
    with shared_local_pool(2):
        pooled = map_chunks(draw, spec, 6, make_backend(jobs=2))
    serial = map_chunks(draw, spec, 6, make_backend(jobs=1))
    assert all(np.array_equal(a, b) for a, b in zip(pooled, serial, strict=True))


def test_own_pool_keeps_out_of_the_shared_one():
    with shared_local_pool(2):
        shared = set(map_chunks(pid_after_sleep, 0.3, 4, make_backend(jobs=2)))
        with PendingChunks(pid_after_sleep, 0.3, 4, 2, own_pool=True) as pending:
            own = set(pending.results())
    assert len(own) == 2 and not own & shared


def test_background_chunks_run_while_the_caller_works():
    start = time.perf_counter()
    with PendingChunks(pid_after_sleep, 2.0, 2, 2) as pending:
        time.sleep(2.0)  # the caller's own work, meanwhile
        pids = pending.results()
    assert len(set(pids)) == 2
    assert time.perf_counter() - start < 3.8  # not 2 s + 2 s


def test_an_error_in_the_block_terminates_the_shared_workers():
    with pytest.raises(RuntimeError, match="caller failed"), shared_local_pool(2):
        pids = set(map_chunks(pid_after_sleep, 0.1, 4, make_backend(jobs=2)))
        PendingChunks(pid_after_sleep, 60.0, 4, 2)  # busy for a minute
        raise RuntimeError("caller failed")
    deadline = time.monotonic() + 10.0
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in pids)


def test_a_failing_chunk_in_the_shared_pool_reaches_the_caller_and_the_pool_goes_on():
    backend = make_backend(jobs=2)
    with shared_local_pool(2):
        with pytest.raises(ValueError, match="chunk 0 failed"):
            map_chunks(fail_first_else_sleep, 0.2, 3, backend)
        again = map_chunks(draw, (3, 2), 4, backend)
    assert len(again) == 4
