"""Family-wise error from Monte Carlo maxima: corrected p and the critical value behind it.

Both read the per-iteration maxima of :class:`biomark.ale.montecarlo.MonteCarloNull` (voxel
ALE, cluster size or cluster mass); the significance decisions of a fit and the jackknife's
critical cluster size are the same rule read two ways.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def corrected_p(observed: FloatArray, null_max: FloatArray) -> FloatArray:
    """FWE-corrected p = (1 + #{null ≥ observed}) / (1 + n_iterations), per observed value."""
    null_sorted = np.sort(np.asarray(null_max, dtype=np.float64))
    n_ge = null_sorted.shape[0] - np.searchsorted(null_sorted, observed, side="left")
    out: FloatArray = (1.0 + n_ge) / (1.0 + null_sorted.shape[0])
    return out


def critical_value(null_max: FloatArray, alpha: float) -> float:
    """The value an observation must exceed for :func:`corrected_p` to fall below ``alpha``.

    ``x > critical_value(null, alpha)`` exactly when ``corrected_p(x, null) < alpha``: with the
    null maxima sorted descending as d₀ ≥ d₁ ≥ …, (1 + #{d ≥ x}) / (1 + n) < alpha holds when
    fewer than K + 1 maxima reach x, K the largest integer below alpha·(1 + n) − 1, i.e. when
    x > d_K. ``inf`` when no observation can (too few iterations), ``-inf`` when every one does.
    """
    null_desc = np.sort(np.asarray(null_max, dtype=np.float64))[::-1]
    k = int(np.ceil(alpha * (1 + null_desc.shape[0]) - 1)) - 1
    if k < 0:
        return math.inf
    if k >= null_desc.shape[0]:
        return -math.inf
    return float(null_desc[k])
