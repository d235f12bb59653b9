"""``biomark ale`` and ``biomark contrast``: fit, label clusters, write maps and tables."""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biomark import __version__
from biomark.ale.diagnostics import (
    JACKKNIFE_METHODS,
    cluster_contributions,
    cluster_robustness,
    jackknife_threshold,
)
from biomark.ale.fit import fit_ale
from biomark.ale.fit_contrast import fit_contrast
from biomark.ale.results import AleResult, ContrastResult, ale_cluster_table, contrast_cluster_table
from biomark.config import AleConfig, RunConfig
from biomark.errors import InputError
from biomark.io.atlases import AtlasSet, atlas_credits, load_atlases
from biomark.io.images import load_mask, save_map
from biomark.io.outputs import write_json, write_table
from biomark.parallel import Backend, make_backend
from biomark.pipeline.data import load
from biomark.pipeline.staging import staged_output
from biomark.rules import flip_right_lesions, resolve_duplicate_cohorts, to_mni
from biomark.studies import Dataset

Progress = Callable[[int, int], None]
_VERSIONED = ("numpy", "scipy", "nibabel", "pandas", "nilearn", "numba")


def backend_of(run: RunConfig) -> Backend:
    """The execution backend of a run (raises a one-line error for contradictory options)."""
    try:
        return make_backend(run.jobs, run.dask_scheduler, run.dask_local)
    except ValueError as exc:
        raise InputError(str(exc), record="options") from None


def prepare_for_ale(
    dataset: Dataset, tal_transform: str = "lancaster_pooled"
) -> tuple[Dataset, pd.DataFrame]:
    """MNI space, lesions flipped to the left, duplicate cohorts counted once.

    The stroke inclusion criteria are not applied here: a plain ALE analyses what it is given.
    """
    return resolve_duplicate_cohorts(flip_right_lesions(to_mni(dataset, tal_transform)))


def software_versions() -> dict[str, str]:
    """Versions of biomark, Python and the numerical libraries, for provenance."""
    out = {"biomark": __version__, "python": platform.python_version()}
    for name in _VERSIONED:
        out[name] = metadata.version(name)
    return out


def fit_dataset(
    dataset: Dataset, config: AleConfig, run: RunConfig, progress: Progress | None = None
) -> AleResult:
    """Fit one ALE analysis of an already prepared dataset."""
    mask, grid = load_mask()
    xyz, exp_idx, n = dataset.coordinates()
    return fit_ale(
        xyz, exp_idx, n.astype(np.float64), mask, grid,
        cluster_forming_p=config.cluster_forming_p, cluster_p=config.cluster_p,
        n_iterations=config.iterations, connectivity=config.connectivity,
        correction=config.correction, fdr_q=config.fdr_q, fdr_method=config.fdr_method,
        min_cluster_mm3=config.min_cluster_mm3, seed=run.seed, backend=backend_of(run),
        progress=progress,
    )  # fmt: skip


def ale_tables(
    result: AleResult, dataset: Dataset, atlases: AtlasSet
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labelled cluster table (with robustness columns) and per-experiment contributions."""
    table, clusters = ale_cluster_table(result, atlases)
    if table.empty:
        return table, pd.DataFrame()
    from biomark.ale.ma import compute_ma_maps

    xyz, exp_idx, n = dataset.coordinates()
    ma = compute_ma_maps(xyz, exp_idx, n.astype(np.float64), result.mask, result.grid)
    per_experiment = [xyz[exp_idx == e] for e in range(dataset.n_experiments)]
    # Only the clusters' voxels are needed: a dense (experiments × mask) matrix would not fit
    # in memory for thousands of experiments.
    in_clusters = result.mask & (clusters.labels_3d > 0)
    survive_ale, survive_voxels = jackknife_threshold(result)
    contrib = cluster_contributions(
        ma.dense(columns=np.flatnonzero(in_clusters[result.mask])), in_clusters,
        clusters.labels_3d,
        experiment_ids=dataset.experiments["experiment_id"].astype(str).tolist(),
        foci_xyz_mm=per_experiment, ale_threshold=survive_ale, min_cluster_voxels=survive_voxels,
        connectivity=int(result.parameters["connectivity"]), grid=result.grid,
    )  # fmt: skip
    robust = cluster_robustness(contrib)
    return table.merge(robust, on="cluster_id", how="left"), contrib


def _write_maps(folder: Path, maps: dict[str, np.ndarray], result: AleResult) -> None:
    for name, values in maps.items():
        save_map(values, result.mask, folder / f"{name}.nii.gz", result.grid)


def run_ale(
    source: Path, out: Path, config: AleConfig, run: RunConfig, progress: Progress | None = None
) -> dict[str, Any]:
    """``biomark ale``: fit, label and write ``out`` atomically; returns a short summary."""
    raw = load(source)
    dataset, duplicates = prepare_for_ale(raw, config.tal_transform)
    result = fit_dataset(dataset, config, run, progress)
    atlases = load_atlases()
    clusters, contrib = ale_tables(result, dataset, atlases)
    with staged_output(out) as tmp:
        _write_maps(tmp, {"ale": result.ale, "p": result.p, "z": result.z,
                          "z_thresholded": result.z_thresholded}, result)  # fmt: skip
        write_table(clusters, tmp / "clusters.tsv")
        write_table(contrib, tmp / "contributions.tsv")
        if len(duplicates):
            write_table(duplicates, tmp / "duplicate_cohorts.tsv")
        (tmp / "methods.txt").write_text(_methods_text(result, JACKKNIFE_METHODS),
                                         encoding="utf-8")  # fmt: skip
        write_json(_provenance(raw, source, config, run, result), tmp / "provenance.json")
    return {"out": str(out), "n_experiments": result.n_experiments, "n_foci": result.n_foci,
            "n_clusters": len(clusters), "warnings": list(result.warnings)}  # fmt: skip


def _methods_text(result: AleResult | ContrastResult, extra: str = "") -> str:
    refs = "\n".join(f"- {r}" for r in result.references)
    warn = "".join(f"\nWarning: {w}" for w in result.warnings)
    body = f"{result.methods} {extra}" if extra else result.methods
    return f"{body}\n{warn}\n\nReferences\n{refs}\n"


def _provenance(
    dataset: Dataset | list[Dataset],
    source: Path | list[Path],
    config: AleConfig,
    run: RunConfig,
    result: AleResult | ContrastResult,
) -> dict[str, Any]:
    datasets = dataset if isinstance(dataset, list) else [dataset]
    sources = source if isinstance(source, list) else [source]
    # No timings, host or worker counts: outputs are byte-identical for any --jobs.
    return {
        "biomark_version": __version__,
        "software": software_versions(),
        "inputs": [
            {
                "path": str(s),
                "content_sha256": d.checksum(),
                "experiments": d.n_experiments,
                "foci": d.n_foci,
            }
            for s, d in zip(sources, datasets, strict=True)
        ],
        "seed": run.seed,
        "parameters": asdict(config),
        "result_parameters": {k: v for k, v in result.parameters.items() if k != "backend"},
        "atlases": atlas_credits(),
        "warnings": list(result.warnings),
    }


def combine_groups(a: Dataset, b: Dataset) -> tuple[Dataset, np.ndarray]:
    """One dataset of both groups (ids prefixed ``A:``/``B:``) and the group-A indicator."""
    frames, foci = [], []
    for tag, ds in (("A", a), ("B", b)):
        e, f = ds.experiments.copy(), ds.foci.copy()
        e["experiment_id"] = f"{tag}:" + e["experiment_id"].astype(str)
        f["experiment_id"] = f"{tag}:" + f["experiment_id"].astype(str)
        frames.append(e)
        foci.append(f)
    exps = pd.concat(frames, ignore_index=True)
    merged = Dataset(exps, pd.concat(foci, ignore_index=True), f"{a.name}_vs_{b.name}")
    in_a = exps["experiment_id"].str.startswith("A:").to_numpy()
    return merged, in_a


def fit_two_groups(
    a: Dataset, b: Dataset, names: tuple[str, str], config: AleConfig, run: RunConfig,
    progress: Progress | None = None,
    *,
    main_a: AleResult | None = None,
    main_b: AleResult | None = None,
) -> tuple[ContrastResult, Dataset]:  # fmt: skip
    """Fit A − B, B − A and the conjunction of two prepared datasets (main effects reused)."""
    merged, in_a = combine_groups(a, b)
    mask, grid = load_mask()
    xyz, exp_idx, n = merged.coordinates()
    result = fit_contrast(
        xyz, exp_idx, n.astype(np.float64), in_a, mask, grid, names=names,
        mode=config.contrast_mode, n_permutations=config.iterations,
        contrast_p=config.contrast_p, contrast_min_cluster_mm3=config.contrast_min_cluster_mm3,
        seed=run.seed, backend=backend_of(run), progress=progress, main_a=main_a, main_b=main_b,
        cluster_forming_p=config.cluster_forming_p, cluster_p=config.cluster_p,
        n_iterations=config.iterations, connectivity=config.connectivity,
        correction=config.correction, fdr_q=config.fdr_q, fdr_method=config.fdr_method,
        min_cluster_mm3=config.min_cluster_mm3,
    )  # fmt: skip
    return result, merged


def run_contrast(
    source_a: Path, source_b: Path, out: Path, config: AleConfig, run: RunConfig,
    progress: Progress | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``biomark contrast``: both subtractions and the conjunction, written atomically."""
    raw_a, raw_b = load(source_a), load(source_b)
    a, _ = prepare_for_ale(raw_a, config.tal_transform)
    b, _ = prepare_for_ale(raw_b, config.tal_transform)
    names = (source_a.stem, source_b.stem)
    result, _ = fit_two_groups(a, b, names, config, run, progress)
    atlases = load_atlases()
    counts = {}
    with staged_output(out) as tmp:
        for direction in ("a_minus_b", "b_minus_a", "conjunction"):
            sub = tmp / direction
            sub.mkdir()
            table, _ = contrast_cluster_table(result, direction, atlases)
            counts[direction] = len(table)
            write_table(table, sub / "clusters.tsv")
            stat = getattr(result, direction)
            save_map(stat, result.mask, sub / "z_thresholded.nii.gz", result.grid)
            if direction != "conjunction":
                z = result.z_a_minus_b if direction == "a_minus_b" else result.z_b_minus_a
                p = result.p_a_minus_b if direction == "a_minus_b" else result.p_b_minus_a
                save_map(z, result.mask, sub / "z.nii.gz", result.grid)
                save_map(p, result.mask, sub / "p.nii.gz", result.grid)
                save_map(result.diff if direction == "a_minus_b" else -result.diff,
                         result.mask, sub / "ale_difference.nii.gz", result.grid)  # fmt: skip
        for tag, main in (("a", result.main_a), ("b", result.main_b)):
            (tmp / f"main_{tag}").mkdir()
            _write_maps(tmp / f"main_{tag}", {"ale": main.ale, "z": main.z,
                        "z_thresholded": main.z_thresholded}, main)  # fmt: skip
        (tmp / "methods.txt").write_text(_methods_text(result), encoding="utf-8")
        write_json(_provenance([raw_a, raw_b], [source_a, source_b], config, run, result),
                   tmp / "provenance.json")  # fmt: skip
    return {"out": str(out), "clusters": counts, "warnings": list(result.warnings)}
