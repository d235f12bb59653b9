"""ALE power: monotone in the planted fraction; the shared null is the per-replicate null."""

import math
from dataclasses import replace

import numpy as np
import pytest

from biomark.ale.fwe import corrected_p
from biomark.ale.ma import compute_ma_maps
from biomark.ale.montecarlo import MonteCarloSpec, label_clusters, run_montecarlo
from biomark.ale.null import ale_from_ma
from biomark.parallel import make_backend
from biomark.power.ale_power import (
    AleSpec,
    cluster_p_values,
    data_threshold,
    design_threshold,
    location_voxels,
    power_chunk,
    shared_null,
)
from biomark.power.calibrate import ContrastSpec, contrast_chunk, contrast_rows
from biomark.power.design import preset
from biomark.power.replicate import group_foci, simulate_replicate
from biomark.space import MNI152_2MM

SERIAL = make_backend(1)


@pytest.fixture(scope="module")
def outcome_null(mask_grid):
    mask, grid = mask_grid
    d = replace(preset("outcome"), ale_iterations=600)
    thr = design_threshold(d, "a", mask, grid, np.random.default_rng(1))
    return d, thr, shared_null(d, "a", mask, grid, thr, 9, SERIAL)


def test_power_increases_with_fraction_carrying_target(mask_grid, outcome_null):
    mask, grid = mask_grid
    base, thr, null = outcome_null
    rates = []
    for fraction in (0.0, 0.5, 1.0):
        d = replace(base, target_fraction=fraction, replicates=16, block_size=16)
        out = power_chunk(AleSpec(d, mask, grid, thr, null, 4), 0)
        rates.append(float((out["p_target"] <= d.alpha).mean()))
    assert rates[0] <= 0.2 and rates[2] >= 0.8, rates
    assert rates[0] <= rates[1] <= rates[2], rates


def test_shared_null_is_the_replicate_null_when_thresholds_agree(mask_grid):
    """The Monte Carlo null built from one replicate's own foci table (its experiments, N and
    focus counts) is bit-identical to the design's shared null: it never reads the foci."""
    mask, grid = mask_grid
    d = replace(preset("outcome"), ale_iterations=300)
    one_voxel = np.array([[0.0, -18.0, 14.0]])
    rep = simulate_replicate(d, one_voxel, np.random.default_rng(2))
    _, exp, n = group_foci(rep, "a")
    thr = 0.00706
    own = run_montecarlo(
        MonteCarloSpec(mask=mask, voxel_size_mm=(2.0, 2.0, 2.0), n_subjects=n,
                       experiment_index=exp, ale_threshold=thr, n_iterations=300, seed=5),
        SERIAL,
    )  # fmt: skip
    np.testing.assert_array_equal(
        np.sort(own.max_cluster_size), shared_null(d, "a", mask, grid, thr, 5, SERIAL)
    )


def test_shortcut_p_matches_standard_pipeline_within_mc_error(mask_grid, brain_mm):
    """Standard pipeline on one planted replicate (its own analytic threshold and its own
    Monte Carlo run, another seed) vs the shortcut (design threshold, shared null)."""
    mask, grid = mask_grid
    d = replace(preset("outcome"), ale_iterations=1500, target_fraction=0.6)
    rep = simulate_replicate(d, brain_mm, np.random.default_rng(21))
    xyz, exp, n = group_foci(rep, "a")
    thr_design = design_threshold(d, "a", mask, grid, np.random.default_rng(0))
    thr_data = data_threshold(xyz, exp, n, mask, grid, d.cluster_forming_p)
    assert abs(thr_data - thr_design) <= 3e-5  # ≤ 3 analytic-null bins
    near = location_voxels([d.target_mm], d.hit_radius_mm, grid)
    shared = shared_null(d, "a", mask, grid, thr_design, 1, SERIAL)
    p_short = cluster_p_values(xyz, exp, n, mask, grid, thr_design, shared, near)[0][0]
    spec = MonteCarloSpec(
        mask=mask,
        voxel_size_mm=(2.0, 2.0, 2.0),
        n_subjects=n,
        experiment_index=exp,
        ale_threshold=thr_data,
        n_iterations=1500,
        seed=2,
    )
    own = run_montecarlo(spec, SERIAL).max_cluster_size
    ale = np.zeros(mask.shape)
    ale[mask] = ale_from_ma(compute_ma_maps(xyz, exp, n, mask, grid))
    labels, sizes, _ = label_clusters(ale, thr_data)
    touching = np.unique(labels.ravel()[near[0]])
    touching = touching[touching > 0]
    p_std = corrected_p(sizes[touching - 1], own).min(initial=1.0)
    p = max(p_std, 1 / 1500)
    tol = 4 * math.sqrt(p * (1 - p) / 1500) + 0.01
    assert abs(p_short - p_std) <= tol, (p_short, p_std)


def test_location_voxels_ball():
    (idx,) = location_voxels([(0.0, -18.0, 14.0)], 4.0, MNI152_2MM)
    assert idx.shape[0] == 33  # voxel centres within 4 mm on a 2 mm grid: 1+6+12+8+6
    (one,) = location_voxels([(1.0, -18.0, 14.0)], 0.0, MNI152_2MM)
    assert one.shape[0] == 1


def test_contrast_null_split_rates_are_rates(mask_grid):
    mask, grid = mask_grid
    d = replace(preset("outcome"), contrast_permutations=100)
    rates = np.vstack([contrast_chunk(ContrastSpec(d, mask, grid, 3), k) for k in range(2)])
    assert rates.shape == (2, 8)
    assert np.all((rates >= 0) & (rates <= 1))
    rows = contrast_rows(rates, d)
    assert len(rows) == 8 and all(r["replicates"] == 2 for r in rows)
