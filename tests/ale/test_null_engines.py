"""The compiled analytic-null engine and the sparse MA store against plain references."""

import numpy as np
import pytest

from biomark.ale.ma import compute_ma_maps
from biomark.ale.null import ale_from_ma, analytic_null, combine_numpy, null_bin_centres
from biomark.space import MNI152_2MM, ijk_to_mm

pytest.importorskip("numba")


def test_numba_null_equals_numpy_reference(synth_ma):
    fast = analytic_null(synth_ma, engine="numba")
    ref = analytic_null(synth_ma, engine="numpy")
    np.testing.assert_array_equal(fast.bin_centres, ref.bin_centres)
    # same bin for every pair of bins; only the order of the additions differs
    np.testing.assert_array_equal(fast.weights > 0, ref.weights > 0)
    np.testing.assert_allclose(fast.weights, ref.weights, rtol=1e-12, atol=1e-300)


def test_numba_combine_with_sparse_histograms_equals_numpy():
    rng = np.random.default_rng(7)
    centres = null_bin_centres(np.array([0.3, 0.4]))
    ale = np.zeros_like(centres)
    ale[rng.choice(centres.shape[0] // 2, 300, replace=False)] = rng.random(300)
    exp = np.zeros_like(centres)
    exp[[0, 5, 17, 4000, 29999]] = [0.9, 0.04, 0.03, 0.02, 0.01]
    from biomark.ale._null_kernel import combine_into

    out = np.zeros_like(centres)
    bins = np.flatnonzero(exp)
    combine_into(ale, bins, exp[bins], centres, 1.0 / (centres[1] - centres[0]), out)
    ref = combine_numpy(ale, exp, centres)
    np.testing.assert_array_equal(out > 0, ref > 0)
    np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_unknown_engine_is_rejected(synth_ma):
    with pytest.raises(ValueError, match="engine"):
        analytic_null(synth_ma, engine="gpu")  # type: ignore[arg-type]


def test_ma_rows_match_a_dense_max_of_kernels(mask):
    # two experiments with overlapping foci, one far apart and one outside the mask
    ijk = np.array([[30, 40, 40], [31, 41, 40], [60, 40, 40], [45, 50, 45], [0, 0, 0]])
    exp = np.array([0, 0, 0, 1, 1])
    n = np.array([12.0, 25.0])
    ma = compute_ma_maps(ijk_to_mm(ijk, MNI152_2MM), exp, n, mask)
    assert ma.columns.dtype == np.int32
    from biomark.ale.kernels import ale_kernel

    dense = np.zeros((2, *mask.shape))
    for (i, j, k), e in zip(ijk, exp, strict=True):
        ker = ale_kernel(n[e], MNI152_2MM.voxel_size_mm)
        r = ker.shape[0] // 2
        lo = np.array([i, j, k]) - r
        big = np.zeros(np.array(mask.shape) + 2 * r)
        big[lo[0] + r : lo[0] + 3 * r + 1, lo[1] + r : lo[1] + 3 * r + 1,
            lo[2] + r : lo[2] + 3 * r + 1] = ker  # fmt: skip
        dense[e] = np.maximum(dense[e], big[r:-r, r:-r, r:-r])
    np.testing.assert_array_equal(ma.dense(), dense[:, mask])
    for e in range(2):
        cols, _ = ma.row(e)
        assert np.all(np.diff(cols) > 0)
    want = 1.0 - np.prod(1.0 - dense[:, mask], axis=0)
    np.testing.assert_allclose(ale_from_ma(ma), want, rtol=1e-12, atol=1e-15)


def test_ale_row_by_row_equals_one_bincount(synth_ma):
    log_sum = np.bincount(
        synth_ma.columns, weights=np.log1p(-synth_ma.values), minlength=synth_ma.n_mask_voxels
    )
    np.testing.assert_array_equal(ale_from_ma(synth_ma), -np.expm1(log_sum))
