"""``biomark power`` and ``biomark calibrate``: simulation studies of a design, written to files.

Outputs (replaced atomically, see :class:`biomark.pipeline.staging.staged_output`):

* ``power``: ``power.tsv`` (one row per method and quantity), ``power_curve.tsv``,
  ``power_curve.png``, ``summary.txt`` (the plain-language sentence, caveat and methods) and
  ``provenance.json``;
* ``calibrate``: ``calibration.tsv`` and ``provenance.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from biomark.config import RunConfig
from biomark.errors import InputError
from biomark.io.atlases import load_atlases
from biomark.io.images import load_mask
from biomark.io.outputs import write_json, write_table
from biomark.pipeline.ale import backend_of, software_versions
from biomark.pipeline.staging import staged_output
from biomark.power.design import PowerDesign, preset, resize
from biomark.power.results import CalibrationResult, PowerResult
from biomark.power.study import run_calibration, run_power_study
from biomark.power.text import caveat_sentence, methods_text, summary_sentence
from biomark.shift.rois import roi_mask

StageProgress = Callable[[str, int, int], None]
OVERRIDES = (
    "n_a",
    "n_b",
    "shift_mm",
    "replicates",
    "bayes_replicates",
    "ale_iterations",
    "contrast_splits",
)


def build_design(
    design: str | PowerDesign, overrides: Mapping[str, Any] | None = None
) -> PowerDesign:
    """A preset (or given design) with CLI-style overrides; ``None`` values are ignored.

    Raises
    ------
    InputError
        Unknown preset or override, or a value the design rejects.
    """
    base = preset(design) if isinstance(design, str) else design
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(given) - set(OVERRIDES))
    if unknown:
        raise InputError(f"unknown design overrides {unknown}; expected {list(OVERRIDES)}")
    out = resize(base, given.pop("n_a", None), given.pop("n_b", None))
    return replace(out, **given) if given else out


def _provenance(
    result: PowerResult | CalibrationResult, command: str, run: RunConfig
) -> dict[str, Any]:
    return {
        "command": command,
        "simulated": True,
        "design": result.design.as_dict(),
        "seed": result.seed,
        "jobs": run.jobs,
        "dask_scheduler": run.dask_scheduler,
        "dask_local": run.dask_local,
        "details": result.details,
        "versions": software_versions(),
    }


def run_power(
    design: str | PowerDesign,
    out: Path,
    run: RunConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: StageProgress | None = None,
) -> dict[str, Any]:
    """Run a power study and write its files into ``out``.

    Returns
    -------
    dict
        ``out``, ``summary`` (sentence), ``caveat``, ``seconds`` and the ``result``.
    """
    from biomark.report.figures_power import power_curve_png

    run = run or RunConfig()
    chosen = build_design(design, overrides)
    backend = backend_of(run)
    mask, grid = load_mask()
    start = time.perf_counter()
    mi = roi_mask(load_atlases(), "mi")
    result = run_power_study(chosen, mask, mi, grid, run.seed, backend, progress)
    points: dict[str, tuple[float, float, float, float]] = {}
    if chosen.bayes_replicates:
        row = result.row("bayes_power")
        label = f"Bayesian model, P(ventral) > {chosen.p_direction:g}"
        est, lo, hi = (float(row[k]) for k in ("estimate", "ci_low", "ci_high"))
        points[label] = (chosen.shift_mm, est, lo, hi)
    png = power_curve_png(
        result.curve, alpha=chosen.alpha, design_shift_mm=chosen.shift_mm, points=points,
        title=f"{chosen.n_a} {chosen.label_a} vs {chosen.n_b} {chosen.label_b} experiments "
        "(simulated)",
    )  # fmt: skip
    sentence, caveat = summary_sentence(result), caveat_sentence(result)
    with staged_output(out) as tmp:
        write_table(result.estimates, tmp / "power.tsv")
        write_table(result.curve, tmp / "power_curve.tsv")
        (tmp / "power_curve.png").write_bytes(png)
        (tmp / "summary.txt").write_text(
            f"SIMULATION STUDY\n\n{sentence}\n\n{caveat}\n\n{methods_text(result)}\n",
            encoding="utf-8",
        )
        write_json(_provenance(result, "power", run), tmp / "provenance.json")
    return {
        "out": out,
        "summary": sentence,
        "caveat": caveat,
        "seconds": time.perf_counter() - start,
        "result": result,
    }


def run_calibrate(
    design: str | PowerDesign,
    out: Path,
    run: RunConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: StageProgress | None = None,
) -> dict[str, Any]:
    """Null false-positive rates of ALE inference and the contrast; writes ``calibration.tsv``."""
    run = run or RunConfig()
    chosen = build_design(design, overrides)
    backend = backend_of(run)
    mask, grid = load_mask()
    start = time.perf_counter()
    result = run_calibration(chosen, mask, grid, run.seed, backend, progress)
    with staged_output(out) as tmp:
        write_table(result.estimates, tmp / "calibration.tsv")
        write_json(_provenance(result, "calibrate", run), tmp / "provenance.json")
    return {"out": out, "seconds": time.perf_counter() - start, "result": result}
