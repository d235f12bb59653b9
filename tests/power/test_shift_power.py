"""Shift power through the users' path: whole experiments, roi_peaks, then Welch or the model."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from biomark.power.design import PowerDesign, preset
from biomark.power.experiments import simulate_experiments
from biomark.power.replicate import simulate_peaks
from biomark.power.shift_power import (
    BayesSpec,
    CurveSpec,
    PeakSource,
    bayes_chunk,
    curve_chunk,
    experiment_design,
    hdi,
    shifted_mask,
    welch_p,
)
from biomark.shift.frequentist import axis_tests
from biomark.shift.peaks import roi_peaks

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


def direct_table(design: PowerDesign, peaks_mm: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """Peaks drawn without extraction, ``(replicates, experiments, 3)``, as a peaks table."""
    reps, n_exp, _ = peaks_mm.shape
    ids = [f"r{r}-e{e}" for r in range(reps) for e in range(n_exp)]
    group = np.where(np.tile(shifted_mask(design), reps), "chronic", "healthy")
    table = pd.DataFrame({"experiment_id": ids, "group": group, "z": peaks_mm[..., 2].ravel()})
    return table, {i: k // n_exp for k, i in enumerate(ids)}


def test_experiment_design_carries_the_power_design():
    d = preset("outcome")
    e = experiment_design(d, 4.0)
    assert e.n_subjects == d.n_subjects_a + d.n_subjects_b and e.shift_mm == 4.0
    assert e.shifted == tuple(bool(v) for v in shifted_mask(d))
    assert e.n_background == tuple(f - 1 for f in d.foci_a + d.foci_b)
    assert {r.name for r in e.neighbours} == {"PMd", "SI"}
    assert experiment_design(replace(d, mi_neighbours=False), 4.0).neighbours == ()


def test_peak_source_is_roi_peaks_on_whole_experiments(mi_mask):
    d = preset("outcome")
    peaks, replicate_of = PeakSource(d, mi_mask).peaks(6.0, np.random.default_rng(3), 4)
    sim = simulate_experiments(experiment_design(d, 6.0), np.random.default_rng(3), 4)
    expected = roi_peaks(sim.dataset(), mi_mask, "mi", tolerance_mm=6.0).peaks
    pd.testing.assert_frame_equal(peaks, expected)
    assert sorted(set(replicate_of.values())) == [0, 1, 2, 3]


def test_welch_p_equals_scipy_and_shift_frequentist(mi_mask):
    d = preset("outcome")
    peaks, replicate_of = PeakSource(d, mi_mask).peaks(6.0, np.random.default_rng(8), 3)
    p, diff = welch_p(peaks, replicate_of, 3)
    for r in range(3):
        one = peaks[peaks["experiment_id"].map(replicate_of) == r]
        chronic, healthy = (one.loc[one["group"] == g, "z"] for g in ("chronic", "healthy"))
        ref = stats.ttest_ind(chronic, healthy, equal_var=False)
        assert p[r] == pytest.approx(ref.pvalue, rel=1e-10)
        rows = axis_tests(one, contrasts=("chronic",))
        row = rows[(rows["axis"] == "z") & (rows["test"] == "welch")].iloc[0]
        assert p[r] == pytest.approx(row["p"], rel=1e-10)
        assert diff[r] == pytest.approx(row["shift_mm"], rel=1e-10)


def test_type_one_error_is_nominal_through_the_peak_rule(mi_mask):
    reps = 4000
    d = replace(preset("outcome"), curve_replicates=reps)
    hits = curve_chunk(CurveSpec(PeakSource(d, mi_mask), (0.0,), 78), 0)
    se = math.sqrt(0.05 * 0.95 / reps)
    assert abs(hits.mean() - 0.05) <= 3 * se, hits.mean()


def test_welch_p_power_matches_noncentral_t():
    reps, shift = 4000, 4.0
    d = equal_design(shift, reps)
    table, replicate_of = direct_table(d, simulate_peaks(d, np.random.default_rng(5), reps))
    p, est = welch_p(table, replicate_of, reps)
    hits = (p < 0.05) & (est < 0)
    df = 2 * N_EXP - 2
    ncp = shift / (SIGMA * math.sqrt(2 / N_EXP))
    t_crit = stats.t.isf(0.025, df)
    expected = stats.nct.sf(t_crit, df, ncp)  # the ventral rejection region only
    se = math.sqrt(expected * (1 - expected) / reps)
    # Welch's df ≤ Student's makes it very slightly less powerful (≈ 0.3 % here)
    assert expected - 3 * se - 0.01 <= hits.mean() <= expected + 3 * se, (hits.mean(), expected)
    assert 0.3 < expected < 0.8  # a case where the check can fail either way


def test_welch_p_is_nan_without_two_peaks_per_group():
    table = pd.DataFrame({"experiment_id": ["a", "b", "c"], "group": ["healthy"] * 2 + ["chronic"],
                          "z": [50.0, 52.0, 44.0]})  # fmt: skip
    p, est = welch_p(table, {"a": 0, "b": 0, "c": 0}, 1)
    assert np.isnan(p[0]) and np.isnan(est[0])


def test_neighbours_reach_the_curve_through_the_peak_rule(mi_mask):
    # The centroid rule shrinks a 6 mm shift by ~40 % beside premotor and somatosensory foci
    # and by < 10 % with the MI focus alone (README peak-rule table): fewer detections.
    d = replace(equal_design(6.0, 400), foci_a=(10,) * N_EXP, foci_b=(10,) * N_EXP)
    with_n = curve_chunk(CurveSpec(PeakSource(d, mi_mask), (6.0,), 11), 0).mean()
    alone = curve_chunk(CurveSpec(PeakSource(replace(d, mi_neighbours=False), mi_mask),
                                  (6.0,), 11), 0).mean()  # fmt: skip
    assert alone - with_n > 4 * math.sqrt(0.25 / 400), (alone, with_n)


def test_curve_chunks_take_their_own_shift(mi_mask):
    alone = replace(equal_design(0.0, 500), mi_neighbours=False)
    spec = CurveSpec(PeakSource(alone, mi_mask), (0.0, 10.0), 1)
    low, high = curve_chunk(spec, 0).mean(), curve_chunk(spec, 1).mean()
    assert low < 0.15 and high > 0.9


def test_hdi_of_normal_draws():
    draws = np.random.default_rng(0).normal(size=200_000)
    lo, hi = hdi(draws, 0.95)
    z = stats.norm.ppf(0.975)
    assert lo == pytest.approx(-z, abs=0.03) and hi == pytest.approx(z, abs=0.03)


@pytest.mark.sampling
def test_bayes_block_smoke(mi_mask):
    d = replace(preset("outcome"), bayes_replicates=2, bayes_block_size=2, draws=100, tune=100)
    fits = bayes_chunk(BayesSpec(PeakSource(d, mi_mask), 3), 0)
    assert len(fits) == 2
    for fit in fits:
        assert fit["detect"] in (0.0, 1.0) and fit["covers"] in (0.0, 1.0)
        assert fit["hdi_low"] < fit["posterior_mean_mm"] < fit["hdi_high"]
        assert 0 <= fit["p_ventral"] <= 1 and fit["seconds"] > 0
