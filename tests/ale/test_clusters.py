"""Cluster tables on planted maps with hand-computed volumes, peaks and centres."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from biomark.ale.clusters import cluster_table, find_clusters, local_maxima, peak_table
from biomark.errors import InputError
from biomark.space import Grid

# 2 mm voxels, origin at (-20, -20, -20) mm.
GRID = Grid(
    (20, 20, 20),
    ((2.0, 0, 0, -20.0), (0, 2.0, 0, -20.0), (0, 0, 2.0, -20.0), (0, 0, 0, 1.0)),
)


def _mm(i, j, k):
    return (-20.0 + 2 * i, -20.0 + 2 * j, -20.0 + 2 * k)


def _planted():
    stat = np.zeros(GRID.shape)
    # Cluster A: 3×3×3 cube at i,j,k in 4..6, value 1 everywhere, 3 at the centre (5,5,5).
    stat[4:7, 4:7, 4:7] = 1.0
    stat[5, 5, 5] = 3.0
    # Cluster B: 2×2×1 slab at i 12..13, j 12..13, k 3; values 1, 1, 1, 2 at (13,13,3).
    stat[12:14, 12:14, 3] = 1.0
    stat[13, 13, 3] = 2.0
    # Cluster C: a single voxel, value 5.
    stat[2, 15, 15] = 5.0
    return stat


def test_planted_table_volumes_peaks_centres():
    table, clusters = cluster_table(_planted(), grid=GRID, peaks_on="stat")
    assert table["n_voxels"].tolist() == [27, 4, 1]
    assert table["volume_mm3"].tolist() == [216.0, 32.0, 8.0]
    assert clusters.n_clusters == 3
    a, b, c = (table.iloc[i] for i in range(3))
    assert (a.peak_x, a.peak_y, a.peak_z) == _mm(5, 5, 5)
    assert (b.peak_x, b.peak_y, b.peak_z) == _mm(13, 13, 3)
    assert (c.peak_x, c.peak_y, c.peak_z) == _mm(2, 15, 15)
    # Symmetric cube: weighted centre = its centre.
    assert (a.com_x, a.com_y, a.com_z) == pytest.approx(_mm(5, 5, 5))
    # Slab: weights 1,1,1,2 on i ∈ {12,12,13,13}: weighted mean i = (12+12+13+26)/5 = 12.6.
    assert b.com_x == pytest.approx(-20 + 2 * 12.6)
    assert b.com_y == pytest.approx(-20 + 2 * 12.6)
    assert b.centroid_x == pytest.approx(-20 + 2 * 12.5)
    assert b.max_stat == 2.0 and np.isnan(b.max_ale)


def test_min_volume_and_ale_columns():
    stat = _planted()
    ale = stat * 0.01
    z = stat * 2.0
    table, _ = cluster_table(stat, ale_map_3d=ale, z_map_3d=z, grid=GRID, min_volume_mm3=32.0)
    assert table["volume_mm3"].tolist() == [216.0, 32.0]
    assert table["max_ale"].tolist() == pytest.approx([0.03, 0.02])
    assert table["max_z"].tolist() == pytest.approx([6.0, 4.0])


def test_connectivity_on_diagonal_touches():
    mask = np.zeros((6, 6, 6), dtype=bool)
    mask[1, 1, 1] = mask[2, 2, 2] = True  # corner touch
    mask[4, 1, 1] = mask[5, 2, 1] = True  # edge touch
    counts = {c: find_clusters(mask, connectivity=c).n_clusters for c in (6, 18, 26)}
    assert counts == {6: 4, 18: 3, 26: 2}
    with pytest.raises(InputError):
        find_clusters(mask, connectivity=8)


def _ridge(separation_vox):
    # A straight 1-voxel-thick ridge along i with two maxima `separation_vox` apart.
    values = np.zeros((20, 3, 3))
    region = np.zeros_like(values, dtype=bool)
    region[1:19, 1, 1] = True
    values[1:19, 1, 1] = 1.0
    values[4, 1, 1] = 5.0
    values[4 + separation_vox, 1, 1] = 4.0
    return values, region


def test_subpeak_distance_rule():
    # 3 voxels = 6 mm apart: closer than 8 mm, only the main peak is kept.
    ijk, vals = local_maxima(*_ridge(3), grid=GRID, min_distance_mm=8.0)
    assert ijk.tolist() == [[4, 1, 1]] and vals.tolist() == [5.0]
    # 4 voxels = 8 mm: kept (the rule is "at least 8 mm").
    ijk, vals = local_maxima(*_ridge(4), grid=GRID, min_distance_mm=8.0)
    assert ijk.tolist() == [[4, 1, 1], [8, 1, 1]] and vals.tolist() == [5.0, 4.0]
    # With a 4 mm rule the 6 mm pair is kept too.
    ijk, _ = local_maxima(*_ridge(3), grid=GRID, min_distance_mm=4.0)
    assert len(ijk) == 2


def test_subpeaks_in_table_and_peak_table():
    stat = np.zeros(GRID.shape)
    values, region = _ridge(5)
    stat[:, 5:8, 5:8] = np.where(region, values, 0.0)
    table, _ = cluster_table(stat, grid=GRID, peaks_on="stat")
    row = table.iloc[0]
    assert row.n_peaks == 2
    assert row.subpeaks_mm == [_mm(9, 6, 6)] and row.subpeak_values == [4.0]
    peaks = peak_table(table)
    assert peaks[["peak_rank", "x", "value"]].values.tolist() == [[1, -12.0, 5.0], [2, -2.0, 4.0]]


@dataclass(frozen=True)
class ToyAtlas:
    key: str
    label_names: tuple[str, ...]
    maps: np.ndarray


def test_labels_added_from_atlases():
    stat = _planted()
    maps = np.zeros(GRID.shape, dtype=np.int16)
    maps[4:7, 4:7, 4] = 1  # one slice (9 of 27 voxels) of cluster A is "Alpha"
    maps[4:7, 4:7, 5:7] = 2  # the rest, including the peak, is "Beta"
    atlas = ToyAtlas("toy", ("Alpha", "Beta"), maps)
    table, _ = cluster_table(stat, grid=GRID, atlases={"toy": atlas}, peaks_on="stat")
    assert table.loc[0, "peak_toy"] == "Beta"
    assert table.loc[0, "composition_toy"] == "Beta 67%; Alpha 33%"
    assert table.loc[1, "peak_toy"] == "" and table.loc[1, "composition_toy"] == ""
    peaks = peak_table(table, {"toy": atlas}, grid=GRID)
    assert peaks.loc[0, "toy"] == "Beta"


def test_empty_map_and_wrong_shape():
    table, clusters = cluster_table(np.zeros(GRID.shape), grid=GRID)
    assert len(table) == 0 and clusters.n_clusters == 0
    with pytest.raises(InputError, match="does not match the grid"):
        cluster_table(np.zeros((3, 3, 3)), grid=GRID)


def test_flat_topped_peak_is_one_maximum():
    values = np.zeros((9, 3, 3))
    region = np.zeros_like(values, dtype=bool)
    region[1:8, 1, 1] = True
    values[1:8, 1, 1] = [1, 2, 3, 3, 3, 2, 1]  # plateau of 3 over i = 3..5
    ijk, vals = local_maxima(values, region, grid=GRID, min_distance_mm=0.0)
    assert ijk.tolist() == [[4, 1, 1]] and vals.tolist() == [3.0]
