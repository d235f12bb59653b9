"""Per-experiment activation maxima inside a region of interest (ROI).

The ROI is a boolean mask on a grid (built from an atlas by :mod:`biomark.io.atlases` or as a
sphere). For each experiment, the foci whose voxel lies in the ROI are its ROI maxima; their
centroid is the experiment's representative peak, and their number is ``n_maxima``. Experiments
without a focus in the ROI are returned separately, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from biomark.space import MNI152_2MM, Grid, in_grid, mm_to_ijk
from biomark.studies import Dataset


@dataclass(frozen=True, slots=True)
class RoiPeaks:
    """ROI maxima of a dataset.

    Attributes
    ----------
    roi
        ROI name, e.g. ``"mi"``.
    peaks
        One row per experiment with ≥ 1 focus in the ROI: ``experiment_id, study_id, cohort_id,
        group, subcortical, n, x, y, z, n_maxima, cluster_size_mm3, outcome, days_post_stroke``
        (``x, y, z`` = centroid of its ROI foci in mm; the table :mod:`biomark.shift.contract`
        validates).
    maxima
        Every focus inside the ROI: ``experiment_id, x, y, z``.
    missing
        Experiments with no focus in the ROI: ``experiment_id, group, n, n_foci``.
    """

    roi: str
    peaks: pd.DataFrame
    maxima: pd.DataFrame
    missing: pd.DataFrame


def foci_in_mask(
    xyz_mm: NDArray[np.float64], mask: NDArray[np.bool_], grid: Grid = MNI152_2MM
) -> NDArray[np.bool_]:
    """Whether each focus, shape ``(n, 3)`` in mm, falls in a voxel of the 3-D ``mask``."""
    ijk = mm_to_ijk(xyz_mm, grid)
    inside = in_grid(ijk, grid)
    out = np.zeros(len(ijk), dtype=bool)
    idx = ijk[inside]
    out[inside] = mask[idx[:, 0], idx[:, 1], idx[:, 2]]
    return out


def shift_group(row: pd.Series) -> str | None:
    """The peak-shift group of an experiment: ``healthy`` or its time group, else ``None``."""
    if row.get("group") == "healthy":
        return "healthy"
    tg = row.get("time_group")
    return None if tg is None or pd.isna(tg) else str(tg)


def roi_peaks(
    dataset: Dataset, mask: NDArray[np.bool_], roi: str, grid: Grid = MNI152_2MM
) -> RoiPeaks:
    """ROI maxima per experiment of a prepared (MNI, flipped) dataset."""
    foci = dataset.foci
    xyz = foci[["x", "y", "z"]].to_numpy(dtype=np.float64)
    inside = foci_in_mask(xyz, mask, grid)
    maxima = foci.loc[inside, ["experiment_id", "x", "y", "z"]].reset_index(drop=True)
    centroid = maxima.groupby("experiment_id", sort=False)[["x", "y", "z"]].mean()
    count = maxima.groupby("experiment_id", sort=False).size()
    n_foci = foci.groupby("experiment_id", sort=False).size()
    rows, missing = [], []
    for _, exp in dataset.experiments.iterrows():
        eid = exp["experiment_id"]
        group = shift_group(exp)
        if eid not in centroid.index:
            missing.append(
                {
                    "experiment_id": eid,
                    "group": group,
                    "n": int(exp["n"]),
                    "n_foci": int(n_foci.get(eid, 0)),
                }
            )
            continue
        if group is None:
            continue
        c = centroid.loc[eid]
        rows.append(
            {
                "experiment_id": eid,
                "study_id": exp["study_id"],
                "cohort_id": exp["cohort_id"],
                "group": group,
                "subcortical": exp.get("lesion_location") == "subcortical",
                "n": int(exp["n"]),
                "x": float(c["x"]),
                "y": float(c["y"]),
                "z": float(c["z"]),
                "n_maxima": int(count.loc[eid]),
                "cluster_size_mm3": np.nan,
                "outcome": exp.get("outcome") if not pd.isna(exp.get("outcome")) else None,
                "days_post_stroke": exp.get("days_post_stroke"),
            }
        )
    peaks = pd.DataFrame(rows)
    if not peaks.empty:
        peaks["subcortical"] = peaks["subcortical"].fillna(False).astype(bool)
    return RoiPeaks(
        roi, peaks, maxima, pd.DataFrame(missing, columns=["experiment_id", "group", "n", "n_foci"])
    )
