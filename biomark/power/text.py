"""Plain-language sentences and report rows from power and calibration results (pure).

The report layer reads :func:`report_rows`, :func:`summary_sentence`, :func:`caveat_sentence`
and :func:`methods_text`; nothing here formats HTML.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from biomark.power.peak_rule import TOLERANCE_MM
from biomark.power.results import CalibrationResult, PowerResult


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:.0f} %"


def _est(row: pd.Series) -> str:
    """``"38 % (± 3 %)"``: estimate with its Monte Carlo SE."""
    return f"{_pct(float(row['estimate']))} (± {_pct(float(row['mcse']))})"


def _get(result: PowerResult, key: str) -> pd.Series | None:
    try:
        return result.row(key)
    except KeyError:
        return None


def summary_sentence(result: PowerResult) -> str:
    """One sentence of what the power study found (Monte Carlo SE in brackets).

    Example: "With 9 good-outcome vs 5 poor-outcome experiments, the power to detect a 6 mm
    ventral MI shift is 21 % (± 1 %) with Welch's t-test and 22 % (± 7 %) with the Bayesian
    model (P(direction) > 0.95); cluster-level FWE ALE finds a region that 4 of the 9
    good-outcome experiments report in 64 % (± 2 %) of simulated meta-analyses."
    """
    d = result.design
    text = (
        f"With {d.n_a} {d.label_a} vs {d.n_b} {d.label_b} experiments, the power to detect a "
        f"{d.shift_mm:g} mm ventral MI shift is {_est(result.row('welch_power'))} with "
        "Welch's t-test"
    )
    bayes = _get(result, "bayes_power")
    if bayes is not None:
        text += f" and {_est(bayes)} with the Bayesian model (P(direction) > {d.p_direction:g})"
    target = _get(result, "ale_target_power")
    if target is not None:
        who = d.label_a if d.target_group == "a" else d.label_b
        n_group = d.n_a if d.target_group == "a" else d.n_b
        text += (
            f"; cluster-level FWE ALE finds a region that {d.n_target_carriers} of the {n_group} "
            f"{who} experiments report in {_est(target)} of simulated meta-analyses"
        )
    return text + "."


def caveat_sentence(result: PowerResult) -> str:
    """The warning the report prints beside a result of this design's size."""
    d = result.design
    welch = float(result.row("welch_power")["estimate"])
    bayes = _get(result, "bayes_power")
    best = max(welch, float(bayes["estimate"]) if bayes is not None else 0.0)
    level = "low" if best < 0.5 else "moderate" if best < 0.8 else "adequate"
    text = (
        f"Power is {level}: in simulations of this design ({d.n_a} vs {d.n_b} experiments), a "
        f"true {d.shift_mm:g} mm ventral MI shift was detected in {_pct(best)} of simulated "
        "meta-analyses "
        + ("by the better of the two tests" if bayes is not None else "by Welch's t-test")
    )
    if best < 0.8:
        text += ", so a non-significant shift is weak evidence that there is none"
    coverage = _get(result, "bayes_coverage")
    if coverage is not None:
        text += (
            f"; the Bayesian {100 * d.hdi_prob:g} % interval covered the true shift in "
            f"{_pct(float(coverage['estimate']))} of simulations"
        )
    return text + "."


def report_rows(result: PowerResult | CalibrationResult) -> list[dict[str, Any]]:
    """Rows for a report table: method, quantity, estimate, MC SE, 95 % interval, replicates."""
    return [
        {
            "method": str(r["method"]),
            "quantity": str(r["quantity"]),
            "estimate": float(r["estimate"]),
            "mcse": float(r["mcse"]),
            "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]),
            "replicates": int(r["replicates"]),
        }
        for _, r in result.estimates.iterrows()
        if r["study"] != "cost"
    ]


def methods_text(result: PowerResult) -> str:
    """The methods paragraph of a power study."""
    d = result.design
    detail = result.details
    return (
        f"Power was estimated by simulation (seed {result.seed}). Each simulated meta-analysis "
        f"has {d.n_a} {d.label_a} and {d.n_b} {d.label_b} experiments with the sample sizes and "
        "focus counts of the design; each experiment reports an ipsilesional MI focus at the MI "
        f"centre {tuple(d.mi_centre_mm)} mm, {d.shift_mm:g} mm ventral for the "
        f"{d.label_a if d.shifted_group == 'a' else d.label_b} group, plus between-study spread "
        f"(SD {d.cohort_sd_mm:g} mm per axis) and the Eickhoff et al. (2009) peak uncertainty "
        "for its N; its other foci lie uniformly in the brain (the mask for ALE, an ellipsoid "
        "for the shift tests"
        + (
            ", which add dorsal premotor and somatosensory foci at the rates of published motor "
            "tables"
            if d.mi_neighbours
            else ""
        )
        + "). For the shift tests each experiment's MI peak is extracted as for a user's data "
        f"(foci in the MI region, else the nearest within {TOLERANCE_MM:g} mm): experiments "
        "without one drop out, and neighbouring foci shrink the shift as they do in real "
        f"tables. Welch's t-test on z detects the shift when p < {d.alpha:g} and the estimate "
        "is ventral"
        + (
            f"; the Bayesian hierarchical model ({d.chains} chains × {d.draws} draws after "
            f"{d.tune} tuning steps per fit) when P(ventral) > {d.p_direction:g}"
            if d.bayes_replicates
            else ""
        )
        + ". Cluster-level FWE ALE (cluster-forming p < "
        f"{d.cluster_forming_p:g}, threshold ALE > "
        f"{detail.get('cluster_forming_threshold_ale', math.nan):.5f} fixed per design; "
        f"{d.ale_iterations} Monte Carlo iterations shared by all replicates, which is exact "
        "because the null never depends on the observed foci) finds a location when a cluster "
        f"with p ≤ {d.alpha:g} lies within {d.hit_radius_mm:g} mm of it. Monte Carlo standard "
        "errors are √(p(1−p)/R); intervals are Wilson 95 % intervals."
    )
