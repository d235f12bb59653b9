"""Simulated ROI peak tables with planted displacements (the ``peaks`` input contract).

Generative process (mm, lesion on the left): latent = μ + shift[group] + u[cohort] + v[experiment];
the reported peak = latent + N(0, σ_N) with σ_N the ALE kernel σ for N subjects (Eickhoff 2009,
computed here by hand, independently of biomark). Chronic experiments get an outcome from
logit P(good) = α + β · d / 5, d = μ_z − latent_z (ventral displacement).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

MI_CENTRE_MM = (-38.0, -22.0, 56.0)
PMC_CENTRE_MM = (-4.0, -6.0, 60.0)


def kernel_sigma_mm(n: np.ndarray) -> np.ndarray:
    # Eickhoff 2009 FWHM in mm, then σ = FWHM / sqrt(8 ln 2)
    u_t = 5.7 / (2 * math.sqrt(2 / math.pi)) * math.sqrt(8 * math.log(2))
    u_s = 11.6 / (2 * math.sqrt(2 / math.pi)) * math.sqrt(8 * math.log(2)) / np.sqrt(n)
    return np.sqrt(u_t**2 + u_s**2) / math.sqrt(8 * math.log(2))


def simulate_peaks(
    rng: np.random.Generator,
    *,
    counts: Mapping[str, int] | None = None,
    shift_mm: Mapping[str, Sequence[float]] | None = None,
    centre_mm: Sequence[float] = MI_CENTRE_MM,
    subcortical_fraction: float = 0.86,
    tau_cohort_mm: float = 2.0,
    tau_experiment_mm: float = 2.0,
    reports_per_cohort: Mapping[str, Sequence[int]] | None = None,
    alpha: float = 0.3,
    beta_per_5mm: float = 1.5,
    n_range: tuple[int, int] = (6, 20),
    noise: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Simulate one ROI's ``peaks`` table and its ground truth.

    ``reports_per_cohort[group]`` lists, per cohort, how many experiments report it (duplicates);
    by default every cohort is reported once.
    """
    counts = dict(counts or {"healthy": 11, "acute": 9, "chronic": 13, "intermediate": 3})
    shift_mm = {g: np.asarray(v, float) for g, v in (shift_mm or {}).items()}
    reports_per_cohort = dict(reports_per_cohort or {})
    centre = np.asarray(centre_mm, float)
    rows = []
    truth_latent = []
    study = 0
    for group, n_exp in counts.items():
        reports = list(reports_per_cohort.get(group, [1] * n_exp))
        if sum(reports) != n_exp:
            raise ValueError(f"reports for {group} sum to {sum(reports)}, not {n_exp}")
        for c, k in enumerate(reports):
            u = rng.normal(0, tau_cohort_mm, 3)
            n = int(rng.integers(n_range[0], n_range[1] + 1))
            sub = bool(group != "healthy" and rng.random() < subcortical_fraction)
            for r in range(k):
                study += 1
                latent = centre + shift_mm.get(group, np.zeros(3)) + u
                latent = latent + rng.normal(0, tau_experiment_mm, 3)
                sigma = kernel_sigma_mm(np.array([n]))[0]
                xyz = latent + (rng.normal(0, sigma, 3) if noise else 0.0)
                outcome = None
                if group == "chronic":
                    d = centre[2] - latent[2]
                    p = 1 / (1 + math.exp(-(alpha + beta_per_5mm * d / 5)))
                    outcome = "good" if rng.random() < p else "poor"
                rows.append(
                    {
                        "experiment_id": f"{group}-{c}-{r}",
                        "study_id": f"study{study:03d}",
                        "cohort_id": f"{group}-cohort{c}",
                        "group": group,
                        "subcortical": sub,
                        "n": n,
                        "x": xyz[0],
                        "y": xyz[1],
                        "z": xyz[2],
                        "n_maxima": int(rng.integers(1, 4)),
                        "cluster_size_mm3": float(rng.uniform(200, 3000)),
                        "outcome": outcome,
                    }
                )
                truth_latent.append(latent)
    peaks = pd.DataFrame(rows)
    peaks["outcome"] = peaks["outcome"].astype("object")
    truth = {"centre_mm": centre, "shift_mm": shift_mm, "latent_mm": np.array(truth_latent)}
    return peaks, truth


# A realistic duplicate structure: 9 acute experiments from 7 cohorts, 13 chronic from 10 cohorts.
REALISTIC_REPORTS = {"acute": [2, 2, 1, 1, 1, 1, 1], "chronic": [3, 2, 1, 1, 1, 1, 1, 1, 1, 1]}


@pytest.fixture
def make_peaks() -> Callable[..., tuple[pd.DataFrame, dict[str, Any]]]:
    return simulate_peaks


@pytest.fixture
def mi_peaks() -> pd.DataFrame:
    peaks, _ = simulate_peaks(
        np.random.default_rng(20140101),
        shift_mm={"acute": (0, 0, -6), "chronic": (0, 0, -5), "intermediate": (0, 0, -5)},
        reports_per_cohort=REALISTIC_REPORTS,
    )
    return peaks


@pytest.fixture(scope="module")
def shift_model():
    """A built MI model: planted acute and chronic ventral shifts, realistic duplicate reports."""
    from biomark.shift.model import build_shift_model

    peaks = simulate_peaks(
        np.random.default_rng(5),
        shift_mm={"acute": (0, 0, -6), "chronic": (0, 0, -5)},
        reports_per_cohort=REALISTIC_REPORTS,
    )[0]
    return build_shift_model(peaks, roi="MI")
