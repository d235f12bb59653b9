"""The Bayesian hierarchical model of activation-peak displacement (builds; never samples).

For experiment e (cohort c[e], time group g[e]) and axis k, with the lesion on the left::

    peak[e, k]   ~ Normal(latent[e, k], σ_e)                  σ_e = ALE kernel σ for N_e (mm)
    latent[e, k] = μ[k] + Σ_g X[e, g] Δ[g, k] + C[e] δ_cort[k] + u[c[e], k] + v[e, k]
    u[c, k] ~ Normal(0, τ_cohort[k]),   v[e, k] ~ Normal(0, τ_experiment[k])

``X`` codes the stroke time groups (healthy = reference, all zeros). ``C[e] = 1`` for stroke
experiments with a cortico-subcortical lesion, so Δ[g] is the shift of *subcortical* lesions in
group g and δ_cort what a cortical component adds (only present when the data hold both lesion
types). The reported contrasts (``acute``, ``chronic``, ``subcortical``) are the mean fixed-effect
shift over that contrast's experiments — the same experiment sets the t-tests compare — stored as
the deterministic ``shift`` (dims contrast × axis) with its Euclidean norm ``distance_mm``.

The cohort effect u absorbs duplicate reports of the same patients, which are kept, not deleted.
For sampling efficiency the model is written in an equivalent, smaller form:

* u is a parameter only for cohorts reported by ≥ 2 experiments (dim ``cohort``; non-centred,
  ``u_offset``). For a cohort reported once, u and v are not separable and are folded into one
  experiment-level deviation of SD s_e = √(τ_cohort² + τ_experiment²) (else s_e = τ_experiment).
* The experiment-level deviation is integrated out analytically (peak ~ Normal(mean, √(σ_e² +
  s_e²))) except for the experiments in the outcome part, which need their latent peak; there it
  is explicit and non-centred (``v_offset``, dim ``outcome_experiment``).

Outcome (errors-in-variables logistic) for experiments with an observed outcome in
``outcome_groups``::

    d[e] = μ[z] − latent[e, z]                 (latent ventral displacement, mm; > 0 is ventral)
    good[e] ~ Bernoulli(logit⁻¹(α + β · d[e] / unit))          unit = priors.beta_unit_mm (5 mm)

so exp(β) (``odds_ratio``) is the odds ratio of good outcome per 5 mm of ventral displacement.

With ``candidates`` the peaks enter through :mod:`biomark.shift.mixture` (not used by the pipeline).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import pandas as pd
import pymc as pm

from biomark.config import PriorConfig
from biomark.errors import InputError
from biomark.shift.candidates import RoiCandidates
from biomark.shift.contract import (
    AXES,
    CONTRASTS,
    STROKE_GROUPS,
    contrast_masks,
    peak_sigma_mm,
    validate_peaks,
    xyz_mm,
)
from biomark.shift.mixture import candidate_loglik

METHODS_TEXT = (
    "Peak displacement was also estimated with a Bayesian hierarchical model (PyMC, NUTS): each "
    "experiment's ROI peak (x, y, z, mm) is normal around its latent peak with the ALE kernel's "
    "σ for its sample size (Eickhoff 2009) as known measurement error; latent peaks are the "
    "healthy mean plus a time-group shift, a cortico-subcortical lesion term, a cohort random "
    "effect (so that patients reported in several publications are modelled, not deleted) and "
    "an experiment random effect. Contrasts are the mean shift over each contrast's experiments. "
    "Outcome (good vs poor, chronic experiments) is logistic in the latent ventral displacement "
    "of the MI peak (errors-in-variables), reported as the odds ratio per 5 mm. Priors: shifts "
    "N(0, 10 mm), SDs HalfNormal(5 mm), logistic slope N(0, 1.5) per 5 mm; results are shown "
    "with 95 % highest-density intervals, convergence diagnostics (R̂, bulk and tail ESS, "
    "divergences), prior sensitivity (halved and doubled prior scales; importance-reweighted "
    "when Pareto k̂ ≤ 0.7, else refitted) and posterior predictive checks."
)

# PyTensor graphs are untyped for mypy; the alias documents where a symbolic tensor flows.
Tensor = Any

# Which prior scale (a PriorConfig field and the pm.Data "prior_<field>") governs which variables,
# each a zero-centred normal or half-normal deviation: Δ is group_mu − mu, so its N(0, sd) prior
# reads on the deterministic ``delta``. Prior sensitivity reweighting reads this mapping.
PRIOR_TERMS: Final[dict[str, tuple[str, ...]]] = {
    "mu_sd_mm": ("mu",),
    "delta_sd_mm": ("delta", "delta_cortical"),
    "tau_cohort_sd_mm": ("tau_cohort",),
    "tau_experiment_sd_mm": ("tau_experiment",),
    "alpha_sd": ("alpha",),
    "beta_sd": ("beta",),
}


class OutcomeOmittedWarning(UserWarning):
    """The outcome part of the model was left out (no usable outcomes)."""


@dataclass(frozen=True)
class ShiftModel:
    """A built (unsampled) peak-displacement model and what it was built from."""

    model: pm.Model
    roi: str
    priors: PriorConfig
    peaks: pd.DataFrame = field(repr=False)
    contrasts: tuple[str, ...]
    has_outcome: bool
    outcome_groups: tuple[str, ...] = ("chronic",)
    candidates: RoiCandidates | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _Design:
    coords: dict[str, list[str]]
    group_x: np.ndarray  # (E, G) 0/1
    cortical: np.ndarray | None  # (E,) 0/1, None when not identifiable
    contrast_w: np.ndarray  # (C, E), rows sum to 1
    cohort_idx: np.ndarray  # (E,) index into shared cohorts; n_shared for a single-report cohort
    single: np.ndarray  # (E,) 1 when the experiment's cohort is reported once
    outcome_idx: np.ndarray  # (O,)
    good: np.ndarray  # (O,) 0/1


def _check_design(peaks: pd.DataFrame, contrasts: tuple[str, ...], roi: str) -> None:
    masks = contrast_masks(peaks)
    if masks["healthy"].sum() < 2:
        raise InputError("need ≥ 2 healthy experiments with an ROI peak", record=roi)
    for name in contrasts:
        if name not in CONTRASTS:
            raise InputError(f"unknown contrast {name!r}; expected one of {list(CONTRASTS)}")
        if not masks[name].any():
            raise InputError(f"no {name} experiment has a peak in the ROI", record=roi)
    if peaks["study_id"].nunique() < 2:
        raise InputError("all experiments come from a single study; need ≥ 2", record=roi)


def _design(
    peaks: pd.DataFrame, contrasts: tuple[str, ...], outcome_groups: tuple[str, ...], roi: str
) -> _Design:
    _check_design(peaks, contrasts, roi)
    masks = contrast_masks(peaks)
    group = peaks["group"].to_numpy()
    groups = [g for g in STROKE_GROUPS if (group == g).any()]
    group_x = np.stack([(group == g).astype(np.float64) for g in groups], axis=1)
    stroke = group != "healthy"
    sub = peaks["subcortical"].to_numpy(dtype=bool)
    both_types = (stroke & sub).any() and (stroke & ~sub).any()
    cortical = (stroke & ~sub).astype(np.float64) if both_types else None
    weights = np.stack([masks[c] / masks[c].sum() for c in contrasts]).astype(np.float64)
    cohort_ids = peaks["cohort_id"].to_numpy(dtype=str)
    names, inverse, sizes = np.unique(cohort_ids, return_inverse=True, return_counts=True)
    shared = names[sizes > 1]
    lookup = {c: i for i, c in enumerate(shared)}
    cohort_idx = np.array([lookup.get(c, len(shared)) for c in cohort_ids], dtype=np.int64)
    has_outcome = peaks["outcome"].notna() & peaks["group"].isin(outcome_groups)
    outcome_idx = np.flatnonzero(has_outcome.to_numpy())
    good = (peaks["outcome"].to_numpy()[outcome_idx] == "good").astype(np.int64)
    coords = {
        "experiment": peaks["experiment_id"].tolist(),
        "axis": list(AXES),
        "group": groups,
        "cohort": [str(c) for c in shared],
        "contrast": list(contrasts),
        "outcome_experiment": peaks["experiment_id"].to_numpy()[outcome_idx].tolist(),
    }
    single = (sizes[inverse] == 1).astype(np.float64)
    return _Design(coords, group_x, cortical, weights, cohort_idx, single, outcome_idx, good)


def _usable_outcome(design: _Design, roi: str) -> bool:
    n_good = int(design.good.sum())
    n_poor = len(design.good) - n_good
    if n_good == 0 or n_poor == 0:
        warnings.warn(
            f"{roi}: the outcome part of the shift model was left out: it needs experiments with "
            f"good and with poor outcome, got {n_good} good and {n_poor} poor",
            OutcomeOmittedWarning,
            stacklevel=3,
        )
        return False
    return True


def build_shift_model(
    peaks: pd.DataFrame,
    priors: PriorConfig | None = None,
    *,
    roi: str = "roi",
    contrasts: tuple[str, ...] = CONTRASTS,
    outcome_groups: tuple[str, ...] = ("chronic",),
    candidates: RoiCandidates | None = None,
) -> ShiftModel:
    """Build the hierarchical peak-displacement model for one ROI (does not sample).

    Parameters
    ----------
    peaks
        The ROI peak table (see :mod:`biomark.shift.contract`).
    priors
        Prior scales; :class:`biomark.config.PriorConfig` defaults when ``None``.
    roi
        ROI name, stamped into results (e.g. ``"MI"``, ``"medial PMC"``).
    contrasts
        Shifts vs healthy to report; each needs ≥ 1 experiment.
    outcome_groups
        Time groups whose observed outcomes enter the logistic part (chronic only, as the paper).
    candidates
        Each experiment's foci around the ROI (same experiments as ``peaks``): the candidate
        mixture replaces the single-peak likelihood; μ's prior centres on the ROI's centre.

    Returns
    -------
    ShiftModel
        The ``pm.Model`` (dims experiment, axis, group, cohort, contrast, outcome_experiment) and
        its inputs. Without good *and* poor outcomes the logistic part is left out with an
        :class:`OutcomeOmittedWarning`.

    Raises
    ------
    InputError
        Invalid table, < 2 healthy experiments, a contrast with no experiment, or a single study.
    """
    priors = priors or PriorConfig()
    peaks = validate_peaks(peaks, source=f"peaks ({roi})")
    design = _design(peaks, contrasts, outcome_groups, roi)
    # No outcome groups: the caller asked for no outcome part, so there is nothing to warn about.
    has_outcome = bool(outcome_groups) and _usable_outcome(design, roi)
    xyz = xyz_mm(peaks)
    reference = xyz[contrast_masks(peaks)["healthy"]].mean(axis=0)
    if candidates is not None:
        candidates = candidates.aligned(peaks["experiment_id"])
        reference = candidates.centre_mm
    if not has_outcome:
        design = replace(design, outcome_idx=design.outcome_idx[:0], good=design.good[:0])
    coords = {k: v for k, v in design.coords.items() if v or k in ("experiment", "axis")}
    if not has_outcome:
        coords.pop("outcome_experiment", None)
    if candidates is not None:
        coords["candidate"] = [str(k) for k in range(candidates.valid.shape[1])]
    with pm.Model(coords=coords) as model:
        fixed, mu_mm = _location_part(design, priors, reference)
        _observation_part(design, priors, peaks, mu_mm, fixed, candidates)
    return ShiftModel(model, roi, priors, peaks, tuple(contrasts), has_outcome,
                      tuple(outcome_groups), candidates)  # fmt: skip


def _scale(name: str, priors: PriorConfig) -> Tensor:
    # Prior scales are data, not constants: the tight and wide sensitivity refits then compile
    # to the same graph as the default fit and reuse its cached compiled code.
    return pm.Data(f"prior_{name}", float(getattr(priors, name)))


def _location_part(
    design: _Design, priors: PriorConfig, reference: np.ndarray
) -> tuple[Tensor, Tensor]:
    # μ is centred on the observed healthy centroid only to put its weak prior in the right place.
    ref = pm.Data("reference_mm", reference, dims="axis")
    mu = pm.Normal("mu", 0.0, _scale("mu_sd_mm", priors), dims="axis")
    mu_mm = pm.Deterministic("mu_mm", ref + mu, dims="axis")
    # Δ ~ N(0, sd) written as group centroids ~ N(μ, sd): the same prior, but the posterior of the
    # centroids is nearly uncorrelated, where Δ and μ would be strongly anti-correlated.
    delta_sd = _scale("delta_sd_mm", priors)
    group_mu = pm.Normal("group_mu", mu[None, :], delta_sd, dims=("group", "axis"))
    delta = pm.Deterministic("delta", group_mu - mu[None, :], dims=("group", "axis"))
    group_x = pm.Data("group_design", design.group_x, dims=("experiment", "group"))
    fixed = pm.math.dot(group_x, delta)
    if design.cortical is not None:
        cortical = pm.Data("cortical_design", design.cortical, dims="experiment")
        delta_cort = pm.Normal("delta_cortical", 0.0, delta_sd, dims="axis")
        fixed = fixed + cortical[:, None] * delta_cort[None, :]
    weights = pm.Data("contrast_weights", design.contrast_w, dims=("contrast", "experiment"))
    shift = pm.Deterministic("shift", pm.math.dot(weights, fixed), dims=("contrast", "axis"))
    pm.Deterministic("distance_mm", pm.math.sqrt((shift**2).sum(axis=1)), dims="contrast")
    return fixed, mu_mm


def _observation_part(
    design: _Design,
    priors: PriorConfig,
    peaks: pd.DataFrame,
    mu_mm: Tensor,
    fixed: Tensor,
    candidates: RoiCandidates | None,
) -> None:
    tau_c = pm.HalfNormal("tau_cohort", _scale("tau_cohort_sd_mm", priors), dims="axis")
    tau_e = pm.HalfNormal("tau_experiment", _scale("tau_experiment_sd_mm", priors), dims="axis")
    mean = mu_mm[None, :] + fixed
    if design.coords["cohort"]:
        u_offset = pm.Normal("u_offset", 0.0, 1.0, dims=("cohort", "axis"))
        u = pm.Deterministic("u_cohort", u_offset * tau_c, dims=("cohort", "axis"))
        cohort_idx = pm.Data("cohort_index", design.cohort_idx, dims="experiment")
        mean = mean + pm.math.concatenate([u, pm.math.zeros((1, len(AXES)))], axis=0)[cohort_idx]
    single = pm.Data("single_report", design.single, dims="experiment")
    # own-deviation variance: cohort and experiment effects merge when a cohort is reported once
    own_var = tau_e[None, :] ** 2 + single[:, None] * tau_c[None, :] ** 2
    sigma = pm.Data("peak_sigma_mm", peak_sigma_mm(peaks["n"].to_numpy()), dims="experiment")
    explicit = np.zeros(len(design.single))
    explicit[design.outcome_idx] = 1.0
    is_explicit = pm.Data("latent_explicit", explicit, dims="experiment")
    if len(design.outcome_idx):
        idx = pm.Data("outcome_index", design.outcome_idx, dims="outcome_experiment")
        v_offset = pm.Normal("v_offset", 0.0, 1.0, dims=("outcome_experiment", "axis"))
        latent = pm.Deterministic(
            "latent_peak_mm",
            mean[idx] + v_offset * pm.math.sqrt(own_var[idx]),
            dims=("outcome_experiment", "axis"),
        )
        mean = mean[idx].set(latent)
        _outcome_part(priors, mu_mm, latent, design.good)
    total_sd = pm.math.sqrt(sigma[:, None] ** 2 + (1.0 - is_explicit[:, None]) * own_var)
    if candidates is not None:
        _candidate_part(candidates, mean, total_sd)
        return
    observed = pm.Data("peak_obs_mm", xyz_mm(peaks), dims=("experiment", "axis"))
    pm.Normal("peak_mm", mu=mean, sigma=total_sd, observed=observed, dims=("experiment", "axis"))


def _candidate_part(candidates: RoiCandidates, mean: Tensor, sd: Tensor) -> None:
    data = candidates.model_data()
    xyz = pm.Data("candidate_xyz_mm", data["candidate_xyz_mm"],
                  dims=("experiment", "candidate", "axis"))  # fmt: skip
    valid = pm.Data("candidate_valid", data["candidate_valid"], dims=("experiment", "candidate"))
    log_q = pm.Data("candidate_log_density", data["candidate_log_density"],
                    dims=("experiment", "candidate"))  # fmt: skip
    loglik = candidate_loglik(mean, sd, xyz, valid, log_q, candidates.box_lo_mm,
                              candidates.box_hi_mm, candidates.expected_neighbours)  # fmt: skip
    pm.Potential("roi_candidates", loglik.sum())


def _outcome_part(priors: PriorConfig, mu_mm: Tensor, latent: Tensor, good_obs: np.ndarray) -> None:
    z = AXES.index("z")
    d = pm.Deterministic(
        "ventral_displacement_mm", mu_mm[z] - latent[:, z], dims="outcome_experiment"
    )
    alpha = pm.Normal("alpha", 0.0, _scale("alpha_sd", priors))
    beta = pm.Normal("beta", 0.0, _scale("beta_sd", priors))
    pm.Deterministic("odds_ratio", pm.math.exp(beta))
    good = pm.Data("good_obs", good_obs, dims="outcome_experiment")
    pm.Bernoulli(
        "good_outcome",
        logit_p=alpha + beta * d / priors.beta_unit_mm,
        observed=good,
        dims="outcome_experiment",
    )


def with_priors(shift_model: ShiftModel, priors: PriorConfig) -> ShiftModel:
    """The same built model under other prior scales (``pm.set_data``; nothing recompiles).

    Raises
    ------
    ValueError
        ``priors`` changes the slope's unit, which is part of the graph, not data.
    """
    if priors.beta_unit_mm != shift_model.priors.beta_unit_mm:
        raise ValueError("with_priors cannot change beta_unit_mm; build a new model")
    named = shift_model.model.named_vars
    values = {f"prior_{k}": float(getattr(priors, k)) for k in PRIOR_TERMS if f"prior_{k}" in named}
    pm.set_data(values, model=shift_model.model)
    return replace(shift_model, priors=priors)


def swap_data(
    shift_model: ShiftModel, peaks: pd.DataFrame, candidates: RoiCandidates | None = None
) -> ShiftModel:
    """Put another table of the *same design* into an already built model (no rebuild).

    Only the coordinates, sample sizes and outcomes change; experiment ids, groups, lesion types
    and cohorts must match (a candidate model: new ``candidates``, same box and width). Refits
    many simulated datasets with one compiled sampler.

    Raises
    ------
    InputError
        The new table does not have the model's design.
    """
    new = validate_peaks(peaks, source=f"peaks ({shift_model.roi})")
    old = shift_model.peaks
    design_cols = ["experiment_id", "cohort_id", "group", "subcortical"]
    if not new[design_cols].equals(old[design_cols]):
        raise InputError("swap_data needs the same experiments, cohorts, groups and lesion types")
    if not new["outcome"].isna().equals(old["outcome"].isna()):
        raise InputError("swap_data needs outcomes observed for the same experiments")
    xyz = xyz_mm(new)
    values: dict[str, np.ndarray] = {
        "peak_obs_mm": xyz,
        "peak_sigma_mm": peak_sigma_mm(new["n"].to_numpy()),
        "reference_mm": xyz[contrast_masks(new)["healthy"]].mean(axis=0),
    }
    if shift_model.has_outcome:
        idx = shift_model.model["outcome_index"].get_value()
        values["good_obs"] = (new["outcome"].to_numpy()[idx] == "good").astype(np.int64)
    if (candidates is None) != (shift_model.candidates is None):
        raise InputError("swap_data needs candidates exactly when the model was built with them")
    if candidates is not None and shift_model.candidates is not None:
        if not candidates.same_layout(shift_model.candidates):
            raise InputError("swap_data needs candidates of the same box and width")
        candidates = candidates.aligned(new["experiment_id"])
        del values["peak_obs_mm"]  # the candidates are the observations
        values.update(candidates.model_data())
    pm.set_data(values, model=shift_model.model)
    return replace(shift_model, peaks=new, candidates=candidates)
