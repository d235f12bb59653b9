"""Frequentist tests of activation-peak displacement (replicating the seed paper).

Each contrast (``acute``, ``chronic``, ``subcortical``) compares its experiments' ROI peaks with the
healthy experiments' peaks: per-axis Welch and Student t-tests with the shift's t-based 95 % CI and
Hedges' g, Hotelling's two-sample T² for the 3-D shift, and the Euclidean distance between group
centroids with a percentile-bootstrap CI. The outcome ANCOVA regresses each coordinate on outcome
with cluster size and number of maxima as nuisance terms among chronic experiments.

Experiments are treated as independent units, as in the paper: duplicate cohorts inflate the
false-positive rate (see the Bayesian model for the alternative).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from biomark.errors import InputError
from biomark.shift.contract import (
    AXES,
    CONTRASTS,
    FloatArray,
    contrast_masks,
    direction_name,
    validate_peaks,
    xyz_mm,
)

N_BOOT_DEFAULT: Final = 2000

METHODS_TEXT: Final = (
    "Peak shifts were tested per axis with Welch's and Student's two-sample t-tests (scipy), "
    "with t-based 95 % confidence intervals of the mean shift; the 3-D shift with Hotelling's "
    "two-sample T² (F approximation, pooled covariance). The Euclidean distance between group "
    "centroids has a percentile-bootstrap 95 % CI (experiments resampled within groups; the "
    "distance is biased upwards when the true shift is small). Hedges' g uses the pooled SD with "
    "the small-sample correction J = 1 − 3/(4(n₁+n₂)−9) and a normal-approximation CI "
    "(SE² = (n₁+n₂)/(n₁n₂) + g²/(2(n₁+n₂))). Experiments were treated as independent."
)
# Coordinate tables do not report cluster sizes, so the number of ROI maxima is the one nuisance
# covariate the data support.
ANCOVA_COVARIATES: Final = ("n_maxima",)
_COVARIATE_WORDS: Final = {"n_maxima": "the number of ROI maxima"}
_OUTCOME_TERM: Final = "C(outcome, Treatment('poor'))"


def ancova_methods(ancova: pd.DataFrame, group: str = "chronic") -> str:
    """The ANCOVA sentence of the methods, written from the formula that was fitted."""
    if ancova.empty:
        return ""
    formula = str(ancova["formula"].iloc[0])
    terms = [t.strip() for t in formula.split("~")[1].split("+")]
    covs = [_COVARIATE_WORDS.get(t, t) for t in terms[1:]]
    nuisance = (
        f"with {' and '.join(covs)} as nuisance covariate{'s' if len(covs) > 1 else ''}"
        if covs
        else "without nuisance covariates (the number of ROI maxima did not vary)"
    )
    return (
        f"Outcome was tested among {group} experiments by OLS ANCOVA (statsmodels) of each "
        f"coordinate on outcome (good vs poor) {nuisance}; fitted model per axis: "
        f"coordinate ~ {' + '.join(['outcome', *terms[1:]])}. "
        "Cluster sizes are not reported in coordinate tables and are not a covariate."
    )


@dataclass(frozen=True, slots=True)
class HotellingResult:
    """Two-sample Hotelling T² with its F transform."""

    t2: float
    f: float
    df1: int
    df2: int
    p: float


@dataclass(frozen=True, slots=True)
class FrequentistShift:
    """All frequentist shift tables for one ROI, plus the methods paragraph.

    ``ancova_text`` is the ROI's own ANCOVA sentence (its fitted formula, or why none was run);
    ``methods`` is the shared methods text followed by it.
    """

    axis_tests: pd.DataFrame
    hotelling: pd.DataFrame
    ancova: pd.DataFrame
    ancova_text: str = ""

    @property
    def methods(self) -> str:
        """The methods paragraph of this ROI: the shared text, then its ANCOVA sentence."""
        return f"{METHODS_TEXT} {self.ancova_text}".strip()


def hotelling_t2(a_xyz: FloatArray, b_xyz: FloatArray) -> HotellingResult:
    """Two-sample Hotelling T² of mean(a) − mean(b) with pooled covariance.

    Parameters
    ----------
    a_xyz, b_xyz
        Samples of shapes ``(n_a, p)`` and ``(n_b, p)``; needs ``n_a + n_b ≥ p + 2``.

    Returns
    -------
    HotellingResult
        T² = n_a n_b/(n_a+n_b) · dᵀ S⁻¹ d and
        F = (n_a+n_b−p−1)/(p(n_a+n_b−2)) · T² ~ F(p, n_a+n_b−p−1).
    """
    n_a, p = a_xyz.shape
    n_b = b_xyz.shape[0]
    df2 = n_a + n_b - p - 1
    if df2 < 1:
        raise InputError(f"Hotelling T² needs n_a + n_b ≥ {p + 2}, got {n_a} + {n_b}")
    diff = a_xyz.mean(axis=0) - b_xyz.mean(axis=0)
    pooled = (
        (n_a - 1) * np.atleast_2d(np.cov(a_xyz.T)) + (n_b - 1) * np.atleast_2d(np.cov(b_xyz.T))
    ) / (n_a + n_b - 2)
    if np.linalg.matrix_rank(pooled) < p:
        raise InputError("Hotelling T²: pooled covariance of the peaks is singular")
    t2 = float(n_a * n_b / (n_a + n_b) * diff @ np.linalg.solve(pooled, diff))
    f = t2 * df2 / (p * (n_a + n_b - 2))
    return HotellingResult(t2=t2, f=f, df1=p, df2=df2, p=float(stats.f.sf(f, p, df2)))


def hedges_g(a: FloatArray, b: FloatArray, ci_prob: float = 0.95) -> tuple[float, float, float]:
    """Hedges' g of mean(a) − mean(b) with a normal-approximation CI: ``(g, low, high)``."""
    n_a, n_b = len(a), len(b)
    pooled_sd = np.sqrt(((n_a - 1) * a.var(ddof=1) + (n_b - 1) * b.var(ddof=1)) / (n_a + n_b - 2))
    correction = 1.0 - 3.0 / (4.0 * (n_a + n_b) - 9.0)
    g = float(correction * (a.mean() - b.mean()) / pooled_sd)
    se = np.sqrt((n_a + n_b) / (n_a * n_b) + g**2 / (2.0 * (n_a + n_b)))
    z = stats.norm.ppf(0.5 + ci_prob / 2)
    return g, float(g - z * se), float(g + z * se)


def bootstrap_distance_ci(
    a_xyz: FloatArray,
    b_xyz: FloatArray,
    rng: np.random.Generator,
    n_boot: int = N_BOOT_DEFAULT,
    ci_prob: float = 0.95,
) -> tuple[float, float]:
    """Percentile-bootstrap CI of ‖mean(a) − mean(b)‖ (mm), resampling rows within each sample."""
    ia = rng.integers(0, len(a_xyz), size=(n_boot, len(a_xyz)))
    ib = rng.integers(0, len(b_xyz), size=(n_boot, len(b_xyz)))
    diffs = a_xyz[ia].mean(axis=1) - b_xyz[ib].mean(axis=1)
    dist = np.linalg.norm(diffs, axis=1)
    lo, hi = np.quantile(dist, [0.5 - ci_prob / 2, 0.5 + ci_prob / 2])
    return float(lo), float(hi)


def _contrast_samples(
    peaks: pd.DataFrame, contrasts: tuple[str, ...]
) -> dict[str, tuple[FloatArray, FloatArray]]:
    masks = contrast_masks(peaks)
    xyz = xyz_mm(peaks)
    healthy = xyz[masks["healthy"]]
    if len(healthy) < 2:
        raise InputError(f"need ≥ 2 healthy experiments with an ROI peak, got {len(healthy)}")
    out = {}
    for name in contrasts:
        if name not in masks:
            raise InputError(f"unknown contrast {name!r}; expected one of {list(CONTRASTS)}")
        group = xyz[masks[name]]
        if len(group) < 2:
            raise InputError(f"need ≥ 2 {name} experiments with an ROI peak, got {len(group)}")
        out[name] = (group, healthy)
    return out


def axis_tests(
    peaks: pd.DataFrame, contrasts: tuple[str, ...] = CONTRASTS, ci_prob: float = 0.95
) -> pd.DataFrame:
    """Per-axis Welch and Student t-tests of each contrast vs healthy, one row per test.

    Columns: contrast, axis, test, n_group, n_healthy, mean_group_mm, mean_healthy_mm, shift_mm,
    ci_low_mm, ci_high_mm, t, df, p, direction, hedges_g, g_ci_low, g_ci_high.
    """
    peaks = validate_peaks(peaks)
    rows = []
    for name, (group, healthy) in _contrast_samples(peaks, contrasts).items():
        for k, axis in enumerate(AXES):
            a, b = group[:, k], healthy[:, k]
            g, g_lo, g_hi = hedges_g(a, b, ci_prob)
            for test, equal_var in (("welch", False), ("student", True)):
                res = stats.ttest_ind(a, b, equal_var=equal_var)
                ci = res.confidence_interval(ci_prob)
                shift = float(a.mean() - b.mean())
                rows.append(
                    {
                        "contrast": name,
                        "axis": axis,
                        "test": test,
                        "n_group": len(a),
                        "n_healthy": len(b),
                        "mean_group_mm": float(a.mean()),
                        "mean_healthy_mm": float(b.mean()),
                        "shift_mm": shift,
                        "ci_low_mm": float(ci.low),
                        "ci_high_mm": float(ci.high),
                        "t": float(res.statistic),
                        "df": float(res.df),
                        "p": float(res.pvalue),
                        "direction": direction_name(axis, shift),
                        "hedges_g": g,
                        "g_ci_low": g_lo,
                        "g_ci_high": g_hi,
                    }
                )
    return pd.DataFrame(rows)


def hotelling_tests(
    peaks: pd.DataFrame,
    rng: np.random.Generator,
    contrasts: tuple[str, ...] = CONTRASTS,
    n_boot: int = N_BOOT_DEFAULT,
    ci_prob: float = 0.95,
) -> pd.DataFrame:
    """Hotelling T² and Euclidean centroid distance (bootstrap CI) per contrast vs healthy."""
    peaks = validate_peaks(peaks)
    rows = []
    for name, (group, healthy) in _contrast_samples(peaks, contrasts).items():
        res = hotelling_t2(group, healthy)
        lo, hi = bootstrap_distance_ci(group, healthy, rng, n_boot, ci_prob)
        rows.append(
            {
                "contrast": name,
                "n_group": len(group),
                "n_healthy": len(healthy),
                "distance_mm": float(np.linalg.norm(group.mean(axis=0) - healthy.mean(axis=0))),
                "distance_ci_low_mm": lo,
                "distance_ci_high_mm": hi,
                "ci_method": f"percentile bootstrap, {n_boot} resamples",
                "t2": res.t2,
                "f": res.f,
                "df1": res.df1,
                "df2": res.df2,
                "p": res.p,
            }
        )
    return pd.DataFrame(rows)


def outcome_ancova(
    peaks: pd.DataFrame, group: str = "chronic", ci_prob: float = 0.95
) -> pd.DataFrame:
    """OLS ANCOVA per axis: coordinate ~ C(outcome) + n_maxima in ``group``.

    A nuisance covariate that is missing everywhere or constant is dropped (the ``formula`` column
    says which model was fitted); rows with a missing covariate are dropped.

    Returns
    -------
    pandas.DataFrame
        One row per axis: effect_mm (good − poor, adjusted), ci_low_mm, ci_high_mm, p, t, df_resid,
        n_good, n_poor, formula.
    """
    peaks = validate_peaks(peaks)
    data = peaks[(peaks["group"] == group) & peaks["outcome"].notna()].copy()
    terms = [_OUTCOME_TERM]
    for cov in ANCOVA_COVARIATES:
        values = data[cov]
        if values.notna().any() and values.dropna().nunique() > 1:
            terms.append(cov)
            data = data[values.notna()]
    counts = data["outcome"].value_counts()
    n_good, n_poor = int(counts.get("good", 0)), int(counts.get("poor", 0))
    if n_good < 1 or n_poor < 1 or len(data) < len(terms) + 2:
        raise InputError(
            f"outcome ANCOVA needs good and poor {group} experiments and more experiments than "
            f"terms; got {n_good} good, {n_poor} poor"
        )
    rows = []
    effect = f"{_OUTCOME_TERM}[T.good]"
    for axis in AXES:
        formula = f"{axis} ~ " + " + ".join(terms)
        fit = smf.ols(formula, data=data).fit()
        ci = fit.conf_int(alpha=1 - ci_prob).loc[effect]
        rows.append(
            {
                "axis": axis,
                "effect_mm": float(fit.params[effect]),
                "ci_low_mm": float(ci.iloc[0]),
                "ci_high_mm": float(ci.iloc[1]),
                "t": float(fit.tvalues[effect]),
                "p": float(fit.pvalues[effect]),
                "df_resid": float(fit.df_resid),
                "n_good": n_good,
                "n_poor": n_poor,
                "formula": formula,
            }
        )
    return pd.DataFrame(rows)


def frequentist_shift(
    peaks: pd.DataFrame,
    rng: np.random.Generator,
    contrasts: tuple[str, ...] = CONTRASTS,
    n_boot: int = N_BOOT_DEFAULT,
) -> FrequentistShift:
    """Run every frequentist shift analysis for one ROI's ``peaks``.

    The outcome ANCOVA table is empty (with the reason in ``methods``) when the chronic
    experiments do not have both outcomes.
    """
    try:
        ancova = outcome_ancova(peaks)
        text = ancova_methods(ancova)
    except InputError as err:
        ancova = pd.DataFrame()
        text = f"The outcome ANCOVA was not run: {err.what}."
    return FrequentistShift(
        axis_tests=axis_tests(peaks, contrasts),
        hotelling=hotelling_tests(peaks, rng, contrasts, n_boot),
        ancova=ancova,
        ancova_text=text,
    )
