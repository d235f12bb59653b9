"""Seeded generator of the simulated, seed-paper-calibrated stroke meta-analysis dataset.

:func:`simulate_stroke_dataset` turns :data:`biomark.simulate.design.DEFAULT_DESIGN` (a fixed table
of experiments calibrated to the counts of the 2014 ALE study, SCIENCE.md §1) into foci and a
ground-truth record. The data are **simulated**: no coordinate comes from the paper.

Generative model, per experiment (all in ipsilesional MNI mm, left = lesioned hemisphere):

1. Each cohort at each time point has a true ipsilesional-MI peak
   ``mi_ipsi + (0, 0, -s) + u`` and a true medial-PMC peak ``sma_ipsi + (0, -c, 0) + v``, with
   ``s``/``c`` the planted mean ventral/caudal shifts (0 for controls) and ``u, v ~ N(0, sd² I)``
   the between-study spread (``sd`` larger for poor-outcome cohorts in MI). Experiments of one
   cohort share these true peaks.
2. The reported MI and medial-PMC foci are the true peaks plus Gaussian noise with the Eickhoff
   et al. (2009) spatial uncertainty for the experiment's N, per axis
   ``sqrt(U_t² + U_s²/N) / sqrt(8 ln 2)``.
3. The remaining foci go to regions drawn with weights from the experiment's profile (group,
   time, outcome, task; :data:`biomark.simulate.design.PROFILE_WEIGHTS`), jittered by the
   between-study and Eickhoff spread, or are noise uniform in a brain-filling ellipsoid.
4. Coordinates are rounded to whole mm, mirrored (x → −x) for right-lesion experiments (so that
   :func:`biomark.rules.flip_right_lesions` restores ipsilesional space) and, for experiments
   reported in Talairach space, converted with the inverse of the default Lancaster transform and
   rounded again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from biomark.rules import time_group
from biomark.scales import OUTCOME_SCALES
from biomark.simulate.design import (
    DEFAULT_DESIGN,
    SCORE_RANGES,
    ExperimentSpec,
    SimulationDesign,
)
from biomark.simulate.truth import ground_truth
from biomark.space import DEFAULT_TAL_TRANSFORM, mni_to_tal
from biomark.studies import Dataset, make_dataset

#: The first seed from 20140301 (the paper's month) whose reported MI and medial-PMC foci realise
#: every planted group displacement within 1 mm (:func:`~biomark.simulate.truth.
#: displacement_gaps_mm`): a draw chosen on the truth alone, never on an analysis's result.
DEFAULT_SEED: Final = 20140382
REPRESENTATIVE_GAP_MM: Final = 1.0

# Eickhoff et al. 2009: template and subject uncertainty (FWHM, mm) behind the ALE kernel.
_FWHM_PER_SD: Final = math.sqrt(8.0 * math.log(2.0))
_U_T_FWHM: Final = 5.7 / (2.0 * math.sqrt(2.0 / math.pi)) * _FWHM_PER_SD
_U_S_FWHM: Final = 11.6 / (2.0 * math.sqrt(2.0 / math.pi)) * _FWHM_PER_SD


def eickhoff_peak_sd_mm(n_subjects: int) -> float:
    """Per-axis SD (mm) of a reported peak around the true one for a study of ``n_subjects``.

    The Gaussian of the ALE kernel (Eickhoff et al. 2009): FWHM = sqrt(U_t² + U_s²/N) with
    U_t = 8.41 mm and U_s = 17.12 mm, converted to an SD.
    """
    if n_subjects <= 0:
        raise ValueError(f"n_subjects must be positive, got {n_subjects}")
    return math.sqrt(_U_T_FWHM**2 + _U_S_FWHM**2 / n_subjects) / _FWHM_PER_SD


def simulate_stroke_dataset(
    rng: np.random.Generator, design: SimulationDesign = DEFAULT_DESIGN
) -> tuple[Dataset, dict[str, Any]]:
    """Generate the simulated stroke dataset and its ground truth.

    Parameters
    ----------
    rng
        The only source of randomness; the same seed gives byte-identical tables.
    design
        Experiments, regions and planted effects (default: the seed-calibrated design).

    Returns
    -------
    dataset : Dataset
        Experiments and foci as a user would supply them: MNI or Talairach mm, right-lesion
        experiments *not* flipped. Name ``"simulated-stroke"``; ``meta["simulated"]`` is true.
    truth : dict
        JSON-able ground truth: regions, planted shifts and their expected selection means, the
        outcome association, per-experiment true and reported peaks (ipsilesional MNI mm), the
        regions each focus was drawn from, MI/medial-PMC misses, and the family counts.
    """
    _check_design(design)
    peaks = _true_peaks(rng, design)
    exp_rows: list[dict[str, Any]] = []
    foci_rows: list[dict[str, Any]] = []
    records: dict[str, dict[str, Any]] = {}
    for spec in design.experiments:
        exp_id = f"{spec.study_id} {spec.role}"
        xyz_ipsi, origins, record = _experiment_foci(rng, spec, design, peaks)
        reported = _to_reported_space(xyz_ipsi, spec)
        score = _draw_score(rng, spec)
        exp_rows.append(_experiment_row(exp_id, spec, score))
        foci_rows.extend(
            {"experiment_id": exp_id, "x": x, "y": y, "z": z} for x, y, z in reported.tolist()
        )
        record.update(
            key=spec.key,
            regions=origins,
            outcome_score=score,
            intended_outcome=spec.intended_outcome,
            cohort_id=spec.cohort_id,
            flipped=spec.lesion_side == "right",
            space_reported=spec.space,
        )
        records[exp_id] = record
    meta = {"simulated": True, "design": design.name}
    dataset = make_dataset(
        exp_rows, foci_rows, name="simulated-stroke", source="biomark.simulate", meta=meta
    )
    seed = getattr(getattr(rng.bit_generator, "seed_seq", None), "entropy", None)
    return dataset, ground_truth(design, dataset, records, seed)


def _check_design(design: SimulationDesign) -> None:
    for spec in design.experiments:
        if spec.n_foci < int(not spec.mi_miss) + int(not spec.pmc_miss):
            raise ValueError(f"experiment {spec.key}: too few foci for its core regions")
        if spec.outcome_scale is not None and spec.intended_outcome not in ("good", "poor"):
            raise ValueError(f"experiment {spec.key}: a scale needs intended_outcome good/poor")
    for row in design.profile_weights.values():
        unknown = set(row) - set(design.regions)
        if unknown:
            raise ValueError(f"profile weights name unknown regions {sorted(unknown)}")


def _time(spec: ExperimentSpec) -> str | None:
    return time_group(spec.days) if spec.group == "stroke" else None


def _cohort_outcomes(design: SimulationDesign) -> dict[tuple[str, str | None], str]:
    """The outcome label of each (cohort, time point), from whichever member carries it."""
    out: dict[tuple[str, str | None], str] = {}
    for spec in design.experiments:
        if spec.intended_outcome is not None:
            out[(spec.cohort_id, _time(spec))] = spec.intended_outcome
    return out


def _planted_shifts(
    spec: ExperimentSpec, design: SimulationDesign, outcome: str | None
) -> tuple[float, float]:
    """Planted mean (ventral MI, caudal medial-PMC) displacement in mm for an experiment."""
    tg = _time(spec)
    if spec.group != "stroke" or tg is None:
        return 0.0, 0.0
    loc = spec.lesion_location or "subcortical"
    table = design.mi_ventral_shift_mm
    if tg == "intermediate":
        mi = table["intermediate"]
    elif tg == "acute":
        mi = table[f"acute/{loc}"]
    else:
        mi = table[f"chronic/{loc}/{outcome or 'good'}"]
    return mi, design.pmc_caudal_shift_mm[tg]


def _true_peaks(rng: np.random.Generator, design: SimulationDesign) -> dict[str, Any]:
    """True MI and medial-PMC peaks per (cohort, time point), in design order."""
    outcomes = _cohort_outcomes(design)
    mi_c = np.asarray(design.regions["mi_ipsi"].centre_mm)
    pmc_c = np.asarray(design.regions["sma_ipsi"].centre_mm)
    peaks: dict[tuple[str, str | None], dict[str, Any]] = {}
    for spec in design.experiments:
        key = (spec.cohort_id, _time(spec))
        if key in peaks:
            continue
        outcome = outcomes.get(key) if key[1] == "chronic" else None
        s_mi, s_pmc = _planted_shifts(spec, design, outcome)
        sd_mi = design.cohort_sd_mm
        if outcome == "poor":
            sd_mi = math.hypot(sd_mi, design.poor_mi_extra_sd_mm)
        u = rng.normal(0.0, sd_mi, 3)
        v = rng.normal(0.0, design.cohort_sd_mm, 3)
        peaks[key] = {
            "mi": mi_c + np.array([0.0, 0.0, -s_mi]) + u,
            "pmc": pmc_c + np.array([0.0, -s_pmc, 0.0]) + v,
            "planted_mi_shift": s_mi,
            "planted_pmc_shift": s_pmc,
            "outcome": outcome,
        }
    return {"by_cohort_time": peaks, "mi_centre": mi_c, "pmc_centre": pmc_c}


def _profile(
    spec: ExperimentSpec, design: SimulationDesign, outcome: str | None
) -> dict[str, float]:
    """Region weights of an experiment: the sum of the profile rows it qualifies for."""
    rows: list[tuple[str, float]] = [("all", 1.0), (spec.group, 1.0)]
    tg = _time(spec)
    if tg in ("acute", "chronic"):
        rows.append((tg, 1.0))
    elif tg == "intermediate":
        rows += [("acute", 0.5), ("chronic", 0.5)]
    if tg == "chronic" and outcome is not None:
        rows.append((outcome, 1.0))
    if spec.task == "passive":
        rows.append(("passive", 1.0))
    weights: dict[str, float] = {}
    for row, factor in rows:
        for region, w in design.profile_weights.get(row, {}).items():
            weights[region] = weights.get(region, 0.0) + factor * w
    return weights


def _experiment_foci(
    rng: np.random.Generator,
    spec: ExperimentSpec,
    design: SimulationDesign,
    peaks: Mapping[str, Any],
) -> tuple[NDArray[np.float64], list[str], dict[str, Any]]:
    """Foci of one experiment in ipsilesional MNI mm (unrounded), their origins and truth."""
    key = (spec.cohort_id, _time(spec))
    true = peaks["by_cohort_time"][key]
    sd_n = eickhoff_peak_sd_mm(spec.n)
    points: list[NDArray[np.float64]] = []
    origins: list[str] = []
    for roi, miss in (("mi", spec.mi_miss), ("pmc", spec.pmc_miss)):
        if not miss:
            points.append(true[roi] + rng.normal(0.0, sd_n, 3))
            origins.append("mi_ipsi" if roi == "mi" else "sma_ipsi")
    n_rest = spec.n_foci - len(points)
    n_noise = round(design.noise_fraction * n_rest)
    weights = _profile(spec, design, true["outcome"])
    names = sorted(r for r, w in weights.items() if w > 0 and r not in origins)
    n_sig = min(n_rest - n_noise, len(names))
    n_noise = n_rest - n_sig
    p = np.array([weights[r] for r in names])
    chosen: list[int] = []
    if n_sig:
        chosen = rng.choice(len(names), size=n_sig, replace=False, p=p / p.sum()).tolist()
    sd_region = math.hypot(design.region_sd_mm, sd_n)
    for i in chosen:
        name = names[int(i)]
        centre = np.asarray(design.regions[name].centre_mm)
        points.append(centre + rng.normal(0.0, sd_region, 3))
        origins.append(name)
    for _ in range(n_noise):
        points.append(_uniform_in_ellipsoid(rng, design.noise_ellipsoid_mm))
        origins.append("noise")
    xyz = np.rint(np.vstack(points)) + 0.0  # + 0.0 turns -0.0 into 0.0
    record = _peak_record(true, xyz, origins, peaks)
    return xyz, origins, record


def _peak_record(
    true: Mapping[str, Any], xyz: NDArray[np.float64], origins: list[str], peaks: Mapping[str, Any]
) -> dict[str, Any]:
    mi_true, pmc_true = true["mi"], true["pmc"]
    rec: dict[str, Any] = {
        "mi_true_peak_mm": _r(mi_true),
        "mi_focus_mm": _r(xyz[origins.index("mi_ipsi")]) if "mi_ipsi" in origins else None,
        "mi_planted_ventral_shift_mm": round(true["planted_mi_shift"], 3),
        "mi_ventral_displacement_mm": round(float(peaks["mi_centre"][2] - mi_true[2]), 3),
        "pmc_true_peak_mm": _r(pmc_true),
        "pmc_focus_mm": _r(xyz[origins.index("sma_ipsi")]) if "sma_ipsi" in origins else None,
        "pmc_planted_caudal_shift_mm": round(true["planted_pmc_shift"], 3),
        "pmc_caudal_displacement_mm": round(float(peaks["pmc_centre"][1] - pmc_true[1]), 3),
    }
    return rec


def _r(xyz: NDArray[np.float64]) -> list[float]:
    return [round(float(v), 3) + 0.0 for v in xyz]


def _uniform_in_ellipsoid(
    rng: np.random.Generator,
    ellipsoid: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> NDArray[np.float64]:
    centre, radii = np.asarray(ellipsoid[0]), np.asarray(ellipsoid[1])
    while True:
        u = rng.uniform(-1.0, 1.0, 3)
        if float(u @ u) <= 1.0:
            return np.asarray(centre + radii * u, dtype=np.float64)


def _to_reported_space(xyz_ipsi: NDArray[np.float64], spec: ExperimentSpec) -> NDArray[np.float64]:
    """Mirror right-lesion experiments and convert Talairach ones, as their papers would report."""
    out = np.array(xyz_ipsi, dtype=np.float64, copy=True)
    if spec.lesion_side == "right":
        out[:, 0] *= -1.0
    if spec.space == "TAL":
        out = np.rint(mni_to_tal(out, DEFAULT_TAL_TRANSFORM))
    return out + 0.0


def _draw_score(rng: np.random.Generator, spec: ExperimentSpec) -> float | None:
    if spec.outcome_scale is None or spec.intended_outcome is None:
        return None
    lo, hi = SCORE_RANGES[spec.outcome_scale][spec.intended_outcome]
    step = 5 if spec.outcome_scale == "BI" else 1
    score = float(rng.integers(lo // step, hi // step + 1) * step)
    scale = OUTCOME_SCALES[spec.outcome_scale]
    if scale.is_good(score) != (spec.intended_outcome == "good"):
        raise ValueError(f"score range for {spec.outcome_scale} crosses its cut-off")
    return score


def _experiment_row(exp_id: str, spec: ExperimentSpec, score: float | None) -> dict[str, Any]:
    what = spec.role.replace("-", " ")
    return {
        "experiment_id": exp_id,
        "study_id": spec.study_id,
        "cohort_id": spec.cohort_id,
        "n": spec.n,
        "space": spec.space,
        "group": spec.group,
        "days_post_stroke": spec.days if spec.group == "stroke" else None,
        "lesion_side": spec.lesion_side,
        "lesion_location": spec.lesion_location,
        "task": spec.task,
        "outcome_scale": spec.outcome_scale,
        "outcome_score": score,
        "modality": spec.modality,
        "whole_brain": True,
        "label": f"SIMULATED {spec.study_id}: {what} (cohort {spec.cohort_id})",
    }
