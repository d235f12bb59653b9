"""The outcome prediction for a new peak against independent numeric integration.

Expected values are computed here by quadrature of Bayes' rule written out by hand (prior of
the latent displacement × likelihood of the observed peak × logistic), never by the normal–normal
algebra the code uses, with the Eickhoff σ computed by hand from its published constants.
"""

from __future__ import annotations

import json
import math

import arviz as az
import numpy as np
import pytest
from scipy import integrate, stats

from biomark.errors import InputError
from biomark.shift.predict import outcome_curve, predict_good_outcome
from tests.shift.quadrature import held, p_good_by_quadrature, peak_sigma_mm, shortest_interval

HEALTHY_Z = 56.0


def _as_fit(post: dict[str, np.ndarray], contrasts: tuple[str, ...]) -> az.InferenceData:
    """Posterior arrays as a shift fit (one chain), β per 5 mm."""
    dims = {"shift": ["contrast", "axis"], "mu_mm": ["axis"], "tau_cohort": ["axis"],
            "tau_experiment": ["axis"]}  # fmt: skip
    coords = {"contrast": list(contrasts), "axis": ["x", "y", "z"]}
    dt = az.from_dict({"posterior": post}, coords=coords, dims=dims)
    dt.attrs["prior_config"] = json.dumps({"beta_unit_mm": 5.0})
    return dt


def _posterior(
    rng: np.random.Generator,
    draws: int = 60,
    *,
    outcome: bool = True,
    contrasts: tuple[str, ...] = ("acute", "chronic"),
) -> az.InferenceData:
    """A posterior whose every parameter varies between draws (one chain)."""
    shift = rng.normal(0.0, 1.0, (1, draws, len(contrasts), 3))
    shift[..., :, 2] += -4.0
    post = {
        "shift": shift,
        "mu_mm": np.stack(
            [
                rng.normal(-38, 0.5, (1, draws)),
                rng.normal(-22, 0.5, (1, draws)),
                rng.normal(HEALTHY_Z, 1.0, (1, draws)),
            ],
            axis=-1,
        ),
        "tau_cohort": np.abs(rng.normal(2.0, 0.7, (1, draws, 3))),
        "tau_experiment": np.abs(rng.normal(1.5, 0.5, (1, draws, 3))),
    }
    if outcome:
        post["alpha"] = rng.normal(0.2, 0.5, (1, draws))
        post["beta"] = rng.normal(math.log(3.0), 0.4, (1, draws))
    return _as_fit(post, contrasts)


def _by_quadrature(dt: az.InferenceData, z_obs: float, n: float) -> tuple[np.ndarray, np.ndarray]:
    return p_good_by_quadrature(dt["posterior"], dt.attrs["prior_config"], z_obs, n)


@pytest.mark.parametrize(("z_obs", "n"), [(46.0, 1.0), (60.0, 1.0), (50.0, 12.0), (41.0, 30.0)])
def test_prediction_equals_numeric_integration(z_obs: float, n: float) -> None:
    dt = _posterior(np.random.default_rng(11))
    per_draw, weight = _by_quadrature(dt, z_obs, n)
    pred = predict_good_outcome(dt, [-38.0, -22.0, z_obs], n_subjects=n)
    # the posterior predictive: draws weighted by how likely each makes the observed peak
    assert pred.probability == pytest.approx(weight @ per_draw, abs=1e-7)
    assert abs(pred.probability - per_draw.mean()) > 1e-4  # the weights matter here
    # the interval holds ≈ 95 % of the weight (60 draws: each ≈ 1/60) and is near-shortest
    assert held(per_draw, weight, pred.hdi_low, pred.hdi_high) >= 0.93
    lo, hi = shortest_interval(per_draw, weight, 0.97)
    assert pred.hdi_high - pred.hdi_low <= hi - lo + 1e-12
    assert pred.n_subjects == n
    mu_z = dt["posterior"]["mu_mm"].sel(axis="z").values.mean()
    assert pred.observed_displacement_mm == pytest.approx(mu_z - z_obs)


def _fixed(alpha: float, beta: float, chronic_shift_z: float, tau: float) -> az.InferenceData:
    """A posterior concentrated at one parameter value (for the issue's worked example)."""
    draws = 4
    post = {
        "shift": np.tile([[[0, 0, 0], [0, 0, chronic_shift_z]]], (1, draws, 1, 1)).astype(float),
        "mu_mm": np.tile([-38.0, -22.0, HEALTHY_Z], (1, draws, 1)),
        "tau_cohort": np.full((1, draws, 3), tau),
        "tau_experiment": np.zeros((1, draws, 3)),
        "alpha": np.full((1, draws), alpha),
        "beta": np.full((1, draws), beta),
    }
    return _as_fit(post, ("acute", "chronic"))


def test_single_patient_prediction_is_flatter_than_the_latent_curve() -> None:
    # odds ratio 3 per 5 mm, α = 0: a latent displacement of 10 mm gives 9/(1+9) = 0.9
    dt = _fixed(0.0, math.log(3.0), chronic_shift_z=-3.4, tau=3.0)
    curve = outcome_curve(dt, [10.0])
    latent = curve[curve["curve"] == "latent displacement"]
    assert latent["probability"].iloc[0] == pytest.approx(0.9)
    one = predict_good_outcome(dt, [-38.0, -22.0, HEALTHY_Z - 10.0])
    # by hand: v = 1/(1/9 + 1/σ²), m = v (3.4/9 + 10/σ²), then the logistic averaged over N(m, v)
    sigma2 = peak_sigma_mm(1.0) ** 2
    v = 1 / (1 / 9 + 1 / sigma2)
    m = v * (3.4 / 9 + 10 / sigma2)
    by_hand = integrate.quad(
        lambda d: stats.norm.pdf(d, m, math.sqrt(v)) / (1 + math.exp(-math.log(3) * d / 5)),
        m - 15 * math.sqrt(v),
        m + 15 * math.sqrt(v),
    )[0]
    assert one.probability == pytest.approx(by_hand, abs=1e-9)
    assert 0.6 < one.probability < 0.8
    observed = curve[curve["curve"] != "latent displacement"]
    assert observed["probability"].iloc[0] == pytest.approx(by_hand, abs=1e-9)
    assert one.latent_displacement_mm == pytest.approx(m)
    # more subjects behind the peak: less error, closer to the latent curve
    many = predict_good_outcome(dt, [-38.0, -22.0, HEALTHY_Z - 10.0], n_subjects=30)
    assert one.probability < many.probability < 0.9
    assert "between study groups" in one.note


@pytest.mark.parametrize(
    ("xyz", "kw", "message"),
    [
        ([38.0, -22.0, 51.0], {}, "right hemisphere"),
        ([-38.0, np.nan, 51.0], {}, "finite"),
        ([-38.0, 51.0], {}, "3 finite"),
        ([-38.0, -22.0, 51.0], {"days": -1}, "days"),
        ([-38.0, -22.0, 51.0], {"n_subjects": 0.5}, "--n"),
    ],
)
def test_predict_bad_input(xyz, kw, message):
    with pytest.raises(InputError, match=message):
        predict_good_outcome(_posterior(np.random.default_rng(3)), xyz, **kw)


def test_predict_needs_outcome_part_and_chronic_group():
    with pytest.raises(InputError, match="no outcome part"):
        predict_good_outcome(_posterior(np.random.default_rng(3), outcome=False), [-38, -22, 51])
    with pytest.raises(InputError, match="no chronic"):
        predict_good_outcome(
            _posterior(np.random.default_rng(3), contrasts=("acute",)), [-38, -22, 51]
        )


def test_early_scan_note():
    pred = predict_good_outcome(_posterior(np.random.default_rng(3)), [-38, -22, 51], days=20)
    assert "day 20" in pred.note


def test_curve_empty_without_outcome():
    curve = outcome_curve(_posterior(np.random.default_rng(3), outcome=False), [0.0, 5.0])
    assert curve.empty and curve.columns[0] == "curve"
