"""Cluster tables: connected components of a thresholded map, their peaks, centres and labels.

A cluster is a connected set of voxels where the thresholded statistic map is > 0 (faces = 6,
faces + edges = 18, or faces + edges + corners = 26 neighbours). Clusters are numbered by size,
largest first (ties: higher peak first). Peaks follow GingerALE's and nilearn's rule: local maxima
of the peak map inside the cluster (a voxel ≥ all its 26 neighbours in the cluster), taken from
the highest down and kept only when at least ``subpeak_min_distance_mm`` from every peak already
kept; the first is the cluster maximum, the others are sub-peaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import ndimage

from biomark.ale.labels import AtlasArrays, format_composition, label_cluster, label_coordinates
from biomark.errors import InputError
from biomark.space import MNI152_2MM, FloatArray, Grid, ijk_to_mm

Connectivity = Literal[6, 18, 26]
_RANK: Final[dict[int, int]] = {6: 1, 18: 2, 26: 3}


@dataclass(frozen=True, slots=True, eq=False)
class Clusters:
    """Cluster labels on a grid: ``labels_3d`` (0 = none, 1..n by size) and ``n_voxels`` per id."""

    labels_3d: NDArray[np.int32]
    n_voxels: NDArray[np.int64]
    connectivity: int

    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return len(self.n_voxels)


def neighbourhood(connectivity: int) -> NDArray[np.bool_]:
    """The 3×3×3 structuring element for 6-, 18- or 26-connectivity."""
    if connectivity not in _RANK:
        raise InputError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    return np.asarray(ndimage.generate_binary_structure(3, _RANK[connectivity]), dtype=bool)


def find_clusters(
    mask_3d: NDArray[np.bool_],
    *,
    connectivity: int = 6,
    min_voxels: int = 1,
    rank_values_3d: FloatArray | None = None,
) -> Clusters:
    """Connected components of ``mask_3d`` with at least ``min_voxels`` voxels, largest first.

    ``rank_values_3d`` breaks ties in size (higher maximum first); without it, ties keep
    scipy's scan order.
    """
    raw, n = ndimage.label(np.asarray(mask_3d, dtype=bool), structure=neighbourhood(connectivity))
    sizes = np.bincount(raw.ravel(), minlength=n + 1)[1:]
    ids = np.arange(1, n + 1)
    peaks = (
        np.asarray(ndimage.maximum(rank_values_3d, raw, ids))
        if rank_values_3d is not None and n
        else np.zeros(n)
    )
    keep = sizes >= min_voxels
    order = ids[keep][np.lexsort((-peaks[keep], -sizes[keep]))]
    relabel = np.zeros(n + 1, dtype=np.int32)
    relabel[order] = np.arange(1, len(order) + 1)
    return Clusters(relabel[raw], sizes[order - 1].astype(np.int64), connectivity)


def _plateau_maxima(
    values_3d: FloatArray, region_3d: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], FloatArray]:
    """One voxel per local-maximum plateau of ``values_3d`` within ``region_3d``.

    Voxels ≥ all their 26 neighbours form connected equal-valued plateaus; a plateau counts only
    if no voxel touching it (in the region) is as high, so flat shoulders next to a higher peak
    are not maxima. Each plateau is represented by its voxel nearest its centroid.
    """
    inside = np.where(region_3d, values_3d, -np.inf)
    cube = np.ones((3, 3, 3), dtype=bool)
    candidate = region_3d & (
        inside >= ndimage.maximum_filter(inside, footprint=cube, mode="constant", cval=-np.inf)
    )
    plateaus, _ = ndimage.label(candidate, structure=cube)
    out_ijk: list[NDArray[np.int64]] = []
    out_val: list[float] = []
    for pid, box in enumerate(ndimage.find_objects(plateaus), start=1):
        if box is None:
            continue
        grown = tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in box)
        own = plateaus[grown] == pid
        value = float(inside[grown][own][0])
        rim = ndimage.binary_dilation(own, structure=cube) & ~own & region_3d[grown]
        if rim.any() and inside[grown][rim].max() >= value:
            continue
        members = np.argwhere(own)
        nearest = members[np.argmin(((members - members.mean(0)) ** 2).sum(1))]
        out_ijk.append(nearest + np.array([g.start for g in grown]))
        out_val.append(value)
    return np.array(out_ijk, dtype=np.int64).reshape(-1, 3), np.array(out_val)


def local_maxima(
    values_3d: FloatArray,
    region_3d: NDArray[np.bool_],
    *,
    grid: Grid = MNI152_2MM,
    min_distance_mm: float = 8.0,
    max_peaks: int | None = None,
) -> tuple[NDArray[np.int64], FloatArray]:
    """Peaks of ``values_3d`` inside ``region_3d`` at least ``min_distance_mm`` apart.

    The arrays may be a crop of the grid: distances use only the grid's voxel axes.

    Returns
    -------
    tuple of numpy.ndarray
        Peak voxel indices into ``values_3d``, shape ``(n_peaks, 3)``, and their values,
        highest first.
    """
    ijk, vals = _plateau_maxima(np.asarray(values_3d, dtype=np.float64), region_3d)
    order = np.argsort(-vals, kind="stable")
    ijk, vals = ijk[order], vals[order]
    offsets_mm = ijk @ grid.affine_array[:3, :3].T
    kept: list[int] = []
    for i in range(len(ijk)):
        if max_peaks is not None and len(kept) >= max_peaks:
            break
        if not kept or np.min(np.linalg.norm(offsets_mm[kept] - offsets_mm[i], axis=1)) >= (
            min_distance_mm - 1e-9
        ):
            kept.append(i)
    return ijk[kept].astype(np.int64), vals[kept]


def _voxel_mm3(grid: Grid) -> float:
    # The determinant of diag(2, 2, 2) comes out as 7.999…; 1e-9 mm³ is far below any use.
    return round(grid.voxel_volume_mm3, 9)


def _cluster_row(
    cid: int,
    box: tuple[slice, ...],
    clusters: Clusters,
    peak_map: FloatArray,
    maps: dict[str, FloatArray | None],
    grid: Grid,
    min_distance_mm: float,
) -> dict[str, Any]:
    region = clusters.labels_3d[box] == cid
    values = peak_map[box]
    origin = np.array([s.start for s in box])
    peaks_ijk, peak_vals = local_maxima(values, region, grid=grid, min_distance_mm=min_distance_mm)
    peaks_xyz = ijk_to_mm(peaks_ijk + origin, grid)
    weights = np.clip(values[region], 0.0, None)
    ijk = np.argwhere(region) + origin
    xyz = ijk_to_mm(ijk, grid)
    com = (xyz * weights[:, None]).sum(0) / weights.sum() if weights.sum() > 0 else xyz.mean(0)
    row: dict[str, Any] = {
        "cluster_id": cid,
        "n_voxels": int(clusters.n_voxels[cid - 1]),
        "volume_mm3": float(clusters.n_voxels[cid - 1] * _voxel_mm3(grid)),
        "peak_x": peaks_xyz[0, 0],
        "peak_y": peaks_xyz[0, 1],
        "peak_z": peaks_xyz[0, 2],
        "peak_value": float(peak_vals[0]),
        "com_x": com[0],
        "com_y": com[1],
        "com_z": com[2],
        "centroid_x": xyz[:, 0].mean(),
        "centroid_y": xyz[:, 1].mean(),
        "centroid_z": xyz[:, 2].mean(),
        "n_peaks": len(peak_vals),
        "subpeaks_mm": [tuple(float(c) for c in p) for p in peaks_xyz[1:]],
        "subpeak_values": [float(v) for v in peak_vals[1:]],
    }
    for name, arr in maps.items():
        row[f"max_{name}"] = float(arr[box][region].max()) if arr is not None else float("nan")
    return row


def cluster_table(
    stat_map_3d: FloatArray,
    *,
    ale_map_3d: FloatArray | None = None,
    z_map_3d: FloatArray | None = None,
    grid: Grid = MNI152_2MM,
    connectivity: int = 6,
    min_volume_mm3: float = 0.0,
    subpeak_min_distance_mm: float = 8.0,
    atlases: Mapping[str, AtlasArrays] | None = None,
    peaks_on: Literal["ale", "stat"] = "ale",
) -> tuple[pd.DataFrame, Clusters]:
    """One row per cluster of a thresholded map, largest first.

    Parameters
    ----------
    stat_map_3d
        Thresholded map on ``grid`` (e.g. z or ALE); clusters are its voxels > 0.
    ale_map_3d, z_map_3d
        Unthresholded maps for the ``max_ale``/``max_z`` columns (NaN when not given).
    grid
        The maps' grid.
    connectivity
        6, 18 or 26.
    min_volume_mm3
        Clusters smaller than this are dropped.
    subpeak_min_distance_mm
        Minimum distance between reported peaks.
    atlases
        When given, add ``peak_<key>`` (label at the main peak) and ``composition_<key>`` (labels
        covering most of the cluster, percent of volume) per atlas.
    peaks_on
        Find peaks and weight the centre of mass on the ALE map (GingerALE) or on ``stat_map_3d``.

    Returns
    -------
    tuple
        The table and the :class:`Clusters` (label image) it describes. ``com_*`` is the
        peak-map-weighted centre (GingerALE's "weighted center"), ``centroid_*`` the unweighted.
    """
    stat = np.asarray(stat_map_3d, dtype=np.float64)
    if stat.shape != grid.shape:
        raise InputError(f"map shape {stat.shape} does not match the grid {grid.shape}")
    peak_map = ale_map_3d if (peaks_on == "ale" and ale_map_3d is not None) else stat
    min_voxels = int(np.ceil(min_volume_mm3 / _voxel_mm3(grid) - 1e-9))
    clusters = find_clusters(
        stat > 0, connectivity=connectivity, min_voxels=max(min_voxels, 1), rank_values_3d=peak_map
    )
    maps = {"ale": ale_map_3d, "z": z_map_3d, "stat": stat}
    boxes = ndimage.find_objects(clusters.labels_3d)
    rows = [
        _cluster_row(cid, box, clusters, peak_map, maps, grid, subpeak_min_distance_mm)
        for cid, box in enumerate(boxes, start=1)
        if box is not None
    ]
    table = pd.DataFrame(rows)
    if atlases is not None and rows:
        _add_labels(table, clusters, atlases, grid)
    return table, clusters


def _add_labels(
    table: pd.DataFrame, clusters: Clusters, atlases: Mapping[str, AtlasArrays], grid: Grid
) -> None:
    peaks = table[["peak_x", "peak_y", "peak_z"]].to_numpy()
    at_peak = label_coordinates(peaks, atlases, grid=grid)
    compositions = [
        label_cluster(clusters.labels_3d == cid, atlases) for cid in table["cluster_id"]
    ]
    for key in atlases:
        table[f"peak_{key}"] = at_peak[key].to_list()
        table[f"composition_{key}"] = [format_composition(c[key]) for c in compositions]


def peak_table(
    table: pd.DataFrame,
    atlases: Mapping[str, AtlasArrays] | None = None,
    *,
    grid: Grid = MNI152_2MM,
) -> pd.DataFrame:
    """GingerALE-style long table: one row per peak (main peak rank 1, then sub-peaks)."""
    rows = []
    for _, r in table.iterrows():
        points = [(r.peak_x, r.peak_y, r.peak_z), *r.subpeaks_mm]
        values = [r.peak_value, *r.subpeak_values]
        for rank, (p, v) in enumerate(zip(points, values, strict=True), start=1):
            rows.append(
                {
                    "cluster_id": r.cluster_id,
                    "peak_rank": rank,
                    "x": p[0],
                    "y": p[1],
                    "z": p[2],
                    "value": v,
                }
            )
    peaks = pd.DataFrame(rows, columns=["cluster_id", "peak_rank", "x", "y", "z", "value"])
    if atlases is not None and len(peaks):
        labels = label_coordinates(peaks[["x", "y", "z"]].to_numpy(), atlases, grid=grid)
        for key in atlases:
            peaks[key] = labels[key].to_list()
    return peaks
