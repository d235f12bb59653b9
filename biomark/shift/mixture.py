"""The likelihood of an experiment's candidate foci given its ROI peak (a marginalised mixture).

An experiment in the model reports its ROI peak once: the reported focus is ``N(m, diag s²)``
around the model's mean ``m`` for that experiment (``s²`` = reporting error plus whatever
experiment-level spread is integrated out). Its other foci — neighbours' and background — are a
Poisson process of known intensity ``q`` (:mod:`biomark.shift.neighbours`). Seeing candidates
``y_1 … y_K`` inside the box ``W`` (:mod:`biomark.shift.candidates`), either candidate ``j`` is
the ROI focus, or the ROI focus fell outside the box and every candidate is a neighbour's::

    p(y | m, s) ∝ (1 − P_W(m, s)) + Σ_j N(y_j; m, s²) / q(y_j)

(the factor Π_k q(y_k) e^{−Q} common to both cases drops out; ``P_W`` = P(the ROI focus lies in
W), a product of per-axis normal CDF differences). Experiments without any candidate are not in
the model, so the likelihood is conditioned on ≥ 1 candidate: divided by
``1 − (1 − P_W) e^{−Q}``, ``Q`` = expected neighbour foci in the box. Which candidate is the
ROI's peak is summed over, never chosen, so a premotor focus near the ROI pulls the estimate
only as much as its likelihood ratio allows, and a peak displaced beyond the ROI still counts.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from numpy.typing import NDArray

# PyTensor graphs are untyped for mypy; the alias documents where a symbolic tensor flows.
Tensor = Any

_LOG_2PI = math.log(2.0 * math.pi)
# P(ROI focus outside the box) is floored here: below it the "outside" branch is immaterial,
# and log(1 − P_W) at P_W = 1 would put an infinite gradient into NUTS.
_LOG_INSIDE_MAX = -1e-15


def _normal_cdf(u: Tensor) -> Tensor:
    return 0.5 * pt.erfc(-u / math.sqrt(2.0))


def candidate_loglik(
    mean: Tensor,
    sd: Tensor,
    xyz: Tensor,
    valid: Tensor,
    log_density: Tensor,
    box_lo: NDArray[np.float64],
    box_hi: NDArray[np.float64],
    expected_neighbours: float,
) -> Tensor:
    """Per-experiment log-likelihood of its candidates, ``(E,)``.

    Parameters
    ----------
    mean, sd
        ``(E, 3)`` mean and per-axis SD (mm) of each experiment's reported ROI focus.
    xyz, valid, log_density
        ``(E, K, 3)`` candidates, ``(E, K)`` 1 for a real one, ``(E, K)`` log intensity of
        neighbour foci at each (see :class:`biomark.shift.candidates.RoiCandidates`).
    box_lo, box_hi
        The candidate box (mm).
    expected_neighbours
        ``Q``: expected neighbour foci of one experiment inside the box.
    """
    u = (xyz - mean[:, None, :]) / sd[:, None, :]
    log_f = (-0.5 * u**2 - pt.log(sd[:, None, :]) - 0.5 * _LOG_2PI).sum(axis=-1)
    terms = pt.switch(valid > 0, log_f - log_density, -np.inf)
    inside = _normal_cdf((box_hi - mean) / sd) - _normal_cdf((box_lo - mean) / sd)
    log_inside = pt.minimum(pt.log(inside).sum(axis=1), _LOG_INSIDE_MAX)
    log_outside = pt.log1mexp(log_inside)
    branches = pm.math.concatenate([log_outside[:, None], terms], axis=1)
    # P(≥ 1 candidate) = 1 − P(ROI focus outside) · P(no neighbour focus in the box)
    log_any = pt.log1mexp(log_outside - expected_neighbours)
    return pm.math.logsumexp(branches, axis=1) - log_any


def candidate_loglik_numpy(
    mean: NDArray[np.float64],
    sd: NDArray[np.float64],
    xyz: NDArray[np.float64],
    valid: NDArray[np.bool_],
    log_density: NDArray[np.float64],
    box_lo: NDArray[np.float64],
    box_hi: NDArray[np.float64],
    expected_neighbours: float,
) -> NDArray[np.float64]:
    """:func:`candidate_loglik` evaluated on numbers (for the predictive check and tests)."""
    value = candidate_loglik(pt.as_tensor(mean), pt.as_tensor(sd), pt.as_tensor(xyz),
                             pt.as_tensor(valid.astype(np.float64)), pt.as_tensor(log_density),
                             box_lo, box_hi, expected_neighbours).eval()  # fmt: skip
    return np.asarray(value, dtype=np.float64)
