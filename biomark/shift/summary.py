"""Posterior → tidy tables and plain-language diagnostics (reads results; never samples).

Intervals are 95 % highest-density intervals (ArviZ 1.x defaults to an 89 % ETI, so the kind
and probability are always passed explicitly).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from biomark.shift.contract import AXES, ESS_MIN, RHAT_MAX, direction_name

CI_PROB: Final = 0.95


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """Convergence of one sampler run, with a message a reader of the report can act on."""

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    n_draws: int
    ok: bool
    message: str


def _posterior(idata: xr.DataTree) -> xr.Dataset:
    return idata["posterior"].to_dataset()


def _draws(idata: xr.DataTree, var: str) -> xr.DataArray:
    return _posterior(idata)[var].stack(sample=("chain", "draw"))


def _hdi(values: np.ndarray, ci_prob: float) -> tuple[float, float]:
    bounds = np.asarray(az.hdi(np.asarray(values, dtype=np.float64), prob=ci_prob))
    return float(bounds[0]), float(bounds[1])


def diagnostics(
    idata: xr.DataTree, rhat_max: float = RHAT_MAX, ess_min: float = ESS_MIN
) -> Diagnostics:
    """R̂ (rank-normalised), bulk and tail ESS over every posterior variable, and divergences."""
    post = idata["posterior"]
    rhat = az.rhat(post).to_dataset()
    ess_bulk = az.ess(post, method="bulk").to_dataset()
    ess_tail = az.ess(post, method="tail").to_dataset()

    def _extreme(ds: xr.Dataset, fn: Any) -> float:
        vals = np.concatenate([np.ravel(ds[v].values) for v in ds.data_vars])
        vals = vals[np.isfinite(vals)]
        return float(fn(vals)) if vals.size else float("nan")

    max_rhat = _extreme(rhat, np.max)
    min_bulk = _extreme(ess_bulk, np.min)
    min_tail = _extreme(ess_tail, np.min)
    divergences = int(idata["sample_stats"]["diverging"].sum())
    n_draws = int(post.sizes["chain"] * post.sizes["draw"])
    problems = []
    if not max_rhat <= rhat_max:
        problems.append(
            f"R̂ reaches {max_rhat:.3f} (> {rhat_max}): the chains disagree, so the estimates "
            "are not reliable"
        )
    if not min(min_bulk, min_tail) >= ess_min:
        problems.append(
            f"the effective sample size falls to {min(min_bulk, min_tail):.0f} (< {ess_min}): "
            "intervals and tail probabilities are imprecise"
        )
    if divergences:
        problems.append(
            f"{divergences} divergent transitions: the sampler could not explore part of the "
            "posterior, so the estimates may be biased"
        )
    if problems:
        message = "Sampling problems: " + "; ".join(problems) + ". Rerun with more tuning or draws."
    else:
        message = (
            f"The sampler converged: R̂ ≤ {rhat_max}, bulk and tail ESS ≥ {ess_min}, "
            "no divergent transitions."
        )
    return Diagnostics(max_rhat, min_bulk, min_tail, divergences, n_draws, not problems, message)


def shift_table(idata: xr.DataTree, ci_prob: float = CI_PROB) -> pd.DataFrame:
    """Posterior shift of each contrast vs healthy, per axis and as the Euclidean distance.

    ``direction`` is named from the posterior mean; ``p_direction`` is the posterior probability
    that the shift lies in that direction (NaN for the distance). The distance's posterior is
    biased upward (a norm of uncertain components is positive even when every component is 0),
    so its row carries the distribution it would have under no shift: ``no_shift_median_mm`` and
    ``no_shift_q95_mm``, the median and 95th percentile of the norm of the shift draws centred on
    0 (same posterior spread, no shift). Per-axis rows lead; the distance is never graded.
    """
    rhat = az.rhat(idata["posterior"], var_names=["shift", "distance_mm"]).to_dataset()
    bulk = az.ess(idata["posterior"], var_names=["shift", "distance_mm"]).to_dataset()
    tail = az.ess(idata["posterior"], var_names=["shift", "distance_mm"], method="tail")
    tail_ds = tail.to_dataset()
    shift = _draws(idata, "shift")
    dist = _draws(idata, "distance_mm")
    rows = []
    for contrast in shift["contrast"].values:
        for axis in [*AXES, "euclidean"]:
            if axis == "euclidean":
                draws = dist.sel(contrast=contrast).values
                sel: dict[str, Any] = {"contrast": contrast}
                var = "distance_mm"
            else:
                draws = shift.sel(contrast=contrast, axis=axis).values
                sel = {"contrast": contrast, "axis": axis}
                var = "shift"
            mean = float(draws.mean())
            lo, hi = _hdi(draws, ci_prob)
            null_median, null_q95 = (
                _no_shift_reference(shift.sel(contrast=contrast).transpose("sample", "axis").values)
                if axis == "euclidean"
                else (float("nan"), float("nan"))
            )
            direction = "" if axis == "euclidean" else direction_name(axis, mean)
            p_dir = (
                float("nan")
                if axis == "euclidean"
                else float((np.sign(draws) == np.sign(mean)).mean())
            )
            rows.append(
                {
                    "contrast": str(contrast),
                    "axis": axis,
                    "mean_mm": mean,
                    "sd_mm": float(draws.std(ddof=1)),
                    "hdi_low_mm": lo,
                    "hdi_high_mm": hi,
                    "direction": direction,
                    "p_direction": p_dir,
                    "no_shift_median_mm": null_median,
                    "no_shift_q95_mm": null_q95,
                    "r_hat": float(rhat[var].sel(sel)),
                    "ess_bulk": float(bulk[var].sel(sel)),
                    "ess_tail": float(tail_ds[var].sel(sel)),
                }
            )
    return pd.DataFrame(rows)


def _no_shift_reference(shift_draws: np.ndarray) -> tuple[float, float]:
    """Median and 95th percentile of ‖shift − E[shift]‖ over draws ``(n_draws, 3)`` (mm)."""
    norms = np.linalg.norm(shift_draws - shift_draws.mean(axis=0), axis=1)
    median, q95 = np.quantile(norms, [0.5, 0.95])
    return float(median), float(q95)


def beta_unit_mm(idata: xr.DataTree) -> float:
    """The displacement (mm) that one unit of the fit's outcome slope β stands for."""
    return float(json.loads(str(idata.attrs.get("prior_config", "{}"))).get("beta_unit_mm", 5.0))


def outcome_table(idata: xr.DataTree, ci_prob: float = CI_PROB) -> pd.DataFrame:
    """Odds ratio of good outcome per ``beta_unit_mm`` of ventral MI displacement (one row).

    The odds ratio is exp(median β) with exp of β's HDI: an HDI does not survive a non-linear
    transform, and the mean of exp(β) is pulled up by its skew, so neither is reported. The
    interval excludes 1 exactly when β's excludes 0, and ``p_positive`` = P(β > 0) is read off
    the same draws. Empty when the model had no outcome part.
    """
    if "beta" not in _posterior(idata).data_vars:
        return pd.DataFrame()
    unit = beta_unit_mm(idata)
    beta = _draws(idata, "beta").values
    beta_lo, beta_hi = _hdi(beta, ci_prob)
    median = float(np.median(beta))
    return pd.DataFrame(
        [
            {
                "quantity": f"odds ratio of good outcome per {unit:g} mm ventral displacement",
                "unit_mm": float(unit),
                "odds_ratio": float(np.exp(median)),
                "hdi_low": float(np.exp(beta_lo)),
                "hdi_high": float(np.exp(beta_hi)),
                "beta_median": median,
                "beta_hdi_low": beta_lo,
                "beta_hdi_high": beta_hi,
                "p_positive": float((beta > 0).mean()),
            }
        ]
    )


def ppc_summary(idata: xr.DataTree, ci_prob: float = CI_PROB) -> pd.DataFrame:
    """Posterior predictive check: coverage of observed values by central predictive intervals.

    Rows per axis (``peak_mm``: share of observed peaks inside their experiment's central
    ``ci_prob`` predictive interval, expected ≈ ``ci_prob``) and, with an outcome part, the observed
    share of good outcomes against its predictive distribution (``p_value``: two-sided posterior
    predictive p).
    """
    pp = idata["posterior_predictive"].to_dataset()
    obs = idata["observed_data"].to_dataset()
    q = [(1 - ci_prob) / 2, (1 + ci_prob) / 2]
    rows = []
    peaks = pp["peak_mm"].stack(sample=("chain", "draw"))
    bounds = peaks.quantile(q, dim="sample")
    for axis in AXES:
        y = obs["peak_mm"].sel(axis=axis)
        b = bounds.sel(axis=axis)
        inside = (y >= b.isel(quantile=0)) & (y <= b.isel(quantile=1))
        rows.append(
            {
                "check": "peak coverage",
                "axis": axis,
                "observed": float(inside.mean()),
                "expected": ci_prob,
                "p_value": float("nan"),
            }
        )
    if "good_outcome" in pp.data_vars:
        rep = pp["good_outcome"].stack(sample=("chain", "draw")).mean("outcome_experiment")
        observed = float(obs["good_outcome"].mean())
        tail = min(float((rep >= observed).mean()), float((rep <= observed).mean()))
        rows.append(
            {
                "check": "share of good outcomes",
                "axis": "",
                "observed": observed,
                "expected": float(rep.mean()),
                "p_value": min(1.0, 2 * tail),
            }
        )
    return pd.DataFrame(rows)


def sensitivity_table(
    results: Mapping[str, xr.DataTree],
    methods: Mapping[str, tuple[str, float]] | None = None,
    ci_prob: float = CI_PROB,
) -> pd.DataFrame:
    """How the shift estimates move across posteriors under different priors (keyed by name).

    Columns: prior, method, pareto_k, contrast, axis, mean_mm, hdi_low_mm, hdi_high_mm,
    p_direction, and ``change_mm`` = mean minus the first result's mean. ``methods`` gives each
    name's (method, Pareto k̂), e.g. ``("reweighted", 0.2)``; a name without one was sampled.
    """
    methods = methods or {}
    tables = []
    for name, idata in results.items():
        table = shift_table(idata, ci_prob)
        method, khat = methods.get(name, ("sampled", float("nan")))
        table.insert(0, "prior", name)
        table.insert(1, "method", method)
        table.insert(2, "pareto_k", khat)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    base = tables[0].set_index(["contrast", "axis"])["mean_mm"]
    key = pd.MultiIndex.from_frame(out[["contrast", "axis"]])
    out["change_mm"] = out["mean_mm"].to_numpy() - base.reindex(key).to_numpy()
    columns = ["prior", "method", "pareto_k", "contrast", "axis", "mean_mm", "hdi_low_mm"]
    return out[[*columns, "hdi_high_mm", "p_direction", "change_mm"]]


def comparison_table(
    axis_tests: pd.DataFrame, shift: pd.DataFrame, test: str = "welch"
) -> pd.DataFrame:
    """Frequentist and Bayesian shift side by side, per contrast and axis.

    Parameters
    ----------
    axis_tests
        From :func:`biomark.shift.frequentist.axis_tests`.
    shift
        From :func:`shift_table`.
    test
        Which t-test to show (``"welch"`` or ``"student"``).
    """
    freq = axis_tests[axis_tests["test"] == test][
        ["contrast", "axis", "shift_mm", "ci_low_mm", "ci_high_mm", "p"]
    ].rename(columns={"shift_mm": "freq_shift_mm", "ci_low_mm": "ci_low_mm", "p": "p_value"})
    bayes = shift[shift["axis"] != "euclidean"][
        ["contrast", "axis", "mean_mm", "hdi_low_mm", "hdi_high_mm", "direction", "p_direction"]
    ].rename(columns={"mean_mm": "posterior_mean_mm"})
    out = freq.merge(bayes, on=["contrast", "axis"], how="outer")
    out.insert(2, "test", test)
    return out.reset_index(drop=True)
