"""The outcome report's power study: the report's own design, simulated at a modest effort.

The full study (with the Bayesian model's power and more replicates) is ``biomark power``; the
report runs the two cheap parts — Welch's t-test (a power curve) and cluster-level FWE ALE — for
the good- and poor-outcome experiments the report actually analysed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from biomark.config import AleConfig, RunConfig
from biomark.io.atlases import load_atlases
from biomark.io.images import load_mask
from biomark.pipeline.ale import backend_of
from biomark.pipeline.family import FamilyRun
from biomark.power.design import PowerDesign, preset
from biomark.power.study import run_power_study
from biomark.power.text import caveat_sentence, methods_text, report_rows, summary_sentence
from biomark.report.power_section import power_section
from biomark.shift.rois import roi_mask
from biomark.studies import Dataset

# Enough for ± 1–5 % Monte Carlo SE at a few seconds' cost; `biomark power` goes further.
REPORT_REPLICATES = 100
REPORT_CURVE_REPLICATES = 1000
REPORT_MAX_ITERATIONS = 2000


def _sizes(dataset: Dataset) -> tuple[tuple[int, ...], tuple[int, ...]]:
    exps = dataset.experiments
    per_exp = dataset.foci.groupby("experiment_id").size()
    ids = exps["experiment_id"]
    n = tuple(int(v) for v in exps["n"])
    foci = tuple(int(per_exp.get(e, 0)) for e in ids)
    return n, foci


def report_design(fam: FamilyRun, config: AleConfig) -> PowerDesign | None:
    """The outcome design of a family run (good vs poor), or ``None`` without both groups."""
    if "good" not in fam.analyses or "poor" not in fam.analyses:
        return None
    (n_a, foci_a), (n_b, foci_b) = (_sizes(fam.analyses[k].dataset) for k in ("good", "poor"))
    if len(n_a) < 2 or len(n_b) < 2:
        return None
    return replace(
        preset("outcome"), n_subjects_a=n_a, foci_a=foci_a, n_subjects_b=n_b, foci_b=foci_b,
        replicates=REPORT_REPLICATES, bayes_replicates=0,
        curve_replicates=REPORT_CURVE_REPLICATES,
        ale_iterations=min(config.iterations, REPORT_MAX_ITERATIONS),
        cluster_forming_p=config.cluster_forming_p,
    )  # fmt: skip


def power_context(fam: FamilyRun, config: AleConfig, run: RunConfig) -> dict[str, Any] | None:
    """The report's POWER entry for an outcome family run (``None`` for other families)."""
    design = report_design(fam, config)
    if design is None:
        return None
    mask, grid = load_mask()
    mi = roi_mask(load_atlases(), "mi")
    result = run_power_study(design, mask, mi, grid, run.seed, backend_of(run))
    return power_section(
        summary=summary_sentence(result),
        caveat=caveat_sentence(result)
        + " The Bayesian model's power needs many model fits: run biomark power --design "
        "outcome for it.",
        methods=methods_text(result),
        rows=report_rows(result),
        curve=result.curve,
        alpha=design.alpha,
        design_shift_mm=design.shift_mm,
        design_label=f"{design.n_a} {design.label_a} vs {design.n_b} {design.label_b} experiments",
    )
