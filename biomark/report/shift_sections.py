"""Peak-shift context sections: frequentist beside Bayesian, densities, outcome, diagnostics.

Inputs are plain tables and arrays produced by :mod:`biomark.shift` (the report never imports
PyMC): the comparison table, the outcome association, the outcome curve, posterior draws of the
main-axis shift, diagnostics and the prior-sensitivity table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from biomark.report import figures
from biomark.report.context import (
    diagnostics_block,
    evidence_strength,
    figure,
    shift_finding,
    table,
)
from biomark.report.filters import fmt_ci, fmt_num, fmt_p, fmt_prob, fmt_ratio
from biomark.shift.contract import BETWEEN_GROUPS_NOTE, LATENT_CURVE, peak_sigma_mm

_SINGLE_PEAK_SIGMA_MM = float(peak_sigma_mm(np.array([1.0]))[0])
_CONTRAST_WORDS = {
    "acute": "acute patients",
    "chronic": "chronic patients",
    "subcortical": "patients with subcortical lesions",
}
REGION_NAMES = {
    "mi": "Ipsilesional primary motor cortex (MI)",
    "medial-pmc": "Medial premotor cortex",
}


def _interval(row: Mapping[str, Any], low: str, high: str) -> list[float] | None:
    lo, hi = row.get(low), row.get(high)
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return None
    return [float(lo), float(hi)]


def comparison_rows(comparison: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of the side-by-side table (per contrast and axis)."""
    rows = []
    for r in comparison.to_dict("records"):
        rows.append({
            "contrast": _CONTRAST_WORDS.get(r["contrast"], r["contrast"]) + " vs healthy",
            "axis": r["axis"], "direction": r.get("direction", ""),
            "freq_shift": r["freq_shift_mm"], "freq_ci": _interval(r, "ci_low_mm", "ci_high_mm"),
            "p": r["p_value"], "bayes_mean": r["posterior_mean_mm"],
            "bayes_hdi": _interval(r, "hdi_low_mm", "hdi_high_mm"),
            "p_direction": r["p_direction"],
        })  # fmt: skip
    return rows


_COMPARISON_COLUMNS = [
    ("contrast", "Comparison", "text"), ("axis", "Axis", "text"),
    ("direction", "Direction", "text"), ("freq_shift", "t-test shift", "mm"),
    ("freq_ci", "95 % CI", "interval"), ("p", "p (Welch)", "p"),
    ("bayes_mean", "Bayesian shift", "mm"), ("bayes_hdi", "95 % HDI", "interval"),
    ("p_direction", "P(direction)", "prob"),
]  # fmt: skip


def _forest(comparison: pd.DataFrame, axis: str) -> dict[str, str] | None:
    sub = comparison[comparison["axis"] == axis]
    if sub.empty:
        return None
    rows = []
    for r in sub.to_dict("records"):
        label = _CONTRAST_WORDS.get(r["contrast"], r["contrast"])
        rows.append({"label": label, "method": "t-test (95 % CI)", "estimate": r["freq_shift_mm"],
                     "low": r["ci_low_mm"], "high": r["ci_high_mm"]})  # fmt: skip
        rows.append({"label": label, "method": "Bayesian (95 % HDI)",
                     "estimate": r["posterior_mean_mm"], "low": r["hdi_low_mm"],
                     "high": r["hdi_high_mm"]})  # fmt: skip
    png = figures.forest_png(pd.DataFrame(rows), xlabel=f"shift along {axis} (mm) vs healthy")
    return figure(png, title=f"Shift along {axis}: frequentist and Bayesian",
                  caption="Point estimates with 95 % intervals; negative = ventral (z) or caudal "
                  "(y).")  # fmt: skip


def outcome_text(o: Mapping[str, Any]) -> str:
    """The outcome association in words: the odds ratio, its interval and its probability."""
    return (
        f"Odds of good recovery change by a factor of {fmt_ratio(o['odds_ratio'])} "
        f"(posterior median; 95 % HDI {fmt_ratio(o['hdi_low'])} to {fmt_ratio(o['hdi_high'])}) "
        f"per {o['unit_mm']:g} mm more ventral peak; probability that a more ventral peak goes "
        f"with better recovery: {fmt_prob(o['p_positive'])}. The association is estimated on "
        "the latent peak positions, so the uncertainty of each reported peak carries into it. "
        f"{BETWEEN_GROUPS_NOTE}"
    )


def _outcome_figure(curve: pd.DataFrame) -> dict[str, str] | None:
    if curve.empty:
        return None
    latent = curve[curve["curve"] == LATENT_CURVE]
    single = curve[curve["curve"] != LATENT_CURVE]
    extra = None
    if not single.empty:
        name = str(single["curve"].iloc[0])
        extra = (name, single["probability"], single["hdi_low"], single["hdi_high"])
    png = figures.outcome_curve_png(
        latent["displacement_mm"], latent["probability"], latent["hdi_low"], latent["hdi_high"],
        label="latent displacement (the model's axis)", extra=extra,
        xlabel="ventral displacement of the MI peak from the healthy mean (mm)",
    )  # fmt: skip
    return figure(png, title="Predicted probability of good recovery",
                  caption="Posterior mean and 95 % HDI. Solid: along the latent (error-free) "
                  "displacement of a group's peak, the axis the association was learned on. "
                  "Dashed: for the observed peak of one patient (N = 1), whose own "
                  f"localisation error (about {_SINGLE_PEAK_SIGMA_MM:.0f} mm per axis) is "
                  "integrated, so the curve is flatter.")  # fmt: skip


def _outcome(roi: str, outcome: pd.DataFrame, curve: pd.DataFrame) -> dict[str, Any] | None:
    if outcome.empty:
        return None
    o = outcome.iloc[0]
    tab = table(
        outcome.to_dict("records"),
        [
            ("odds_ratio", "Odds ratio (median)", "ratio"),
            ("hdi_low", "95 % HDI low", "ratio"),
            ("hdi_high", "95 % HDI high", "ratio"),
            ("p_positive", "P(better recovery with a more ventral peak)", "prob"),
        ],
        caption=f"Outcome association per {o['unit_mm']:g} mm ({REGION_NAMES.get(roi, roi)}): "
        "exp of the posterior median and of the 95 % HDI of the log odds ratio.",
    )
    return {"text": outcome_text(o), "table": tab, "figure": _outcome_figure(curve)}


def euclidean_note(bayes: pd.DataFrame) -> str:
    """The 3-D distances beside the size they would have with no shift (never graded)."""
    rows = bayes[bayes["axis"] == "euclidean"].to_dict("records")
    if not rows:
        return ""
    parts = [
        f"{_CONTRAST_WORDS.get(r['contrast'], r['contrast'])} {fmt_num(r['mean_mm'])} mm "
        f"(no shift: median {fmt_num(r['no_shift_median_mm'])}, 95th percentile "
        f"{fmt_num(r['no_shift_q95_mm'])} mm)"
        for r in rows
    ]
    return (
        "3-D (Euclidean) distance from the healthy peak, posterior mean: " + "; ".join(parts)
        + ". A distance is positive even when nothing moved, because it adds up uncertain "
        "components; the no-shift values are what this posterior spread alone would give. The "
        "per-axis shifts above are the results; distances are not graded."
    )  # fmt: skip


def welch_notes(comparison: pd.DataFrame, axis: str) -> list[str]:
    """For each main-axis shift whose HDI reaches 0 mm, what Welch's test gives on its peaks."""
    out = []
    for r in comparison[comparison["axis"] == axis].to_dict("records"):
        lo, hi = r["hdi_low_mm"], r["hdi_high_mm"]
        if pd.isna(lo) or pd.isna(hi) or not lo <= 0.0 <= hi or pd.isna(r["freq_shift_mm"]):
            continue
        out.append(
            f"{_CONTRAST_WORDS.get(r['contrast'], r['contrast']).capitalize()}: the 95 % HDI of "
            f"the {axis} shift reaches 0 mm; Welch's t-test on the same peaks (each cohort "
            f"counted once) gives {fmt_ci(r['freq_shift_mm'], r['ci_low_mm'], r['ci_high_mm'])}, "
            f"{fmt_p(r['p_value'])}."
        )
    return out


def skipped_notes(skipped: tuple[tuple[str, str], ...]) -> list[str]:
    """One sentence per comparison the data could not support, with its reason."""
    return [f"Not compared: {_CONTRAST_WORDS.get(c, c)} against healthy controls ({why})."
            for c, why in skipped]  # fmt: skip


def shift_section(
    roi: str, title: str, comparison: pd.DataFrame, bayes: pd.DataFrame,
    outcome: pd.DataFrame, curve: pd.DataFrame, draws: Mapping[str, np.ndarray],
    diagnostics_rows: list[dict[str, Any]], divergences: int, sensitivity: pd.DataFrame,
    main_axis: str, n_missing: int, notes: list[str],
) -> dict[str, Any]:  # fmt: skip
    """The SHIFT entry of one region of interest."""
    dens = None
    if draws:
        named = {_CONTRAST_WORDS.get(k, k): v for k, v in draws.items()}
        dens = figure(figures.density_png(named), title=f"Posterior shift along {main_axis}",
                      caption=f"Posterior densities of each group's shift along {main_axis} "
                      "relative to healthy controls (mm).")  # fmt: skip
    sens = None
    if not sensitivity.empty:
        sub = sensitivity[sensitivity["axis"] == main_axis]
        sens = table(sub.to_dict("records"),
                     [("prior", "Prior", "text"), ("method", "How", "text"),
                      ("pareto_k", "Pareto k̂", "num2"), ("contrast", "Comparison", "text"),
                      ("mean_mm", "Mean shift", "mm"), ("hdi_low_mm", "HDI low", "mm"),
                      ("hdi_high_mm", "HDI high", "mm"), ("change_mm", "Change", "mm")],
                     caption=f"Prior sensitivity of the {main_axis} shift under the default, "
                     "halved (tight) and doubled (wide) prior scales. 'reweighted': the default "
                     "posterior reweighted by Pareto-smoothed importance sampling, used when "
                     "k̂ ≤ 0.7; 'refit': sampled again because k̂ was higher.")  # fmt: skip
    verb = "experiment has" if n_missing == 1 else "experiments have"
    missing = (f"{n_missing} {verb} no focus in or near this region (listed in "
               "shift/roi_missing.tsv)." if n_missing else "")  # fmt: skip
    return {
        "id": f"shift-{roi}", "title": title,
        "description": "Each experiment's peak is the centroid of its foci inside the region "
        "(after mirroring right-hemisphere lesions) or, when none lies inside, of its foci "
        "nearest to the region within 6 mm, since a reported peak is itself uncertain by about "
        "4 mm. Welch t-tests count each cohort once, as "
        "the original study did; the Bayesian model keeps every experiment and absorbs repeated "
        "cohorts with a cohort effect. " + missing,
        "comparison": table(comparison_rows(comparison), _COMPARISON_COLUMNS,
                            caption="Shift of each patient group relative to healthy controls."),
        "forest": _forest(comparison, main_axis), "densities": dens,
        "outcome": _outcome(roi, outcome, curve),
        "diagnostics": diagnostics_block(diagnostics_rows, divergences),
        "sensitivity": sens,
        "notes": [n for n in (*notes, *welch_notes(comparison, main_axis),
                              euclidean_note(bayes)) if n],
    }  # fmt: skip


def shift_findings(roi: str, bayes: pd.DataFrame, main_axis: str) -> list[dict[str, str]]:
    """Plain-language findings for the main-axis shift of each patient group."""
    out = []
    for r in bayes[bayes["axis"] == main_axis].to_dict("records"):
        out.append(shift_finding(
            region=REGION_NAMES.get(roi, roi), comparison=_CONTRAST_WORDS.get(r["contrast"],
            r["contrast"]) + " than in healthy controls", axis=main_axis, shift_mm=r["mean_mm"],
            low_mm=r["hdi_low_mm"], high_mm=r["hdi_high_mm"], prob_direction=r["p_direction"],
        ))  # fmt: skip
    return out


def outcome_finding(roi: str, o: Mapping[str, Any]) -> dict[str, str]:
    """The first-page FINDING of the outcome association, graded on the interval it prints."""
    p_dir = max(o["p_positive"], 1 - o["p_positive"])
    better = o["p_positive"] >= 0.5
    return {
        "headline": f"{REGION_NAMES.get(roi, roi)}: a more ventral peak goes with "
        f"{'better' if better else 'worse'} recovery.",
        "detail": f"Odds ratio of good recovery per {o['unit_mm']:g} mm more ventral: "
        f"{fmt_ratio(o['odds_ratio'])} (95 % HDI {fmt_ratio(o['hdi_low'])} to "
        f"{fmt_ratio(o['hdi_high'])}); probability of this direction {fmt_prob(p_dir)}. "
        f"{BETWEEN_GROUPS_NOTE}",
        "evidence": evidence_strength(p_dir, o["hdi_low"] > 1 or o["hdi_high"] < 1),
    }
