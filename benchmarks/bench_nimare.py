"""Time one NiMARE 0.22.1 scenario; run in benchmarks/.venv-nimare.

Usage: ``python benchmarks/bench_nimare.py SCENARIO [--iters N]``. Prints one ``RESULT:{json}``
line (see scenarios.emit). One scenario per process, so peak RSS belongs to that scenario.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenarios as sc  # noqa: E402


def to_dataset(exps: list[sc.Experiment]) -> Any:
    """NiMARE Dataset in the mni152_2mm target (same grid as biomark)."""
    from nimare.dataset import Dataset

    source = {
        e.exp_id: {
            "contrasts": {
                "0": {
                    "coords": {
                        "space": "MNI",
                        "x": e.xyz_mm[:, 0].tolist(),
                        "y": e.xyz_mm[:, 1].tolist(),
                        "z": e.xyz_mm[:, 2].tolist(),
                    },
                    "metadata": {"sample_sizes": [e.n]},
                }
            }
        }
        for e in exps
    }
    return Dataset(source, target="mni152_2mm")


def run_ale(dset: Any, rec: dict[str, Any]) -> None:
    from nimare.meta.cbma.ale import ALE

    res, first, best, cpu = sc.best_of(lambda: ALE(null_method="approximate").fit(dset), 3)
    stat = res.get_map("stat", return_type="array")
    rec.update(seconds=best, first_seconds=first, cpu_seconds=cpu, max_ale=float(stat.max()))
    rec["n_mask_voxels"] = int(stat.size)


def run_fwe(dset: Any, scen: sc.Scenario, n_iters: int, rec: dict[str, Any]) -> None:
    from nimare.correct import FWECorrector
    from nimare.meta.cbma.ale import ALE

    res = ALE(null_method="approximate").fit(dset)
    corr = FWECorrector(
        method="montecarlo", n_iters=n_iters, voxel_thresh=0.001, n_cores=scen.n_cores
    )
    cres, dt, cpu = sc.timed(lambda: corr.transform(res))
    nd = cres.estimator.null_distributions_
    rec.update(seconds=dt, cpu_seconds=cpu, n_iters=n_iters, n_cores=scen.n_cores)
    for key, label in (
        ("values_level-voxel_corr-fwe_method-montecarlo", "vfwe"),
        ("values_desc-size_level-cluster_corr-fwe_method-montecarlo", "csize"),
    ):
        rec[f"{label}_null_q95"] = float(sorted(nd[key])[int(0.95 * (len(nd[key]) - 1))])


def run_sub(
    dset: Any, ids: list[str], scen: sc.Scenario, n_iters: int, rec: dict[str, Any]
) -> None:
    from nimare.meta.cbma.ale import ALESubtraction

    d1, d2 = dset.slice(ids[: scen.split]), dset.slice(ids[scen.split :])
    sub = ALESubtraction(n_iters=n_iters, n_cores=scen.n_cores, random_state=0, vfwe_only=True)
    sres, dt, cpu = sc.timed(lambda: sub.fit(d1, d2))
    p = sres.get_map("p_desc-group1MinusGroup2", return_type="array")
    rec.update(seconds=dt, cpu_seconds=cpu, n_iters=n_iters, n_grp1=scen.split)
    rec["n_grp2"] = len(ids) - scen.split
    rec["frac_p_le_0.01"] = float((p <= 0.01).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(sc.SCENARIOS))
    ap.add_argument("--iters", type=int, default=None)
    args = ap.parse_args()
    scen = sc.SCENARIOS[args.scenario]
    n_iters = args.iters if args.iters is not None else sc.quick_iters(scen.nimare_iters)

    nimare, t_import, _ = sc.timed(lambda: __import__("nimare"))
    exps = sc.LOADERS[scen.dataset]()
    rec: dict[str, Any] = {"tool": "nimare", "version": nimare.__version__, "import_s": t_import}
    rec.update(scenario=scen.name, kind=scen.kind, **sc.describe(exps))
    with sc.TreeRssSampler() as tree:
        dset, rec["load_s"], _ = sc.timed(lambda: to_dataset(exps))
        if scen.kind == "ale":
            run_ale(dset, rec)
        elif scen.kind == "fwe":
            if n_iters == 0:
                rec.update(skipped="extrapolated by compare.py")
            else:
                run_fwe(dset, scen, n_iters, rec)
        elif scen.kind == "sub":
            ids = [f"{e.exp_id}-0" for e in exps]
            run_sub(dset, ids, scen, n_iters, rec)
    rec["tree_peak_pss_mib"] = round(tree.peak_mib, 1)
    if rec.get("n_iters"):
        rec["per_iter_ms"] = 1000.0 * rec["seconds"] / rec["n_iters"]
        rec["cpu_per_iter_ms"] = 1000.0 * rec["cpu_seconds"] / rec["n_iters"]
    sc.emit(rec)


if __name__ == "__main__":
    main()
