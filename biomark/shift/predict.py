"""The biomarker use of the shift model: P(good outcome) for a new MI peak, its error included.

The outcome part of the model, logit P(good) = α + β·d/unit, was learned on the *latent*
(error-free) ventral displacement d of chronic experiments' group peaks. A new peak is observed
with error: its reported z lies around μ_z − d with the Eickhoff et al. (2009) SD σ_N for the N
subjects behind it (N = 1 for a single patient: σ ≈ 8 mm per axis). Putting the observed
displacement straight into the logistic would therefore be too steep. For every posterior draw
the new peak's latent displacement is given its conditional distribution (normal–normal):

* prior: the fitted chronic-group distribution, d ~ N(−shift_chronic,z, τ_cohort,z² + τ_exp,z²)
  (a new cohort: both random effects);
* measurement: d_obs = μ_z − z_obs ~ N(d, σ_N²);

so d | d_obs ~ N(m, v) with v = 1/(1/s² + 1/σ_N²), m = v·(d̄/s² + d_obs/σ_N²), and
P(good | d_obs) = E[logit⁻¹(α + β d/unit)] over that normal (Gauss–Hermite quadrature, exact to
~1e-12 here). The new peak is data too: each posterior draw is weighted by the probability it
gives the observed peak, N(d_obs; d̄, s² + σ_N²), so the point prediction is the posterior
predictive P(good | d_obs, data) = Σ w·P / Σ w. Its interval is the HDI of the per-draw
probabilities under those weights (parameter uncertainty), taken over a systematic resample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from biomark.errors import InputError
from biomark.shift.contract import AXES, BETWEEN_GROUPS_NOTE, LATENT_CURVE, peak_sigma_mm
from biomark.shift.summary import beta_unit_mm

CHRONIC_DAYS: Final = 90.0
# 40 Gauss–Hermite nodes integrate a logistic against a normal of any width met here to < 1e-10.
_N_NODES: Final = 40
CURVE_COLUMNS: Final = ("curve", "displacement_mm", "probability", "hdi_low", "hdi_high")
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class OutcomePrediction:
    """Posterior predictive probability of good outcome for one observed peak.

    ``observed_displacement_mm`` is d_obs = μ_z − z (posterior mean over μ); ``latent_
    displacement_mm`` the posterior mean of the new peak's error-free displacement given d_obs.
    """

    probability: float
    hdi_low: float
    hdi_high: float
    ci_prob: float
    n_subjects: float
    observed_displacement_mm: float
    latent_displacement_mm: float
    note: str


@dataclass(frozen=True, slots=True)
class OutcomeDraws:
    """Posterior draws of what the outcome prediction needs, each ``(n_draws,)``."""

    alpha: FloatArray
    beta: FloatArray
    unit_mm: float
    mu_z_mm: FloatArray
    chronic_displacement_mm: FloatArray  # mean latent ventral displacement of chronic peaks
    spread_mm: FloatArray  # SD of a new cohort's latent peak around it (z)


def outcome_draws(idata: xr.DataTree) -> OutcomeDraws:
    """Read the outcome part of an MI fit.

    Raises
    ------
    InputError
        The fit has no outcome part or no chronic-group shift.
    """
    post = idata["posterior"].to_dataset()
    if "beta" not in post.data_vars:
        raise InputError("this shift model has no outcome part; cannot predict outcome")
    if "chronic" not in post["shift"]["contrast"].values:
        raise InputError("this shift model has no chronic-group shift; cannot predict outcome")
    stack = post.stack(sample=("chain", "draw"))
    tau_c = stack["tau_cohort"].sel(axis="z").values
    tau_e = stack["tau_experiment"].sel(axis="z").values
    return OutcomeDraws(
        alpha=np.asarray(stack["alpha"].values, dtype=np.float64),
        beta=np.asarray(stack["beta"].values, dtype=np.float64),
        unit_mm=beta_unit_mm(idata),
        mu_z_mm=np.asarray(stack["mu_mm"].sel(axis="z").values, dtype=np.float64),
        chronic_displacement_mm=-np.asarray(
            stack["shift"].sel(contrast="chronic", axis="z").values, dtype=np.float64
        ),
        spread_mm=np.sqrt(np.asarray(tau_c**2 + tau_e**2, dtype=np.float64)),
    )


def _expected_logistic(intercept: FloatArray, slope: FloatArray, mean: FloatArray,
                       var: FloatArray) -> FloatArray:  # fmt: skip
    """E[logit⁻¹(intercept + slope·d)] for d ~ N(mean, var), elementwise (broadcasting)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(_N_NODES)
    d = mean[..., None] + np.sqrt(var)[..., None] * nodes
    eta = intercept[..., None] + slope[..., None] * d
    out: FloatArray = (weights / weights.sum() * _sigmoid(eta)).sum(axis=-1)
    return out


def _sigmoid(eta: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * eta))  # overflow-free logistic
    return out


def latent_given_observed(
    draws: OutcomeDraws, observed_displacement_mm: FloatArray, err_var_mm2: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Mean and variance of the latent displacement given the observed one (broadcasting)."""
    prior_var = draws.spread_mm**2
    post_var = 1.0 / (1.0 / prior_var + 1.0 / err_var_mm2)
    post_mean = post_var * (
        draws.chronic_displacement_mm / prior_var + observed_displacement_mm / err_var_mm2
    )
    return post_mean, post_var


def peak_weights(
    draws: OutcomeDraws, observed_displacement_mm: FloatArray, err_var_mm2: FloatArray
) -> FloatArray:
    """Normalised weight of each posterior draw given a new observed peak (last axis: draws).

    The weight is the new peak's marginal likelihood under the draw: its latent displacement
    integrated out, d_obs ~ N(d̄, s² + σ_N²).
    """
    var = draws.spread_mm**2 + err_var_mm2
    log_w = -0.5 * ((observed_displacement_mm - draws.chronic_displacement_mm) ** 2 / var
                    + np.log(var))  # fmt: skip
    w = np.exp(log_w - log_w.max(axis=-1, keepdims=True))
    out: FloatArray = w / w.sum(axis=-1, keepdims=True)
    return out


def weighted_hdi(values: FloatArray, weights: FloatArray, ci_prob: float) -> tuple[float, float]:
    """HDI of weighted draws, from a systematic resample of the same size (no random numbers)."""
    n = len(values)
    picks = np.searchsorted(np.cumsum(weights), (np.arange(n) + 0.5) / n * weights.sum())
    lo, hi = np.asarray(az.hdi(values[np.minimum(picks, n - 1)], prob=ci_prob), dtype=np.float64)
    return float(lo), float(hi)


def probability_draws(
    draws: OutcomeDraws, observed_displacement_mm: ArrayLike, n_subjects: ArrayLike | None
) -> FloatArray:
    """P(good) per posterior draw at each displacement: ``(n_peaks, n_draws)``.

    ``n_subjects`` ``None`` treats the displacements as latent (error-free), the axis the model
    was fitted on; else they are observed peaks of that many subjects (one N per peak, or one
    for all).
    """
    d_obs = np.atleast_1d(np.asarray(observed_displacement_mm, dtype=np.float64))[:, None]
    slope = draws.beta / draws.unit_mm
    if n_subjects is None:
        return _sigmoid(draws.alpha + slope * d_obs)
    n = np.broadcast_to(np.asarray(n_subjects, dtype=np.float64), d_obs.shape[:1])
    mean, var = latent_given_observed(draws, d_obs, peak_sigma_mm(n)[:, None] ** 2)
    return _expected_logistic(draws.alpha, slope, mean, var)


def check_new_peak(xyz: FloatArray, given: object, n_subjects: float, days: float | None) -> None:
    """Raise :class:`InputError` unless the new peak, its N and its day can be predicted for."""
    if xyz.shape != (3,) or not np.isfinite(xyz).all():
        raise InputError(f"expected 3 finite coordinates (x, y, z) in mm, got {given!r}")
    if xyz[0] > 0:
        raise InputError(
            f"x = {xyz[0]:g} mm is in the right hemisphere: flip right-lesion peaks (x → −x) first"
        )
    if not np.isfinite(n_subjects) or n_subjects < 1:
        raise InputError(f"--n (subjects behind the peak) must be ≥ 1, got {n_subjects:g}")
    if days is not None and days < 0:
        raise InputError(f"days since stroke must be ≥ 0, got {days:g}")


def predict_good_outcome(
    idata: xr.DataTree,
    mi_peak_xyz: ArrayLike,
    days: float | None = None,
    ci_prob: float = 0.95,
    *,
    n_subjects: float = 1.0,
) -> OutcomePrediction:
    """Probability of good outcome for a new ipsilesional MI peak, with its HDI.

    Parameters
    ----------
    idata
        A fit of an MI model with an outcome part
        (:func:`biomark.shift.sampling.sample_shift_model`).
    mi_peak_xyz
        (x, y, z) in MNI mm, lesion flipped to the left (x ≤ 0).
    days
        Days since stroke at the scan, if known; before day 90 the result carries a warning note.
    ci_prob
        Probability mass of the highest-density interval.
    n_subjects
        Subjects behind the peak (1 = a single patient); sets the peak's error σ_N.

    Raises
    ------
    InputError
        No outcome part in ``idata``, a coordinate that is not 3 finite numbers, a right-hemisphere
        peak, ``n_subjects`` < 1, or negative ``days``.
    """
    xyz = np.asarray(mi_peak_xyz, dtype=np.float64)
    check_new_peak(xyz, mi_peak_xyz, float(n_subjects), days)
    draws = outcome_draws(idata)
    # d_obs differs between draws through μ_z: each draw is evaluated at its own d_obs
    d_obs = draws.mu_z_mm - xyz[AXES.index("z")]
    err_var = peak_sigma_mm(np.array([float(n_subjects)])) ** 2
    latent, var = latent_given_observed(draws, d_obs, err_var)
    prob = _expected_logistic(draws.alpha, draws.beta / draws.unit_mm, latent, var)
    w = peak_weights(draws, d_obs, err_var)
    lo, hi = weighted_hdi(prob, w, ci_prob)
    note = BETWEEN_GROUPS_NOTE
    if days is not None and days <= CHRONIC_DAYS:
        note += f" The scan is at day {days:g}, before the chronic stage the model was fitted on."
    return OutcomePrediction(
        probability=float(w @ prob),
        hdi_low=lo,
        hdi_high=hi,
        ci_prob=ci_prob,
        n_subjects=float(n_subjects),
        observed_displacement_mm=float(d_obs.mean()),  # from the healthy mean the data give
        latent_displacement_mm=float(w @ latent),
        note=note,
    )


def outcome_curve(
    idata: xr.DataTree, displacement_mm: ArrayLike, ci_prob: float = 0.95
) -> pd.DataFrame:
    """P(good outcome) along a grid of ventral displacements, with its HDI band.

    Two curves (column ``curve``): on the latent displacement the model was fitted on, and for an
    observed single-patient peak (N = 1, its error integrated as in
    :func:`predict_good_outcome`). Columns :data:`CURVE_COLUMNS`; empty without an outcome part.
    """
    post = idata["posterior"].to_dataset()
    if "beta" not in post.data_vars:
        return pd.DataFrame(columns=list(CURVE_COLUMNS))
    draws = outcome_draws(idata)
    grid = np.asarray(displacement_mm, dtype=np.float64)
    frames = []
    for name, n in ((LATENT_CURVE, None), (observed_curve_name(1), 1.0)):
        prob = probability_draws(draws, grid, n)
        if n is None:  # the fitted association itself: every draw counts alike
            w = np.full(prob.shape, 1.0 / prob.shape[1])
        else:  # what predict_good_outcome gives for a peak observed at this displacement
            w = peak_weights(draws, grid[:, None], peak_sigma_mm(np.array([n])) ** 2)
        bands = np.asarray([weighted_hdi(p, wi, ci_prob) for p, wi in zip(prob, w, strict=True)],
                           dtype=np.float64)  # fmt: skip
        frames.append(pd.DataFrame({
            "curve": name, "displacement_mm": grid, "probability": (w * prob).sum(axis=1),
            "hdi_low": bands[:, 0], "hdi_high": bands[:, 1],
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def observed_curve_name(n_subjects: int) -> str:
    """The ``curve`` label of the observed-peak curve for ``n_subjects``."""
    who = "one patient" if n_subjects == 1 else f"{n_subjects} subjects"
    return f"observed peak of {who} (N = {n_subjects})"
