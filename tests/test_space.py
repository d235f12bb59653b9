import numpy as np
import pytest

from biomark.space import MNI152_2MM, Grid, in_grid, mm_to_ijk, mni_to_tal, tal_to_mni


def test_lancaster_pooled_check_vector():
    # SCIENCE.md §2: MNI (-38,-22,56) -> pooled TAL (-37.07,-25.88,51.82)
    tal = mni_to_tal(np.array([[-38.0, -22.0, 56.0]]), "lancaster_pooled")
    np.testing.assert_allclose(tal[0], [-37.07, -25.88, 51.82], atol=0.005)


def test_tal_to_mni_inverts_every_transform():
    rng = np.random.default_rng(0)
    xyz = rng.uniform(-70, 70, size=(50, 3))
    for name in ("lancaster_pooled", "lancaster_spm", "lancaster_fsl", "brett"):
        back = tal_to_mni(mni_to_tal(xyz, name), name)
        if name == "brett":
            # Brett's piecewise transform chooses its branch by sign of z on each side; points
            # whose z changes sign under the transform are not invertible by construction.
            same = np.sign(xyz[:, 2]) == np.sign(mni_to_tal(xyz, name)[:, 2])
            np.testing.assert_allclose(back[same], xyz[same], atol=1e-9)
        else:
            np.testing.assert_allclose(back, xyz, atol=1e-9)


def test_brett_uses_smaller_z_zoom_below_ac():
    # rotation of 0.05 rad about x then zoom (0.99, 0.97, 0.92/0.84): computed by hand for (0,0,±10)
    up = mni_to_tal(np.array([[0.0, 0.0, 10.0]]), "brett")[0]
    down = mni_to_tal(np.array([[0.0, 0.0, -10.0]]), "brett")[0]
    c, s = np.cos(0.05), np.sin(0.05)
    np.testing.assert_allclose(up, [0, s * 0.92 * 10, c * 0.92 * 10], atol=1e-12)
    np.testing.assert_allclose(down, [0, -s * 0.84 * 10, -c * 0.84 * 10], atol=1e-12)


def test_unknown_transform_rejected():
    with pytest.raises(ValueError, match="unknown Talairach transform"):
        tal_to_mni(np.zeros((1, 3)), "talairach88")


def test_mm_to_ijk_matches_mni_grid_origin_and_rounds_half_to_even():
    # origin (-90,-126,-72) is voxel (0,0,0); MNI (0,0,0) is voxel (45,63,36)
    assert mm_to_ijk(np.array([[-90.0, -126.0, -72.0]])).tolist() == [[0, 0, 0]]
    assert mm_to_ijk(np.array([[0.0, 0.0, 0.0]])).tolist() == [[45, 63, 36]]
    # x=-37 -> i=26.5 -> 26 (even); x=-35 -> 27.5 -> 28 (even): NiMARE's convention
    assert mm_to_ijk(np.array([[-37.0, 0.0, 0.0], [-35.0, 0.0, 0.0]]))[:, 0].tolist() == [26, 28]


def test_grid_properties():
    assert MNI152_2MM.voxel_volume_mm3 == pytest.approx(8.0)
    np.testing.assert_allclose(MNI152_2MM.voxel_size_mm, [2, 2, 2])
    g = Grid((10, 10, 10), ((3.0, 0, 0, 0), (0, 3.0, 0, 0), (0, 0, 3.0, 0), (0, 0, 0, 1)))
    assert g.voxel_volume_mm3 == pytest.approx(27.0)
    inside = in_grid(np.array([[0, 0, 0], [9, 9, 9], [10, 0, 0], [-1, 0, 0]]), g)
    assert inside.tolist() == [True, True, False, False]
