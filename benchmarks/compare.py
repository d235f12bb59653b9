"""Run NiMARE and biomark on the same scenarios, in the same run, and print the ratios.

Usage (stdlib only; any Python 3.11+ runs it)::

    python benchmarks/compare.py run --nimare-python benchmarks/.venv-nimare/bin/python \
        --biomark-python .venv/bin/python [--only fwe_synth25_c1 ...] [--tools nimare biomark]
    python benchmarks/compare.py table [--results benchmarks/results/results.json]

Each (scenario, tool) runs in its own process, NiMARE then biomark back to back, so both see
the same machine load. Results merge into ``benchmarks/results/results.json`` (gitignored;
``BENCH_RESULTS=path`` writes elsewhere, e.g. for ``BENCH_QUICK=1`` smoke runs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scenarios as sc  # noqa: E402

RESULTS = Path(os.environ.get("BENCH_RESULTS", HERE / "results" / "results.json"))
RSS_LIMIT_MIB = 600.0
SCRIPTS = {"nimare": HERE / "bench_nimare.py", "biomark": HERE / "bench_biomark.py"}

# scenario -> (metric, target text, predicate on (nimare value, biomark value, biomark record))
TARGETS: dict[str, tuple[str, str, Any]] = {
    "ale_synth25": ("seconds", "no slower (ratio >= 1)", lambda n, b, r: n / b >= 1.0),
    "ale_real167": ("seconds", "no slower (ratio >= 1)", lambda n, b, r: n / b >= 1.0),
    "ale_large1000": ("seconds", "no slower (ratio >= 1)", lambda n, b, r: n / b >= 1.0),
    "fwe_synth25_c1": ("per_iter_ms", ">= 15x per iteration", lambda n, b, r: n / b >= 15.0),
    "fwe_synth25_c2": ("per_iter_ms", ">= 15x per iteration", lambda n, b, r: n / b >= 15.0),
    "fwe_real167_c1": ("per_iter_ms", ">= 15x per iteration", lambda n, b, r: n / b >= 15.0),
    "fwe_synth25_10k_c2": ("seconds", "10,000 iter ~20 s (jobs 2)", lambda n, b, r: b <= 25.0),
    "fwe_large1000_c2": ("seconds", "1,000 iter < 120 s", lambda n, b, r: b < 120.0),
    "sub_synth25": ("per_iter_ms", ">= 10x per permutation", lambda n, b, r: n / b >= 10.0),
}


def run_one(
    python: str, tool: str, scenario: str, timeout_s: float, iters: int | None = None
) -> dict[str, Any]:
    cmd = [python, str(SCRIPTS[tool]), scenario]
    if iters is not None:
        cmd += ["--iters", str(iters)]
    time_v = shutil.which("time") and Path("/usr/bin/time").exists()
    if time_v:
        cmd = ["/usr/bin/time", "-v", *cmd]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd="/tmp")
    except subprocess.TimeoutExpired:
        return {"tool": tool, "scenario": scenario, "error": f"timeout after {timeout_s} s"}
    text = p.stdout + p.stderr
    m = re.search(r"^RESULT:(.*)$", text, re.M)
    rec: dict[str, Any] = json.loads(m.group(1)) if m else {"tool": tool, "scenario": scenario}
    if not m:
        rec["error"] = f"exit {p.returncode}: " + text[-1500:]
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        rec["time_v_max_rss_mib"] = int(m.group(1)) / 1024.0
    return rec


def cmd_run(args: argparse.Namespace) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    pythons = {"nimare": args.nimare_python, "biomark": args.biomark_python}
    names = args.only or list(sc.SCENARIOS)
    for name in names:
        for tool in args.tools:
            rec = run_one(pythons[tool], tool, name, args.timeout, args.iters)
            results.setdefault(name, {})[tool] = rec
            shown = {k: rec.get(k) for k in ("seconds", "per_iter_ms", "peak_rss_mib", "error")}
            print(f"{name:22s} {tool:8s} {json.dumps(shown)[:300]}", flush=True)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(results, indent=1))
    print_table(results)


def _value(rec: dict[str, Any] | None, metric: str) -> float | None:
    if not rec or rec.get("error") or rec.get("skipped") or rec.get("todo"):
        return None
    v = rec.get(metric)
    return float(v) if v is not None else None


def _nimare_value(
    results: dict[str, Any], name: str, metric: str, cpu: bool = False
) -> tuple[float | None, str]:
    """NiMARE's number (wall or CPU); FWE whole-run seconds are extrapolated per iteration."""
    scen = sc.SCENARIOS[name]
    prefix = "cpu_" if cpu else ""
    if scen.kind == "fwe" and metric == "seconds":
        source = "fwe_synth25_c2" if scen.nimare_iters == 0 else name
        per_iter = _value(results.get(source, {}).get("nimare"), prefix + "per_iter_ms")
        if per_iter is None:
            return None, ""
        tag = "" if scen.nimare_iters == scen.biomark_iters else " (extrap.)"
        return per_iter * scen.biomark_iters / 1000.0, tag
    return _value(results.get(name, {}).get("nimare"), prefix + metric), ""


def _biomark_value(
    rec: dict[str, Any] | None, name: str, metric: str
) -> tuple[float | None, float | None, str]:
    """biomark's wall and CPU number; an FWE run with fewer iterations is extrapolated."""
    scen = sc.SCENARIOS[name]
    cpu_ok = scen.n_cores == 1  # pool workers' CPU time is not visible to the parent
    n_done = (rec or {}).get("n_iters")
    if scen.kind == "fwe" and metric == "seconds" and n_done and n_done != scen.biomark_iters:
        wall, cpu = _value(rec, "per_iter_ms"), _value(rec, "cpu_per_iter_ms")
        k = scen.biomark_iters / 1000.0
        return (wall or 0) * k, (cpu or 0) * k if cpu_ok else None, " (extrap.)"
    return _value(rec, metric), _value(rec, "cpu_" + metric) if cpu_ok else None, ""


def _rss(rec: dict[str, Any] | None) -> float | None:
    if not rec or rec.get("error") or rec.get("todo") or rec.get("skipped"):
        return None
    keys = ("peak_rss_mib", "children_peak_rss_mib", "time_v_max_rss_mib", "tree_peak_pss_mib")
    vals = [rec.get(k) for k in keys]
    return max(float(v) for v in vals if v is not None)


def _fmt(v: float | None, metric: str) -> str:
    if v is None:
        return "-"
    return f"{v:.1f} ms/it" if metric == "per_iter_ms" else f"{v:.2f} s"


def print_table(results: dict[str, Any]) -> None:
    head = f"{'scenario':22s} {'NiMARE':>20s} {'biomark':>20s} {'ratio':>8s} {'cpu rat.':>8s}  "
    print("\n" + head + f"{'RSS bm/Ni MiB':>15s}  {'target':28s} ok")
    print("-" * (len(head) + 50))
    for name, (metric, target, ok) in TARGETS.items():
        n, tag = _nimare_value(results, name, metric)
        n_cpu, _ = _nimare_value(results, name, metric, cpu=True)
        brec = results.get(name, {}).get("biomark")
        b, b_cpu, btag = _biomark_value(brec, name, metric)
        ratio = f"{n / b:.1f}x" if n and b else "-"
        ratio_cpu = f"{n_cpu / b_cpu:.1f}x" if n_cpu and b_cpu else "-"
        passed: Any = "-"
        if b is not None and not (n is None and "ratio" in target):
            passed = "yes" if ok(n or 0, b, brec) else "NO"
        rss_b, rss_n = _rss(brec), _rss(results.get(name, {}).get("nimare"))
        rss = f"{rss_b or 0:.0f}/{rss_n or 0:.0f}" if rss_b or rss_n else "-"
        if rss_b is not None and rss_b >= RSS_LIMIT_MIB:
            passed = f"{passed} RSS>600"
        if brec and brec.get("todo"):
            passed = "TODO"
        print(
            f"{name:22s} {_fmt(n, metric) + tag:>20s} {_fmt(b, metric) + btag:>20s} {ratio:>8s} "
            f"{ratio_cpu:>8s}  "
            f"{rss:>15s}  {target:28s} {passed}"
        )
    print(f"\nbiomark peak RSS target: < {RSS_LIMIT_MIB:.0f} MiB in every scenario.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--nimare-python", default=str(HERE / ".venv-nimare" / "bin" / "python"))
    r.add_argument("--biomark-python", default=str(HERE.parent / ".venv" / "bin" / "python"))
    r.add_argument("--only", nargs="*", choices=sorted(sc.SCENARIOS))
    r.add_argument("--tools", nargs="*", default=["nimare", "biomark"], choices=list(SCRIPTS))
    r.add_argument("--timeout", type=float, default=1800.0)
    r.add_argument(
        "--iters", type=int, default=None, help="override iterations (FWE runs are extrapolated)"
    )
    t = sub.add_parser("table")
    t.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.cmd == "run":
        cmd_run(args)
    else:
        print_table(json.loads(args.results.read_text()))


if __name__ == "__main__":
    main()
