"""P(good outcome | a new observed MI peak) by numeric integration of Bayes' rule, by hand.

Independent of :mod:`biomark.shift.predict`: it integrates prior × likelihood × logistic with
``scipy.integrate.quad`` instead of the normal–normal algebra and Gauss–Hermite nodes the code
uses, and computes the Eickhoff σ from its published constants.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from scipy import integrate, stats


def peak_sigma_mm(n: float) -> float:
    """σ of one reported peak from N subjects: Eickhoff 2009 between-template and -subject terms."""
    u_t = 5.7 / (2 * math.sqrt(2 / math.pi))
    u_s = 11.6 / (2 * math.sqrt(2 / math.pi))
    return math.sqrt(u_t**2 + u_s**2 / n)


def p_good_by_quadrature(
    posterior: Any, prior_config: str, z_obs: float, n: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per (chain, draw) of a shift fit's ``posterior``: P(good | observed z) and the weight.

    The weight is the observed peak's marginal likelihood under the draw, ∫ prior · likelihood;
    the posterior predictive probability is Σ weight · P / Σ weight.
    """
    unit = float(json.loads(prior_config)["beta_unit_mm"])
    sigma = peak_sigma_mm(n)
    out = []
    for c in range(posterior.sizes["chain"]):
        for s in range(posterior.sizes["draw"]):
            pick = {"chain": c, "draw": s}
            alpha = float(posterior["alpha"].isel(pick))
            beta = float(posterior["beta"].isel(pick))
            mu_z = float(posterior["mu_mm"].isel(pick).sel(axis="z"))
            # a chronic patient's latent displacement: −(chronic z shift) plus both random effects
            centre = -float(posterior["shift"].isel(pick).sel(contrast="chronic", axis="z"))
            spread = math.hypot(
                float(posterior["tau_cohort"].isel(pick).sel(axis="z")),
                float(posterior["tau_experiment"].isel(pick).sel(axis="z")),
            )

            def weight(d: float, s_: float = spread, c_: float = centre, m: float = mu_z) -> float:
                # latent peak z = μ_z − d; the observed z lies around it with the peak's own σ
                return float(stats.norm.pdf(d, c_, s_) * stats.norm.pdf(z_obs, m - d, sigma))

            def good(d: float, a: float = alpha, b: float = beta) -> float:
                return weight(d) / (1 + math.exp(-(a + b * d / unit)))

            lo, hi = centre - 12 * spread, centre + 12 * spread
            num = integrate.quad(good, lo, hi, epsabs=1e-13, limit=200)[0]
            den = integrate.quad(weight, lo, hi, epsabs=1e-13, limit=200)[0]
            out.append((num / den, den))
    p, w = np.asarray(out).T
    return p, w / w.sum()


def shortest_interval(values: np.ndarray, weights: np.ndarray, mass: float) -> tuple[float, float]:
    """The shortest [low, high] between draw values holding ≥ ``mass`` of the weight."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    best = (-np.inf, np.inf)
    for i in range(len(v)):
        held = np.cumsum(w[i:])
        j = int(np.searchsorted(held, mass - 1e-12))
        if i + j < len(v) and v[i + j] - v[i] < best[1] - best[0]:
            best = (float(v[i]), float(v[i + j]))
    return best


def held(values: np.ndarray, weights: np.ndarray, low: float, high: float) -> float:
    """Weight of the draws inside [low, high]."""
    return float(weights[(values >= low) & (values <= high)].sum())
