import numpy as np
import pytest

from biomark.ale.null import ale_from_ma, ale_threshold, analytic_null, p_from_null, z_from_p

from .conftest import REF, ref_map


@pytest.fixture(scope="module")
def fitted(synth_ma):
    ale = ale_from_ma(synth_ma)
    null = analytic_null(synth_ma)
    return ale, null, p_from_null(ale, null)


def test_focus_voxels_match_nimare(synth_ma, ref_summary):
    ijk = np.array([i for e in ref_summary["experiments"] for i in e["ijk"]])
    np.testing.assert_array_equal(synth_ma.ijk, ijk)
    assert synth_ma.n_foci_outside_mask == 0


def test_ale_matches_nimare(fitted, mask, ref_summary):
    ale, _, _ = fitted
    assert ale.max() == pytest.approx(ref_summary["summary"]["max_ale"], abs=1e-6)
    ref, step = ref_map("ref_synth25_ale_stat.nii.gz", mask)
    # the reference map is 8-bit: agree to half a quantisation step everywhere
    assert np.abs(ale - ref).max() <= step / 2 + 1e-6


def test_null_histogram_matches_nimare_bin_for_bin(fitted):
    _, null, _ = fitted
    ref = np.load(REF / "ref_synth25_null_approximate.npz")
    np.testing.assert_allclose(null.bin_centres, ref["histogram_bins"], atol=0)
    np.testing.assert_allclose(null.weights, ref["histweights"], rtol=0, atol=1e-12)


def test_p_values_match_nimare(fitted, mask, ref_summary):
    _, _, p = fitted
    s = ref_summary["summary"]
    assert p.min() == pytest.approx(s["min_p"], rel=1e-6)
    assert abs(int((p < 0.001).sum()) - s["n_vox_p_lt_0.001"]) <= 2
    assert z_from_p(p).max() == pytest.approx(s["max_z"], abs=1e-4)
    ref, step = ref_map("ref_synth25_ale_p.nii.gz", mask)
    assert np.abs(p - ref).max() <= step / 2 + 1e-6


def test_cluster_forming_threshold_matches_nimare(fitted, ref_summary):
    _, null, _ = fitted
    assert ale_threshold(null, 0.001) == pytest.approx(
        ref_summary["summary"]["ale_thresh_p0.001"], abs=1e-5
    )
