"""Time one biomark scenario (the same scenarios as bench_nimare.py); run in ``.venv``.

Usage: ``python benchmarks/bench_biomark.py SCENARIO [--iters N]``. Prints one
``RESULT:{json}`` line. Only biomark's API is called; the adapter functions below
(``fit_ale``, ``prepare_fwe``, ``subtraction``) are the one place to rewire when that API
changes. A piece that raises ``NotImplementedError`` is reported as TODO in compare.py's
table instead of failing the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scenarios as sc  # noqa: E402

MASK_NPZ = HERE.parent / "tests" / "data" / "nimare_generated" / "mask.npz"
CLUSTER_FORMING_P = 0.001


def load_mask() -> np.ndarray:
    """The 2 mm MNI152 brain mask (228,483 voxels), as a (91, 109, 91) bool array.

    TODO(lead): switch to biomark's own loader of data/ once it exists (biomark.io.images).
    Until then, the NiMARE mask saved by tests/regression/make_nimare_references.py (same
    voxel set) keeps both sides on the same mask.
    """
    with np.load(MASK_NPZ) as z:
        return np.asarray(z["mask"], dtype=bool)


def _inputs(exps: list[sc.Experiment]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xyz_mm = np.concatenate([e.xyz_mm for e in exps])
    experiment_index = np.repeat(np.arange(len(exps)), [len(e.xyz_mm) for e in exps])
    n_subjects = np.asarray([e.n for e in exps], dtype=np.float64)
    return xyz_mm, experiment_index, n_subjects


def fit_ale(exps: list[sc.Experiment], mask: np.ndarray) -> dict[str, Any]:
    """MA maps -> ALE -> analytic null -> p and z: what NiMARE's ``ALE().fit`` does."""
    from biomark.ale.ma import compute_ma_maps
    from biomark.ale.null import ale_from_ma, analytic_null, p_from_null, z_from_p

    ma = compute_ma_maps(*_inputs(exps), mask)
    stat = ale_from_ma(ma)
    p = p_from_null(stat, analytic_null(ma))
    return {"stat": stat, "p": p, "z": z_from_p(p)}


def prepare_fwe(
    exps: list[sc.Experiment], mask: np.ndarray, n_iters: int, n_jobs: int, seed: int
) -> Callable[[], dict[str, Any]]:
    """Set up the cluster-level FWE Monte Carlo; the returned call is what gets timed.

    As in NiMARE's ``FWECorrector(method="montecarlo", voxel_thresh=0.001).transform(result)``
    the observed ALE fit is done beforehand; the timed part is the ``n_iters`` iterations
    (every focus moved to a random in-mask voxel; max ALE, max cluster size and mass) plus the
    corrected p-values of the observed map.
    """
    from biomark.ale import montecarlo
    from biomark.ale.fwe import corrected_p
    from biomark.ale.ma import compute_ma_maps
    from biomark.ale.null import ale_from_ma, ale_threshold, analytic_null
    from biomark.ale.results import to_volume
    from biomark.space import MNI152_2MM

    xyz_mm, experiment_index, n_subjects = _inputs(exps)
    ma = compute_ma_maps(xyz_mm, experiment_index, n_subjects, mask)
    stat = ale_from_ma(ma)
    threshold = ale_threshold(analytic_null(ma), CLUSTER_FORMING_P)
    spec = montecarlo.MonteCarloSpec(
        mask=mask,
        voxel_size_mm=montecarlo.grid_voxel_size(MNI152_2MM),
        n_subjects=n_subjects,
        experiment_index=experiment_index,
        ale_threshold=threshold,
        connectivity=6,
        n_iterations=n_iters,
        seed=seed,
    )
    # compile the numba kernels outside the timed region (a one-off per process, like
    # NiMARE's own numba/joblib warm-up, which its timing also excludes)
    montecarlo.run_chunk(dataclasses.replace(spec, n_iterations=1, chunk_size=1), 0)

    def run_fwe() -> dict[str, Any]:
        null = montecarlo.run_montecarlo(spec, jobs=n_jobs)
        _, sizes, _ = montecarlo.label_clusters(to_volume(stat, mask), threshold, 6)
        corrected_p(stat, null.max_ale)
        corrected_p(sizes, null.max_cluster_size)
        return {
            "vfwe_null_q95": float(np.quantile(null.max_ale, 0.95)),
            "csize_null_q95": float(np.quantile(null.max_cluster_size, 0.95)),
            "engine": montecarlo.resolve_engine(spec.engine),
        }

    return run_fwe


def subtraction(
    exps: list[sc.Experiment], split: int, mask: np.ndarray, n_iters: int, n_jobs: int, seed: int
) -> dict[str, Any]:
    """ALE subtraction, label-permutation null over the whole mask (two-sided voxel p).

    The same work as NiMARE's ``ALESubtraction(vfwe_only=True).fit(d1, d2)``: MA maps once,
    then ``n_iters`` re-groupings; NiMARE-style (no GingerALE gating), so every voxel is tested.
    """
    from biomark.ale.contrast import subtraction as ale_subtraction
    from biomark.ale.ma import compute_ma_maps
    from biomark.parallel import make_backend

    ma = compute_ma_maps(*_inputs(exps), mask)
    in_group_a = np.arange(len(exps)) < split
    res = ale_subtraction(
        ma, in_group_a, n_permutations=n_iters, seed=seed, backend=make_backend(n_jobs)
    )
    return {"p": res.p}


def run(scen: sc.Scenario, exps: list[sc.Experiment], n_iters: int, rec: dict[str, Any]) -> None:
    mask = load_mask()
    rec["n_mask_voxels"] = int(mask.sum())
    if scen.kind == "ale":
        res, first, best, cpu = sc.best_of(lambda: fit_ale(exps, mask), 3)
        rec.update(seconds=best, first_seconds=first, cpu_seconds=cpu)
        rec["max_ale"] = float(np.max(res["stat"]))
    elif scen.kind == "fwe":
        run_fwe = prepare_fwe(exps, mask, n_iters, scen.n_cores, 0)
        res, dt, cpu = sc.timed(run_fwe)
        rec.update(seconds=dt, cpu_seconds=cpu, n_iters=n_iters, n_cores=scen.n_cores, **res)
    elif scen.kind == "sub":
        split = scen.split
        res, dt, cpu = sc.timed(lambda: subtraction(exps, split, mask, n_iters, scen.n_cores, 0))
        rec.update(seconds=dt, cpu_seconds=cpu, n_iters=n_iters, n_grp1=split)
        rec["n_grp2"] = len(exps) - split
        rec["frac_p_le_0.01"] = float(np.mean(np.asarray(res["p"]) <= 0.01))
    if rec.get("n_iters"):
        rec["per_iter_ms"] = 1000.0 * rec["seconds"] / rec["n_iters"]
        rec["cpu_per_iter_ms"] = 1000.0 * rec["cpu_seconds"] / rec["n_iters"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=sorted(sc.SCENARIOS))
    ap.add_argument("--iters", type=int, default=None)
    args = ap.parse_args()
    scen = sc.SCENARIOS[args.scenario]
    n_iters = args.iters if args.iters is not None else sc.quick_iters(scen.biomark_iters)
    biomark, t_import, _ = sc.timed(lambda: __import__("biomark"))
    exps = sc.LOADERS[scen.dataset]()
    rec: dict[str, Any] = {"tool": "biomark", "version": getattr(biomark, "__version__", "?")}
    rec.update(import_s=t_import, scenario=scen.name, kind=scen.kind, **sc.describe(exps))
    with sc.TreeRssSampler() as tree:
        try:
            run(scen, exps, n_iters, rec)
        except NotImplementedError as exc:
            rec["todo"] = str(exc)
    rec["tree_peak_pss_mib"] = round(tree.peak_mib, 1)
    sc.emit(rec)


if __name__ == "__main__":
    main()
