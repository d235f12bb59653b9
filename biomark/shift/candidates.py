"""Every focus an experiment reports around an ROI: the candidates of the MI peak mixture.

Picking one peak per experiment from the foci near a thin ROI biases shifts towards the
neighbours (a premotor or somatosensory focus in or near the ribbon looks like an MI focus) and
truncates displaced peaks at the ROI's edge; simulated whole experiments showed it
(:mod:`biomark.power.peak_rule`). The Bayesian model therefore reads all of an experiment's foci
inside a box around the ROI — its *candidates* — and lets its likelihood decide which one, if
any, is the ROI's peak (:mod:`biomark.shift.mixture`).

The box is the ROI's bounding box (voxel centres) widened by ``margin_mm`` on every side, so that
an ROI peak displaced or mislocalised by a few kernel widths still falls inside: the mixture
needs the probability of the peak lying outside (an axis-aligned box has it in closed form).
Each candidate carries the log intensity of non-ROI foci at its position
(:func:`biomark.shift.neighbours.neighbour_density`).

Status: measured, not used by the pipeline. On simulated meta-analyses of the paper's size
(:mod:`biomark.power.candidate_study`) the mixture's posterior mean recovered a planted 6 mm
shift as 5.0 mm with the MI focus alone (−17 %, worse than the centroid rule's −8 %) and as
4.5–5.1 mm beside premotor and somatosensory foci (−24 to −15 %; centroid rule −42 %). On the
embedded dataset, whose experiments also report ventral premotor, SII and parietal foci inside
the box that the PMd/SI intensity does not describe, its chains settled on different foci
clusters (R̂ 1.69, 20 divergences). What it lacks is written in the README's peak-rule section.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from biomark.errors import InputError
from biomark.shift.neighbours import (
    MI_NEIGHBOURS,
    NeighbourRegion,
    expected_neighbours,
    neighbour_density,
)
from biomark.shift.peaks import RoiPeaks, peak_row, shift_group
from biomark.space import MNI152_2MM, Grid, ijk_to_mm
from biomark.studies import Dataset

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Widening of the ROI's bounding box: 2.5 per-axis SDs of a peak from 10 subjects (σ ≈ 4 mm).
CANDIDATE_MARGIN_MM: Final = 10.0


@dataclass(frozen=True)
class RoiCandidates:
    """Per experiment, its foci inside the ROI's candidate box, padded to a common width.

    Attributes
    ----------
    roi
        ROI name.
    experiment_ids
        Experiments with ≥ 1 candidate, in dataset order (row ``e`` of the arrays).
    xyz_mm
        ``(E, K, 3)`` candidate coordinates (0 in padding).
    valid
        ``(E, K)`` True for a real candidate.
    log_density
        ``(E, K)`` log of the non-ROI foci intensity (per mm³) at each candidate (0 in padding).
    box_lo_mm, box_hi_mm
        The candidate box.
    centre_mm
        The ROI's centre of mass: where the model centres the prior of the healthy peak.
    expected_neighbours
        Expected non-ROI foci of one experiment inside the box (∫ intensity).
    """

    roi: str
    experiment_ids: tuple[str, ...]
    xyz_mm: FloatArray = field(repr=False)
    valid: BoolArray = field(repr=False)
    log_density: FloatArray = field(repr=False)
    box_lo_mm: FloatArray
    box_hi_mm: FloatArray
    centre_mm: FloatArray
    expected_neighbours: float

    def aligned(self, experiment_ids: Sequence[str]) -> RoiCandidates:
        """The same candidates with rows in the order of ``experiment_ids`` (the same set).

        Raises
        ------
        InputError
            The two sets of experiments differ.
        """
        ids = [str(e) for e in experiment_ids]
        if sorted(ids) != sorted(self.experiment_ids):
            extra = sorted(set(ids) ^ set(self.experiment_ids))
            raise InputError(f"peaks and candidates name different experiments: {extra[:3]}",
                             record=self.roi)  # fmt: skip
        pos = {e: i for i, e in enumerate(self.experiment_ids)}
        order = np.array([pos[e] for e in ids], dtype=np.int64)
        return RoiCandidates(self.roi, tuple(ids), self.xyz_mm[order], self.valid[order],
                             self.log_density[order], self.box_lo_mm, self.box_hi_mm,
                             self.centre_mm, self.expected_neighbours)  # fmt: skip

    def same_layout(self, other: RoiCandidates) -> bool:
        """Whether ``other`` has this box and array shape (can replace it in a built model)."""
        return (
            np.array_equal(self.box_lo_mm, other.box_lo_mm)
            and np.array_equal(self.box_hi_mm, other.box_hi_mm)
            and self.xyz_mm.shape == other.xyz_mm.shape
        )

    def model_data(self) -> dict[str, np.ndarray]:
        """The arrays the model holds as ``pm.Data``, by their names there."""
        return {
            "candidate_xyz_mm": self.xyz_mm,
            "candidate_valid": self.valid.astype(np.float64),
            "candidate_log_density": self.log_density,
            "reference_mm": self.centre_mm,
        }


def candidate_box(
    mask: BoolArray, grid: Grid = MNI152_2MM, margin_mm: float = CANDIDATE_MARGIN_MM
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(lo, hi, centre)`` in mm: the ROI's bounding box widened by ``margin_mm``, its centre."""
    if not mask.any():
        raise InputError("the ROI mask is empty")
    vox = ijk_to_mm(np.argwhere(mask), grid)
    return vox.min(axis=0) - margin_mm, vox.max(axis=0) + margin_mm, vox.mean(axis=0)


def roi_candidates(
    dataset: Dataset,
    mask: BoolArray,
    roi: str,
    grid: Grid = MNI152_2MM,
    *,
    margin_mm: float = CANDIDATE_MARGIN_MM,
    width: int | None = None,
    regions: tuple[NeighbourRegion, ...] = MI_NEIGHBOURS,
) -> RoiCandidates:
    """The candidates of every experiment of a peak-shift group (healthy or a time group).

    ``width`` pads every experiment to that many candidates (default: the largest count), so
    that datasets of one design share array shapes; an experiment with more candidates than
    ``width`` is an error.
    """
    lo, hi, centre = candidate_box(mask, grid, margin_mm)
    foci = dataset.foci
    xyz = foci[["x", "y", "z"]].to_numpy(dtype=np.float64)
    inside = ((xyz >= lo) & (xyz <= hi)).all(axis=1)
    in_group = {str(e["experiment_id"]) for _, e in dataset.experiments.iterrows()
                if shift_group(e) is not None}  # fmt: skip
    eids = foci["experiment_id"].astype(str).to_numpy()
    keep = inside & np.isin(eids, list(in_group))
    with_any = set(eids[keep])
    order = [str(e) for e in dataset.experiments["experiment_id"] if str(e) in with_any]
    counts = pd.Series(eids[keep]).value_counts()
    k = int(counts.max()) if len(counts) else 0
    if width is not None:
        if k > width:
            raise InputError(f"an experiment has {k} foci in the {roi} candidate box; "
                             f"the design allows {width}", record=str(counts.idxmax()))  # fmt: skip
        k = width
    pos = {e: i for i, e in enumerate(order)}
    out_xyz = np.zeros((len(order), k, 3))
    valid = np.zeros((len(order), k), dtype=bool)
    log_q = np.zeros((len(order), k))
    slot = np.zeros(len(order), dtype=np.int64)
    dens = np.log(neighbour_density(xyz[keep], regions)) if keep.any() else np.zeros(0)
    for e, point, lq in zip(eids[keep], xyz[keep], dens, strict=True):
        i = pos[e]
        out_xyz[i, slot[i]], log_q[i, slot[i]], valid[i, slot[i]] = point, lq, True
        slot[i] += 1
    return RoiCandidates(roi, tuple(order), out_xyz, valid, log_q, lo, hi, centre,
                         expected_neighbours(lo, hi, regions))  # fmt: skip


def candidate_peaks(dataset: Dataset, candidates: RoiCandidates, found: RoiPeaks) -> pd.DataFrame:
    """The ``peaks`` table of the experiments the mixture reads (those with a candidate).

    An experiment's row is its ROI peak from ``found`` when it has one; otherwise its candidate
    nearest the ROI's centre stands in (``n_maxima`` 0). The mixture model reads the candidates,
    not these coordinates; the table carries the design (groups, cohorts, N, outcome).
    """
    have = found.peaks.set_index("experiment_id") if not found.peaks.empty else None
    exps = dataset.experiments.set_index(dataset.experiments["experiment_id"].astype(str))
    rows = []
    for i, eid in enumerate(candidates.experiment_ids):
        if have is not None and eid in have.index:
            rows.append({"experiment_id": eid, **have.loc[eid].to_dict()})
            continue
        pts = candidates.xyz_mm[i][candidates.valid[i]]
        nearest = pts[np.argmin(((pts - candidates.centre_mm) ** 2).sum(axis=1))]
        rows.append(peak_row(exps.loc[eid], nearest, 0))
    peaks = pd.DataFrame(rows)
    peaks["subcortical"] = peaks["subcortical"].fillna(False).astype(bool)
    return peaks
