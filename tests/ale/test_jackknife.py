"""The jackknife can fail: a cluster must still pass the analysis's own test without an experiment.

Planted on the MNI mask through the users' path (``fit_ale`` with its Monte Carlo null, then
:func:`biomark.pipeline.ale.ale_tables`): every experiment reports a focus at one location, and
two experiments report five foci each at another.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from biomark.ale.diagnostics import cluster_contributions, jackknife_threshold
from biomark.ale.fit import fit_ale
from biomark.ale.fwe import corrected_p, critical_value
from biomark.ale.ma import compute_ma_maps
from biomark.io.images import load_mask
from biomark.power.ale_power import brain_xyz_mm
from biomark.space import mm_to_ijk
from biomark.studies import Dataset

SHARED_MM = np.array([-38.0, -22.0, 56.0])
PAIR_MM = np.array([40.0, -60.0, 10.0])
PAIR_OFFSETS = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0], [0, 0, 4], [4, 4, 0]], dtype=float)
N_EXPERIMENTS, N_SUBJECTS = 12, 12


@pytest.fixture(scope="module")
def planted():
    mask, grid = load_mask()
    brain = brain_xyz_mm(mask, grid)
    rng = np.random.default_rng(20261204)
    rows = []
    for e in range(N_EXPERIMENTS):
        points = [SHARED_MM + rng.normal(0.0, 2.0, 3)]
        if e < 2:
            points += list(PAIR_MM + PAIR_OFFSETS)
        points += list(brain[rng.integers(0, len(brain), 4)])
        rows += [(f"e{e}", *p) for p in points]
    foci = pd.DataFrame(rows, columns=["experiment_id", "x", "y", "z"])
    exps = pd.DataFrame({"experiment_id": [f"e{e}" for e in range(N_EXPERIMENTS)],
                         "n": N_SUBJECTS})  # fmt: skip
    dataset = Dataset(exps, foci, "planted")
    xyz, idx, n = dataset.coordinates()
    result = fit_ale(xyz, idx, n.astype(float), mask, grid, n_iterations=1000, seed=1)
    return dataset, result


def _cluster_at(table: pd.DataFrame, where_mm: np.ndarray) -> int:
    peaks = table[["peak_x", "peak_y", "peak_z"]].to_numpy(dtype=float)
    near = np.linalg.norm(peaks - where_mm, axis=1) < 8.0
    assert near.sum() == 1, table
    return int(table.loc[near, "cluster_id"].iloc[0])


def test_a_cluster_two_experiments_carry_does_not_survive_their_removal(planted):
    from biomark.io.atlases import load_atlases
    from biomark.pipeline.ale import ale_tables

    dataset, result = planted
    table, contrib = ale_tables(result, dataset, load_atlases())
    survives = contrib.pivot(index="experiment", columns="cluster_id", values="survives_without")
    pair, shared = _cluster_at(table, PAIR_MM), _cluster_at(table, SHARED_MM)
    assert table.set_index("cluster_id").loc[pair, "cluster_p_fwe"] < 0.05
    assert not survives.loc[["e0", "e1"], pair].any()
    assert survives.drop(["e0", "e1"])[pair].all()
    assert survives[shared].all()
    assert table.set_index("cluster_id").loc[pair, "n_critical"] == 2


def test_the_old_any_voxel_rule_could_not_fail_here(planted):
    # What the jackknife used to ask (one voxel above the cluster-forming threshold): the
    # remaining carrier's own kernel keeps a few voxels above it, so "survives" came for free.
    dataset, result = planted
    xyz, idx, n = dataset.coordinates()
    ma = compute_ma_maps(xyz, idx, n.astype(float), result.mask, result.grid).dense()
    labels = result.volume(result.cluster_labels).astype(np.int64)
    i, j, k = mm_to_ijk(PAIR_MM[None], result.grid)[0]
    only = np.where(labels == labels[i, j, k], labels[i, j, k], 0)
    ids = [f"e{e}" for e in range(N_EXPERIMENTS)]
    old = cluster_contributions(
        ma, result.mask, only, experiment_ids=ids, min_cluster_voxels=1,
        ale_threshold=result.cluster_forming_threshold, grid=result.grid,
    )  # fmt: skip
    assert old.set_index("experiment").loc[["e0", "e1"], "survives_without"].all()
    assert jackknife_threshold(result)[1] > 1


def test_critical_value_by_hand():
    # 99 null maxima 1..99, alpha 0.05: p = (1 + #{null ≥ x}) / 100 < 0.05 needs #{null ≥ x} ≤ 3,
    # so x must exceed 96 (x = 97 has p 0.04, x = 96 has p 0.05).
    null = np.arange(1.0, 100.0)
    assert critical_value(null, 0.05) == 96.0
    assert corrected_p(np.array([96.0, 96.5, 97.0]), null).tolist() == pytest.approx(
        [0.05, 0.04, 0.04]
    )
    assert critical_value(np.arange(1.0, 20.0), 0.05) == math.inf  # 19 iterations cannot
    assert critical_value(np.arange(1.0, 20.0), 1.5) == -math.inf


def test_critical_value_agrees_with_corrected_p_on_random_nulls():
    rng = np.random.default_rng(3)
    for _ in range(50):
        null = rng.integers(0, 40, size=int(rng.integers(20, 300))).astype(float)
        alpha = float(rng.uniform(0.01, 0.2))
        crit = critical_value(null, alpha)
        xs = np.arange(-1.0, 42.0, 0.5)
        assert ((xs > crit) == (corrected_p(xs, null) < alpha)).all()


def test_thresholds_reproduce_each_corrections_own_decision(planted):
    # On the full data the jackknife's critical values must give back the fit's significance.
    dataset, cfwe = planted
    xyz, idx, n = dataset.coordinates()
    thr, min_voxels = jackknife_threshold(cfwe)
    assert thr == cfwe.cluster_forming_threshold
    passes = cfwe.cluster_size_voxels >= min_voxels
    assert (passes == (cfwe.cluster_p_fwe < 0.05)).all() and passes.any() and not passes.all()
    mask, grid = cfwe.mask, cfwe.grid
    for correction in ("vfwe", "fdr"):
        fit = fit_ale(xyz, idx, n.astype(float), mask, grid, n_iterations=1000, seed=1,
                      correction=correction)  # fmt: skip
        thr, min_voxels = jackknife_threshold(fit)
        assert min_voxels == 1
        assert ((fit.ale > thr) == fit.significant).all(), correction
        assert fit.significant.any(), correction
