"""Quick timing of biomark's Monte Carlo FWE null (numpy reference vs numba engine).

Run from the repository root::

    .venv/bin/python benchmarks/bench_montecarlo_quick.py            # ms/iteration, both engines
    .venv/bin/python benchmarks/bench_montecarlo_quick.py --wall 10000 --jobs 1 2
    .venv/bin/python benchmarks/bench_montecarlo_quick.py --large    # 1,000 exp / 10,000 foci
    .venv/bin/python benchmarks/bench_montecarlo_quick.py --compile  # cold vs cached compile
    .venv/bin/python benchmarks/bench_montecarlo_quick.py --scenario real167 --skip-numpy
    .venv/bin/python benchmarks/bench_montecarlo_quick.py --scenario large1000 --wall 1000 --jobs 2

Workload: the synthetic 25-experiment / 193-focus set of tests/data/nimare_reference (its sample
sizes and focus counts; the Monte Carlo null ignores where the foci were), cluster-forming
ALE threshold 0.00986 (NiMARE's for p < 0.001), 6-connectivity, GingerALE mask. NiMARE 0.22.1
needs 34.8 ms per iteration on this machine class. Timings on a shared machine vary: each is
the minimum over ``--repeat`` runs (CPU time of this process; wall for multi-process runs).

``--scenario real167|large1000`` times the designs of ``benchmarks/scenarios.py`` (what
``bench_biomark.py`` runs) with their cluster-forming thresholds fixed at the values the
analytic null gave for p < 0.001 (NiMARE on real167: 475 ms per iteration).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from biomark.ale.montecarlo import MonteCarloSpec, run_chunk, run_montecarlo
from biomark.io.images import load_mask
from biomark.parallel import make_backend

ROOT = Path(__file__).resolve().parents[1]
SLEUTH = ROOT / "tests" / "data" / "nimare_reference" / "synthetic_ale25.txt"
NIMARE_MS = 34.8
THRESHOLD = 0.00986
# ale_threshold(analytic_null(ma), 0.001) of each scenario (biomark 2026-11, GingerALE mask)
SCENARIO_THRESHOLD = {"real167": 0.03527, "large1000": 0.07586}


def synthetic_design() -> tuple[np.ndarray, np.ndarray]:
    """Sample size per experiment and experiment index per focus of the synthetic set."""
    n_subjects: list[float] = []
    experiment: list[int] = []
    for line in SLEUTH.read_text().splitlines():
        s = line.strip()
        if s.startswith("//") and "Subjects=" in s:
            n_subjects.append(float(s.split("=")[1]))
        elif s and not s.startswith("//"):
            experiment.append(len(n_subjects) - 1)
    return np.asarray(n_subjects), np.asarray(experiment, dtype=np.int64)


def scenario_design(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sample sizes and experiment index per focus of a ``benchmarks/scenarios.py`` data set."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import scenarios

    exps = scenarios.LOADERS[name]()
    experiment = np.repeat(np.arange(len(exps)), [len(e.xyz_mm) for e in exps])
    return np.asarray([e.n for e in exps], dtype=float), experiment.astype(np.int64)


def make_spec(
    engine: str, n_iter: int, large: bool = False, chunk: int = 250, scenario: str = ""
) -> MonteCarloSpec:
    mask = load_mask()[0]
    threshold = SCENARIO_THRESHOLD.get(scenario, THRESHOLD)
    if scenario:
        n_subjects, experiment = scenario_design(scenario)
    elif large:
        rng = np.random.default_rng(1)
        n_subjects = rng.integers(10, 31, size=1000).astype(float)
        experiment = np.repeat(np.arange(1000), 10)
    else:
        n_subjects, experiment = synthetic_design()
    return MonteCarloSpec(
        mask=mask,
        voxel_size_mm=(2.0, 2.0, 2.0),
        n_subjects=n_subjects,
        experiment_index=experiment,
        ale_threshold=threshold,
        n_iterations=n_iter,
        chunk_size=chunk,
        engine=engine,  # type: ignore[arg-type]
    )


def ms_per_iteration(spec: MonteCarloSpec, repeat: int) -> float:
    run_chunk(dataclasses.replace(spec, n_iterations=1, chunk_size=1), 0)  # compile / warm up
    best = np.inf
    for _ in range(repeat):
        t = time.process_time()
        run_chunk(spec, 0)
        best = min(best, time.process_time() - t)
    return 1e3 * best / spec.n_iterations


def wall(n_iter: int, jobs: int, repeat: int, scenario: str = "") -> tuple[float, float]:
    """Best wall time and the largest peak RSS (MB) of any worker process."""
    spec = make_spec("numba", n_iter, scenario=scenario)
    best = np.inf
    stop = threading.Event()
    peaks: dict[int, float] = {}
    sampler = threading.Thread(target=_sample_workers, args=(stop, peaks), daemon=True)
    sampler.start()
    for _ in range(repeat):
        t = time.perf_counter()
        run_montecarlo(spec, make_backend(jobs))
        best = min(best, time.perf_counter() - t)
    stop.set()
    sampler.join()
    return float(best), max(peaks.values(), default=0.0)


def _sample_workers(stop: threading.Event, peaks: dict[int, float]) -> None:
    """Peak RSS (VmHWM) of every descendant; pool workers may be children of a fork server,
    which ``RUSAGE_CHILDREN`` of this process never sees."""
    family = {os.getpid()}
    while not stop.wait(0.5):
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
                )
            except OSError:
                continue
            if int(fields.get("PPid", "0")) in family:
                pid = int(fields["Pid"])
                family.add(pid)
                hwm = float(fields.get("VmHWM", "0 kB").split()[0]) / 1024
                peaks[pid] = max(peaks.get(pid, 0.0), hwm)


def compile_times() -> None:
    """First call in a fresh process: with an empty cache directory, then with it filled."""
    code = (
        "import time; t = time.perf_counter(); "
        "import benchmarks.bench_montecarlo_quick as b; "
        "from biomark.ale.montecarlo import run_chunk; "
        "run_chunk(b.make_spec('numba', 1, chunk=1), 0); "
        "print(f'{time.perf_counter() - t:.1f}')"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold (empty cache)", "warm (cached)"):
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
            )
            print(f"import + first call, {label}: {out.stdout.strip() or out.stderr[-300:]} s")
    print("(the in-tree cache: numba writes next to the module when the checkout is writable)")


def peak_rss_mb() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--iters", type=int, default=250, help="numba iterations per timing")
    ap.add_argument("--numpy-iters", type=int, default=20)
    ap.add_argument("--wall", type=int, default=0, help="also time N iterations end to end")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--large", action="store_true", help="1,000 experiments / 10,000 foci")
    ap.add_argument("--compile", action="store_true", help="measure compile and cache load")
    ap.add_argument("--scenario", choices=sorted(SCENARIO_THRESHOLD), default="")
    ap.add_argument("--skip-numpy", action="store_true")
    args = ap.parse_args()
    if args.compile:
        compile_times()
    if args.scenario:
        n = 20
        spec = make_spec("numba", n, chunk=n, scenario=args.scenario)
        ms = ms_per_iteration(spec, args.repeat)
        print(f"{args.scenario}, numba: {ms:.1f} ms/iteration")
    elif args.large:
        ms = ms_per_iteration(make_spec("numba", 20, large=True, chunk=20), args.repeat)
        print(
            f"large (1,000 exp / 10,000 foci), numba: {ms:.1f} ms/iteration; "
            f"1,000 iterations ≈ {ms:.0f} s on one core"
        )
    else:
        ms_nb = ms_per_iteration(make_spec("numba", args.iters, chunk=args.iters), args.repeat)
        print(
            f"synthetic 25/193, numba: {ms_nb:.2f} ms/iteration "
            f"({NIMARE_MS / ms_nb:.1f}x NiMARE's {NIMARE_MS} ms)"
        )
        if not args.skip_numpy:
            spec = make_spec("numpy", args.numpy_iters, chunk=args.numpy_iters)
            ms_np = ms_per_iteration(spec, args.repeat)
            print(f"synthetic 25/193, numpy: {ms_np:.2f} ms/iteration")
    if args.wall:
        for jobs in args.jobs:
            sec, worker_mb = wall(args.wall, jobs, args.repeat, args.scenario)
            print(
                f"{args.wall} iterations, jobs={jobs}: {sec:.1f} s "
                f"(peak RSS of a worker {worker_mb:.0f} MB)"
            )
    me, kids = peak_rss_mb()
    # pool workers forked by a fork server are not our children: see _sample_workers
    print(f"peak RSS: this process {me:.0f} MB, largest waited-for child {kids:.0f} MB")


if __name__ == "__main__":
    main()
