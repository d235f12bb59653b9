"""The ``peaks`` table the shift analyses read, its validation and shared vocabulary.

``peaks`` has one row per experiment with at least one focus in the region of interest (ROI):

==================  =========  ================================================================
column              kind       meaning
==================  =========  ================================================================
experiment_id       str        unique key
study_id            str        publication
cohort_id           str        the patients measured; shared by duplicate reports of them
group               str        ``healthy`` / ``acute`` / ``chronic`` / ``intermediate``
subcortical         bool       purely subcortical lesion (ignored for healthy experiments)
n                   int > 0    subjects
x, y, z             float      the experiment's representative ROI peak, mm, after the left flip
n_maxima            int ≥ 1    foci of the experiment inside the ROI
cluster_size_mm3    float      nuisance covariate of the ANCOVA, may be NA
outcome             str        ``good`` / ``poor`` / NA (stroke experiments only)
==================  =========  ================================================================

Directions, with the lesion on the left (x < 0): −z ventral, +z dorsal, −y caudal, +y rostral,
−x lateral, +x medial.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from biomark.errors import InputError

AXES: Final = ("x", "y", "z")
GROUPS: Final = ("healthy", "acute", "chronic", "intermediate")
STROKE_GROUPS: Final = ("acute", "chronic", "intermediate")
CONTRASTS: Final = ("acute", "chronic", "subcortical")
OUTCOMES: Final = ("good", "poor")
REQUIRED_COLUMNS: Final = (
    "experiment_id",
    "study_id",
    "cohort_id",
    "group",
    "subcortical",
    "n",
    "x",
    "y",
    "z",
    "n_maxima",
    "cluster_size_mm3",
    "outcome",
)
# (negative, positive) direction names per axis for a left-hemisphere ROI.
DIRECTIONS: Final = {
    "x": ("lateral", "medial"),
    "y": ("caudal", "rostral"),
    "z": ("ventral", "dorsal"),
}
# Said wherever the outcome association or a prediction from it is shown.
BETWEEN_GROUPS_NOTE: Final = (
    "The association was learned between study groups (chronic experiments' group peaks); a "
    "prediction for one patient extrapolates from it."
)
# Convergence limits a fit must meet to be reported without a caveat (Vehtari et al. 2021).
RHAT_MAX: Final = 1.01
ESS_MIN: Final = 400
# The ``curve`` label of the outcome curve on the model's own (latent, error-free) axis.
LATENT_CURVE: Final = "latent displacement"
# Eickhoff 2009: between-subject (11.6 mm) and between-template (5.7 mm) mean Euclidean
# distances; a 3-D isotropic Gaussian with per-axis SD σ has mean distance 2σ√(2/π).
_CHI3_MEAN_PER_SIGMA: Final = 2.0 * math.sqrt(2.0 / math.pi)
SUBJECT_SIGMA_MM: Final = 11.6 / _CHI3_MEAN_PER_SIGMA
TEMPLATE_SIGMA_MM: Final = 5.7 / _CHI3_MEAN_PER_SIGMA

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def peak_sigma_mm(n_subjects: NDArray[np.float64] | NDArray[np.int64]) -> FloatArray:
    """Per-axis SD (mm) of a reported peak: the ALE kernel's σ for ``n_subjects``.

    σ = FWHM / √(8 ln 2) with FWHM = √(U_t² + U_s²) (Eickhoff 2009), i.e.
    σ² = σ_template² + σ_subject² / N.

    Parameters
    ----------
    n_subjects
        Subjects per experiment, shape ``(n_experiments,)``.

    Returns
    -------
    numpy.ndarray
        σ in mm, shape ``(n_experiments,)`` (e.g. 4.25 mm for N = 10).
    """
    n = np.asarray(n_subjects, dtype=np.float64)
    return np.sqrt(TEMPLATE_SIGMA_MM**2 + SUBJECT_SIGMA_MM**2 / n)


def direction_name(axis: str, shift_mm: float) -> str:
    """Name the direction of a signed shift along ``axis`` (``"none"`` for exactly zero or NaN)."""
    if not np.isfinite(shift_mm) or shift_mm == 0:
        return "none"
    negative, positive = DIRECTIONS[axis]
    return negative if shift_mm < 0 else positive


def validate_peaks(peaks: pd.DataFrame, *, source: str = "peaks") -> pd.DataFrame:
    """Check the ``peaks`` table and return a normalised copy (plain numpy dtypes).

    Raises
    ------
    InputError
        Missing columns, duplicate experiment ids, unknown groups or outcomes, non-positive ``n``,
        NaN/infinite coordinates, or an outcome given for a healthy experiment.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in peaks.columns]
    if missing:
        raise InputError(
            f"missing columns {missing}; expected {list(REQUIRED_COLUMNS)}", source=source
        )
    if peaks.empty:
        raise InputError("no experiment has a peak in the ROI", source=source)
    out = pd.DataFrame(index=pd.RangeIndex(len(peaks)))
    for col in ("experiment_id", "study_id", "cohort_id", "group"):
        values = peaks[col].astype("object").to_numpy()
        if pd.isna(values).any():
            bad = peaks["experiment_id"].astype("object").to_numpy()[pd.isna(values)][0]
            raise InputError(f"{col} is missing", source=source, record=str(bad))
        out[col] = [str(v) for v in values]
    ids = out["experiment_id"]
    if ids.duplicated().any():
        raise InputError(
            f"duplicate experiment_id {ids[ids.duplicated()].iloc[0]!r}", source=source
        )
    _check_values(out, "group", GROUPS, source)
    for col in ("n", "x", "y", "z", "n_maxima", "cluster_size_mm3"):
        out[col] = pd.to_numeric(peaks[col]).to_numpy(dtype=np.float64, na_value=np.nan)
    for col in ("x", "y", "z", "n"):
        bad_rows = ~np.isfinite(out[col].to_numpy())
        if bad_rows.any():
            raise InputError(
                f"{col} is NaN or infinite; every peak needs finite x, y, z and n",
                source=source,
                record=ids[bad_rows].iloc[0],
            )
    if (out["n"] <= 0).any():
        raise InputError("n must be > 0", source=source, record=ids[out["n"] <= 0].iloc[0])
    sub = peaks["subcortical"].astype("object").to_numpy()
    out["subcortical"] = [bool(v) if not pd.isna(v) else False for v in sub]
    outcome = peaks["outcome"].astype("object").to_numpy()
    out["outcome"] = [None if pd.isna(v) else str(v) for v in outcome]
    _check_values(out, "outcome", (*OUTCOMES, None), source)
    healthy_outcome = (out["group"] == "healthy") & out["outcome"].notna()
    if healthy_outcome.any():
        raise InputError(
            "healthy experiments cannot have an outcome",
            source=source,
            record=ids[healthy_outcome].iloc[0],
        )
    return out


def _check_values(table: pd.DataFrame, col: str, allowed: tuple[object, ...], source: str) -> None:
    bad = ~table[col].isin(allowed)
    if bad.any():
        raise InputError(
            f"{col} {table[col][bad].iloc[0]!r} is not one of {[a for a in allowed if a]}",
            source=source,
            record=table["experiment_id"][bad].iloc[0],
        )


def contrast_masks(peaks: pd.DataFrame) -> dict[str, BoolArray]:
    """Boolean experiment masks of the reference (``healthy``) and each contrast's experiments.

    ``subcortical`` is every stroke experiment flagged subcortical, whatever its time group (as in
    the seed paper's subcortical sub-analysis); ``acute``/``chronic`` include both lesion types.
    """
    group = peaks["group"].to_numpy()
    stroke = group != "healthy"
    return {
        "healthy": group == "healthy",
        "acute": group == "acute",
        "chronic": group == "chronic",
        "subcortical": stroke & peaks["subcortical"].to_numpy(dtype=bool),
    }


def supported_contrasts(
    counted_once: pd.DataFrame, roi: str
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The contrasts vs healthy these peaks support, and each one left out with its reason.

    ``counted_once`` is the ``peaks`` table with each cohort counted once. A contrast needs ≥ 2
    experiments with a peak in the ROI after each cohort is counted once
    (the t-tests' rule, so both methods compare the same contrasts).

    Raises
    ------
    InputError
        Fewer than 2 healthy experiments, or no contrast left.
    """
    masks = contrast_masks(counted_once)
    if masks["healthy"].sum() < 2:
        raise InputError(f"need ≥ 2 healthy experiments with a peak in the {roi} ROI, got "
                         f"{int(masks['healthy'].sum())}", record=roi)  # fmt: skip
    keep, skipped = [], []
    for name in CONTRASTS:
        n = int(masks[name].sum())
        if n >= 2:
            keep.append(name)
        else:
            why = (f"{n} {name} experiment(s) with a peak in the {roi} ROI (each cohort "
                   "counted once); the comparison needs ≥ 2")  # fmt: skip
            skipped.append((name, why))
    if not keep:
        raise InputError(f"no patient group has ≥ 2 experiments with a peak in the {roi} ROI",
                         record=roi)  # fmt: skip
    return tuple(keep), tuple(skipped)


def xyz_mm(peaks: pd.DataFrame) -> FloatArray:
    """The peaks as an ``(n_experiments, 3)`` float array in mm."""
    xyz: FloatArray = peaks[list(AXES)].to_numpy(dtype=np.float64)
    return xyz
