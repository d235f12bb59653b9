"""Prior sensitivity without refitting: Pareto-smoothed importance reweighting (PSIS).

The tight and wide priors differ from the default only in the scales of zero-centred normal
and half-normal priors, so the posterior under another prior is the default posterior times
p_alt(θ) / p_default(θ). Each draw's log weight is that ratio of prior densities; PSIS
(Vehtari et al. 2024, *Pareto smoothed importance sampling*, JMLR 25:72) smooths the largest
weights and its Pareto k̂ says whether the reweighted draws can be trusted: above ``K_MAX`` the
caller refits instead. A reweighted posterior is returned as draws resampled in proportion to
their weights, so every summary that reads equally weighted draws applies unchanged.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Final

import numpy as np
import xarray as xr
from arviz_stats.base.array import array_stats

from biomark.config import PriorConfig
from biomark.shift.model import PRIOR_TERMS

# Vehtari et al. (2024): k̂ ≤ 0.7 gives usable estimates for draws of a few thousand.
K_MAX: Final = 0.7


def prior_log_ratio(posterior: xr.Dataset, default: PriorConfig, other: PriorConfig) -> np.ndarray:
    """The log prior ratio log p_other(θ) − log p_default(θ) for every draw, shape (chain, draw).

    Each term of :data:`biomark.shift.model.PRIOR_TERMS` is normal or half-normal with centre 0
    on the named deviation, so changing its scale from s₀ to s₁ changes the log density of a
    value r by log(s₀/s₁) − r²/2 · (1/s₁² − 1/s₀²), whichever of the two it is.
    """
    out = np.zeros((posterior.sizes["chain"], posterior.sizes["draw"]))
    for scale, names in PRIOR_TERMS.items():
        s0, s1 = float(getattr(default, scale)), float(getattr(other, scale))
        if s0 == s1:
            continue
        for name in names:
            if name not in posterior:
                continue  # e.g. no cortical term, or no outcome part
            values = posterior[name].transpose("chain", "draw", ...).values
            r2 = values.reshape(values.shape[0], values.shape[1], -1) ** 2
            out += (np.log(s0 / s1) - 0.5 * r2 * (1 / s1**2 - 1 / s0**2)).sum(axis=-1)
    return out


def psis_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised PSIS weights (flattened over chains and draws) and the Pareto k̂ (∞ if none)."""
    flat = np.asarray(log_ratio, dtype=np.float64).ravel()
    # ArviZ's psislw takes a log-likelihood as in PSIS-LOO, whose log weights are its negative
    log_w, khat = array_stats.psislw(-flat, r_eff=1.0)  # type: ignore[no-untyped-call]
    w = np.exp(log_w - log_w.max())
    # PSIS gives no k̂ when a few draws carry all the weight: as unreliable as it gets
    return w / w.sum(), float(khat) if np.isfinite(khat) else float("inf")


def reweight(
    idata: xr.DataTree, default: PriorConfig, other: PriorConfig, seed: int
) -> tuple[xr.DataTree, float]:
    """The posterior of ``idata`` (fitted under ``default``) under ``other``, and its k̂.

    Returns a tree with one ``posterior`` group of as many draws as the input (one chain),
    resampled with replacement by the PSIS weights, and the input's ``attrs`` with
    ``prior_config`` replaced and ``sensitivity_method`` / ``pareto_k`` added.
    """
    post = idata["posterior"].to_dataset()
    weights, khat = psis_weights(prior_log_ratio(post, default, other))
    stacked = post.stack(sample=("chain", "draw"))
    n = stacked.sizes["sample"]
    pick = np.random.default_rng(seed).choice(n, size=n, replace=True, p=weights)
    chosen = stacked.isel(sample=pick).drop_vars(["sample", "chain", "draw"])
    resampled = chosen.rename({"sample": "draw"}).expand_dims(chain=[0])
    resampled = resampled.assign_coords(draw=np.arange(n)).transpose("chain", "draw", ...)
    tree = xr.DataTree(children={"posterior": xr.DataTree(resampled)})
    tree.attrs.update(idata.attrs)
    tree.attrs.update(prior_config=json.dumps(asdict(other)), sensitivity_method="psis",
                      pareto_k=khat)  # fmt: skip
    return tree, khat
