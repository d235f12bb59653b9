import math

import numpy as np
import pytest

from biomark.ale.kernels import ale_kernel, eickhoff_fwhm_mm, fwhm_to_sigma


def test_fwhm_formula_by_hand():
    u_t = 5.7 / (2 * math.sqrt(2 / math.pi)) * math.sqrt(8 * math.log(2))
    u_s = 11.6 / (2 * math.sqrt(2 / math.pi)) * math.sqrt(8 * math.log(2)) / math.sqrt(20)
    assert u_t == pytest.approx(8.4113, abs=1e-4)
    assert eickhoff_fwhm_mm(20) == pytest.approx(math.sqrt(u_t**2 + u_s**2), rel=1e-12)
    # NiMARE json: N=25 -> 9.081322119956662 mm
    assert eickhoff_fwhm_mm(25) == pytest.approx(9.081322119956662, rel=1e-12)


@pytest.mark.parametrize("n", [5, 10, 20, 30, 200])
def test_kernel_sums_to_one(n):
    k = ale_kernel(n)
    assert k.sum() == pytest.approx(1.0, abs=1e-12)
    assert (k >= 0).all()


def test_peak_ma_n20_hand_value():
    assert ale_kernel(20).max() == pytest.approx(0.008405, abs=5e-7)


def test_kernel_shapes_match_nimare():
    assert ale_kernel(20).shape == (17, 17, 17)
    assert ale_kernel(5).shape == (21, 21, 21)


def test_kernel_equals_scipy_gaussian_filter_at_2mm():
    from scipy import ndimage

    sigma_vox = fwhm_to_sigma(eickhoff_fwhm_mm(12)) / 2.0
    delta = np.zeros((31, 31, 31))
    delta[15, 15, 15] = 1
    ref = ndimage.gaussian_filter(delta, sigma_vox, mode="constant")
    r = ale_kernel(12).shape[0] // 2
    np.testing.assert_allclose(
        ale_kernel(12), ref[15 - r : 16 + r, 15 - r : 16 + r, 15 - r : 16 + r], rtol=0, atol=1e-15
    )


def test_kernel_right_at_other_voxel_sizes():
    # the same physical Gaussian: at 1 mm the per-voxel sigma doubles, peak ~ /8
    k1, k2 = ale_kernel(20, (1.0, 1.0, 1.0)), ale_kernel(20, (2.0, 2.0, 2.0))
    sd_mm = fwhm_to_sigma(eickhoff_fwhm_mm(20))
    for k, v in ((k1, 1.0), (k2, 2.0)):
        x = (np.arange(k.shape[0]) - k.shape[0] // 2) * v
        marg = k.sum(axis=(1, 2))
        assert math.sqrt((marg * x**2).sum()) == pytest.approx(sd_mm, rel=2e-3)
    aniso = ale_kernel(20, (2.0, 1.0, 3.0))
    assert aniso.shape[1] > aniso.shape[0] > aniso.shape[2]


@pytest.mark.parametrize("voxel_mm", [1.0, 2.0, 3.0])
def test_departure_from_nimare_kernel_width_off_2mm(voxel_mm):
    # NiMARE 0.22.1 (get_ale_kernel): FWHM / sqrt(prod(zooms)) voxels, then sigma with the factor
    # sqrt(2) / (2 sqrt(2 ln 2)). Typed here from its source as an independent hand formula.
    fwhm = eickhoff_fwhm_mm(20)
    nimare_sigma_vox = (
        fwhm / math.sqrt(voxel_mm**3) * math.sqrt(2) / (2 * math.sqrt(2 * math.log(2)))
    )
    right_sigma_vox = fwhm / math.sqrt(8 * math.log(2)) / voxel_mm
    k = ale_kernel(20, (voxel_mm,) * 3)
    x = np.arange(k.shape[0]) - k.shape[0] // 2
    measured = math.sqrt((k.sum(axis=(1, 2)) * x**2).sum())
    assert measured == pytest.approx(right_sigma_vox, rel=3e-3)
    if voxel_mm == 2.0:
        assert nimare_sigma_vox == pytest.approx(right_sigma_vox, rel=1e-12)
    else:
        # biomark keeps the physical width; NiMARE's kernel would be too wide/narrow here
        assert abs(nimare_sigma_vox / right_sigma_vox - 1) > 0.15  # 1 mm: +41 %, 3 mm: −18 %
