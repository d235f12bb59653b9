"""Calibration of ``biomark predict`` for new peaks simulated from the fitted model (slow).

The MI model is fitted to the embedded dataset as ``biomark predict`` fits it. New chronic
experiments are then simulated from that fit's generative process, written out here by hand:
pick a posterior draw; a new cohort's latent ventral displacement d ~ N(−shift_chronic,z,
τ_cohort,z² + τ_experiment,z²); N subjects uniform on 1–30; its reported peak z = μ_z − d + e
with e ~ N(0, σ_N²) (Eickhoff σ from the published constants); good outcome with probability
logit⁻¹(α + β·d/unit). Each simulated peak is predicted by :func:`predict_good_outcome`, the
function ``biomark predict`` calls.

Thresholds, fixed before the first run: in each decile of predicted probability the observed
frequency of good outcome lies within ±0.05 of the mean prediction, and the calibration slope
(logistic regression of outcome on the logit of the prediction) lies in 0.8–1.2.

Replicates: 20,000 peaks, 2,000 per decile, so a decile's observed frequency has SE ≤
√(0.25/2000) = 0.011: a decile miscalibrated by 0.06 fails the ±0.05 window with ≥ 80 % power
(0.05 + 0.84 × 0.011), while a calibrated one fails with probability < 1e-5. The slope's SE here
is ≈ 0.03, so a slope of 1.25 (or 0.75) fails with ≥ 80 % power. The negative control — the
logistic evaluated at the observed displacement, as biomark did before it allowed for the
peak's error — must fail the same criteria.

Measured (2 chains × 1,000 draws, 2026-12-03, ≈ 220 s): worst decile 0.431 predicted → 0.412
observed (0.019), slope 1.015. Before each draw was weighted by the new peak's likelihood the
same run gave 0.045 and 1.126.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import statsmodels.api as sm

from biomark.config import SamplerConfig
from biomark.pipeline.data import load
from biomark.pipeline.shift import run_shift_analyses
from biomark.rules import prepare
from biomark.shift.predict import predict_good_outcome
from tests.shift.quadrature import peak_sigma_mm

N_PEAKS = 20_000
WINDOW = 0.05
SLOPE = (0.8, 1.2)


def _deciles(pred: np.ndarray, good: np.ndarray) -> list[tuple[float, float]]:
    edges = np.quantile(pred, np.linspace(0, 1, 11))
    bins = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, 9)
    return [(float(pred[bins == b].mean()), float(good[bins == b].mean())) for b in range(10)]


def _slope(pred: np.ndarray, good: np.ndarray) -> float:
    logit = np.log(pred / (1 - pred))
    fit = sm.GLM(good, sm.add_constant(logit), family=sm.families.Binomial()).fit()
    return float(fit.params[1])


def _calibrated(pred: np.ndarray, good: np.ndarray) -> bool:
    worst = max(abs(p - f) for p, f in _deciles(pred, good))
    return worst <= WINDOW and SLOPE[0] <= _slope(pred, good) <= SLOPE[1]


@pytest.mark.slow
def test_predictions_for_new_peaks_are_calibrated():
    sampler = replace(SamplerConfig(), chains=2)
    fit = run_shift_analyses(prepare(load(None)).dataset, ["mi"], sampler, 0, sensitivity=False)
    idata = fit["mi"].idata
    assert fit["mi"].diagnostics.ok, fit["mi"].diagnostics.message
    post = idata["posterior"].to_dataset().stack(sample=("chain", "draw"))
    unit = float(json.loads(idata.attrs["prior_config"])["beta_unit_mm"])
    rng = np.random.default_rng(20261203)
    pick = rng.integers(0, post.sizes["sample"], N_PEAKS)

    def at(name: str, **sel: str) -> np.ndarray:
        return np.asarray(post[name].sel(**sel).values if sel else post[name].values)[pick]

    alpha, beta = at("alpha"), at("beta")
    mu_z = at("mu_mm", axis="z")
    centre = -at("shift", contrast="chronic", axis="z")
    spread = np.hypot(at("tau_cohort", axis="z"), at("tau_experiment", axis="z"))
    d = rng.normal(centre, spread)
    n = rng.integers(1, 31, N_PEAKS)
    sigma = np.array([peak_sigma_mm(float(k)) for k in n])
    z_obs = mu_z - d + rng.normal(0.0, sigma)
    good = (rng.random(N_PEAKS) < 1 / (1 + np.exp(-(alpha + beta * d / unit)))).astype(float)

    pred = np.array([
        predict_good_outcome(idata, [-38.0, -22.0, z], 200.0, n_subjects=float(k)).probability
        for z, k in zip(z_obs, n, strict=True)
    ])  # fmt: skip
    table = _deciles(pred, good)
    shown = ", ".join(f"{p:.3f}→{f:.3f}" for p, f in table)
    print(f"decile mean prediction → observed: {shown}; slope {_slope(pred, good):.3f}")
    for p, f in table:
        assert abs(p - f) <= WINDOW, table
    assert SLOPE[0] <= _slope(pred, good) <= SLOPE[1]

    # negative control: the logistic at the observed displacement ignores the peak's error
    all_a, all_b = post["alpha"].values, post["beta"].values
    all_mu = post["mu_mm"].sel(axis="z").values
    naive = np.array([
        float(np.mean(1 / (1 + np.exp(-(all_a + all_b * (all_mu - z) / unit)))))
        for z in z_obs
    ])  # fmt: skip
    assert not _calibrated(naive, good)
    assert math.isfinite(_slope(naive, good))
