"""Prior sensitivity by PSIS: the log prior ratio against PyMC's own log density, and the
reweighted posterior against a conjugate normal model solved by hand."""

from dataclasses import replace

import numpy as np
import pymc as pm
import xarray as xr

from biomark.config import PriorConfig
from biomark.shift.sensitivity import K_MAX, prior_log_ratio, psis_weights, reweight


def _value_point(model: pm.Model, draws: xr.Dataset, k: int) -> dict[str, np.ndarray]:
    point = {}
    for rv in model.free_RVs:
        value = np.asarray(draws[rv.name].isel(chain=0, draw=k).values)
        name = model.rvs_to_values[rv].name
        point[name] = np.log(value) if name.endswith("_log__") else value
    return point


# the scales that the tight prior changes, set by hand so the test does not lean on with_priors
TIGHTENED = ("delta_sd_mm", "tau_cohort_sd_mm", "tau_experiment_sd_mm", "beta_sd")


def _set_scales(model: pm.Model, priors: PriorConfig) -> None:
    pm.set_data({f"prior_{k}": getattr(priors, k) for k in TIGHTENED}, model=model)


def test_log_ratio_equals_the_model_log_density_difference(shift_model):
    model = shift_model.model
    prior = pm.sample_prior_predictive(draws=5, model=model, random_seed=3)["prior"].to_dataset()
    tight = PriorConfig().tight()
    logp = model.compile_logp(vars=model.free_RVs)
    points = [_value_point(model, prior, k) for k in range(5)]
    before = np.array([logp(p) for p in points])
    _set_scales(model, tight)
    try:
        after = np.array([logp(p) for p in points])
    finally:
        _set_scales(model, PriorConfig())
    ratio = prior_log_ratio(prior.isel(draw=slice(0, 5)), PriorConfig(), tight)
    np.testing.assert_allclose(ratio.ravel(), after - before, rtol=1e-9, atol=1e-9)


def _conjugate(y: float, sigma: float, s: float) -> tuple[float, float]:
    """Posterior mean and SD of θ ~ N(0, s²), y ~ N(θ, σ²)."""
    precision = 1 / s**2 + 1 / sigma**2
    return y / sigma**2 / precision, precision**-0.5


def _posterior(draws: np.ndarray) -> xr.DataTree:
    ds = xr.Dataset({"delta": (("chain", "draw"), draws.reshape(4, -1))})
    return xr.DataTree(children={"posterior": xr.DataTree(ds)}, dataset=None)


def test_reweighting_reaches_the_other_priors_posterior():
    y, sigma = 6.0, 3.0
    default = PriorConfig()  # Δ ~ N(0, 10)
    mean, sd = _conjugate(y, sigma, default.delta_sd_mm)
    draws = np.random.default_rng(0).normal(mean, sd, size=8000)
    tree = _posterior(draws)
    for other in (default.tight(), default.wide()):
        want_mean, want_sd = _conjugate(y, sigma, other.delta_sd_mm)
        out, khat = reweight(tree, default, other, seed=1)
        got = out["posterior"]["delta"].values.ravel()
        assert khat <= K_MAX
        assert out["posterior"].sizes == {"chain": 1, "draw": 8000}
        assert abs(got.mean() - want_mean) < 4 * want_sd / np.sqrt(len(got)) + 0.02
        assert abs(got.std() - want_sd) < 0.05 * want_sd
        assert out.attrs["sensitivity_method"] == "psis"
    # the tight prior moves the mean towards 0 by a visible amount: the test can tell
    assert _conjugate(y, sigma, 5.0)[0] < mean - 0.4


def test_a_prior_far_from_the_posterior_is_flagged():
    default = PriorConfig()
    mean, sd = _conjugate(6.0, 3.0, default.delta_sd_mm)
    draws = np.random.default_rng(0).normal(mean, sd, size=4000)
    narrow = replace(default, delta_sd_mm=0.2)
    _, khat = psis_weights(prior_log_ratio(_posterior(draws)["posterior"].to_dataset(),
                                           default, narrow))  # fmt: skip
    assert khat > K_MAX
