import socket
import warnings

import numpy as np
import pytest

from biomark.parallel import (
    ParallelError,
    chunk_rng,
    chunk_sizes,
    gather_in_order,
    make_backend,
    map_chunks,
)
from tests.parallel.chunkfns import draw, pid_after_sleep


def test_chunk_rng_depends_only_on_seed_and_index():
    a = chunk_rng(7, 3).random(5)
    assert np.array_equal(a, chunk_rng(7, 3).random(5))
    assert not np.array_equal(a, chunk_rng(7, 4).random(5))
    assert not np.array_equal(a, chunk_rng(8, 3).random(5))


def test_chunk_sizes():
    assert chunk_sizes(10, 4) == [4, 4, 2]
    assert chunk_sizes(8, 4) == [4, 4]
    assert chunk_sizes(0, 4) == []


def test_backend_choice():
    assert make_backend(1).kind == "serial"
    assert make_backend(2).kind == "local"
    assert make_backend(2, dask_local=2).kind == "dask"
    with pytest.raises(ValueError, match="not both"):
        make_backend(1, "tcp://127.0.0.1:1", 2)


def test_serial_and_local_processes_identical():
    serial = gather_in_order(map_chunks(draw, (11, 4), 6, make_backend(1)))
    local = gather_in_order(map_chunks(draw, (11, 4), 6, make_backend(2)))
    assert np.array_equal(serial, local)
    # independent reference: the same generators drawn by hand
    expected = np.concatenate([chunk_rng(11, k).standard_normal(4) for k in range(6)])
    assert np.array_equal(serial, expected)


def test_progress_reports_every_chunk():
    seen = []
    map_chunks(draw, (1, 2), 3, make_backend(1), progress=seen.append)
    assert seen == [1, 2, 3]


def test_unreachable_scheduler_is_one_clear_error():
    backend = make_backend(1, scheduler="tcp://127.0.0.1:9")
    backend = type(backend)(backend.kind, 1, backend.scheduler, None, connect_timeout_s=2.0)
    with pytest.raises(ParallelError, match=r"cannot reach Dask scheduler at 'tcp://127.0.0.1:9'"):
        map_chunks(draw, (1, 2), 2, backend)


def test_dask_local_cluster_identical_to_serial():
    serial = gather_in_order(map_chunks(draw, (5, 3), 4, make_backend(1)))
    dask = gather_in_order(map_chunks(draw, (5, 3), 4, make_backend(1, dask_local=2)))
    assert np.array_equal(serial, dask)


def test_dask_spreads_few_chunks_over_all_workers():
    # two 1-second chunks on two workers must run side by side, not queue on one worker
    pids = map_chunks(pid_after_sleep, 1.0, 2, make_backend(1, dask_local=2))
    assert len(set(pids)) == 2


def test_local_cluster_quiet_when_port_8787_is_taken():
    # distributed's scheduler binds an HTTP port (8787 by default) even without a dashboard
    # and warns in several lines on stderr when another cluster holds it
    with socket.socket() as held:
        try:
            held.bind(("127.0.0.1", 8787))
            held.listen()
        except OSError:
            pass  # someone else holds it: the situation under test anyway
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            map_chunks(draw, (1, 2), 2, make_backend(1, dask_local=1))
    assert not [w for w in caught if "already in use" in str(w.message)]


def test_a_failing_chunk_stops_the_local_pool_at_once():
    import time

    from tests.parallel.chunkfns import fail_first_else_sleep

    start = time.perf_counter()
    with pytest.raises(ValueError, match="chunk 0 failed"):
        map_chunks(fail_first_else_sleep, 30.0, 6, make_backend(jobs=2))
    # the other chunks would take 30 s each; cancelled and terminated, not waited for
    assert time.perf_counter() - start < 15.0
