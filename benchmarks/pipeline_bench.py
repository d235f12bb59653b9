"""Time the two end-to-end jobs of the peak-shift and report issues (timing only).

* ``biomark shift`` on the embedded dataset (both ROIs, all contrasts, 4 chains × 1,000 draws,
  prior sensitivity): target under 60 s with a warm PyTensor cache, under 90 s cold.
* ``biomark report --family outcome --jobs 2`` (10,000 Monte Carlo iterations): target under 90 s
  warm, under 2 minutes cold, peak memory under 1.5 GB.
* ``biomark --help``: under 1 s.

"Cold" runs with an empty PyTensor compile directory made for the run (``PYTENSOR_FLAGS=
base_compiledir=…``); "warm" runs reuse a directory that one earlier run has filled. Memory
is measured in one extra warm run (sampling it slows the run), every 0.25 s: the largest
single process (what ``/usr/bin/time`` calls maximum RSS) and the proportional set size
(PSS) summed over the whole process tree, which counts the worker processes too without
counting shared pages twice. No NiMARE counterpart exists for these jobs. Run on a quiet machine::

    .venv/bin/python benchmarks/pipeline_bench.py [--repeat 3] [--only shift|report|help]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIOMARK = str(Path(sys.executable).with_name("biomark"))
JOBS = {
    "shift": ([BIOMARK, "shift", "--out"], 60.0, 90.0),
    "report": ([BIOMARK, "report", "--family", "outcome", "--jobs", "2", "--out"], 90.0, 120.0),
}


def measure(cmd: list[str], env: dict[str, str], memory: bool) -> tuple[float, float, float, int]:
    """Wall seconds, largest process RSS (GB), tree PSS (GB) and exit code of one run.

    Reading every process's PSS costs CPU, so timed runs don't sample memory (0 is returned).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    largest = tree = 0
    if not memory:
        proc.wait()
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            info = [p.memory_full_info() for p in procs if p.is_running()]
            largest = max(largest, *(i.rss for i in info))
            tree = max(tree, sum(i.pss for i in info))
        except psutil.Error:
            pass
        time.sleep(0.25)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.stderr.write(proc.stderr.read().decode()[-2000:] if proc.stderr else "")
    return wall, largest / 1e9, tree / 1e9, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="warm runs per job")
    parser.add_argument("--only", choices=["shift", "report", "help"], action="append")
    args = parser.parse_args()
    chosen = args.only or ["help", "shift", "report"]
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} (measure on a quiet machine)")
    if "help" in chosen:
        start = time.perf_counter()
        subprocess.run([BIOMARK, "--help"], check=True, stdout=subprocess.DEVNULL)
        print(f"biomark --help: {time.perf_counter() - start:.2f} s (target < 1 s)")
    for name in [c for c in chosen if c in JOBS]:
        cmd, warm_target, cold_target = JOBS[name]
        with tempfile.TemporaryDirectory() as tmp:
            env = os.environ | {"PYTENSOR_FLAGS": f"base_compiledir={tmp}/pytensor"}
            for label in ["cold"] + ["warm"] * args.repeat:
                wall, _, _, rc = measure([*cmd, f"{tmp}/out"], env, memory=False)
                target = cold_target if label == "cold" else warm_target
                print(f"{name:6s} {label}: {wall:6.1f} s (target < {target:.0f} s), exit {rc}")
            _, largest, tree, rc = measure([*cmd, f"{tmp}/out"], env, memory=True)
            print(
                f"{name:6s} memory (extra warm run): largest process {largest:.2f} GB, "
                f"process tree PSS {tree:.2f} GB, exit {rc}"
            )


if __name__ == "__main__":
    main()
