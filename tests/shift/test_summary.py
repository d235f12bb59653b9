"""Summaries, diagnostics and prediction on hand-built posteriors with known answers."""

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from biomark.shift.summary import (
    comparison_table,
    diagnostics,
    outcome_table,
    ppc_summary,
    sensitivity_table,
    shift_table,
)

COORDS = {"contrast": ["acute", "chronic"], "axis": ["x", "y", "z"]}
DIMS = {"shift": ["contrast", "axis"], "distance_mm": ["contrast"], "mu_mm": ["axis"]}


def _fit(rng, chains=4, draws=2000, z_shift=-6.0, chain_offset=0.0, divergent=0, beta=None):
    shift = rng.normal(0, 1, (chains, draws, 2, 3))
    shift[..., 0, 2] += z_shift
    shift[..., 1, 1] += 2.0
    shift += chain_offset * np.arange(chains)[:, None, None, None]
    post = {"shift": shift, "distance_mm": np.linalg.norm(shift, axis=-1)}
    post["mu_mm"] = np.broadcast_to([-38.0, -22.0, 56.0], (chains, draws, 3)).copy()
    post["mu_mm"] += rng.normal(0, 1e-9, post["mu_mm"].shape)  # not constant: R̂ is defined
    if beta is not None:
        post["alpha"] = np.zeros((chains, draws))
        post["beta"] = beta + rng.normal(0, 1e-9, (chains, draws))
    div = np.zeros((chains, draws), bool)
    div.flat[:divergent] = True
    dt = az.from_dict(
        {"posterior": post, "sample_stats": {"diverging": div}}, coords=COORDS, dims=DIMS
    )
    dt.attrs["prior_config"] = json.dumps({"beta_unit_mm": 5.0})
    return dt


def test_diagnostics_ok_for_iid_draws():
    d = diagnostics(_fit(np.random.default_rng(0)))
    assert d.ok and d.divergences == 0 and d.n_draws == 8000
    assert d.max_rhat < 1.01 and d.min_ess_bulk > 400
    assert "converged" in d.message


def test_diagnostics_flags_rhat_ess_and_divergences():
    d = diagnostics(_fit(np.random.default_rng(0), chain_offset=1.0, divergent=3))
    assert not d.ok
    assert d.max_rhat > 1.01
    assert "R̂" in d.message and "3 divergent" in d.message
    d = diagnostics(_fit(np.random.default_rng(0), draws=60, chains=2))
    assert not d.ok and "effective sample size" in d.message


def test_shift_table_normal_posterior():
    table = shift_table(_fit(np.random.default_rng(1), draws=5000)).set_index(["contrast", "axis"])
    row = table.loc[("acute", "z")]
    # posterior N(-6, 1): HDI = mean ± 1.96
    assert row.mean_mm == pytest.approx(-6.0, abs=0.03)
    assert row.hdi_low_mm == pytest.approx(-6 - 1.96, abs=0.08)
    assert row.hdi_high_mm == pytest.approx(-6 + 1.96, abs=0.08)
    assert row.direction == "ventral"
    assert row.p_direction == pytest.approx(stats.norm.cdf(6), abs=1e-4)
    caudal = table.loc[("chronic", "y")]
    assert caudal.direction == "rostral"
    assert caudal.p_direction == pytest.approx(stats.norm.cdf(2), abs=0.01)
    assert np.isnan(table.loc[("acute", "euclidean"), "p_direction"])
    assert table.loc[("acute", "euclidean"), "mean_mm"] > 5.9
    # no-shift reference: the norm of three independent N(0, 1) components (chi, 3 df)
    ref = table.loc[("chronic", "euclidean")]
    assert ref.no_shift_median_mm == pytest.approx(stats.chi(3).median(), abs=0.03)
    assert ref.no_shift_q95_mm == pytest.approx(stats.chi(3).ppf(0.95), abs=0.06)
    assert np.isnan(row.no_shift_median_mm)


def test_odds_ratio_interval_is_exp_of_beta_hdi_and_agrees_with_probability():
    # β ~ N(0.9, 0.5): skewed on the odds-ratio scale; mean exp(β) = exp(0.9 + 0.125) ≠ median
    rng = np.random.default_rng(9)
    beta = rng.normal(0.9, 0.5, (4, 2000))
    fit = _fit(rng, beta=beta)
    beta = fit["posterior"]["beta"].values
    row = outcome_table(fit).iloc[0]
    lo, hi = az.hdi(beta.ravel(), prob=0.95)
    assert row.odds_ratio == pytest.approx(np.exp(np.median(beta)))
    assert row.odds_ratio == pytest.approx(np.exp(0.9), rel=0.02)
    assert (row.hdi_low, row.hdi_high) == pytest.approx((np.exp(lo), np.exp(hi)))
    assert row.p_positive == pytest.approx(stats.norm.cdf(0.9 / 0.5), abs=0.01)
    assert "odds_ratio_mean" not in row.index
    # the interval includes 1 exactly when β's includes 0
    assert (row.hdi_low < 1 < row.hdi_high) == (lo < 0 < hi)


def test_outcome_table_odds_ratio_per_5mm():
    table = outcome_table(_fit(np.random.default_rng(2), beta=np.log(3.0)))
    assert table.odds_ratio.iloc[0] == pytest.approx(3.0)
    assert table.p_positive.iloc[0] == 1.0
    assert "per 5 mm" in table.quantity.iloc[0]
    assert outcome_table(_fit(np.random.default_rng(2))).empty


def test_ppc_coverage_hand_built():
    rng = np.random.default_rng(4)
    chains, draws, n = 2, 500, 40
    pp = rng.normal(0, 1, (chains, draws, n, 3))
    obs = np.zeros((n, 3))
    obs[:4] = 5.0  # 4 of 40 far outside → coverage 0.9
    dt = az.from_dict(
        {"posterior_predictive": {"peak_mm": pp}, "observed_data": {"peak_mm": obs}},
        coords={"axis": ["x", "y", "z"]},
        dims={"peak_mm": ["experiment", "axis"]},
    )
    table = ppc_summary(dt)
    assert list(table.observed) == [0.9, 0.9, 0.9]


def test_comparison_and_sensitivity_tables():
    fit = _fit(np.random.default_rng(5))
    bayes = shift_table(fit)
    freq = pd.DataFrame(
        {
            "contrast": ["acute"] * 3,
            "axis": ["x", "y", "z"],
            "test": "welch",
            "shift_mm": [0.1, 0.2, -6.4],
            "ci_low_mm": [-1, -1, -9],
            "ci_high_mm": [1, 1, -3],
            "p": [0.9, 0.8, 0.022],
        }
    )
    comp = comparison_table(freq, bayes)
    row = comp.set_index(["contrast", "axis"]).loc[("acute", "z")]
    assert row.freq_shift_mm == -6.4 and row.p_value == 0.022
    assert row.posterior_mean_mm == pytest.approx(-6, abs=0.1)
    assert len(comp) == 6  # chronic has no frequentist row: kept, with NaN
    sens = sensitivity_table({"default": fit, "wide": _fit(np.random.default_rng(6), z_shift=-5)})
    moved = sens.set_index(["prior", "contrast", "axis"]).loc[("wide", "acute", "z"), "change_mm"]
    assert moved == pytest.approx(1.0, abs=0.1)
