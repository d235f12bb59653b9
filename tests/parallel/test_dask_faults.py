"""Fault handling of the Dask backend on real ``distributed`` clusters bound to 127.0.0.1.

A worker killed mid-run (SIGKILL from inside a chunk) must have its chunks recomputed with an
unchanged result; a chunk that kills every worker, an unreachable or worker-less scheduler and a
scheduler killed mid-run must each end in one line of :class:`ParallelError` within seconds.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dask
import numpy as np
import pytest
from typer.testing import CliRunner

from biomark.cli import app
from biomark.parallel import Backend, ParallelError, chunk_rng, gather_in_order, map_chunks
from tests.parallel.chunkfns import (
    draw_always_killing,
    draw_killing_once,
    draw_slowly,
    raise_oserror,
)

distributed = pytest.importorskip("distributed")

SYNTH = Path(__file__).resolve().parents[1] / "data" / "nimare_reference" / "synthetic_ale25.txt"


def _expected(seed: int, size: int, n_chunks: int) -> np.ndarray:
    # independent reference: the chunk generators drawn by hand, in chunk order
    return np.concatenate([chunk_rng(seed, k).standard_normal(size) for k in range(n_chunks)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


def _scheduler_process(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
           "--port", str(port), "--no-dashboard"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_listening(port)
    return proc


def _worker_process(address: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
           "--host", "127.0.0.1", "--no-dashboard", "--no-nanny"]  # fmt: skip
    # the worker must import tests.parallel.chunkfns
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def test_killed_worker_chunk_is_recomputed_and_result_identical(tmp_path):
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=50,
    ) as cluster:  # fmt: skip
        before = set(cluster.scheduler_info["workers"])
        backend = Backend("dask", scheduler=cluster.scheduler_address)
        spec = (3, 4, 2, str(tmp_path))  # chunk 2 kills its worker the first time it runs
        got = gather_in_order(map_chunks(draw_killing_once, spec, 8, backend))
        assert np.array_equal(got, _expected(3, 4, 8))
        dead_pid = int((tmp_path / "killed-2").read_text())
        reran = [int(p.name.rsplit("-", 1)[1]) for p in tmp_path.glob("ran-2-*")]
        assert reran and dead_pid not in reran  # chunk 2 finished elsewhere
        # the nanny replaced the dead worker: two workers again, one of them new
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = set(cluster.scheduler_info["workers"])
            if len(after) == 2 and after != before:
                break
            time.sleep(0.2)
        assert len(after) == 2 and len(after - before) == 1


def test_chunk_killing_every_worker_is_one_line_error():
    t0 = time.monotonic()
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        pytest.raises(ParallelError) as info,
    ):
        map_chunks(draw_always_killing, (3, 4, 1), 4, Backend("dask", dask_local=2))
    msg = str(info.value)
    assert "\n" not in msg
    assert "died 2 times" in msg and "allowed-failures" in msg and "local Dask cluster" in msg
    assert time.monotonic() - t0 < 60


def test_scheduler_killed_mid_run_is_one_line_error():
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _scheduler_process(port)
    worker = _worker_process(address)
    try:

        def kill_scheduler_after_first_chunk(done: int) -> None:
            if done == 1:
                scheduler.send_signal(signal.SIGKILL)

        backend = Backend("dask", scheduler=address, connect_timeout_s=20)
        t0 = time.monotonic()
        with (
            dask.config.set({"distributed.comm.timeouts.connect": "3s"}),
            pytest.raises(ParallelError) as info,
        ):
            map_chunks(draw_slowly, (1, 2, 0.3), 40, backend, kill_scheduler_after_first_chunk)
        elapsed = time.monotonic() - t0
    finally:
        _stop(scheduler, worker)
    msg = str(info.value)
    assert "\n" not in msg
    assert f"lost the Dask scheduler at '{address}' mid-run" in msg
    assert elapsed < 40  # 40 chunks x 0.3 s would be 12 s; a hang would be far longer


def test_hung_scheduler_is_one_line_error():
    # SIGSTOP: the scheduler's kernel still holds the TCP connection open, so only a ping notices
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _scheduler_process(port)
    worker = _worker_process(address)
    try:

        def stop_scheduler_after_first_chunk(done: int) -> None:
            if done == 1:
                scheduler.send_signal(signal.SIGSTOP)

        backend = Backend("dask", scheduler=address, connect_timeout_s=3)
        t0 = time.monotonic()
        with pytest.raises(ParallelError) as info:
            map_chunks(draw_slowly, (1, 2, 0.3), 200, backend, stop_scheduler_after_first_chunk)
        elapsed = time.monotonic() - t0
    finally:
        scheduler.send_signal(signal.SIGCONT)
        _stop(scheduler, worker)
    msg = str(info.value)
    assert "\n" not in msg
    assert f"Dask scheduler at '{address}' stopped answering (no reply within 3 s)" in msg
    assert elapsed < 30  # 200 chunks x 0.3 s would be 60 s; without the ping it hangs forever


def test_scheduler_without_workers_is_one_line_error():
    port = _free_port()
    scheduler = _scheduler_process(port)
    address = f"tcp://127.0.0.1:{port}"
    try:
        with pytest.raises(ParallelError, match=r"has no workers") as info:
            map_chunks(draw_slowly, (1, 2, 0.0), 2, Backend("dask", scheduler=address,
                                                           connect_timeout_s=2))  # fmt: skip
    finally:
        _stop(scheduler)
    assert "\n" not in str(info.value) and address in str(info.value)


@pytest.mark.parametrize(
    ("address", "phrase"),
    [
        ("127.0.0.1", "malformed Dask scheduler address '127.0.0.1'"),
        ("tcp://127.0.0.1:notaport", "malformed Dask scheduler address"),
        ("tcp://127.0.0.1", "malformed Dask scheduler address"),
    ],
)
def test_malformed_address_is_one_line_error(address, phrase):
    with pytest.raises(ParallelError, match=phrase) as info:
        map_chunks(draw_slowly, (1, 2, 0.0), 2, Backend("dask", scheduler=address))
    assert "\n" not in str(info.value)


def test_cli_closed_port_exits_2_with_one_line(tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"  # bound, then closed: nothing listens
    args = ["ale", str(SYNTH), "--out", str(tmp_path / "out"), "--iterations", "100",
            "--quiet", "--dask-scheduler", address]  # fmt: skip
    t0 = time.monotonic()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert f"cannot reach Dask scheduler at '{address}'" in lines[0]
    assert "nothing is listening" in lines[0]
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "out" / "provenance.json").exists()


def test_chunk_function_errors_propagate_unchanged():
    # an OSError raised by the chunk itself is not a lost cluster
    with pytest.raises(FileNotFoundError, match=r"chunk \d: no-such-file"):
        map_chunks(raise_oserror, "no-such-file", 2, Backend("dask", dask_local=1))
