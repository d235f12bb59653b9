"""Bias and coverage of the Bayesian MI shift through the candidate mixture, on whole experiments.

The model-side counterpart of :mod:`biomark.power.peak_rule`: each replicate is one meta-analysis
of the paper's size simulated focus by focus (:mod:`biomark.power.experiments`), passed through
the users' extraction (:func:`biomark.shift.peaks.roi_peaks`,
:func:`biomark.shift.candidates.roi_candidates`) and the users' model
(:func:`biomark.shift.model.build_shift_model` with candidates; NUTS). Scored per replicate: the
posterior mean of the ventral chronic shift, its 95 % HDI and whether that covers the planted
shift. Replicates of one design share a compiled model (:func:`biomark.shift.model.swap_data`);
one whose experiments differ (an experiment without any candidate) is built anew.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from biomark.config import SamplerConfig
from biomark.parallel import chunk_rng
from biomark.power.experiments import simulate_experiments
from biomark.power.peak_rule import SCENARIOS, TOLERANCE_MM, summarise
from biomark.power.shift_power import hdi, quiet_pymc
from biomark.space import MNI152_2MM, Grid

CONTRAST: Final = "chronic"
# candidates per experiment the compiled design holds; the real-rates scenario rarely passes 12
WIDTH: Final = 24
STUDY_SAMPLER: Final = SamplerConfig(chains=2, draws=500, tune=500, cores=1)


@dataclass(frozen=True)
class CandidateCell:
    """One scenario × planted shift of the study, seeded by its index ``k``."""

    scenario: str
    planted_mm: float
    n_replicates: int
    seed: int
    k: int


def _replicate_inputs(cell: CandidateCell, mask: NDArray[np.bool_], grid: Grid,
                      rng: np.random.Generator) -> tuple[pd.DataFrame, Any]:  # fmt: skip
    from biomark.shift.candidates import candidate_peaks, roi_candidates
    from biomark.shift.peaks import roi_peaks

    design = replace(SCENARIOS[cell.scenario], shift_mm=cell.planted_mm)
    dataset = simulate_experiments(design, rng, 1).dataset()
    found = roi_peaks(dataset, mask, "mi", grid, tolerance_mm=TOLERANCE_MM)
    candidates = roi_candidates(dataset, mask, "mi", grid, width=WIDTH)
    return candidate_peaks(dataset, candidates, found), candidates


def run_cell(cell: CandidateCell, mask: NDArray[np.bool_], grid: Grid = MNI152_2MM,
             sampler: SamplerConfig = STUDY_SAMPLER) -> pd.DataFrame:  # fmt: skip
    """Fit ``cell.n_replicates`` simulated meta-analyses; one row of scores per replicate.

    Columns as the Welch rows of :func:`biomark.power.peak_rule.welch_shifts` — ``shift_mm``
    (posterior mean, ventral), ``ci_low``/``ci_high`` (95 % HDI), ``n_healthy``/``n_chronic``
    (experiments in the model) — plus ``divergences`` and ``seconds``.
    """
    from biomark.shift.model import build_shift_model, swap_data
    from biomark.shift.sampling import nuts_step, sample_shift_model

    rng = chunk_rng(cell.seed, cell.k)
    rows: list[dict[str, float]] = []
    model: Any = None
    step: Any = None
    with quiet_pymc():
        for _ in range(cell.n_replicates):
            start = time.perf_counter()
            peaks, candidates = _replicate_inputs(cell, mask, grid, rng)
            same = model is not None and list(model.peaks["experiment_id"]) == list(
                peaks["experiment_id"]
            )
            if same:
                model = swap_data(model, peaks, candidates)
            else:
                model = build_shift_model(peaks, roi="MI", contrasts=(CONTRAST,),
                                          outcome_groups=(), candidates=candidates)  # fmt: skip
                step = nuts_step(model, sampler)
            idata = sample_shift_model(model, sampler, rng, posterior_predictive=False, step=step)
            draws = -np.asarray(idata["posterior"]["shift"].sel(contrast=CONTRAST, axis="z"))
            lo, hi = hdi(draws, 0.95)
            healthy = int((peaks["group"] == "healthy").sum())
            rows.append({
                "shift_mm": float(draws.mean()), "ci_low": lo, "ci_high": hi,
                "n_healthy": float(healthy), "n_chronic": float(len(peaks) - healthy),
                "divergences": float(np.asarray(idata["sample_stats"]["diverging"]).sum()),
                "seconds": time.perf_counter() - start,
            })  # fmt: skip
    return pd.DataFrame(rows)


def summarise_cell(cell: CandidateCell, fits: pd.DataFrame) -> dict[str, float | str]:
    """The bias-table row of :func:`biomark.power.peak_rule.summarise`, plus divergent fits."""
    return {
        "scenario": cell.scenario,
        "planted_mm": cell.planted_mm,
        "rule": "candidate mixture (Bayesian)",
        **summarise(fits, cell.planted_mm),
        "divergent_fits": float((fits["divergences"] > 0).mean()),
    }
