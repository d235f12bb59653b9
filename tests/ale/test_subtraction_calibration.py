"""Calibration of the subtraction p-values on homogeneous null splits (slow tier: ~15 s).

The 25 synthetic experiments (tests/data/nimare_reference/make_synthetic.py) are drawn from one
population, so any split into 13 vs 12 is a null split. Over ``N_SPLITS`` random splits (1,000
whole-mask permutations each) the share of voxels at p ≤ 0.01 and p ≤ 0.05 must be nominal.

Where only a few experiments have MA > 0, a permutation p can take only a few values (with one
experiment: about 0.5 or 1), so the share there is necessarily below nominal: the test is valid
but conservative. Calibration is therefore checked on voxels that at least ``MIN_SUPPORT``
experiments reach (a set that does not depend on the labels), and validity (never above
nominal) on every voxel with any MA.

What the window can detect (measured on these 20 splits, seed 2024, 2026-12-04): the per-split
share of well-supported voxels at p ≤ 0.05 has SD 0.024 (0.007 at p ≤ 0.01), so the 20-split
mean has SE 0.0054 (0.0017). The window 0.035–0.065 (0.005–0.015) is ± 2.8 (± 2.9) SE wide:
a nominal test fails it with probability ≈ 0.005, and a true rate of 0.070 at p ≤ 0.05
(1.4× nominal) or 0.0165 at p ≤ 0.01 (1.65×) fails it with ≥ 80 % power; a 2× false-positive
rate fails it with power > 0.99. Rates below nominal are detected symmetrically (≤ 0.030 and
≤ 0.0035). Voxel rates within one split are spatially correlated, so the split count, not the
voxel count, sets this precision.
"""

import numpy as np
import pytest

from biomark.ale.contrast import subtraction

N_SPLITS = 20
MIN_SUPPORT = 6


@pytest.mark.slow
def test_null_splits_give_nominal_rates(synth_ma):
    support = np.bincount(synth_ma.columns, minlength=synth_ma.n_mask_voxels)
    rich = support >= MIN_SUPPORT
    active = support > 0
    rng = np.random.default_rng(2024)
    rates = []
    for split in range(N_SPLITS):
        in_a = rng.permutation(np.arange(25) < 13)
        r = subtraction(synth_ma, in_a, n_permutations=1000, seed=100 + split)
        rates.append(
            [
                [(p[where] <= alpha).mean() for alpha in (0.01, 0.05)]
                for p in (r.p_upper, r.p_lower)
                for where in (rich, active)
            ]
        )
    # axes: direction × voxel set, then alpha
    mean = np.mean(rates, axis=0).reshape(2, 2, 2)
    for direction in range(2):
        at_01, at_05 = mean[direction, 0]
        assert 0.005 <= at_01 <= 0.015
        assert 0.035 <= at_05 <= 0.065
        all_01, all_05 = mean[direction, 1]
        assert all_01 <= 0.015 and all_05 <= 0.065
