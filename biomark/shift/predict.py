"""The biomarker use of the shift model: P(good outcome) for a new patient's MI peak."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import ArrayLike

from biomark.errors import InputError
from biomark.shift.contract import AXES

CHRONIC_DAYS: Final = 90.0


@dataclass(frozen=True, slots=True)
class OutcomePrediction:
    """Posterior predictive probability of good outcome for one peak coordinate."""

    probability: float
    hdi_low: float
    hdi_high: float
    ci_prob: float
    ventral_displacement_mm: float
    note: str


def predict_good_outcome(
    idata: xr.DataTree,
    mi_peak_xyz: ArrayLike,
    days: float | None = None,
    ci_prob: float = 0.95,
) -> OutcomePrediction:
    """Probability of good outcome for a new patient's ipsilesional MI peak, with its HDI.

    The peak's ventral displacement d = μ_z − z (μ = posterior healthy mean peak) enters the fitted
    logistic part draw by draw: p = logit⁻¹(α + β d / unit). The model was fitted on
    experiment-level (group) peaks of chronic patients, so a single patient's peak is an
    extrapolation; the interval carries parameter uncertainty only, not the patient's own
    localisation error.

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

    Raises
    ------
    InputError
        No outcome part in ``idata``, a coordinate that is not 3 finite numbers, a right-hemisphere
        peak, or negative ``days``.
    """
    post = idata["posterior"].to_dataset()
    if "beta" not in post.data_vars:
        raise InputError("this shift model has no outcome part; cannot predict outcome")
    xyz = np.asarray(mi_peak_xyz, dtype=np.float64)
    if xyz.shape != (3,) or not np.isfinite(xyz).all():
        raise InputError(f"expected 3 finite coordinates (x, y, z) in mm, got {mi_peak_xyz!r}")
    if xyz[0] > 0:
        raise InputError(
            f"x = {xyz[0]:g} mm is in the right hemisphere: flip right-lesion peaks (x → −x) first"
        )
    if days is not None and days < 0:
        raise InputError(f"days since stroke must be ≥ 0, got {days:g}")
    unit = json.loads(str(idata.attrs.get("prior_config", "{}"))).get("beta_unit_mm", 5.0)
    stack = post.stack(sample=("chain", "draw"))
    mu_z = stack["mu_mm"].sel(axis="z").values
    d = mu_z - xyz[AXES.index("z")]
    logit = stack["alpha"].values + stack["beta"].values * d / unit
    prob = 1.0 / (1.0 + np.exp(-logit))
    lo, hi = np.asarray(az.hdi(prob, prob=ci_prob), dtype=np.float64)
    note = "Extrapolated from group-level peaks of chronic patients to one patient."
    if days is not None and days <= CHRONIC_DAYS:
        note += f" The scan is at day {days:g}, before the chronic stage the model was fitted on."
    return OutcomePrediction(
        probability=float(prob.mean()),
        hdi_low=float(lo),
        hdi_high=float(hi),
        ci_prob=ci_prob,
        ventral_displacement_mm=float(d.mean()),
        note=note,
    )


def outcome_curve(
    idata: xr.DataTree, displacement_mm: ArrayLike, ci_prob: float = 0.95
) -> pd.DataFrame:
    """P(good outcome) along a grid of ventral displacements, with its HDI band.

    Returns columns ``displacement_mm, probability, hdi_low, hdi_high`` (one row per grid point);
    empty when the fit has no outcome part.
    """
    post = idata["posterior"].to_dataset()
    if "beta" not in post.data_vars:
        return pd.DataFrame(columns=["displacement_mm", "probability", "hdi_low", "hdi_high"])
    unit = json.loads(str(idata.attrs.get("prior_config", "{}"))).get("beta_unit_mm", 5.0)
    stack = post.stack(sample=("chain", "draw"))
    grid = np.asarray(displacement_mm, dtype=np.float64)
    logit = stack["alpha"].values[None, :] + stack["beta"].values[None, :] * grid[:, None] / unit
    prob = 1.0 / (1.0 + np.exp(-logit))
    bands = np.asarray([az.hdi(row, prob=ci_prob) for row in prob], dtype=np.float64)
    return pd.DataFrame({
        "displacement_mm": grid, "probability": prob.mean(axis=1),
        "hdi_low": bands[:, 0], "hdi_high": bands[:, 1],
    })  # fmt: skip
