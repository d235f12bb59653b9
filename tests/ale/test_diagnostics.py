"""Experiment contributions, focus counts and the leave-one-out jackknife on planted data."""

from __future__ import annotations

import numpy as np
import pytest

from biomark.ale.clusters import find_clusters
from biomark.ale.diagnostics import (
    cluster_contributions,
    cluster_robustness,
    count_foci_in_cluster,
    experiment_count_warning,
    leave_one_out_ale,
)
from biomark.errors import InputError
from biomark.space import Grid, ijk_to_mm

GRID = Grid(
    (24, 16, 16),
    ((2.0, 0, 0, 0.0), (0, 2.0, 0, 0.0), (0, 0, 2.0, 0.0), (0, 0, 0, 1.0)),
)
SIGMA_MM = 4.0


def _ma(foci_mm, mask):
    """A tiny self-contained MA map: max over foci of a unit-peak Gaussian × 0.05."""
    xyz = ijk_to_mm(np.argwhere(mask), GRID)
    if not len(foci_mm):
        return np.zeros(len(xyz))
    d2 = ((xyz[:, None, :] - np.asarray(foci_mm)[None]) ** 2).sum(-1)
    return 0.05 * np.exp(-d2 / (2 * SIGMA_MM**2)).max(axis=1)


def _planted():
    mask = np.ones(GRID.shape, dtype=bool)
    a = np.array([10.0, 16.0, 16.0])
    b = np.array([36.0, 16.0, 16.0])
    offsets = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2], [-2, 0, 0]], dtype=float)
    foci = [(a + o)[None, :] for o in offsets] + [b[None, :]]
    ids = ["e1", "e2", "e3", "e4", "e5", "solo"]
    ma = np.stack([_ma(f, mask) for f in foci])
    return mask, ma, foci, ids


def test_leave_one_out_matches_direct_products():
    rng = np.random.default_rng(0)
    ma = rng.uniform(0, 0.1, size=(4, 7))
    ale, without = leave_one_out_ale(ma)
    assert ale == pytest.approx(1 - np.prod(1 - ma, axis=0))
    for e in range(4):
        rest = np.delete(ma, e, axis=0)
        assert without[e] == pytest.approx(1 - np.prod(1 - rest, axis=0))


def test_single_voxel_contribution_by_hand():
    # k experiments with the same MA m at one voxel: c = 1 − (1 − (1−m)^(k−1)) / (1 − (1−m)^k).
    m, k = 0.04, 4
    mask = np.zeros((3, 3, 3), dtype=bool)
    mask[1, 1, 1] = True
    grid = Grid((3, 3, 3), GRID.affine)
    out = cluster_contributions(
        np.full((k, 1), m), mask, mask.astype(int), experiment_ids=list("abcd"), grid=grid
    )
    expected = 1 - (1 - (1 - m) ** (k - 1)) / (1 - (1 - m) ** k)
    assert out["contribution"].tolist() == pytest.approx([expected] * k)
    assert out["share_pct"].tolist() == pytest.approx([25.0] * k)


def test_planted_clusters_contributions_and_jackknife():
    mask, ma, foci, ids = _planted()
    ale = 1 - np.prod(1 - ma, axis=0)
    ale_3d = np.zeros(GRID.shape)
    ale_3d[mask] = ale
    threshold = 0.03  # below the lone experiment's peak MA (0.05), above the tails
    clusters = find_clusters(ale_3d > threshold, connectivity=6)
    assert clusters.n_clusters == 2
    out = cluster_contributions(
        ma,
        mask,
        clusters.labels_3d,
        experiment_ids=ids,
        foci_xyz_mm=foci,
        ale_threshold=threshold,
        min_cluster_voxels=1,
        grid=GRID,
    )
    shared = out[out.cluster_id == 1].set_index("experiment")
    solo = out[out.cluster_id == 2].set_index("experiment")
    # Shares are percentages summing to 100 per cluster.
    assert shared["share_pct"].sum() == pytest.approx(100.0)
    assert solo["share_pct"].sum() == pytest.approx(100.0)
    # The lone experiment alone makes cluster 2: removing it leaves ALE 0 there.
    assert solo.loc["solo", "contribution"] == pytest.approx(1.0)
    assert solo.loc["solo", "share_pct"] == pytest.approx(100.0)
    assert not solo.loc["solo", "survives_without"]
    assert solo.drop("solo")["survives_without"].all()
    # Five overlapping experiments share cluster 1, roughly equally, and none is critical.
    assert shared.loc["solo", "share_pct"] < 1.0
    assert shared.drop("solo")["share_pct"].between(12, 28).all()
    assert shared["survives_without"].all()
    assert shared["n_foci"].tolist() == [1, 1, 1, 1, 1, 0]
    assert solo["n_foci"].tolist() == [0, 0, 0, 0, 0, 1]
    summary = cluster_robustness(out).set_index("cluster_id")
    assert summary.loc[2, "single_experiment_driven"] and summary.loc[2, "n_critical"] == 1
    assert summary.loc[2, "top_experiment"] == "solo"
    assert not summary.loc[2, "at_least_two_contribute"]
    assert not summary.loc[1, "single_experiment_driven"]
    assert summary.loc[1, "at_least_two_contribute"] and summary.loc[1, "n_contributing"] == 5
    assert summary.loc[1, "n_with_foci"] == 5


def test_jackknife_kills_cluster_when_size_threshold_not_met():
    mask, ma, _, ids = _planted()
    ale_3d = np.zeros(GRID.shape)
    ale_3d[mask] = 1 - np.prod(1 - ma, axis=0)
    threshold = 0.03
    clusters = find_clusters(ale_3d > threshold, connectivity=6)
    big = int(clusters.n_voxels[0])
    out = cluster_contributions(
        ma,
        mask,
        clusters.labels_3d,
        experiment_ids=ids,
        ale_threshold=threshold,
        min_cluster_voxels=big,
        grid=GRID,
    )
    # At k = the full cluster's size, losing any voxel kills it: every e1..e5 is critical.
    shared = out[out.cluster_id == 1].set_index("experiment")
    assert not shared.drop("solo")["survives_without"].any()
    assert shared.loc["solo", "survives_without"]


def test_focus_counter_rule():
    cluster = np.zeros(GRID.shape, dtype=bool)
    cluster[5, 5, 5] = True  # centre at (10, 10, 10) mm
    # Exactly on the centre; 1 mm off (half a voxel); 2 mm off (one voxel: not < 1); diagonal
    # (1, 1, 1) mm = 0.87 voxel.
    foci = np.array([[10.0, 10, 10], [11, 10, 10], [12, 10, 10], [11, 11, 11]])
    assert count_foci_in_cluster(foci, cluster, GRID) == 3
    assert count_foci_in_cluster(foci[[2]], cluster, GRID) == 0
    assert count_foci_in_cluster(np.empty((0, 3)), cluster, GRID) == 0


def test_experiment_count_warning():
    assert "16 experiments" in experiment_count_warning(16)
    assert "Eickhoff" in experiment_count_warning(5)
    assert experiment_count_warning(17) is None


def test_shape_mismatch_is_input_error():
    mask = np.ones(GRID.shape, dtype=bool)
    with pytest.raises(InputError, match="does not match"):
        cluster_contributions(
            np.zeros((2, 5)), mask, mask.astype(int), experiment_ids=["a", "b"], grid=GRID
        )
