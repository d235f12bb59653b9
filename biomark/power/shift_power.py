"""Power of the MI peak-shift tests: Welch's t-test on z and the Bayesian hierarchical model.

Welch (the frequentist test of :mod:`biomark.shift.frequentist`, per-axis, here on z): the
shifted group's reported MI peaks against the other group's. A replicate *detects* the planted
shift when p < alpha and the estimated shift points ventrally; with no planted shift (0 mm) any
p < alpha counts, so the curve's value at 0 is the test's size. The same ``scipy.stats.ttest_ind``
call as :func:`biomark.shift.frequentist.axis_tests`, vectorised over replicates (tested equal).

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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from biomark.parallel import chunk_rng
from biomark.power.design import PowerDesign
from biomark.power.replicate import BoolArray, FloatArray, experiment_layout, simulate_peaks

REFERENCE_GROUP = "healthy"
SHIFTED_GROUP = "chronic"


def shifted_mask(design: PowerDesign) -> BoolArray:
    """``(n_experiments,)`` True for the experiments of the shifted group."""
    in_a, _, _ = experiment_layout(design)
    out: BoolArray = in_a if design.shifted_group == "a" else ~in_a
    return out


def welch_z(peaks_mm: FloatArray, shifted: BoolArray) -> tuple[FloatArray, FloatArray]:
    """Welch's t-test on z, shifted − reference, for each replicate.

    Parameters
    ----------
    peaks_mm
        ``(n_replicates, n_experiments, 3)`` reported MI peaks.
    shifted
        ``(n_experiments,)`` True for the shifted group.

    Returns
    -------
    tuple
        Two-sided p and the mean z difference (mm), each ``(n_replicates,)``.
    """
    z = peaks_mm[..., 2]
    a, b = z[:, shifted], z[:, ~shifted]
    res = stats.ttest_ind(a, b, axis=1, equal_var=False)
    return np.asarray(res.pvalue, dtype=np.float64), a.mean(axis=1) - b.mean(axis=1)


def detects(
    p: FloatArray, shift_estimate_mm: FloatArray, alpha: float, shift_mm: float
) -> FloatArray:
    """1.0 where a replicate detects the planted shift (see the module docstring), else 0.0."""
    hit = p < alpha
    if shift_mm > 0:
        hit &= shift_estimate_mm < 0
    return hit.astype(np.float64)


@dataclass(frozen=True)
class CurveSpec:
    """Chunk ``k`` of the Welch power curve simulates ``shifts_mm[k]``."""

    design: PowerDesign
    shifts_mm: tuple[float, ...]
    seed: int


def curve_chunk(spec: CurveSpec, k: int) -> FloatArray:
    """Per-replicate Welch detections (0/1) at shift ``spec.shifts_mm[k]``."""
    d = spec.design
    shift = spec.shifts_mm[k]
    peaks = simulate_peaks(d, chunk_rng(spec.seed, k), d.curve_replicates, shift_mm=shift)
    p, est = welch_z(peaks, shifted_mask(d))
    return detects(p, est, d.alpha, shift)


def peaks_table(design: PowerDesign, peaks_mm: FloatArray) -> pd.DataFrame:
    """One replicate's MI peaks as the ``peaks`` table of :mod:`biomark.shift.contract`."""
    _, n, _ = experiment_layout(design)
    shifted = shifted_mask(design)
    ids = [f"sim-{e:03d}" for e in range(n.shape[0])]
    return pd.DataFrame(
        {
            "experiment_id": ids,
            "study_id": ids,
            "cohort_id": ids,
            "group": np.where(shifted, SHIFTED_GROUP, REFERENCE_GROUP),
            "subcortical": True,
            "n": n,
            "x": peaks_mm[:, 0],
            "y": peaks_mm[:, 1],
            "z": peaks_mm[:, 2],
            "n_maxima": 1,
            "cluster_size_mm3": np.nan,
            "outcome": None,
        }
    )


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
    design: PowerDesign, peaks_mm: Sequence[FloatArray], rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Fit the Bayesian shift model to replicates of one design and score each fit.

    The model and its NUTS step are compiled once and the replicates swapped in
    (:func:`biomark.shift.model.swap_data`): that saves the ~3 s compile of every further fit.

    Parameters
    ----------
    design
        The design (sampler settings, planted shift, decision thresholds).
    peaks_mm
        Per replicate, the reported MI peaks, ``(n_experiments, 3)``.
    rng
        Draws each fit's sampler seed.

    Returns
    -------
    list of dict
        Per replicate ``p_ventral`` = P(Δz < 0), ``detect`` (0/1), ``hdi_low``/``hdi_high`` (mm),
        ``covers`` (0/1), ``posterior_mean_mm``, ``divergences`` and ``seconds`` (the first fit
        includes the compile).
    """
    from biomark.config import SamplerConfig
    from biomark.shift.model import build_shift_model, swap_data
    from biomark.shift.sampling import nuts_step, sample_shift_model

    sampler = SamplerConfig(chains=design.chains, draws=design.draws, tune=design.tune, cores=1)
    out = []
    start = time.perf_counter()
    with quiet_pymc():
        model = build_shift_model(
            peaks_table(design, peaks_mm[0]),
            roi="MI",
            contrasts=(SHIFTED_GROUP,),
            outcome_groups=(),
        )
        step = nuts_step(model, sampler)
        for peaks in peaks_mm:
            model = swap_data(model, peaks_table(design, peaks))
            idata = sample_shift_model(model, sampler, rng, posterior_predictive=False, step=step)
            out.append(_score(design, idata, time.perf_counter() - start))
            start = time.perf_counter()
    return out


@dataclass(frozen=True)
class BayesSpec:
    """Chunk ``k`` fits Bayesian replicates ``k·block .. (k+1)·block − 1``."""

    design: PowerDesign
    seed: int

    @property
    def n_chunks(self) -> int:
        """Blocks of ``design.bayes_block_size`` covering ``design.bayes_replicates``."""
        return len(self.design.bayes_blocks)


def bayes_chunk(spec: BayesSpec, k: int) -> list[dict[str, Any]]:
    """A block of Bayesian replicates, plus Welch on the same data for a paired comparison."""
    d = spec.design
    rng = chunk_rng(spec.seed, k)
    size = d.bayes_blocks[k]
    peaks = simulate_peaks(d, rng, size)
    p, est = welch_z(peaks, shifted_mask(d))
    fits = fit_bayes(d, list(peaks), rng)
    for fit, hit in zip(fits, detects(p, est, d.alpha, d.shift_mm), strict=True):
        fit["welch_detect"] = float(hit)
    return fits
