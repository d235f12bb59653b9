"""Power of the MI peak-shift tests: Welch's t-test on z and the Bayesian hierarchical model.

Each replicate is a meta-analysis simulated focus by focus through the users' path: whole
experiments (:func:`biomark.power.experiments.simulate_experiments`: the MI focus with its
Eickhoff error, the design's other foci uniform in the brain and, with ``mi_neighbours``, dorsal
premotor and somatosensory foci at the real tables' rates on top), their MI peaks found by
:func:`biomark.shift.peaks.roi_peaks` in the pipeline's MI ROI and tolerance, then the tests.
An experiment without a focus near the ROI drops out, as it would for a user; a replicate with
fewer than 2 peaks in a group detects nothing.

Welch (the frequentist test of :mod:`biomark.shift.frequentist`, per-axis, here on z): the
shifted group's peaks against the other group's. A replicate *detects* the planted shift when
p < alpha and the estimated shift points ventrally; with no planted shift (0 mm) any p < alpha
counts, so the curve's value at 0 is the test's size.

Bayesian: :func:`biomark.shift.model.build_shift_model` with the unshifted group as the model's
reference (``healthy``) and the shifted group as ``chronic``, each experiment its own study and
cohort, no outcome part; one NUTS fit per replicate (one core). A replicate detects the shift when
P(Δz < 0 | data) > ``p_direction`` (shift 0: P(Δz < 0) or P(Δz > 0) above it) and the 95 % HDI
*covers* when it contains the planted Δz = −shift.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from biomark.parallel import chunk_rng
from biomark.power.design import PowerDesign
from biomark.power.experiments import ExperimentDesign, simulate_experiments
from biomark.power.peak_rule import TOLERANCE_MM, welch_shifts
from biomark.power.replicate import BoolArray, FloatArray, experiment_layout
from biomark.shift.neighbours import MI_NEIGHBOURS
from biomark.shift.peaks import roi_peaks
from biomark.space import MNI152_2MM, Grid

REFERENCE_GROUP = "healthy"
SHIFTED_GROUP = "chronic"


def shifted_mask(design: PowerDesign) -> BoolArray:
    """``(n_experiments,)`` True for the experiments of the shifted group."""
    in_a, _, _ = experiment_layout(design)
    out: BoolArray = in_a if design.shifted_group == "a" else ~in_a
    return out


def experiment_design(design: PowerDesign, shift_mm: float) -> ExperimentDesign:
    """The whole-experiment simulation of ``design`` with ``shift_mm`` planted (see the module)."""
    _, n, foci = experiment_layout(design)
    return ExperimentDesign(
        n_subjects=tuple(int(v) for v in n),
        shifted=tuple(bool(v) for v in shifted_mask(design)),
        shift_mm=shift_mm,
        mi_centre_mm=design.mi_centre_mm,
        tau_cohort_mm=design.cohort_sd_mm,
        tau_experiment_mm=0.0,
        neighbours=MI_NEIGHBOURS if design.mi_neighbours else (),
        n_background=tuple(int(f) - 1 for f in foci),
    )


@dataclass(frozen=True)
class PeakSource:
    """Where replicates' peaks come from: the design and the pipeline's MI ROI."""

    design: PowerDesign
    mi_mask: BoolArray = field(repr=False)
    grid: Grid = MNI152_2MM

    def peaks(
        self, shift_mm: float, rng: np.random.Generator, n_replicates: int
    ) -> tuple[pd.DataFrame, dict[str, int]]:
        """The ``peaks`` of ``n_replicates`` simulated meta-analyses, and each id's replicate."""
        sim = simulate_experiments(experiment_design(self.design, shift_mm), rng, n_replicates)
        found = roi_peaks(sim.dataset(), self.mi_mask, "mi", self.grid, tolerance_mm=TOLERANCE_MM)
        ids, reps = sim.experiments["experiment_id"], sim.experiments["replicate"]
        return found.peaks, dict(zip(ids.astype(str), reps.astype(int), strict=True))


def welch_p(peaks: pd.DataFrame, replicate_of: dict[str, int], n_replicates: int
            ) -> tuple[FloatArray, FloatArray]:  # fmt: skip
    """Welch's two-sided p on z and the shift (chronic − healthy mean z, mm) per replicate.

    NaN for a replicate with fewer than 2 peaks in a group.
    """
    if peaks.empty:
        nan = np.full(n_replicates, np.nan)
        return nan, nan.copy()
    rows = welch_shifts(peaks, replicate_of, n_replicates)
    return rows["p"].to_numpy(dtype=np.float64), -rows["shift_mm"].to_numpy(dtype=np.float64)


def detects(
    p: FloatArray, shift_estimate_mm: FloatArray, alpha: float, shift_mm: float
) -> FloatArray:
    """1.0 where a replicate detects the planted shift (see the module docstring), else 0.0."""
    hit = np.nan_to_num(p, nan=1.0) < alpha
    if shift_mm > 0:
        hit &= shift_estimate_mm < 0
    return hit.astype(np.float64)


@dataclass(frozen=True)
class CurveSpec:
    """Chunk ``k`` of the Welch power curve simulates ``shifts_mm[k]``."""

    source: PeakSource
    shifts_mm: tuple[float, ...]
    seed: int


def curve_chunk(spec: CurveSpec, k: int) -> FloatArray:
    """Per-replicate Welch detections (0/1) at shift ``spec.shifts_mm[k]``."""
    d = spec.source.design
    shift = spec.shifts_mm[k]
    peaks, replicate_of = spec.source.peaks(shift, chunk_rng(spec.seed, k), d.curve_replicates)
    p, est = welch_p(peaks, replicate_of, d.curve_replicates)
    return detects(p, est, d.alpha, shift)


def hdi(draws: FloatArray, prob: float) -> tuple[float, float]:
    """Shortest interval holding ``prob`` of the draws (highest-density interval)."""
    x = np.sort(np.asarray(draws, dtype=np.float64).ravel())
    k = max(1, int(np.ceil(prob * x.shape[0])))
    widths = x[k - 1 :] - x[: x.shape[0] - k + 1]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k - 1])


@contextlib.contextmanager
def quiet_pymc() -> Iterator[None]:
    """PyMC's narration and warnings off, for many small fits judged by their scores."""
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # no outcome part by design; small samplers warn about R-hat/ESS, judged elsewhere
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _score(design: PowerDesign, idata: Any, seconds: float) -> dict[str, Any]:
    draws = np.asarray(idata["posterior"]["shift"].sel(contrast=SHIFTED_GROUP, axis="z").values)
    p_ventral = float((draws < 0).mean())
    p_dir = p_ventral if design.shift_mm > 0 else max(p_ventral, 1.0 - p_ventral)
    lo, hi = hdi(draws, design.hdi_prob)
    truth = -design.shift_mm
    return {
        "p_ventral": p_ventral,
        "detect": float(p_dir > design.p_direction),
        "hdi_low": lo,
        "hdi_high": hi,
        "covers": float(lo <= truth <= hi),
        "posterior_mean_mm": float(draws.mean()),
        "divergences": int(np.asarray(idata["sample_stats"]["diverging"].values).sum()),
        "seconds": seconds,
    }


def fit_bayes(
    design: PowerDesign, peaks: Sequence[pd.DataFrame], rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Fit the Bayesian shift model to replicates of one design and score each fit.

    Replicates with the same experiments share one compiled model and NUTS step
    (:func:`biomark.shift.model.swap_data`), which saves the ~3 s compile of every further fit;
    a replicate whose experiments differ (one dropped out) gets its own.

    Parameters
    ----------
    design
        The design (sampler settings, planted shift, decision thresholds).
    peaks
        Per replicate, its ``peaks`` table (:func:`biomark.shift.peaks.roi_peaks`).
    rng
        Draws each fit's sampler seed.

    Returns
    -------
    list of dict
        Per replicate ``p_ventral`` = P(Δz < 0), ``detect`` (0/1), ``hdi_low``/``hdi_high`` (mm),
        ``covers`` (0/1), ``posterior_mean_mm``, ``divergences`` and ``seconds`` (a fit that
        compiled its model includes the compile); all NaN but ``detect`` = 0 for a replicate with
        fewer than 2 peaks in a group.
    """
    from biomark.config import SamplerConfig
    from biomark.shift.model import build_shift_model, swap_data
    from biomark.shift.sampling import nuts_step, sample_shift_model

    sampler = SamplerConfig(chains=design.chains, draws=design.draws, tune=design.tune, cores=1)
    out = []
    model: Any = None
    step: Any = None
    with quiet_pymc():
        for table in peaks:
            start = time.perf_counter()
            counts = table["group"].value_counts() if not table.empty else pd.Series(dtype=int)
            if min(counts.get(REFERENCE_GROUP, 0), counts.get(SHIFTED_GROUP, 0)) < 2:
                out.append(_unfitted())
                continue
            ids = list(table["experiment_id"])
            if model is not None and list(model.peaks["experiment_id"]) == ids:
                model = swap_data(model, table)
            else:
                model = build_shift_model(table, roi="MI", contrasts=(SHIFTED_GROUP,),
                                          outcome_groups=())  # fmt: skip
                step = nuts_step(model, sampler)
            idata = sample_shift_model(model, sampler, rng, posterior_predictive=False, step=step)
            out.append(_score(design, idata, time.perf_counter() - start))
    return out


def _unfitted() -> dict[str, Any]:
    keys = ("p_ventral", "hdi_low", "hdi_high", "covers", "posterior_mean_mm", "divergences",
            "seconds")  # fmt: skip
    return {**dict.fromkeys(keys, float("nan")), "detect": 0.0}


@dataclass(frozen=True)
class BayesSpec:
    """Chunk ``k`` fits Bayesian replicates ``k·block .. (k+1)·block − 1``."""

    source: PeakSource
    seed: int

    @property
    def n_chunks(self) -> int:
        """Blocks of ``design.bayes_block_size`` covering ``design.bayes_replicates``."""
        return len(self.source.design.bayes_blocks)


def bayes_chunk(spec: BayesSpec, k: int) -> list[dict[str, Any]]:
    """A block of Bayesian replicates, plus Welch on the same peaks for a paired comparison."""
    d = spec.source.design
    rng = chunk_rng(spec.seed, k)
    tables = [spec.source.peaks(d.shift_mm, rng, 1)[0] for _ in range(d.bayes_blocks[k])]
    fits = fit_bayes(d, tables, rng)
    for fit, table in zip(fits, tables, strict=True):
        replicate_of = {str(e): 0 for e in table["experiment_id"]} if not table.empty else {}
        p, est = welch_p(table, replicate_of, 1)
        fit["welch_detect"] = float(detects(p, est, d.alpha, d.shift_mm)[0])
    return fits
