"""Anatomical labels for coordinates and clusters, and atlas-defined ROI masks (pure numpy).

The atlases arrive already on the analysis grid (``biomark.io.atlases.load_atlases`` puts them
there); this module only indexes arrays. An atlas is anything with ``key``, ``label_names`` and
``maps`` (see :class:`AtlasArrays`): ``maps`` is either a 3-D integer array (0 = unlabelled, value
``v`` names ``label_names[v - 1]``) or a 4-D array of percentages, one volume per label.

Probabilistic atlases are summarised by their maximum-probability map (MPM): a voxel belongs to
the label with the highest probability there, if that probability reaches ``min_prob_pct``. This
is how the SPM Anatomy toolbox and FSL's ``maxprob-thr25`` images assign voxels to areas; unlike a
per-area threshold it never puts one voxel in two areas, so ROIs built from it do not overlap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from biomark.errors import InputError
from biomark.space import MNI152_2MM, FloatArray, Grid, ijk_to_mm, in_grid, mm_to_ijk

BoolArray = NDArray[np.bool_]

#: FSL's conventional maximum-probability threshold (``maxprob-thr25``), in percent.
DEFAULT_MIN_PROB_PCT: Final = 25.0
LEFT_MI_LABELS: Final = ("GM_Primary_motor_cortex_BA4a_L", "GM_Primary_motor_cortex_BA4p_L")
BA6_LABELS: Final = {"left": ("GM_Premotor_cortex_BA6_L",), "right": ("GM_Premotor_cortex_BA6_R",)}
MEDIAL_PMC_MAX_ABS_X_MM: Final = 16.0


class AtlasArrays(Protocol):
    """What labelling needs from an atlas (``biomark.io.atlases.Atlas`` provides it)."""

    @property
    def key(self) -> str:
        """Short atlas name, e.g. ``"juelich"``."""
        ...

    @property
    def label_names(self) -> tuple[str, ...]:
        """One name per label (per volume for probabilistic atlases)."""
        ...

    @property
    def maps(self) -> NDArray[Any]:
        """3-D label values (0 = none) or 4-D percentages ``(X, Y, Z, n_labels)``."""
        ...


def display_name(name: str) -> str:
    """A label name for tables: tissue prefix dropped, underscores as spaces."""
    return name.removeprefix("GM_").removeprefix("WM_").replace("_", " ")


def _name_indices(atlas: AtlasArrays, names: Sequence[str]) -> list[int]:
    missing = [n for n in names if n not in atlas.label_names]
    if missing:
        raise InputError(f"labels {missing} not in atlas {atlas.key!r}", record=atlas.key)
    return [atlas.label_names.index(n) for n in names]


def _mpm_last_axis(
    probs: NDArray[Any], names: Sequence[str], min_prob_pct: float, grey_matter_only: bool
) -> NDArray[np.int16]:
    compete = np.array([not (grey_matter_only and n.startswith("WM_")) for n in names])
    masked = np.where(compete, probs, 0)
    winner = masked.argmax(axis=-1)
    best = np.take_along_axis(masked, winner[..., None], axis=-1)[..., 0]
    return np.where(best >= max(min_prob_pct, 1e-9), winner + 1, 0).astype(np.int16)


def maximum_probability_map(
    atlas: AtlasArrays, min_prob_pct: float = DEFAULT_MIN_PROB_PCT, *, grey_matter_only: bool = True
) -> NDArray[np.int16]:
    """Label value per voxel (1-based, 0 = none) of a probabilistic atlas's MPM.

    Parameters
    ----------
    atlas
        A 4-D (probabilistic) atlas; a 3-D atlas's values are returned unchanged.
    min_prob_pct
        The winning label must reach this probability (percent), else the voxel is 0.
    grey_matter_only
        Let only labels not starting with ``WM_`` compete (Jülich also holds fibre tracts, which
        would otherwise take over cortex next to white matter).
    """
    maps = atlas.maps  # once: an atlas may open a memory map per access
    if maps.ndim == 3:
        return maps.astype(np.int16)
    return _mpm_last_axis(maps, atlas.label_names, min_prob_pct, grey_matter_only)


def roi_mask(
    atlas: AtlasArrays,
    names: Sequence[str],
    *,
    min_prob_pct: float = DEFAULT_MIN_PROB_PCT,
    rule: Literal["mpm", "threshold"] = "mpm",
) -> BoolArray:
    """Boolean grid mask of the union of the named labels.

    For probabilistic atlases ``rule="mpm"`` keeps voxels whose maximum-probability label is one
    of ``names`` (with probability ≥ ``min_prob_pct``); ``rule="threshold"`` keeps voxels where
    any named label's own probability is ≥ ``min_prob_pct`` (ROIs may then overlap).
    """
    indices = _name_indices(atlas, names)
    maps = atlas.maps
    if maps.ndim == 4 and rule == "threshold":
        return np.asarray((maps[..., indices] >= min_prob_pct).any(axis=3))
    values = maximum_probability_map(atlas, min_prob_pct)
    return np.isin(values, np.asarray(indices) + 1)


def sphere_mask(center_mm: Sequence[float], radius_mm: float, grid: Grid = MNI152_2MM) -> BoolArray:
    """Voxels of ``grid`` whose centres lie within ``radius_mm`` of ``center_mm`` (inclusive)."""
    axes = [np.arange(n, dtype=np.float64) for n in grid.shape]
    ijk = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    xyz = ijk_to_mm(ijk, grid)
    d2 = ((xyz - np.asarray(center_mm, dtype=np.float64)) ** 2).sum(axis=1)
    return (d2 <= radius_mm**2 + 1e-9).reshape(grid.shape)


def _x_mm(grid: Grid) -> FloatArray:
    aff = grid.affine_array
    ijk = np.indices(grid.shape, dtype=np.float64)
    x_mm: FloatArray = aff[0, 0] * ijk[0] + aff[0, 1] * ijk[1] + aff[0, 2] * ijk[2] + aff[0, 3]
    return x_mm


def left_mi_mask(
    atlases: Mapping[str, AtlasArrays],
    *,
    min_prob_pct: float = DEFAULT_MIN_PROB_PCT,
    grid: Grid = MNI152_2MM,
) -> BoolArray:
    """Ipsilesional (left, after flipping) primary motor cortex: Jülich BA4a ∪ BA4p, left.

    Voxels whose Jülich grey-matter MPM label is BA4a-L or BA4p-L at ≥ ``min_prob_pct`` percent,
    further restricted to x < 0 mm so that no voxel on the midline or right is ever included.
    """
    mask = roi_mask(atlases["juelich"], LEFT_MI_LABELS, min_prob_pct=min_prob_pct)
    return mask & (_x_mm(grid) < 0)


def medial_pmc_mask(
    atlases: Mapping[str, AtlasArrays],
    *,
    hemisphere: Literal["left", "right", "both"] = "both",
    max_abs_x_mm: float = MEDIAL_PMC_MAX_ABS_X_MM,
    min_prob_pct: float = DEFAULT_MIN_PROB_PCT,
    grid: Grid = MNI152_2MM,
) -> BoolArray:
    """Medial premotor cortex (SMA and pre-SMA): Jülich BA6 MPM restricted to |x| ≤ 16 mm.

    Why Jülich BA6 and not Harvard–Oxford's "Juxtapositional Lobule (formerly SMA)": the
    Jülich BA6 map covers the whole of area 6, so its medial part holds both SMA proper and
    pre-SMA, as the study's definition (medial BA6) requires, whereas the Harvard–Oxford label
    is SMA proper only; and taking it from the same MPM as the MI ROI keeps the two ROIs
    disjoint along their shared border. Harvard–Oxford's SMA label (MPM ≥ 25 %) lies within
    |x| ≤ 12 mm on this grid; ``max_abs_x_mm`` = 16 mm adds two voxels for the dorsal crown of
    the medial wall and the ALE kernel's spread, while lateral dorsal premotor maxima lie at
    |x| ≳ 20 mm. ``hemisphere``
    selects BA6-L, BA6-R or both (default, since ALE maxima straddle the midline).
    """
    sides = ("left", "right") if hemisphere == "both" else (hemisphere,)
    names = tuple(n for side in sides for n in BA6_LABELS[side])
    mask = roi_mask(atlases["juelich"], names, min_prob_pct=min_prob_pct)
    return mask & (np.abs(_x_mm(grid)) <= max_abs_x_mm)


def motor_roi_masks(
    atlases: Mapping[str, AtlasArrays], grid: Grid = MNI152_2MM
) -> dict[str, BoolArray]:
    """The peak-shift ROIs: ``{"MI_left": ..., "medial_PMC": ...}`` with default settings."""
    return {
        "MI_left": left_mi_mask(atlases, grid=grid),
        "medial_PMC": medial_pmc_mask(atlases, grid=grid),
    }


def _point_labels(
    atlas: AtlasArrays, ijk: NDArray[np.int64], inside: BoolArray, min_prob_pct: float
) -> tuple[list[str], list[float], list[str]]:
    top: list[str] = []
    prob: list[float] = []
    every: list[str] = []
    maps = atlas.maps
    for idx, ok in zip(ijk, inside, strict=True):
        if not ok:
            top.append("")
            prob.append(float("nan"))
            every.append("")
            continue
        values = np.asarray(maps[idx[0], idx[1], idx[2]])
        if maps.ndim == 3:
            v = int(values)
            top.append(display_name(atlas.label_names[v - 1]) if v > 0 else "")
            continue
        order = np.argsort(values, kind="stable")[::-1]
        kept = [int(i) for i in order if values[i] >= min_prob_pct and values[i] > 0]
        top.append(display_name(atlas.label_names[kept[0]]) if kept else "")
        prob.append(float(values[kept[0]]) if kept else 0.0)
        every.append(
            "; ".join(f"{display_name(atlas.label_names[i])} {int(values[i])}%" for i in kept)
        )
    return top, prob, every


def label_coordinates(
    xyz_mm: FloatArray,
    atlases: Mapping[str, AtlasArrays],
    *,
    grid: Grid = MNI152_2MM,
    min_prob_pct: float = 1.0,
) -> pd.DataFrame:
    """Atlas labels at each coordinate (the grid voxel containing it, half-to-even rounding).

    Parameters
    ----------
    xyz_mm
        MNI coordinates, shape ``(n, 3)``.
    atlases
        Atlases on ``grid``, by key.
    grid
        The atlases' grid.
    min_prob_pct
        Probabilistic labels below this probability (percent) are not listed.

    Returns
    -------
    pandas.DataFrame
        Columns ``x, y, z`` and per atlas ``<key>`` (the label, or ``""`` when unlabelled or off
        the grid); probabilistic atlases add ``<key>_prob`` (percent of the top label) and
        ``<key>_all`` (every label ≥ ``min_prob_pct``, highest first).
    """
    xyz = np.atleast_2d(np.asarray(xyz_mm, dtype=np.float64))
    ijk = mm_to_ijk(xyz, grid)
    inside = in_grid(ijk, grid)
    table: dict[str, Any] = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    for key, atlas in atlases.items():
        top, prob, every = _point_labels(atlas, ijk, inside, min_prob_pct)
        table[key] = top
        if atlas.maps.ndim == 4:
            table[f"{key}_prob"] = prob
            table[f"{key}_all"] = every
    return pd.DataFrame(table)


def label_cluster(
    mask_3d: BoolArray,
    atlases: Mapping[str, AtlasArrays],
    *,
    top_n: int = 3,
    min_prob_pct: float = DEFAULT_MIN_PROB_PCT,
) -> dict[str, list[tuple[str, float]]]:
    """The labels covering most of a cluster, as ``(label, percent of cluster volume)``.

    Each cluster voxel is assigned its atlas label (the MPM label at ``min_prob_pct`` for
    probabilistic atlases); unlabelled voxels count in the denominator but are not listed.
    Per atlas at most ``top_n`` labels, largest share first.
    """
    n_voxels = int(np.count_nonzero(mask_3d))
    out: dict[str, list[tuple[str, float]]] = {}
    for key, atlas in atlases.items():
        maps = atlas.maps
        in_cluster = np.asarray(maps[mask_3d])
        values = (
            in_cluster
            if maps.ndim == 3
            else _mpm_last_axis(in_cluster, atlas.label_names, min_prob_pct, True)
        )
        counts = np.bincount(values.astype(np.int64), minlength=len(atlas.label_names) + 1)[1:]
        order = np.argsort(counts, kind="stable")[::-1][:top_n]
        out[key] = [
            (display_name(atlas.label_names[i]), 100.0 * counts[i] / n_voxels)
            for i in order
            if counts[i] > 0
        ]
    return out


def format_composition(pairs: Sequence[tuple[str, float]]) -> str:
    """``[("Precentral L", 61.2), ...]`` → ``"Precentral L 61%; ..."``."""
    return "; ".join(f"{name} {pct:.0f}%" for name, pct in pairs)
