"""Bias and coverage of the ROI peak rule, measured on whole simulated experiments.

Each replicate is one meta-analysis of the paper's size (SCIENCE.md §1: 11 healthy experiments,
145 subjects; 13 chronic, 113 subjects) simulated focus by focus
(:mod:`biomark.power.experiments`), its peaks found by :func:`biomark.shift.peaks.roi_peaks` as
for a user's data, and the ventral shift estimated by Welch's two-sample comparison of the peaks'
z (healthy mean − chronic mean, so a ventral shift is positive) with its 95 % CI. Over replicates:
the mean recovered shift, its bias, its Monte Carlo SE and the CI's coverage of the planted shift.

Scenarios differ in what each experiment reports beside its MI focus: nothing, one PMd focus,
one SI focus, one of each, or PMd and SI at the rates of the real motor tables plus background
foci elsewhere in the brain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Final, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from biomark.power.experiments import ExperimentDesign, simulate_experiments
from biomark.power.mixture_rule import mixture_peaks
from biomark.shift.neighbours import PMD, SI
from biomark.shift.peaks import PEAK_RULES, PeakRule, roi_peaks
from biomark.shift.rois import ROI_TOLERANCE_MM
from biomark.space import MNI152_2MM, Grid

BoolArray = NDArray[np.bool_]

# the paper's healthy (11 experiments, 145 subjects) and chronic (13, 113) sample sizes
HEALTHY_N: Final = (8, 9, 10, 11, 12, 13, 13, 14, 16, 18, 21)
CHRONIC_N: Final = (6, 6, 6, 7, 7, 8, 8, 9, 9, 10, 11, 12, 14)
PAPER_DESIGN: Final = ExperimentDesign(
    n_subjects=HEALTHY_N + CHRONIC_N,
    shifted=(False,) * len(HEALTHY_N) + (True,) * len(CHRONIC_N),
)
# The real tables' median is 18 foci per table; ~2.4 of them are PMd or SI at the measured rates.
REAL_BACKGROUND_FOCI: Final = 15
SCENARIOS: Final[Mapping[str, ExperimentDesign]] = MappingProxyType(
    {
        "MI only": PAPER_DESIGN,
        "+ PMd": replace(PAPER_DESIGN, neighbours=(PMD.always_once(),)),
        "+ SI": replace(PAPER_DESIGN, neighbours=(SI.always_once(),)),
        "+ PMd + SI": replace(PAPER_DESIGN, neighbours=(PMD.always_once(), SI.always_once())),
        "real rates": replace(
            PAPER_DESIGN, neighbours=(PMD, SI), n_background=REAL_BACKGROUND_FOCI
        ),
    }
)
SHIFTS_MM: Final = (0.0, 3.0, 6.0)
# the MI ROI tolerance users' peaks are found with
TOLERANCE_MM: Final = ROI_TOLERANCE_MM["mi"]
# measured beside the rules of roi_peaks (biomark.power.mixture_rule)
MIXTURE_RULE: Final = "group-mixture"


def welch_shifts(peaks: pd.DataFrame, replicate_of: Mapping[str, int], n_replicates: int,
                 ci_prob: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """Per replicate the ventral shift (healthy − chronic mean z, mm), its Welch CI and p.

    ``p`` is Welch's two-sided p. Replicates where a group has fewer than 2 peaks get NaN.
    """
    rep = peaks["experiment_id"].map(replicate_of).to_numpy(dtype=np.int64)
    z = peaks["z"].to_numpy(dtype=np.float64)
    healthy = (peaks["group"] == "healthy").to_numpy()
    parts = [_moments(z[g], rep[g], n_replicates) for g in (healthy, ~healthy)]
    (n_h, m_h, v_h), (n_c, m_c, v_c) = parts
    with np.errstate(divide="ignore", invalid="ignore"):
        se2_h, se2_c = v_h / n_h, v_c / n_c
        se = np.sqrt(se2_h + se2_c)
        df = (se2_h + se2_c) ** 2 / (se2_h**2 / (n_h - 1) + se2_c**2 / (n_c - 1))
    t = stats.t.ppf(0.5 + ci_prob / 2, df)
    est = m_h - m_c
    ok = (n_h >= 2) & (n_c >= 2)
    return pd.DataFrame(
        {
            "shift_mm": np.where(ok, est, np.nan),
            "ci_low": np.where(ok, est - t * se, np.nan),
            "ci_high": np.where(ok, est + t * se, np.nan),
            "p": np.where(ok, 2.0 * stats.t.sf(np.abs(est) / se, df), np.nan),
            "n_healthy": n_h,
            "n_chronic": n_c,
        }
    )


def _moments(
    z: NDArray[np.float64], rep: NDArray[np.int64], n_rep: int
) -> tuple[NDArray[np.float64], ...]:
    """Count, mean and sample variance of ``z`` per replicate (NaN where undefined)."""
    n = np.bincount(rep, minlength=n_rep).astype(np.float64)
    s1 = np.bincount(rep, weights=z, minlength=n_rep)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = s1 / n
        var = np.bincount(rep, weights=(z - mean[rep]) ** 2, minlength=n_rep) / (n - 1)
    return n, mean, var


def summarise(shifts: pd.DataFrame, planted_mm: float) -> dict[str, float]:
    """Mean recovered shift, bias (mm and % of the planted shift), MC SE and CI coverage."""
    est = shifts["shift_mm"].dropna().to_numpy()
    ok = shifts["shift_mm"].notna()
    covered = (shifts["ci_low"][ok] <= planted_mm) & (planted_mm <= shifts["ci_high"][ok])
    mean = float(est.mean())
    return {
        "replicates": float(len(est)),
        "mean_mm": mean,
        "bias_mm": mean - planted_mm,
        "bias_pct": 100.0 * (mean - planted_mm) / planted_mm if planted_mm else math.nan,
        "mc_se_mm": float(est.std(ddof=1) / math.sqrt(len(est))),
        "coverage": float(covered.mean()),
        "coverage_mc_se": float(math.sqrt(covered.mean() * (1 - covered.mean()) / len(est))),
        "no_peak_pct": 100.0 * float(1 - (shifts["n_healthy"] + shifts["n_chronic"]).sum()
                                     / (len(shifts) * len(PAPER_DESIGN.shifted))),
    }  # fmt: skip


def bias_study(
    mask: BoolArray,
    rng: np.random.Generator,
    n_replicates: int,
    *,
    scenarios: Sequence[str] = tuple(SCENARIOS),
    shifts_mm: Sequence[float] = SHIFTS_MM,
    rules: Sequence[str] = (*PEAK_RULES, "group-mixture"),
    grid: Grid = MNI152_2MM,
    tolerance_mm: float = TOLERANCE_MM,
) -> pd.DataFrame:
    """The bias table: one row per scenario × planted shift × rule.

    ``rules`` are :data:`biomark.shift.peaks.PEAK_RULES` and :data:`MIXTURE_RULE`; every rule
    sees the same simulated experiments (a paired comparison). ``mask`` is the MI ROI the
    pipeline uses; ``rng`` draws each scenario and shift's experiments in turn.
    """
    rows = []
    for name in scenarios:
        for planted in shifts_mm:
            design = replace(SCENARIOS[name], shift_mm=planted)
            sim = simulate_experiments(design, rng, n_replicates)
            dataset = sim.dataset()
            replicate_of = dict(zip(sim.experiments["experiment_id"],
                                    sim.experiments["replicate"], strict=True))  # fmt: skip
            for rule in rules:
                if rule == MIXTURE_RULE:
                    peaks = mixture_peaks(dataset, mask, replicate_of, tolerance_mm=tolerance_mm,
                                          grid=grid)  # fmt: skip
                else:
                    found = roi_peaks(dataset, mask, "mi", grid, tolerance_mm=tolerance_mm,
                                      rule=cast(PeakRule, rule))  # fmt: skip
                    peaks = found.peaks
                shifts = welch_shifts(peaks, replicate_of, n_replicates)
                rows.append({"scenario": name, "planted_mm": planted, "rule": rule,
                             **summarise(shifts, planted)})  # fmt: skip
    return pd.DataFrame(rows)
