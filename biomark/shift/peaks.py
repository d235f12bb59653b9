"""Per-experiment activation maxima inside a region of interest (ROI).

The ROI is a boolean mask on a grid (built from an atlas by :mod:`biomark.io.atlases` or as a
sphere). For each experiment, the foci whose voxel lies in the ROI are its ROI maxima; their
centroid is the experiment's representative peak, and their number is ``n_maxima``. Experiments
without a focus in the ROI are returned separately, never silently dropped.

A thin ROI (Jülich BA4 is a 4–6 mm ribbon in the anterior bank of the central sulcus) is
narrower than the uncertainty of a reported peak (Eickhoff et al. 2009: about 4 mm per axis for
N = 10), so strict membership loses peaks unevenly — the ventrally displaced ones leave the
ribbon first — and biases group means towards the ROI's centre. ``tolerance_mm`` admits foci up
to that distance from the ROI: an experiment's representative peak is then the centroid of its
foci nearest to the ROI (all foci inside it, if any; else the nearest ones within tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import ndimage

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


def distance_to_mask_mm(
    xyz_mm: NDArray[np.float64], mask: NDArray[np.bool_], grid: Grid = MNI152_2MM
) -> NDArray[np.float64]:
    """Euclidean distance (mm, between voxel centres) from each focus to the nearest mask voxel.

    0 inside the mask; ``inf`` for foci off the grid or when the mask is empty.
    """
    out = np.full(len(xyz_mm), np.inf)
    if not mask.any():
        return out
    spacing = grid.voxel_size_mm
    dist = ndimage.distance_transform_edt(~mask, sampling=spacing)
    ijk = mm_to_ijk(xyz_mm, grid)
    inside = in_grid(ijk, grid)
    idx = ijk[inside]
    out[inside] = dist[idx[:, 0], idx[:, 1], idx[:, 2]]
    return out


def _nearest_foci(foci: pd.DataFrame, dist_mm: NDArray[np.float64], tol_mm: float) -> pd.DataFrame:
    """Per experiment, the foci at its smallest distance to the ROI (if within tolerance)."""
    cand = foci.loc[dist_mm <= tol_mm + 1e-9, ["experiment_id", "x", "y", "z"]]
    d = pd.Series(dist_mm[dist_mm <= tol_mm + 1e-9], index=cand.index)
    best = d.groupby(cand["experiment_id"], sort=False).transform("min")
    return cand[np.isclose(d, best)].reset_index(drop=True)


def shift_group(row: pd.Series) -> str | None:
    """The peak-shift group of an experiment: ``healthy`` or its time group, else ``None``."""
    if row.get("group") == "healthy":
        return "healthy"
    tg = row.get("time_group")
    return None if tg is None or pd.isna(tg) else str(tg)


def roi_peaks(
    dataset: Dataset,
    mask: NDArray[np.bool_],
    roi: str,
    grid: Grid = MNI152_2MM,
    *,
    tolerance_mm: float = 0.0,
) -> RoiPeaks:
    """ROI maxima per experiment of a prepared (MNI, flipped) dataset.

    ``tolerance_mm`` > 0 admits foci within that distance of the ROI (see the module notes);
    ``maxima`` then lists the foci that make up each representative peak.
    """
    if tolerance_mm < 0:
        raise ValueError(f"tolerance_mm must be >= 0, got {tolerance_mm}")
    foci = dataset.foci
    xyz = foci[["x", "y", "z"]].to_numpy(dtype=np.float64)
    if tolerance_mm == 0:
        inside = foci_in_mask(xyz, mask, grid)
        maxima = foci.loc[inside, ["experiment_id", "x", "y", "z"]].reset_index(drop=True)
    else:
        maxima = _nearest_foci(foci, distance_to_mask_mm(xyz, mask, grid), tolerance_mm)
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
