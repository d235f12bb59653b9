"""Per-experiment activation maxima inside a region of interest (ROI).

The ROI is a boolean mask on a grid (built from an atlas by :mod:`biomark.io.atlases` or as a
sphere). An experiment's *candidates* are its foci in the ROI or, with ``tolerance_mm`` > 0,
within that distance of it; experiments without one are returned separately, never silently
dropped. ``n_maxima`` counts its foci inside the ROI (when none is inside, its nearest within
tolerance).

A thin ROI (Jülich BA4 is a 4–6 mm ribbon in the anterior bank of the central sulcus) is
narrower than the uncertainty of a reported peak (Eickhoff et al. 2009: about 4 mm per axis for
N = 10), so strict membership loses peaks unevenly — the ventrally displaced ones leave the
ribbon first — and biases group means towards the ROI's centre; the tolerance admits them.

The representative peak under the default ``rule="nearest-centroid"`` is the centroid of the
candidates inside the ROI, else of the nearest ones; a neighbouring area's focus in or near the
ROI (dorsal premotor, somatosensory) then moves the peak towards it. ``rule="likeliest"`` takes
the single candidate most likely to report a peak of the ROI: the one with the largest share of
its own uncertainty blob, N(focus, σ(N)²) per axis, inside the ROI (:func:`roi_likelihood`).
Both rules were compared on whole simulated experiments with premotor and
somatosensory foci at the rates of real motor tables (:mod:`biomark.power.peak_rule`): the
likeliest focus is slightly less biased, but neither removes the neighbours' pull — a planted
6 mm ventral MI shift is recovered as about 3.6 mm at the real tables' neighbour rates (5.6 mm
with the MI focus alone). Any rule that picks one focus per experiment from its position alone
shares this limit: a neighbour's focus that lands in the ribbon looks like an MI focus. The
default stays the centroid: a 1–3 % gain does not justify moving every published number. The
mixture over each experiment's candidates inside the model (:mod:`biomark.shift.candidates`)
was measured too and is not yet good enough to replace it (README, peak-rule section).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import ndimage

from biomark.shift.contract import peak_sigma_mm
from biomark.space import MNI152_2MM, Grid, in_grid, mm_to_ijk
from biomark.studies import Dataset

PeakRule = Literal["likeliest", "nearest-centroid"]
PEAK_RULES: Final[tuple[PeakRule, ...]] = ("likeliest", "nearest-centroid")


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


def roi_likelihood(
    xyz_mm: NDArray[np.float64],
    sigma_mm: NDArray[np.float64],
    mask: NDArray[np.bool_],
    grid: Grid = MNI152_2MM,
) -> NDArray[np.float64]:
    """How likely each focus is to report a peak of the ROI: the mask blurred by its σ, at it.

    A reported peak is the true one plus N(0, σ²) per axis (Eickhoff et al. 2009), so a focus at
    ``x`` comes from a true peak uniform over the ROI with density ∝ (mask ⊛ N(0, σ²))(x): the
    fraction of the focus's own uncertainty blob that lies in the ROI, in [0, 1].

    Parameters
    ----------
    xyz_mm
        Foci, ``(n, 3)`` mm.
    sigma_mm
        Per-axis SD (mm) of each focus, ``(n,)``.
    mask
        The ROI on ``grid``.

    Returns
    -------
    numpy.ndarray
        ``(n,)``, trilinear between voxel centres; 0 off the grid or far from the ROI.
    """
    out = np.zeros(len(xyz_mm))
    if not mask.any() or not len(xyz_mm):
        return out
    inv = np.linalg.inv(grid.affine_array)
    ijk = np.atleast_2d(xyz_mm) @ inv[:3, :3].T + inv[:3, 3]
    spacing = grid.voxel_size_mm
    for sigma in np.unique(sigma_mm):
        sel = sigma_mm == sigma
        # the blur of a box is the blur of the mask cropped around it, padded by 4 σ (the
        # Gaussian's truncation): the whole grid would cost ~100 times more per distinct N
        pad = np.ceil(4.0 * sigma / spacing).astype(int) + 1
        lo = np.maximum(np.argwhere(mask).min(axis=0) - pad, 0)
        hi = np.minimum(np.argwhere(mask).max(axis=0) + pad + 1, grid.shape)
        box = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].astype(np.float64)
        blurred = ndimage.gaussian_filter(box, sigma / spacing, mode="constant", truncate=4.0)
        out[sel] = ndimage.map_coordinates(
            blurred, (ijk[sel] - lo).T, order=1, mode="constant", cval=0.0
        )
    return out


def _likeliest_foci(
    foci: pd.DataFrame, dist_mm: NDArray[np.float64], tol_mm: float, score: NDArray[np.float64]
) -> pd.DataFrame:
    """Per experiment, its candidate focus (within tolerance) of highest ROI likelihood.

    Exact ties (the same coordinate reported twice, or symmetric positions) keep all tied foci,
    whose centroid is then the peak.
    """
    ok = dist_mm <= tol_mm + 1e-9
    cand = foci.loc[ok, ["experiment_id", "x", "y", "z"]]
    s = pd.Series(score[ok], index=cand.index)
    best = s.groupby(cand["experiment_id"], sort=False).transform("max")
    return cand[np.isclose(s, best, rtol=1e-12, atol=0.0)].reset_index(drop=True)


def shift_group(row: Mapping[str, Any]) -> str | None:
    """The peak-shift group of an experiment: ``healthy`` or its time group, else ``None``."""
    if row.get("group") == "healthy":
        return "healthy"
    tg = row.get("time_group")
    return None if tg is None or pd.isna(tg) else str(tg)


def peak_row(
    exp: Mapping[str, Any], xyz_mm: NDArray[np.float64], n_maxima: int
) -> dict[str, object]:
    """One ``peaks`` row: experiment ``exp`` (a prepared dataset's row) with its peak at ``xyz``."""
    outcome, days = exp.get("outcome"), exp.get("days_post_stroke")
    return {
        "experiment_id": exp["experiment_id"],
        "study_id": exp["study_id"],
        "cohort_id": exp["cohort_id"],
        "group": shift_group(exp),
        "subcortical": exp.get("lesion_location") == "subcortical",
        "n": int(exp["n"]),
        "x": float(xyz_mm[0]),
        "y": float(xyz_mm[1]),
        "z": float(xyz_mm[2]),
        "n_maxima": n_maxima,
        "cluster_size_mm3": np.nan,
        "outcome": None if pd.isna(outcome) else outcome,
        # a records dict carries a missing value as None, a row as pd.NA: one column either way
        "days_post_stroke": pd.NA if days is None else days,
    }


def roi_peaks(
    dataset: Dataset,
    mask: NDArray[np.bool_],
    roi: str,
    grid: Grid = MNI152_2MM,
    *,
    tolerance_mm: float = 0.0,
    rule: PeakRule = "nearest-centroid",
) -> RoiPeaks:
    """ROI maxima per experiment of a prepared (MNI, flipped) dataset.

    ``tolerance_mm`` > 0 admits foci within that distance of the ROI as candidates. ``rule``
    picks the representative peak among them (see the module notes): ``"nearest-centroid"``
    (default) the centroid of the foci inside the ROI, else of the nearest within tolerance;
    ``"likeliest"`` the single candidate of highest :func:`roi_likelihood`. ``maxima`` and
    ``n_maxima`` are the same under both rules: the foci inside the ROI, or when none is, the
    nearest within tolerance.
    """
    if tolerance_mm < 0:
        raise ValueError(f"tolerance_mm must be >= 0, got {tolerance_mm}")
    if rule not in PEAK_RULES:
        raise ValueError(f"rule must be one of {PEAK_RULES}, got {rule!r}")
    foci = dataset.foci
    xyz = foci[["x", "y", "z"]].to_numpy(dtype=np.float64)
    if tolerance_mm == 0:
        dist = np.where(foci_in_mask(xyz, mask, grid), 0.0, np.inf)
    else:
        dist = distance_to_mask_mm(xyz, mask, grid)
    maxima = _nearest_foci(foci, dist, tolerance_mm)
    if rule == "likeliest":
        n_of = dataset.experiments.set_index("experiment_id")["n"]
        n_focus = foci["experiment_id"].map(n_of).to_numpy(dtype=np.float64, na_value=np.nan)
        near = dist <= tolerance_mm + 1e-9
        score = np.zeros(len(foci))
        score[near] = roi_likelihood(xyz[near], peak_sigma_mm(n_focus[near]), mask, grid)
        chosen = _likeliest_foci(foci, dist, tolerance_mm, score)
    else:
        chosen = maxima
    grouped = chosen.groupby("experiment_id", sort=False)[["x", "y", "z"]].mean()
    # plain dicts: power studies call this on tens of thousands of simulated experiments
    centroid = dict(zip(grouped.index, grouped.to_numpy(dtype=np.float64), strict=True))
    count = maxima.groupby("experiment_id", sort=False).size().to_dict()
    n_foci = foci.groupby("experiment_id", sort=False).size().to_dict()
    rows, missing = [], []
    for exp in dataset.experiments.astype(object).to_dict("records"):
        eid = exp["experiment_id"]
        group = shift_group(exp)
        if eid not in centroid:
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
        rows.append(peak_row(exp, centroid[eid], int(count[eid])))
    peaks = pd.DataFrame(rows)
    if not peaks.empty:
        peaks["subcortical"] = peaks["subcortical"].fillna(False).astype(bool)
    return RoiPeaks(
        roi, peaks, maxima, pd.DataFrame(missing, columns=["experiment_id", "group", "n", "n_foci"])
    )
