"""Run a power study or a null calibration of a design on any backend (no file access).

Every heavy stage runs through :func:`biomark.parallel.map_chunks` with chunk ``k`` seeded by
``chunk_rng(stage seed, k)``; stage seeds derive from the master seed and the stage's name only,
so the numbers are the same on one process, local processes or a Dask cluster.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from biomark.parallel import Backend, map_chunks
from biomark.power.ale_power import AleSpec, design_threshold, power_chunk, shared_null
from biomark.power.calibrate import (
    ContrastSpec,
    NullAleSpec,
    ale_rows,
    contrast_chunk,
    contrast_rows,
    null_ale_chunk,
)
from biomark.power.design import GroupKey, PowerDesign
from biomark.power.replicate import BoolArray
from biomark.power.results import (
    CalibrationResult,
    PowerResult,
    mean_row,
    proportion_row,
    table,
)
from biomark.power.shift_power import BayesSpec, CurveSpec, PeakSource, bayes_chunk, curve_chunk
from biomark.space import Grid

#: ``progress(stage, done, total)``
StageProgress = Callable[[str, int, int], None]


def stage_seed(seed: int, stage: str) -> int:
    """An independent seed for a named stage of a run seeded with ``seed``."""
    state = np.random.SeedSequence([seed, zlib.crc32(stage.encode())]).generate_state(1)
    return int(state[0])


def _tick(progress: StageProgress | None, stage: str, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    progress(stage, 0, total)
    return lambda done: progress(stage, done, total)


def _ale_stage(
    design: PowerDesign,
    mask: BoolArray,
    grid: Grid,
    seed: int,
    backend: Backend,
    progress: StageProgress | None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    group = design.target_group
    rng = np.random.default_rng(stage_seed(seed, "threshold"))
    threshold = design_threshold(design, group, mask, grid, rng)
    null = shared_null(
        design, group, mask, grid, threshold, stage_seed(seed, "ale-null"), backend,
        _tick(progress, "ALE Monte Carlo null", design.null_chunks),
    )  # fmt: skip
    spec = AleSpec(design, mask, grid, threshold, null, stage_seed(seed, "replicates"))
    parts = map_chunks(
        power_chunk, spec, spec.n_chunks, backend, _tick(progress, "replicates", spec.n_chunks)
    )
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    facts = {
        "cluster_forming_threshold_ale": threshold,
        "null_iterations": int(null.shape[0]),
        "null_max_cluster_size_95pct_voxels": float(np.quantile(null, 0.95)),
    }
    return merged, facts


def _power_rows(
    design: PowerDesign, reps: dict[str, np.ndarray], welch_hits: np.ndarray
) -> list[dict[str, Any]]:
    a = design.alpha
    who = design.label_a if design.target_group == "a" else design.label_b
    s = design.shift_mm
    rows = [
        proportion_row(
            "welch_power", "power", "Welch t-test",
            f"detects the {s:g} mm ventral MI shift (p < {a:g})", welch_hits, s,
        ),
        proportion_row(
            "ale_mi_power", "power", "cluster-level FWE ALE",
            f"finds ipsilesional MI ({who} ALE, cluster p ≤ {a:g})", reps["p_mi"] <= a, s,
        ),
    ]  # fmt: skip
    if design.target_mm is not None:
        pct = round(100 * design.n_target_carriers / (design.n_a if design.target_group == "a"
                                                      else design.n_b))  # fmt: skip
        rows.append(
            proportion_row(
                "ale_target_power", "power", "cluster-level FWE ALE",
                f"finds a region {pct} % of {who} experiments report (cluster p ≤ {a:g})",
                reps["p_target"] <= a, s,
            )
        )  # fmt: skip
    return rows


def _bayes_rows(design: PowerDesign, fits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    s, pd_ = design.shift_mm, design.p_direction
    get = {k: np.array([f[k] for f in fits], dtype=np.float64) for k in fits[0]}
    return [
        proportion_row(
            "bayes_power", "power", "Bayesian model",
            f"P(ventral shift) > {pd_:g} for the {s:g} mm shift", get["detect"], s,
        ),
        proportion_row(
            "bayes_coverage", "power", "Bayesian model",
            f"{100 * design.hdi_prob:g} % HDI covers the planted shift", get["covers"], s,
        ),
        proportion_row(
            "welch_power_paired", "power", "Welch t-test",
            "detects the shift, on the Bayesian replicates", get["welch_detect"], s,
        ),
        mean_row(
            "bayes_seconds", "cost", "Bayesian model", "seconds per fit", get["seconds"], s
        ),
    ]  # fmt: skip


def _curve_stage(
    source: PeakSource, seed: int, backend: Backend, progress: StageProgress | None
) -> tuple[pd.DataFrame, dict[float, np.ndarray]]:
    """Welch detection rate per planted shift (the design's own shift included)."""
    design = source.design
    shifts = tuple(sorted({*design.curve_shifts_mm, design.shift_mm}))
    hits = map_chunks(
        curve_chunk, CurveSpec(source, shifts, stage_seed(seed, "curve")), len(shifts), backend,
        _tick(progress, "power curve", len(shifts)),
    )  # fmt: skip
    rows = [
        proportion_row("welch_curve", "curve", "Welch t-test", "detection rate", h, s)
        for s, h in zip(shifts, hits, strict=True)
    ]
    return table(rows), dict(zip(shifts, hits, strict=True))


def run_power_study(
    design: PowerDesign,
    mask: BoolArray,
    mi_mask: BoolArray,
    grid: Grid,
    seed: int,
    backend: Backend,
    progress: StageProgress | None = None,
) -> PowerResult:
    """Estimate power (and Bayesian coverage) of a design by simulation.

    Parameters
    ----------
    design
        The design and the simulation effort.
    mask, grid
        Brain mask (background foci and ALE) and its grid.
    mi_mask
        The pipeline's ipsilesional MI ROI on ``grid``, where the simulated experiments' peaks
        are found (:func:`biomark.shift.peaks.roi_peaks`).
    seed
        Master seed.
    backend
        Where chunks run (:func:`biomark.parallel.make_backend`).
    progress
        ``progress(stage, done, total)``.

    Returns
    -------
    PowerResult
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    source = PeakSource(design, mi_mask)
    curve, curve_hits = _curve_stage(source, seed, backend, progress)
    timings["curve_s"] = time.perf_counter() - start
    t = time.perf_counter()
    reps, facts = _ale_stage(design, mask, grid, seed, backend, progress)
    timings["ale_s"] = time.perf_counter() - t
    rows = _power_rows(design, reps, curve_hits[design.shift_mm])
    if design.bayes_replicates:
        t = time.perf_counter()
        bspec = BayesSpec(source, stage_seed(seed, "bayes"))
        blocks = map_chunks(
            bayes_chunk, bspec, bspec.n_chunks, backend,
            _tick(progress, "Bayesian fits (blocks)", bspec.n_chunks),
        )  # fmt: skip
        fits = [fit for block in blocks for fit in block]
        timings["bayes_s"] = time.perf_counter() - t
        rows += _bayes_rows(design, fits)
        facts["bayes_divergent_fits"] = int(sum(f["divergences"] > 0 for f in fits))
    timings["total_s"] = time.perf_counter() - start
    facts.update(timings=timings, backend=backend.describe())
    return PowerResult(design, seed, table(rows), curve, facts)


def run_calibration(
    design: PowerDesign,
    mask: BoolArray,
    grid: Grid,
    seed: int,
    backend: Backend,
    progress: StageProgress | None = None,
) -> CalibrationResult:
    """Null false-positive rates of cluster-level FWE ALE (per group) and the subtraction.

    ``design.replicates`` null meta-analyses per group; ``design.contrast_splits`` null splits.
    """
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    facts: dict[str, Any] = {}
    groups: tuple[tuple[GroupKey, str], ...] = (("a", design.label_a), ("b", design.label_b))
    for group, label in groups:
        rng = np.random.default_rng(stage_seed(seed, f"threshold-{group}"))
        thr = design_threshold(design, group, mask, grid, rng)
        null = shared_null(
            design, group, mask, grid, thr, stage_seed(seed, f"ale-null-{group}"),
            backend, _tick(progress, f"ALE null ({label})", design.null_chunks),
        )  # fmt: skip
        spec = NullAleSpec(design, group, mask, grid, thr, null, stage_seed(seed, f"fpr-{group}"))
        parts = map_chunks(
            null_ale_chunk, spec, spec.n_chunks, backend,
            _tick(progress, f"null meta-analyses ({label})", spec.n_chunks),
        )  # fmt: skip
        rows += ale_rows(np.concatenate(parts), design, group, label)
        facts[f"cluster_forming_threshold_ale_{group}"] = thr
    cspec = ContrastSpec(design, mask, grid, stage_seed(seed, "contrast"))
    rates = map_chunks(
        contrast_chunk, cspec, design.contrast_splits, backend,
        _tick(progress, "null splits", design.contrast_splits),
    )  # fmt: skip
    rows += contrast_rows(np.vstack(rates), design)
    facts.update(total_s=time.perf_counter() - start, backend=backend.describe())
    return CalibrationResult(design, seed, table(rows), facts)
