"""Regenerate the NiMARE 0.22.1 reference outputs in tests/data/nimare_generated/.

Runs in the NiMARE venv, never in biomark's (NiMARE is a test-time oracle only)::

    bash benchmarks/run.sh --venv-only          # creates benchmarks/.venv-nimare
    benchmarks/.venv-nimare/bin/python tests/regression/make_nimare_references.py

Every map is a masked 1-D float64 array in the voxel order of ``mask.npz`` (C order of
``np.nonzero(mask)`` on the 91x109x91 RAS grid, affine diag(2,2,2), origin (-90,-126,-72)).
Each .npz also holds its inputs (foci, offsets, sample sizes, NiMARE's voxel indices), so a
test needs nothing else. See tests/regression/README.md for the file list.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "data" / "nimare_generated"
sys.path.insert(0, str(REPO / "benchmarks"))

import scenarios as sc  # noqa: E402  (dataset loaders shared with the benchmarks)
from bench_nimare import to_dataset  # noqa: E402

N_EQUAL = (5, 10, 20, 30)
N_KERNELS = range(5, 41)
REAL_SUBSET = 40
SUB_ITERS = 1000
SUB_SPLIT = 13


def inputs_arrays(exps: list[sc.Experiment], dset: Any) -> dict[str, np.ndarray]:
    """Foci, per-experiment offsets and N, plus the voxel indices NiMARE assigned."""
    from nimare.utils import mm2vox

    xyz_mm = np.concatenate([e.xyz_mm for e in exps])
    ijk = mm2vox(xyz_mm, dset.masker.mask_img.affine)
    return {
        "xyz_mm": xyz_mm,
        "exp_offsets": np.cumsum([0] + [len(e.xyz_mm) for e in exps]),
        "sample_sizes": np.asarray([e.n for e in exps], dtype=np.int64),
        "exp_ids": np.asarray([e.exp_id for e in exps]),
        "nimare_ijk": ijk.astype(np.int64),
    }


def ale_maps(dset: Any, prefix: str = "") -> dict[str, np.ndarray]:
    from nimare.meta.cbma.ale import ALE

    est = ALE(null_method="approximate")
    res = est.fit(dset)
    out = {
        f"{prefix}{m}": res.get_map(m, return_type="array").astype(np.float64)
        for m in ("stat", "z", "p")
    }
    out[f"{prefix}ale_thresh_p001"] = np.float64(est._p_to_summarystat(0.001))
    return out


def make_mask() -> dict[str, Any]:
    exps = sc.load_synth25()
    dset = to_dataset(exps)
    img = dset.masker.mask_img
    mask = np.asanyarray(img.dataobj) > 0
    return {"mask": mask, "affine": img.affine, "n_voxels": np.int64(mask.sum())}


def make_synth25_nequal() -> dict[str, Any]:
    exps = sc.load_synth25()
    out: dict[str, Any] = {}
    for n in N_EQUAL:
        dset = to_dataset(sc.with_n(exps, n))
        out.update(ale_maps(dset, prefix=f"n{n}_"))
    out.update(inputs_arrays(exps, dset))
    out.pop("sample_sizes")
    out["n_values"] = np.asarray(N_EQUAL)
    return out


def make_real40() -> dict[str, Any]:
    exps = sc.load_real167()[:REAL_SUBSET]
    dset = to_dataset(exps)
    return {**ale_maps(dset), **inputs_arrays(exps, dset)}


def make_kernels() -> dict[str, Any]:
    from nimare.meta.utils import get_ale_kernel

    img = to_dataset(sc.load_synth25()[:1]).masker.mask_img
    out: dict[str, Any] = {"n_values": np.asarray(list(N_KERNELS))}
    sigmas, peaks, shapes, sums = [], [], [], []
    for n in N_KERNELS:
        sigma_vox, kernel = get_ale_kernel(img, sample_size=n)
        out[f"kernel_n{n}"] = kernel
        sigmas.append(sigma_vox)
        peaks.append(kernel.max())
        shapes.append(kernel.shape)
        sums.append(kernel.sum())
    out.update(
        sigma_vox=np.asarray(sigmas),
        peak=np.asarray(peaks),
        shape=np.asarray(shapes),
        kernel_sum=np.asarray(sums),
    )
    return out


def _patched_subtraction_class() -> type:
    """ALESubtraction whose observed group ALE uses the permutation code path (float64).

    NiMARE 0.22.1 stores the observed group ALE as float32 and compares it with float64
    permuted values, so exact ties (voxels where the permutation re-creates the observed
    grouping of the few contributing experiments) are broken by rounding. Computing the
    observed maps with the same routine as the permutations keeps ties exact.
    """
    from nimare.meta.cbma.ale import ALESubtraction

    class ALESubtractionTieSafe(ALESubtraction):  # type: ignore[misc]
        def _prepare_pairwise_ma_maps(self, *args: Any, **kwargs: Any) -> Any:
            store = super()._prepare_pairwise_ma_maps(*args, **kwargs)
            n1, n_total = store.n_group1, store.n_total
            store.group1_stat = store.compute_partition_summarystat(np.arange(n1))
            store.group2_stat = store.compute_partition_summarystat(np.arange(n1, n_total))
            return store

    return ALESubtractionTieSafe


def make_subtraction() -> dict[str, Any]:
    from nimare.meta.cbma.ale import ALESubtraction

    exps = sc.load_synth25()
    dset = to_dataset(exps)
    ids = [f"{e.exp_id}-0" for e in exps]
    d1, d2 = dset.slice(ids[:SUB_SPLIT]), dset.slice(ids[SUB_SPLIT:])
    out: dict[str, Any] = {"n_iters": np.int64(SUB_ITERS), "split": np.int64(SUB_SPLIT)}
    for tag, cls in (("stock", ALESubtraction), ("tiesafe", _patched_subtraction_class())):
        res = cls(n_iters=SUB_ITERS, n_cores=1, random_state=0, vfwe_only=True).fit(d1, d2)
        for m in ("stat", "z", "p"):
            key = f"{m}_desc-group1MinusGroup2"
            out[f"{tag}_{m}_diff"] = res.get_map(key, return_type="array").astype(np.float64)
        for g in ("group1", "group2"):
            out[f"{tag}_stat_{g}"] = res.get_map(f"stat_desc-{g}", return_type="array").astype(
                np.float64
            )
        p = out[f"{tag}_p_diff"]
        out[f"{tag}_frac_p_le"] = np.asarray([(p <= a).mean() for a in (0.001, 0.01, 0.05)])
    out.update(inputs_arrays(exps, dset))
    return out


MAKERS: dict[str, Callable[[], dict[str, Any]]] = {
    "mask": make_mask,
    "ale_synth25_nequal": make_synth25_nequal,
    "ale_real40_n20": make_real40,
    "kernels_n5_40": make_kernels,
    "sub_synth25_13v12": make_subtraction,
}


def summarise(name: str, arrays: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for k, v in arrays.items():
        a = np.asarray(v)
        if a.dtype.kind in "fi" and a.size == 1:
            summary[k] = a.item()
        elif k == "shape":
            summary["kernel_shapes"] = [list(map(int, x)) for x in a]
        elif k.endswith(("stat", "_z", "stat_diff")) or k == "stat":
            summary[f"max_{k}"] = float(a.max())
        elif k.endswith("frac_p_le"):
            summary[k] = a.tolist()
        elif k in ("peak", "sigma_vox"):
            summary[k] = [round(float(x), 8) for x in a]
    return summary


def main() -> None:
    import nimare

    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", choices=sorted(MAKERS))
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest["nimare_version"] = nimare.__version__
    for name in args.only or list(MAKERS):
        arrays = MAKERS[name]()
        np.savez_compressed(args.out / f"{name}.npz", **arrays)
        manifest[name] = summarise(name, arrays)
        print(name, (args.out / f"{name}.npz").stat().st_size, "bytes", flush=True)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
