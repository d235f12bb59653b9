"""Monte Carlo estimates with their uncertainty, and the tables power studies return.

Every estimate is a row ``(key, study, method, quantity, shift_mm, estimate, mcse, ci_low, ci_high,
replicates, interval)``. For a proportion p̂ over R independent replicates the Monte Carlo
standard error is √(p̂(1 − p̂)/R) and the 95 % interval is Wilson's score interval (it stays
inside [0, 1] and is not degenerate at p̂ = 0 or 1); for a mean of per-replicate values the SE is
their SD/√R and the interval normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from biomark.power.design import PowerDesign

COLUMNS: Final = (
    "key",
    "study",
    "method",
    "quantity",
    "shift_mm",
    "estimate",
    "mcse",
    "ci_low",
    "ci_high",
    "replicates",
    "interval",
)
Z95: Final = float(stats.norm.ppf(0.975))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95 % by default)."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_row(
    key: str, study: str, method: str, quantity: str, hits: ArrayLike, shift_mm: float = math.nan
) -> dict[str, Any]:
    """Estimate row of a proportion from per-replicate 0/1 outcomes (NaN outcomes dropped)."""
    values = np.asarray(hits, dtype=np.float64)
    values = values[np.isfinite(values)]
    n = int(values.shape[0])
    p = float(values.mean()) if n else math.nan
    lo, hi = wilson_interval(int(values.sum()), n)
    mcse = math.sqrt(p * (1 - p) / n) if n else math.nan
    label = (key, study, method, quantity, shift_mm)
    return _estimate_row(label, p, mcse, (lo, hi), n, "Wilson 95 %")


def mean_row(
    key: str, study: str, method: str, quantity: str, values: ArrayLike, shift_mm: float = math.nan
) -> dict[str, Any]:
    """Estimate row of a mean of per-replicate values (SE = SD/√R, normal 95 % interval)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = int(x.shape[0])
    mean = float(x.mean()) if n else math.nan
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    interval = (mean - Z95 * se, mean + Z95 * se)
    label = (key, study, method, quantity, shift_mm)
    return _estimate_row(label, mean, se, interval, n, "normal 95 %")


def _estimate_row(
    label: tuple[str, str, str, str, float], estimate: float, mcse: float,
    interval: tuple[float, float], replicates: int, kind: str,
) -> dict[str, Any]:  # fmt: skip
    key, study, method, quantity, shift_mm = label
    return {
        "key": key, "study": study, "method": method, "quantity": quantity,
        "shift_mm": float(shift_mm), "estimate": estimate, "mcse": mcse,
        "ci_low": interval[0], "ci_high": interval[1], "replicates": replicates,
        "interval": kind,
    }  # fmt: skip


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rows as a DataFrame with the standard column order."""
    return pd.DataFrame(rows, columns=list(COLUMNS))


@dataclass(frozen=True)
class PowerResult:
    """Everything a power study produced, describing itself.

    Attributes
    ----------
    design
        The simulated design.
    seed
        Master seed; the same seed gives the same numbers on any backend.
    estimates
        One row per (method, quantity) (see :data:`COLUMNS`).
    curve
        Welch power (and, when run, Bayesian) per planted shift: the same columns.
    details
        Extra facts for provenance and the report: cluster-forming threshold, the shared
        null's size, seconds per Bayesian fit, divergences, wall times.
    """

    design: PowerDesign
    seed: int
    estimates: pd.DataFrame
    curve: pd.DataFrame
    details: dict[str, Any] = field(default_factory=dict)

    def row(self, key: str) -> pd.Series:
        """The estimate row with ``key`` (e.g. ``"welch_power"``).

        Raises
        ------
        KeyError
            No such row.
        """
        return _row(self.estimates, key)


@dataclass(frozen=True)
class CalibrationResult:
    """Null false-positive rates of ALE inference and the subtraction contrast."""

    design: PowerDesign
    seed: int
    estimates: pd.DataFrame
    details: dict[str, Any] = field(default_factory=dict)

    def row(self, key: str) -> pd.Series:
        """The estimate row with ``key``; :class:`KeyError` if absent."""
        return _row(self.estimates, key)


def _row(estimates: pd.DataFrame, key: str) -> pd.Series:
    hit = estimates[estimates["key"] == key]
    if hit.empty:
        raise KeyError(f"no estimate {key!r}")
    return hit.iloc[0]
