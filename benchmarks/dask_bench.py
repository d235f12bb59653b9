"""Time the cluster-level FWE Monte Carlo on Dask against local processes (timing only).

Part ``a``: the 167-experiment real movement set (N = 20 each), ``--iters-a`` iterations
(default 10,000) on a Dask LocalCluster with 1 and with 2 workers (started by biomark, as
``--dask-local N`` does) and on 2 local processes (``--jobs 2``). Targets: 2 workers ≥ 1.7×
1 worker; Dask 2 workers within 10 % of local processes.

Part ``b``: ``--experiments-b`` experiments / ``--foci-b`` foci drawn uniformly inside the MNI
mask (seeded), ``--iters-b`` iterations (default 1,000) on a 2-worker LocalCluster: wall time,
peak RSS of each worker (sampled every 0.5 s with ``client.run``) and peak RSS of this process
(client + in-process scheduler). The observed ALE fit that sets the cluster-forming threshold
runs in a child process first, so this process's peak reflects the Dask run only.

Wall times include starting the cluster or the process pool and loading the compiled kernel in
each worker (what a user waits for). Usage::

    python benchmarks/dask_bench.py                       # everything (~30 min on 2 cores)
    python benchmarks/dask_bench.py --parts a --iters-a 200 --iters-b 200   # smoke run
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scenarios as sc  # noqa: E402

from biomark.ale import montecarlo  # noqa: E402
from biomark.parallel import Backend, make_backend, map_chunks  # noqa: E402

CLUSTER_FORMING_P = 0.001
MIB = 1024.0 * 1024.0


def _inputs(exps: list[sc.Experiment]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xyz_mm = np.concatenate([e.xyz_mm for e in exps])
    experiment_index = np.repeat(np.arange(len(exps)), [len(e.xyz_mm) for e in exps])
    return xyz_mm, experiment_index, np.asarray([e.n for e in exps], dtype=np.float64)


def threshold_of(xyz_mm: np.ndarray, experiment_index: np.ndarray, n: np.ndarray) -> float:
    """Cluster-forming ALE threshold (analytic null, p < 0.001) of the observed foci."""
    from biomark.ale.ma import compute_ma_maps
    from biomark.ale.null import ale_threshold, analytic_null
    from biomark.io.images import load_mask

    mask, _ = load_mask()
    return float(ale_threshold(analytic_null(compute_ma_maps(xyz_mm, experiment_index, n, mask)),
                               CLUSTER_FORMING_P))  # fmt: skip


def make_spec(exps: list[sc.Experiment], n_iters: int, threshold: float) -> Any:
    from biomark.io.images import load_mask

    mask, grid = load_mask()
    _, exp, n = _inputs(exps)
    return montecarlo.MonteCarloSpec(
        mask=mask, voxel_size_mm=montecarlo.grid_voxel_size(grid), n_subjects=n,
        experiment_index=exp, ale_threshold=threshold, connectivity=6, n_iterations=n_iters,
        seed=0,
    )  # fmt: skip


def threshold_in_child(exps: list[sc.Experiment]) -> tuple[float, float]:
    """(threshold, seconds), computed in a forkserver child so its memory stays there."""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=get_context("forkserver")) as pool:
        thr = pool.submit(threshold_of, *_inputs(exps)).result()
    return thr, time.perf_counter() - t0


def timed_chunk(spec: Any, k: int) -> tuple[montecarlo.MonteCarloNull, float]:
    """One Monte Carlo chunk and the CPU seconds its process spent on it."""
    c0 = time.process_time()
    part = montecarlo.run_chunk(spec, k)
    return part, time.process_time() - c0


def timed_run(spec: Any, backend: Backend) -> tuple[montecarlo.MonteCarloNull, float, float]:
    """The null (as ``run_montecarlo`` builds it), wall seconds and summed chunk CPU seconds."""
    t0 = time.perf_counter()
    parts = map_chunks(timed_chunk, spec, spec.n_chunks, backend)
    wall = time.perf_counter() - t0
    null = montecarlo.MonteCarloNull(
        *(np.concatenate([getattr(p, f) for p, _ in parts])
          for f in ("max_ale", "max_cluster_size", "max_cluster_mass"))
    )  # fmt: skip
    return null, wall, sum(c for _, c in parts)


def same(a: montecarlo.MonteCarloNull, b: montecarlo.MonteCarloNull) -> bool:
    return all(
        np.array_equal(getattr(a, f), getattr(b, f))
        for f in ("max_ale", "max_cluster_size", "max_cluster_mass")
    )


def part_a(n_iters: int) -> list[str]:
    exps = sc.load_real167()
    thr, fit_s = threshold_in_child(exps)
    spec = make_spec(exps, n_iters, thr)
    n_foci = sum(len(e.xyz_mm) for e in exps)
    print(f"[a] real167: 167 exp / {n_foci} foci, threshold {thr:.5f} ({fit_s:.1f} s), "
          f"{n_iters} it = {spec.n_chunks} chunks", flush=True)  # fmt: skip
    runs: dict[str, tuple[montecarlo.MonteCarloNull, float, float]] = {}
    for name, backend in (
        ("dask 1 worker", make_backend(1, dask_local=1)),
        ("dask 2 workers", make_backend(1, dask_local=2)),
        ("local 2 processes", make_backend(2)),
    ):
        load = os.getloadavg()[0]
        runs[name] = timed_run(spec, backend)
        _, wall, cpu = runs[name]
        print(f"[a] {name}: {wall:.1f} s, chunk CPU {cpu:.1f} s (load before {load:.1f})",
              flush=True)  # fmt: skip
    nulls = [r[0] for r in runs.values()]
    identical = all(same(nulls[0], x) for x in nulls[1:])
    t1, t2, tl = (runs[k][1] for k in ("dask 1 worker", "dask 2 workers", "local 2 processes"))
    rows = []
    for name, (_, wall, cpu) in runs.items():
        rows.append(f"a  real167 {n_iters} it  {name:<18} {wall:8.1f} s  "
                    f"{1000.0 * wall / n_iters:7.1f} ms/it  chunk CPU {cpu:7.1f} s  "
                    f"cores busy {cpu / wall:.2f}")  # fmt: skip
    return [
        *rows,
        f"a  speed-up dask 2 vs 1 worker: {t1 / t2:.2f}x (target >= 1.7x); "
        f"dask 2 workers / local 2 processes: {t2 / tl:.2f} (target <= 1.10)",
        f"a  null maxima identical on all three backends: {'yes' if identical else 'NO'}",
    ]


def random_experiments(n_exp: int, n_foci: int, seed: int) -> list[sc.Experiment]:
    """Foci at uniformly drawn in-mask voxel centres; ≥ 1 focus each; N uniform in 8..40."""
    from biomark.io.images import load_mask
    from biomark.space import ijk_to_mm

    rng = np.random.default_rng(seed)
    mask, grid = load_mask()
    ijk = np.argwhere(mask)
    xyz = ijk_to_mm(ijk[rng.integers(0, ijk.shape[0], size=n_foci)], grid)
    counts = 1 + rng.multinomial(n_foci - n_exp, np.full(n_exp, 1.0 / n_exp))
    sizes = rng.integers(8, 41, size=n_exp)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [
        sc.Experiment(f"rand{i:05d}", int(sizes[i]), xyz[bounds[i] : bounds[i + 1]])
        for i in range(n_exp)
    ]


class WorkerRss:
    """Peak RSS per worker, polled with ``client.run`` every ``period_s``."""

    def __init__(self, client: Any, period_s: float = 0.5) -> None:
        self.client, self.period_s = client, period_s
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                rss = self.client.run(_rss_bytes)
            except Exception:  # a worker restarting mid-poll: try again next period
                continue
            for addr, b in rss.items():
                self.peak[addr] = max(self.peak.get(addr, 0.0), b / MIB)

    def __enter__(self) -> WorkerRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _rss_bytes() -> int:
    import psutil  # type: ignore[import-untyped]  # installed with distributed

    return int(psutil.Process().memory_info().rss)


def part_b(n_exp: int, n_foci: int, n_iters: int) -> list[str]:
    from distributed import Client, LocalCluster

    exps = random_experiments(n_exp, n_foci, seed=20261124)
    thr, fit_s = threshold_in_child(exps)
    spec = make_spec(exps, n_iters, thr)
    print(f"[b] {n_exp} exp / {n_foci} foci, threshold {thr:.5f} ({fit_s:.1f} s in a child), "
          f"{n_iters} it = {spec.n_chunks} chunks", flush=True)  # fmt: skip
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    t0 = time.perf_counter()
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                     dashboard_address=None, silence_logs=50) as cluster,
        Client(cluster) as client,
        WorkerRss(client) as sampler,
    ):  # fmt: skip
        _, wall, cpu = timed_run(spec, Backend("dask", scheduler=cluster.scheduler_address))
    total = time.perf_counter() - t0
    client_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    peaks = ", ".join(f"{v:.0f}" for v in sorted(sampler.peak.values()))
    return [
        f"b  {n_exp} exp / {n_foci} foci  {n_iters} it  dask 2 workers  {wall:8.1f} s "
        f"({1000.0 * wall / n_iters:.0f} ms/it; {total:.1f} s incl. cluster start/stop; "
        f"chunk CPU {cpu:.1f} s, cores busy {cpu / wall:.2f})",
        f"b  observed fit for the threshold (child process, not in the wall time): {fit_s:.1f} s",
        f"b  peak RSS per worker: {peaks} MiB; this process (client + scheduler): "
        f"{client_peak:.0f} MiB (before the run {rss_before:.0f} MiB)",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", nargs="+", choices=("a", "b"), default=["a", "b"])
    ap.add_argument("--iters-a", type=int, default=10_000)
    ap.add_argument("--iters-b", type=int, default=1_000)
    ap.add_argument("--experiments-b", type=int, default=5_000)
    ap.add_argument("--foci-b", type=int, default=100_000)
    args = ap.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()}", flush=True)
    rows: list[str] = []
    steps: list[Callable[[], list[str]]] = []
    if "a" in args.parts:
        steps.append(lambda: part_a(args.iters_a))
    if "b" in args.parts:
        steps.append(lambda: part_b(args.experiments_b, args.foci_b, args.iters_b))
    for step in steps:
        rows += step()
    print("\n" + "\n".join(rows))
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
