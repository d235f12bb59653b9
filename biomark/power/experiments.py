"""Whole simulated experiments — every focus, not just the MI peak — for the ROI peak rule.

Power and recovery studies used to draw each experiment's MI peak directly, bypassing the rule
(:func:`biomark.shift.peaks.roi_peaks`) that turns a user's foci into peaks. That rule is where
bias enters: a thin MI ROI sits between dorsal premotor (PMd) and primary somatosensory (SI)
cortex, whose foci can land in or near it. So here an experiment has all the foci a motor
contrast reports near MI, and the study passes them through the users' code path.

Generative model per experiment ``e`` with ``N_e`` subjects (MNI mm, lesion on the left):

* true MI peak = ``mi_centre_mm`` + (0, 0, −shift_mm if shifted) + u_e + v_e, with u_e ~ N(0,
  τ_cohort²) and v_e ~ N(0, τ_experiment²) per axis (each experiment is its own cohort);
* reported MI focus = true peak + N(0, σ(N_e)²) per axis, σ the Eickhoff et al. (2009) peak
  uncertainty (:func:`biomark.shift.contract.peak_sigma_mm`);
* each :class:`NeighbourRegion` is reported with probability ``rate``, by 1 + Poisson(
  ``extra_foci``) foci, each at ``centre_mm`` + N(0, ``sd_mm``²) — its spread in real tables,
  which already holds between-study spread and reporting noise;
* ``n_background`` foci (one count for all experiments, or one per experiment) uniform in the
  brain ellipsoid of the embedded-data generator;
* foci are rounded to whole mm, as tables report them.

Neighbour rates and positions (:mod:`biomark.shift.neighbours`) were measured in the real motor
tables (``data/real/healthy_motor_coordinates.tsv``, Neurosynth rows where a paper is in both
sources, Talairach rows converted to MNI). Of 329 tables, 176 report a focus within 6 mm of the
left MI ROI (Jülich BA4a ∪ BA4p maximum-probability map, x ≤ −20 mm); among those 55 % also
report a left PMd focus (Jülich BA6 label, x < −16, z ≥ 44 mm; 2.1 foci when they do) and 56 %
a left SI focus (Jülich BA1/2/3a/3b label, z ≥ 40 mm; 2.2 foci), 31 % both (independence
predicts 31 %). The 48 stroke tables with an MI focus give 58 % and 67 %. The centres and SDs are
the mean and SD of those 205 PMd and 212 SI foci. ``benchmarks/peak_rule_study.py
--estimate-neighbours`` recomputes every number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from biomark.shift.contract import peak_sigma_mm
from biomark.shift.neighbours import NeighbourRegion
from biomark.simulate.design import NOISE_ELLIPSOID_MM, REGIONS
from biomark.studies import Dataset

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Days after stroke of simulated patients: chronic (> 90 d) in :func:`biomark.rules.time_group`.
CHRONIC_DAYS: Final = 200.0


@dataclass(frozen=True, slots=True)
class ExperimentDesign:
    """One simulated meta-analysis: reference (healthy) and shifted (chronic) experiments.

    ``n_subjects[e]`` and ``shifted[e]`` describe experiment ``e``; ``shift_mm`` is ventral.
    """

    n_subjects: tuple[int, ...]
    shifted: tuple[bool, ...]
    shift_mm: float = 0.0
    mi_centre_mm: tuple[float, float, float] = REGIONS["mi_ipsi"].centre_mm
    tau_cohort_mm: float = 2.0
    tau_experiment_mm: float = 2.0
    neighbours: tuple[NeighbourRegion, ...] = ()
    n_background: int | tuple[int, ...] = 0

    def __post_init__(self) -> None:
        if len(self.n_subjects) != len(self.shifted):
            raise ValueError("n_subjects and shifted need one entry per experiment")
        if min(self.n_subjects, default=1) < 1:
            raise ValueError("every experiment needs ≥ 1 subject")
        background = np.atleast_1d(self.n_background)
        if background.size not in (1, len(self.n_subjects)):
            raise ValueError("n_background needs one count, or one per experiment")
        if self.tau_cohort_mm < 0 or self.tau_experiment_mm < 0 or background.min() < 0:
            raise ValueError("spreads and n_background must be ≥ 0")


@dataclass(frozen=True)
class SimulatedExperiments:
    """Replicates of an :class:`ExperimentDesign`, stacked.

    Attributes
    ----------
    experiments
        One row per experiment: ``experiment_id, replicate, shifted, n, true_x, true_y, true_z``.
    foci
        One row per focus: ``experiment_id, x, y, z, origin`` (``MI``, a neighbour's name or
        ``background``); the MI focus comes first in each experiment.
    """

    experiments: pd.DataFrame
    foci: pd.DataFrame

    def dataset(self) -> Dataset:
        """The experiments as a prepared dataset (MNI, left lesions, time groups set).

        Healthy experiments are the reference; shifted ones are chronic patients, each its own
        study and cohort. What :func:`biomark.shift.peaks.roi_peaks` reads is set as
        :func:`biomark.rules.prepare` would have set it.
        """
        e = self.experiments
        shifted = e["shifted"].to_numpy(dtype=bool)
        ids = e["experiment_id"].astype(str)
        exps = pd.DataFrame(
            {
                "experiment_id": ids,
                "study_id": ids,
                "cohort_id": ids,
                "n": e["n"].to_numpy(dtype=np.int64),
                "space": "MNI",
                "group": np.where(shifted, "stroke", "healthy"),
                "days_post_stroke": np.where(shifted, CHRONIC_DAYS, np.nan),
                "lesion_side": _only(shifted, "left"),
                "lesion_location": _only(shifted, "subcortical"),
                "task": "active",
                "time_group": _only(shifted, "chronic"),
                "outcome": None,
            }
        )
        return Dataset(exps, self.foci[["experiment_id", "x", "y", "z"]].copy(), "simulated")


def _only(where: BoolArray, value: str) -> list[str | None]:
    """``value`` where ``where`` holds, else ``None`` (patients-only columns)."""
    return [value if w else None for w in where]


def _true_peaks(design: ExperimentDesign, rng: np.random.Generator, n_rep: int) -> FloatArray:
    n_exp = len(design.n_subjects)
    offset = np.zeros((n_exp, 3))
    offset[np.asarray(design.shifted, dtype=bool), 2] = -design.shift_mm
    spread = np.hypot(design.tau_cohort_mm, design.tau_experiment_mm)
    centre = np.asarray(design.mi_centre_mm, dtype=np.float64) + offset
    out: FloatArray = centre[None] + rng.normal(0.0, spread, size=(n_rep, n_exp, 3))
    return out


def _neighbour_foci(
    region: NeighbourRegion, n_total: int, rng: np.random.Generator
) -> tuple[NDArray[np.int64], FloatArray]:
    """Foci per experiment (``(n_total,)``) and their coordinates, experiment-major."""
    reports = rng.random(n_total) < region.rate
    counts = np.where(reports, 1 + rng.poisson(region.extra_foci, n_total), 0).astype(np.int64)
    xyz = np.asarray(region.centre_mm) + rng.normal(0.0, 1.0, (int(counts.sum()), 3)) * np.asarray(
        region.sd_mm
    )
    return counts, xyz


def _background(n: int, rng: np.random.Generator) -> FloatArray:
    """``n`` points uniform in the brain ellipsoid (rejection sampling from its box)."""
    centre, radii = (np.asarray(v, dtype=np.float64) for v in NOISE_ELLIPSOID_MM)
    out: list[FloatArray] = []
    have = 0
    while have < n:
        u = rng.uniform(-1.0, 1.0, (2 * (n - have) + 8, 3))
        u = u[(u**2).sum(axis=1) <= 1.0][: n - have]
        out.append(centre + radii * u)
        have += len(u)
    return np.concatenate(out) if out else np.zeros((0, 3))


def simulate_experiments(
    design: ExperimentDesign, rng: np.random.Generator, n_replicates: int = 1
) -> SimulatedExperiments:
    """``n_replicates`` independent meta-analyses of ``design``, every focus of every experiment.

    Experiment ids are ``r{replicate}-e{experiment}``; all randomness comes from ``rng``.
    """
    n_exp = len(design.n_subjects)
    n_total = n_replicates * n_exp
    n_subjects = np.tile(np.asarray(design.n_subjects, dtype=np.int64), n_replicates)
    true = _true_peaks(design, rng, n_replicates).reshape(n_total, 3)
    sigma = peak_sigma_mm(n_subjects)
    mi = true + rng.normal(0.0, 1.0, (n_total, 3)) * sigma[:, None]
    parts = [(np.ones(n_total, np.int64), mi, "MI")]
    for region in design.neighbours:
        counts, xyz = _neighbour_foci(region, n_total, rng)
        parts.append((counts, xyz, region.name))
    per_experiment = np.broadcast_to(np.asarray(design.n_background, dtype=np.int64), (n_exp,))
    background = np.tile(per_experiment, n_replicates)
    parts.append((background, _background(int(background.sum()), rng), "background"))
    ids = np.array([f"r{r}-e{e}" for r in range(n_replicates) for e in range(n_exp)])
    foci = _foci_table(ids, parts)
    experiments = pd.DataFrame(
        {
            "experiment_id": ids,
            "replicate": np.repeat(np.arange(n_replicates), n_exp),
            "shifted": np.tile(np.asarray(design.shifted, dtype=bool), n_replicates),
            "n": n_subjects,
            "true_x": true[:, 0],
            "true_y": true[:, 1],
            "true_z": true[:, 2],
        }
    )
    return SimulatedExperiments(experiments, foci)


def _foci_table(
    ids: NDArray[np.str_], parts: Sequence[tuple[NDArray[np.int64], FloatArray, str]]
) -> pd.DataFrame:
    """Stack each source's foci and sort them by experiment (MI first), rounded to whole mm."""
    owner = np.concatenate([np.repeat(np.arange(len(ids)), c) for c, _, _ in parts])
    xyz = np.rint(np.concatenate([x for _, x, _ in parts])) + 0.0  # + 0.0: no -0.0
    origin = np.concatenate([np.full(int(c.sum()), name) for c, _, name in parts])
    order = np.argsort(owner, kind="stable")
    return pd.DataFrame(
        {
            "experiment_id": ids[owner[order]],
            "x": xyz[order, 0],
            "y": xyz[order, 1],
            "z": xyz[order, 2],
            "origin": origin[order],
        }
    )
