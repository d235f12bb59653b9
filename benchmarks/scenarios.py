"""Benchmark datasets and timing helpers shared by the NiMARE and the biomark side.

Stdlib + numpy only, so the same file runs in ``.venv`` (biomark) and in
``benchmarks/.venv-nimare`` (NiMARE 0.22.1). Both sides load the same experiments from
here and print :func:`digest` of them, so ``compare.py`` can check they timed the same input.

Datasets (all coordinates MNI mm):

* ``synth25``: 25 experiments / 193 foci, N 5-30 (``data/synthetic_ale25.json``).
* ``real167``: the 167 NeuroQuery v1 tables of healthy finger/hand-movement studies
  (3,182 foci) in ``data/real/healthy_motor_coordinates.tsv``; one experiment per
  (source, pmid, table_id); N = 20 for all (the tables carry no sample sizes).
* ``large1000``: 1,000 experiments / 10,000 foci, seeded: foci resampled from the real
  healthy-movement foci (both sources) with N(0, 6 mm) jitter, rounded to integer mm;
  N drawn uniformly in 8..40.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SYNTH25_JSON = HERE / "data" / "synthetic_ale25.json"
REAL_HEALTHY_TSV = REPO / "data" / "real" / "healthy_motor_coordinates.tsv"
REAL_SOURCE = "neuroquery_v1"
REAL_N = 20
LARGE_SEED = 20261124


@dataclass(frozen=True)
class Experiment:
    """One experiment: id, sample size and foci ``xyz_mm`` of shape (n_foci, 3)."""

    exp_id: str
    n: int
    xyz_mm: np.ndarray


def load_synth25() -> list[Experiment]:
    meta = json.loads(SYNTH25_JSON.read_text())
    return [
        Experiment(
            f"{e['study']}-{e['contrast']}",
            int(e["sample_size"]),
            np.asarray(e["foci_mni_mm"], dtype=np.float64),
        )
        for e in meta["experiments"]
    ]


def _read_real_rows(source: str | None) -> list[dict[str, str]]:
    with REAL_HEALTHY_TSV.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r for r in rows if source is None or r["source"] == source]


def load_real167(n: int = REAL_N) -> list[Experiment]:
    """Group the NeuroQuery healthy-movement rows by (source, pmid, table_id)."""
    groups: dict[tuple[str, str, str], list[list[float]]] = {}
    for r in _read_real_rows(REAL_SOURCE):
        key = (r["source"], r["pmid"], r["table_id"])
        groups.setdefault(key, []).append([float(r["x"]), float(r["y"]), float(r["z"])])
    return [
        Experiment(f"{s}-{p}-{t}", n, np.asarray(xyz, dtype=np.float64))
        for (s, p, t), xyz in groups.items()
    ]


def make_large(n_exp: int = 1000, n_foci: int = 10000, seed: int = LARGE_SEED) -> list[Experiment]:
    rng = np.random.default_rng(seed)
    pool = np.asarray(
        [[float(r["x"]), float(r["y"]), float(r["z"])] for r in _read_real_rows(None)],
        dtype=np.float64,
    )
    # every experiment gets >= 1 focus; the rest are spread multinomially
    counts = 1 + rng.multinomial(n_foci - n_exp, np.full(n_exp, 1.0 / n_exp))
    picks = pool[rng.integers(0, len(pool), size=n_foci)]
    xyz = np.round(picks + rng.normal(0.0, 6.0, size=picks.shape))
    sizes = rng.integers(8, 41, size=n_exp)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [
        Experiment(f"large{i:04d}", int(sizes[i]), xyz[bounds[i] : bounds[i + 1]])
        for i in range(n_exp)
    ]


def subset(exps: list[Experiment], n: int | None = None) -> list[Experiment]:
    return list(exps) if n is None else list(exps[:n])


def with_n(exps: list[Experiment], n: int) -> list[Experiment]:
    return [Experiment(e.exp_id, n, e.xyz_mm) for e in exps]


LOADERS: dict[str, Callable[[], list[Experiment]]] = {
    "synth25": load_synth25,
    "real167": load_real167,
    "large1000": make_large,
}


def digest(exps: list[Experiment]) -> str:
    h = hashlib.sha256()
    for e in exps:
        h.update(f"{e.exp_id}|{e.n}|".encode())
        h.update(np.ascontiguousarray(e.xyz_mm, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def describe(exps: list[Experiment]) -> dict[str, Any]:
    return {
        "n_experiments": len(exps),
        "n_foci": int(sum(len(e.xyz_mm) for e in exps)),
        "digest": digest(exps),
    }


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def children_peak_rss_mib() -> float:
    """Largest peak RSS of any waited-for child (joblib/loky or process-pool workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children.

    CPU time is much less sensitive than wall time to other jobs on a shared machine; it
    misses pool workers that are still alive (joblib/loky, n_cores > 1), so the wall time
    stays the headline number.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _tree_pss_mib(root: int) -> float:
    """Summed PSS of ``root`` and all its descendants (pool workers, forkserver), from /proc.

    PSS (proportional set size) splits shared pages between the processes that map them, so
    the sum is the tree's real memory use (a sum of RSS would count shared libraries twice).
    """
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, grew = {root}, True
    while grew:
        new = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= new
        grew = bool(new)
    total = 0.0
    for pid in tree:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) / 1024.0
    return total


class TreeRssSampler:
    """Samples the process tree's summed PSS every ``period_s`` in a thread; keeps the peak.

    ru_maxrss misses workers started by a forkserver (they are not our children) and never
    adds several processes up; this sampler sees both (short spikes between samples can be
    missed, so the table takes the larger of this and ru_maxrss).
    """

    def __init__(self, period_s: float = 0.25) -> None:
        self.period_s = period_s
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, _tree_pss_mib(os.getpid()))
            self._stop.wait(self.period_s)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn`` once; return (output, wall s, CPU s)."""
    c0, t0 = cpu_seconds(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, cpu_seconds() - c0


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[Any, float, float, float]:
    """Run ``fn`` ``repeats`` times; return (last output, first wall s, best wall s, best CPU s)."""
    walls, cpus = [], []
    out = None
    for _ in range(repeats):
        out, wall, cpu = timed(fn)
        walls.append(wall)
        cpus.append(cpu)
    return out, walls[0], min(walls), min(cpus)


def emit(record: dict[str, Any]) -> None:
    """Print one result line that compare.py parses."""
    record.setdefault("peak_rss_mib", round(peak_rss_mib(), 1))
    record.setdefault("children_peak_rss_mib", round(children_peak_rss_mib(), 1))
    record.setdefault("python", sys.version.split()[0])
    record.setdefault("pid", os.getpid())
    # other work on the machine skews timings; keep the load to judge a run by
    record.setdefault("loadavg_1min", round(os.getloadavg()[0], 2))
    print("RESULT:" + json.dumps(record), flush=True)


@dataclass(frozen=True)
class Scenario:
    """What to time: ``kind`` in {"ale", "fwe", "sub"}, on which dataset, how many iterations.

    ``nimare_iters`` / ``biomark_iters`` differ where NiMARE would take too long for the full
    count; ratios are per iteration (or per permutation).
    """

    name: str
    kind: str
    dataset: str
    nimare_iters: int = 0
    biomark_iters: int = 0
    n_cores: int = 1
    split: int = 0
    note: str = ""


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("ale_synth25", "ale", "synth25", note="ALE fit + analytic null, best of 3"),
        Scenario("fwe_synth25_c1", "fwe", "synth25", 1000, 1000, 1),
        Scenario("fwe_synth25_c2", "fwe", "synth25", 1000, 1000, 2),
        Scenario(
            "fwe_synth25_10k_c2",
            "fwe",
            "synth25",
            0,
            10000,
            2,
            note="NiMARE side extrapolated from fwe_synth25_c2",
        ),
        Scenario("sub_synth25", "sub", "synth25", 1000, 1000, 1, split=13),
        Scenario("ale_real167", "ale", "real167"),
        Scenario("fwe_real167_c1", "fwe", "real167", 100, 1000, 1),
        Scenario("ale_large1000", "ale", "large1000"),
        Scenario("fwe_large1000_c2", "fwe", "large1000", 50, 1000, 2),
    ]
}


def quick_iters(n: int) -> int:
    """BENCH_QUICK=1 divides every iteration count by 10 (smoke runs of the harness)."""
    if os.environ.get("BENCH_QUICK") and n:
        return max(1, n // 10)
    return n
