"""Compiled (numba) inner loop of the analytic ALE null; see :mod:`biomark.ale.null`.

:func:`combine_into` does what :func:`biomark.ale.null.combine_numpy` does, pair by pair and
without temporaries: for every non-zero bin ``j`` of an experiment's histogram and every
non-zero bin ``i`` of the running ALE histogram it adds ``p_j · p_i`` to the bin nearest
``1 − (1 − c_j)(1 − c_i)``. The score and the bin are computed with the very same floating-point
operations as the numpy path, so every pair lands in the same bin; only the order of the
additions (hence the last bits of a bin's weight) can differ.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

log = logging.getLogger(__name__)


def _jit(fn: Callable[..., Any]) -> Any:
    """``numba.njit`` with an on-disk cache when a cache directory is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        log.warning("no writable numba cache directory; the null kernel compiles in memory")
        return numba.njit(cache=False, nogil=True)(fn)


def _combine_into_py(
    ale_hist: Any, exp_bins: Any, exp_probs: Any, centres: Any, inv_step: float, out: Any
) -> None:
    n_bins = centres.shape[0]
    lo = 0
    while lo < n_bins and ale_hist[lo] == 0.0:
        lo += 1
    hi = n_bins
    while hi > lo and ale_hist[hi - 1] == 0.0:
        hi -= 1
    top = n_bins - 1
    one_minus_a = 1.0 - centres[lo:hi]
    weights = ale_hist[lo:hi]
    bins = np.empty(hi - lo, dtype=np.int64)
    for k in range(exp_bins.shape[0]):
        one_minus_e = 1.0 - centres[exp_bins[k]]
        p_e = exp_probs[k]
        # two passes: the bin pass has no memory dependence, so it vectorises; scores are
        # >= 0, so truncation is the floor
        for i in range(hi - lo):
            scaled = (1.0 - one_minus_e * one_minus_a[i]) * inv_step
            b = int(scaled)
            bins[i] = min(b + (scaled - b >= 0.5), top)
        for i in range(hi - lo):
            out[bins[i]] += p_e * weights[i]


combine_into = _jit(_combine_into_py)
