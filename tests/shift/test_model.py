"""Model-graph tests: names, dims, shapes, observed data and the log-density, without sampling."""

import numpy as np
import pytest
from scipy import stats

from biomark.config import PriorConfig
from biomark.errors import InputError
from biomark.shift.model import OutcomeOmittedWarning, build_shift_model
from tests.shift.conftest import REALISTIC_REPORTS, kernel_sigma_mm, simulate_peaks


@pytest.fixture
def peaks():
    return simulate_peaks(
        np.random.default_rng(11),
        shift_mm={"acute": (0, 0, -6), "chronic": (0, 0, -5)},
        reports_per_cohort=REALISTIC_REPORTS,
    )[0]


def test_variables_dims_and_coords(peaks):
    sm = build_shift_model(peaks, roi="MI")
    m = sm.model
    free = {v.name for v in m.free_RVs}
    assert free == {
        "mu",
        "group_mu",
        "delta_cortical",
        "tau_cohort",
        "tau_experiment",
        "u_offset",
        "v_offset",
        "alpha",
        "beta",
    }
    assert {v.name for v in m.observed_RVs} == {"peak_mm", "good_outcome"}
    dims = m.named_vars_to_dims
    assert dims["delta"] == ("group", "axis")
    assert dims["shift"] == ("contrast", "axis")
    assert dims["u_offset"] == ("cohort", "axis")
    assert dims["v_offset"] == ("outcome_experiment", "axis")
    assert dims["peak_mm"] == ("experiment", "axis")
    assert list(m.coords["axis"]) == ["x", "y", "z"]
    assert list(m.coords["group"]) == ["acute", "chronic", "intermediate"]
    assert list(m.coords["contrast"]) == ["acute", "chronic", "subcortical"]
    assert len(m.coords["experiment"]) == len(peaks)
    # only cohorts reported more than once get their own effect
    dup = peaks.cohort_id.value_counts()
    assert sorted(m.coords["cohort"]) == sorted(dup[dup > 1].index)
    chronic = peaks[peaks.group == "chronic"]
    assert list(m.coords["outcome_experiment"]) == list(chronic.experiment_id)
    assert sm.has_outcome and sm.roi == "MI"


def test_observed_and_constant_data(peaks):
    m = build_shift_model(peaks).model
    np.testing.assert_array_equal(m["peak_obs_mm"].get_value(), peaks[["x", "y", "z"]].to_numpy())
    chronic = peaks[peaks.group == "chronic"]
    np.testing.assert_array_equal(
        m["good_obs"].get_value(), (chronic.outcome == "good").to_numpy().astype(int)
    )
    np.testing.assert_allclose(m["peak_sigma_mm"].get_value(), kernel_sigma_mm(peaks.n.to_numpy()))
    w = m["contrast_weights"].get_value()
    sub = ((peaks.group != "healthy") & peaks.subcortical).to_numpy()
    np.testing.assert_allclose(w[2], sub / sub.sum())
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        m["reference_mm"].get_value(), peaks[peaks.group == "healthy"][["x", "y", "z"]].mean()
    )


def test_kernel_sigma_value_for_n10():
    # SCIENCE.md §3: U_t = 8.4113 mm FWHM; U_s = 11.6/(2√(2/π))·√(8 ln 2)/√N; σ = FWHM/2.35482
    # by hand: σ_t = 3.5720, σ_s(10) = 7.2692/√10 → σ = √(12.759 + 5.284) = 4.2477 mm
    from biomark.shift.contract import peak_sigma_mm

    assert peak_sigma_mm(np.array([10]))[0] == pytest.approx(4.2477, abs=1e-3)
    assert peak_sigma_mm(np.array([1e12]))[0] == pytest.approx(8.4113 / 2.35482, abs=1e-3)


def _hand_loglik(peaks, m, point):
    """Log-likelihood of peaks and outcomes written out experiment by experiment."""
    xyz = peaks[["x", "y", "z"]].to_numpy()
    ref = xyz[peaks.group == "healthy"].mean(0)
    mu = point["mu"]
    groups = list(m.coords["group"])
    delta = point["group_mu"] - mu
    d_cort = point["delta_cortical"]
    tau_c = np.exp(point["tau_cohort_log__"])
    tau_e = np.exp(point["tau_experiment_log__"])
    cohorts = list(m.coords["cohort"])
    u = point["u_offset"] * tau_c
    outcome_ids = list(m.coords["outcome_experiment"])
    sizes = peaks.cohort_id.value_counts()
    ll_peaks = ll_good = 0.0
    for _, row in peaks.iterrows():
        mean = ref + mu
        if row.group != "healthy":
            mean = mean + delta[groups.index(row.group)]
            if not row.subcortical:
                mean = mean + d_cort
        if row.cohort_id in cohorts:
            mean = mean + u[cohorts.index(row.cohort_id)]
        own_var = tau_e**2 + (tau_c**2 if sizes[row.cohort_id] == 1 else 0.0)
        sigma = kernel_sigma_mm(np.array([row.n]))[0]
        y = np.array([row.x, row.y, row.z])
        if row.experiment_id in outcome_ids:
            k = outcome_ids.index(row.experiment_id)
            latent = mean + point["v_offset"][k] * np.sqrt(own_var)
            ll_peaks += stats.norm.logpdf(y, latent, sigma).sum()
            d = ref[2] + mu[2] - latent[2]
            p = 1 / (1 + np.exp(-(point["alpha"] + point["beta"] * d / 5)))
            ll_good += np.log(p if row.outcome == "good" else 1 - p)
        else:
            ll_peaks += stats.norm.logpdf(y, mean, np.sqrt(sigma**2 + own_var)).sum()
    return ll_peaks, ll_good


def test_log_likelihood_matches_hand_computation(peaks):
    m = build_shift_model(peaks).model
    rng = np.random.default_rng(0)
    point = {k: rng.normal(0, 0.7, np.shape(v)) for k, v in m.initial_point().items()}
    hand_peaks, hand_good = _hand_loglik(peaks, m, point)
    f_peaks = m.compile_logp(vars=[m["peak_mm"]], jacobian=False)
    f_good = m.compile_logp(vars=[m["good_outcome"]], jacobian=False)
    assert float(f_peaks(point)) == pytest.approx(hand_peaks, rel=1e-9)
    assert float(f_good(point)) == pytest.approx(hand_good, rel=1e-9)


def test_prior_scales_follow_prior_config(peaks):
    import pymc as pm

    for priors, sd in ((PriorConfig(), 10.0), (PriorConfig().tight(), 5.0)):
        m = build_shift_model(peaks, priors).model
        with m:
            prior = pm.sample_prior_predictive(draws=3000, random_seed=1, var_names=["delta"])
        draws = prior["prior"]["delta"].values
        assert draws.std() == pytest.approx(sd, rel=0.06)


def test_prior_scales_are_data_so_refits_share_one_graph(peaks):
    import pymc as pm

    default, tight = PriorConfig(), PriorConfig().tight()
    m = build_shift_model(peaks, default).model
    rng = np.random.default_rng(3)
    point = {k: rng.normal(0, 0.7, np.shape(v)) for k, v in m.initial_point().items()}
    before = float(m.compile_logp(jacobian=False)(point))
    scaled = ("delta_sd_mm", "tau_cohort_sd_mm", "tau_experiment_sd_mm", "beta_sd")
    pm.set_data({f"prior_{k}": getattr(tight, k) for k in scaled}, model=m)
    after = float(m.compile_logp(jacobian=False)(point))
    # by hand: only the prior densities whose scale was halved change
    delta = point["group_mu"] - point["mu"][None, :]
    tau = np.exp(np.concatenate([point["tau_cohort_log__"], point["tau_experiment_log__"]]))
    n_tau_c = len(point["tau_cohort_log__"])
    change = (
        (stats.norm.logpdf(delta, 0, 5) - stats.norm.logpdf(delta, 0, 10)).sum()
        + (stats.norm.logpdf(point["delta_cortical"], 0, 5)
           - stats.norm.logpdf(point["delta_cortical"], 0, 10)).sum()
        + (stats.halfnorm.logpdf(tau[:n_tau_c], scale=2.5)
           - stats.halfnorm.logpdf(tau[:n_tau_c], scale=5)).sum()
        + (stats.halfnorm.logpdf(tau[n_tau_c:], scale=2.5)
           - stats.halfnorm.logpdf(tau[n_tau_c:], scale=5)).sum()
        + stats.norm.logpdf(point["beta"], 0, 0.75) - stats.norm.logpdf(point["beta"], 0, 1.5)
    )  # fmt: skip
    assert after - before == pytest.approx(change, rel=1e-9)
    rebuilt = build_shift_model(peaks, tight).model
    assert float(rebuilt.compile_logp(jacobian=False)(point)) == pytest.approx(after, rel=1e-12)


def test_no_outcome_builds_without_logistic_part_and_warns(peaks):
    peaks = peaks.assign(outcome=None)
    with pytest.warns(OutcomeOmittedWarning, match="left out"):
        sm = build_shift_model(peaks)
    assert not sm.has_outcome
    names = set(sm.model.named_vars)
    assert not names & {"alpha", "beta", "good_outcome", "v_offset"}


def test_all_subcortical_has_no_cortical_term(peaks):
    m = build_shift_model(peaks.assign(subcortical=True)).model
    assert "delta_cortical" not in m.named_vars


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p[p.group != "acute"], "no acute experiment"),
        (lambda p: p.assign(subcortical=False), "no subcortical experiment"),
        (lambda p: p.assign(study_id="one"), "single study"),
        (lambda p: p.assign(y=np.where(p.group == "chronic", np.nan, p.y)), "NaN"),
        (lambda p: p[p.group != "healthy"], "healthy"),
        (lambda p: p.assign(outcome=np.where(p.group == "healthy", "good", p.outcome)), "healthy"),
    ],
)
def test_bad_input(peaks, mutate, message):
    with pytest.raises(InputError, match=message):
        build_shift_model(mutate(peaks))


def test_swap_data_replaces_observations_of_same_design(peaks):
    from biomark.shift.model import swap_data

    sm = build_shift_model(peaks)
    other = peaks.assign(z=peaks.z - 3.0, n=peaks.n + 1)
    swapped = swap_data(sm, other)
    m = swapped.model
    np.testing.assert_allclose(m["peak_obs_mm"].get_value()[:, 2], other.z)
    np.testing.assert_allclose(m["peak_sigma_mm"].get_value(), kernel_sigma_mm(other.n.to_numpy()))
    assert m["reference_mm"].get_value()[2] == pytest.approx(
        other[other.group == "healthy"].z.mean()
    )
    flipped = peaks.assign(outcome=peaks.outcome.map({"good": "poor", "poor": "good"}))
    swap_data(sm, flipped)
    chronic = peaks[peaks.group == "chronic"]
    np.testing.assert_array_equal(
        m["good_obs"].get_value(), (chronic.outcome == "poor").astype(int)
    )
    with pytest.raises(InputError, match="same experiments"):
        swap_data(sm, peaks.assign(group=peaks.group.replace("acute", "chronic")))
