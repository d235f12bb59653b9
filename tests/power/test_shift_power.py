"""Welch power: the same test as biomark.shift.frequentist, nominal size, noncentral-t power."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from biomark.power.design import PowerDesign, preset
from biomark.power.replicate import simulate_peaks
from biomark.power.shift_power import (
    BayesSpec,
    CurveSpec,
    bayes_chunk,
    curve_chunk,
    hdi,
    peaks_table,
    shifted_mask,
    welch_z,
)
from biomark.shift.frequentist import axis_tests

# Equal-variance reference case: 12 vs 12 experiments, all N = 20.
N_EXP, N_SUBJ, COHORT_SD = 12, 20, 2.0
SIGMA_T = 5.7 / (2 * math.sqrt(2 / math.pi))
SIGMA_S = 11.6 / (2 * math.sqrt(2 / math.pi))
SIGMA = math.sqrt(COHORT_SD**2 + SIGMA_T**2 + SIGMA_S**2 / N_SUBJ)


def equal_design(shift: float, reps: int) -> PowerDesign:
    return PowerDesign(
        n_subjects_a=(N_SUBJ,) * N_EXP, n_subjects_b=(N_SUBJ,) * N_EXP,
        foci_a=(2,) * N_EXP, foci_b=(2,) * N_EXP, shift_mm=shift, cohort_sd_mm=COHORT_SD,
        curve_replicates=reps,
    )  # fmt: skip


def test_vectorised_welch_equals_shift_frequentist():
    d = preset("outcome")
    peaks = simulate_peaks(d, np.random.default_rng(8), 3)
    p, diff = welch_z(peaks, shifted_mask(d))
    for r in range(3):
        rows = axis_tests(peaks_table(d, peaks[r]), contrasts=("chronic",))
        row = rows[(rows["axis"] == "z") & (rows["test"] == "welch")].iloc[0]
        assert p[r] == pytest.approx(row["p"], rel=1e-12)
        assert diff[r] == pytest.approx(row["shift_mm"], rel=1e-12)


def test_type_one_error_is_nominal():
    reps = 4000
    hits = curve_chunk(CurveSpec(replace(preset("outcome"), curve_replicates=reps), (0.0,), 78), 0)
    se = math.sqrt(0.05 * 0.95 / reps)
    assert abs(hits.mean() - 0.05) <= 3 * se, hits.mean()


def test_power_matches_noncentral_t():
    reps, shift = 4000, 4.0
    hits = curve_chunk(CurveSpec(equal_design(shift, reps), (shift,), 5), 0)
    df = 2 * N_EXP - 2
    ncp = shift / (SIGMA * math.sqrt(2 / N_EXP))
    t_crit = stats.t.isf(0.025, df)
    expected = stats.nct.sf(t_crit, df, ncp)  # the ventral rejection region only
    se = math.sqrt(expected * (1 - expected) / reps)
    # Welch's df ≤ Student's makes it very slightly less powerful (≈ 0.3 % here)
    assert expected - 3 * se - 0.01 <= hits.mean() <= expected + 3 * se, (hits.mean(), expected)
    assert 0.3 < expected < 0.8  # a case where the check can fail either way


def test_curve_chunks_take_their_own_shift():
    spec = CurveSpec(equal_design(0.0, 500), (0.0, 10.0), 1)
    low, high = curve_chunk(spec, 0).mean(), curve_chunk(spec, 1).mean()
    assert low < 0.15 and high > 0.9


def test_hdi_of_normal_draws():
    draws = np.random.default_rng(0).normal(size=200_000)
    lo, hi = hdi(draws, 0.95)
    z = stats.norm.ppf(0.975)
    assert lo == pytest.approx(-z, abs=0.03) and hi == pytest.approx(z, abs=0.03)


@pytest.mark.sampling
def test_bayes_block_smoke():
    d = replace(preset("outcome"), bayes_replicates=2, bayes_block_size=2, draws=100, tune=100)
    fits = bayes_chunk(BayesSpec(d, 3), 0)
    assert len(fits) == 2
    for fit in fits:
        assert fit["detect"] in (0.0, 1.0) and fit["covers"] in (0.0, 1.0)
        assert fit["hdi_low"] < fit["posterior_mean_mm"] < fit["hdi_high"]
        assert 0 <= fit["p_ventral"] <= 1 and fit["seconds"] > 0
