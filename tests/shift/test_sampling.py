"""Smoke sampling (2 chains × 50 draws): the result's shape, provenance and reproducibility."""

import json
from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from biomark.config import PriorConfig, SamplerConfig
from biomark.shift.predict import predict_good_outcome
from biomark.shift.sampling import (
    _seed_int,
    fit_prior_sensitivity,
    sample_prior_predictive,
    sample_shift_model,
)
from biomark.shift.summary import (
    diagnostics,
    outcome_table,
    ppc_summary,
    sensitivity_table,
    shift_table,
)

pytestmark = pytest.mark.sampling
SMOKE = SamplerConfig().smoke()


@pytest.fixture(scope="module")
def smoke_fit(shift_model):
    return sample_shift_model(shift_model, SMOKE, seed=123)


def test_result_is_stamped_datatree(smoke_fit):
    assert isinstance(smoke_fit, xr.DataTree)
    assert {"posterior", "sample_stats", "observed_data", "posterior_predictive"} <= set(
        smoke_fit.children
    )
    post = smoke_fit["posterior"]
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 50
    assert post["shift"].dims == ("chain", "draw", "contrast", "axis")
    attrs = smoke_fit.attrs
    assert attrs["seed"] == 123 and attrs["roi"] == "MI"
    assert json.loads(attrs["sampler_config"])["nuts_sampler"] == "pymc"
    assert json.loads(attrs["sampler_config"])["draws"] == 50
    assert json.loads(attrs["prior_config"])["delta_sd_mm"] == 10.0
    for key in ("pymc_version", "pytensor_version", "arviz_version"):
        assert attrs[key]
    pp = smoke_fit["posterior_predictive"]
    assert pp["peak_mm"].shape[-2:] == smoke_fit["observed_data"]["peak_mm"].shape


def test_same_seed_same_draws(shift_model, smoke_fit):
    again = sample_shift_model(shift_model, SMOKE, seed=123, posterior_predictive=False)
    np.testing.assert_array_equal(
        again["posterior"]["shift"].values, smoke_fit["posterior"]["shift"].values
    )


def test_generator_seed_is_drawn_once():
    expected = int(np.random.default_rng(9).integers(0, 2**31 - 1))
    assert _seed_int(np.random.default_rng(9)) == expected
    assert _seed_int(7) == 7


def test_summaries_on_smoke_fit(smoke_fit):
    table = shift_table(smoke_fit)
    assert len(table) == 3 * 4
    assert table[["r_hat", "ess_bulk", "ess_tail"]].notna().all().all()
    assert len(outcome_table(smoke_fit)) == 1
    ppc = ppc_summary(smoke_fit)
    assert set(ppc.check) == {"peak coverage", "share of good outcomes"}
    d = diagnostics(smoke_fit)
    assert not d.ok  # 100 draws cannot reach ESS 400
    pred = predict_good_outcome(smoke_fit, [-38.0, -22.0, 50.0])
    assert 0 <= pred.hdi_low <= pred.hdi_high <= 1


def test_prior_predictive(shift_model):
    prior = sample_prior_predictive(shift_model, draws=20, seed=1)
    assert prior["prior"]["shift"].sizes["draw"] == 20
    assert prior["prior_predictive"]["peak_mm"].shape[-1] == 3
    assert prior.attrs["seed"] == 1


def test_prior_sensitivity_reweights_or_refits(shift_model, smoke_fit):
    wide = PriorConfig().wide()
    assert (wide.delta_sd_mm, wide.tau_cohort_sd_mm) == (20.0, 10.0)
    # a prior 100 times tighter on Δ cannot be reached by reweighting draws: it is refitted
    narrow = replace(PriorConfig(), name="narrow", delta_sd_mm=0.1)
    fits = fit_prior_sensitivity(shift_model, smoke_fit, SMOKE, seed=1, priors=[wide, narrow])
    assert [f.prior for f in fits] == ["wide", "narrow"]
    assert fits[0].method == "reweighted" and fits[0].pareto_k <= 0.7
    assert fits[1].method == "refit" and fits[1].pareto_k > 0.7
    assert json.loads(fits[0].idata.attrs["prior_config"])["delta_sd_mm"] == 20.0
    assert json.loads(fits[1].idata.attrs["prior_config"])["delta_sd_mm"] == 0.1
    # under N(0, 0.1 mm) every shift is pulled to 0, whatever the data say
    assert abs(float(fits[1].idata["posterior"]["shift"].mean())) < 0.3
    table = sensitivity_table(
        {"default": smoke_fit, **{f.prior: f.idata for f in fits}},
        {f.prior: (f.method, f.pareto_k) for f in fits},
    )
    assert set(table.prior) == {"default", "wide", "narrow"}
    assert set(table.method) == {"sampled", "reweighted", "refit"}
    assert (table.query("prior == 'default'").change_mm == 0).all()


def test_fits_in_a_pool_are_reproducible_and_seeded_per_job(shift_model):
    from biomark.shift.sampling import FitJob, run_fits

    sampler = replace(SMOKE, chains=2, cores=2)
    jobs = [FitJob.of(shift_model, sampler, 31), FitJob.of(shift_model, sampler, 32)]
    first, other = run_fits(jobs, cores=2)
    again, _ = run_fits(jobs, cores=2)
    np.testing.assert_array_equal(first["posterior"]["shift"], again["posterior"]["shift"])
    # the same chains when the parts run one after another in this process
    serial, _ = run_fits(jobs, cores=1)
    np.testing.assert_allclose(serial["posterior"]["shift"], first["posterior"]["shift"],
                               rtol=1e-5, atol=1e-6)  # fmt: skip
    assert first.attrs["seed"] == 31 and other.attrs["seed"] == 32
    assert first["posterior"].sizes["chain"] == 2
    assert list(first["posterior"]["chain"].values) == [0, 1]
    assert json.loads(first.attrs["sampler_config"])["chains"] == 2
    assert not np.array_equal(other["posterior"]["shift"], first["posterior"]["shift"])
    # the same model as a direct fit: the same posterior up to Monte Carlo error
    direct = sample_shift_model(shift_model, SMOKE, seed=31, posterior_predictive=False)
    for fit in (first, direct):
        assert float(fit["posterior"]["shift"].sel(contrast="acute", axis="z").mean()) < -2.0


def test_a_reused_compiled_step_gives_the_same_draws(shift_model):
    from biomark.shift.sampling import FitJob, _fit

    job = FitJob.of(shift_model, SMOKE, 44, priors=PriorConfig().tight())
    fresh = _fit(job)
    # another fit in between leaves the cached step adapted to other priors and data
    _fit(replace(job, priors=PriorConfig().wide(), seed=3))
    again = _fit(job)
    np.testing.assert_array_equal(fresh["posterior"]["shift"], again["posterior"]["shift"])
    assert json.loads(again.attrs["prior_config"])["name"] == "tight"
