"""Anatomical labels of coordinates and clusters, and the peak-shift ROI masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from biomark.ale.labels import (
    format_composition,
    label_cluster,
    label_coordinates,
    left_mi_mask,
    maximum_probability_map,
    medial_pmc_mask,
    motor_roi_masks,
    roi_mask,
    sphere_mask,
)
from biomark.errors import InputError
from biomark.io.atlases import load_atlases
from biomark.space import MNI152_2MM, Grid, ijk_to_mm, mm_to_ijk


@pytest.fixture(scope="module")
def atlases():
    return load_atlases()


def _at(mask, xyz):
    i, j, k = mm_to_ijk(np.array([xyz], dtype=float))[0]
    return bool(mask[i, j, k])


def test_hand_knob_coordinate_is_left_precentral_ba4(atlases):
    row = label_coordinates(np.array([[-38.0, -22.0, 56.0]]), atlases).iloc[0]
    assert row["juelich"] in {"Primary motor cortex BA4a L", "Primary motor cortex BA4p L"}
    assert row["juelich_prob"] >= 25
    assert row["harvard_oxford_cortical"] == "Left Precentral Gyrus"
    assert row["aal2"] == "Precentral L"
    assert row["talairach_ba"] == "Brodmann area 4"
    assert row["talairach_gyrus"] == "Precentral Gyrus"
    assert "BA3b L" in row["juelich_all"]  # area 3b neighbours 4p in the central sulcus


def test_cerebellar_and_thalamic_coordinates(atlases):
    pts = np.array([[20.0, -50.0, -24.0], [18.0, -20.0, 6.0], [0.0, -52.0, -20.0]])
    rows = label_coordinates(pts, atlases)
    assert rows.loc[0, "aal2"] in {"Cerebelum 4 5 R", "Cerebelum 6 R"}
    assert rows.loc[1, "talairach_ba"] == "Ventral Posterior Lateral Nucleus"
    assert rows.loc[1, "harvard_oxford_subcortical"] == "Right Thalamus"
    assert rows.loc[1, "aal2"] == "Thalamus R"
    assert rows.loc[2, "aal2"] == "Vermis 4 5"
    assert rows.loc[2, "talairach_gyrus"] == "Culmen"


def test_sma_coordinate(atlases):
    row = label_coordinates(np.array([[-4.0, -8.0, 60.0]]), atlases).iloc[0]
    assert row["juelich"] == "Premotor cortex BA6 L"
    assert row["harvard_oxford_cortical"].startswith("Left Juxtapositional Lobule Cortex")
    assert row["aal2"] == "Supp Motor Area L"


def test_off_grid_point_is_unlabelled(atlases):
    row = label_coordinates(np.array([[0.0, 0.0, 500.0]]), atlases).iloc[0]
    assert row["aal2"] == "" and row["juelich"] == "" and np.isnan(row["juelich_prob"])


def test_left_mi_mask(atlases):
    mask = left_mi_mask(atlases)
    x = ijk_to_mm(np.argwhere(mask))[:, 0]
    assert (x < 0).all()
    assert _at(mask, (-38, -22, 56))
    assert not _at(mask, (38, -22, 56))
    assert 1200 < mask.sum() < 2500  # 1,700 voxels (13.6 cm³) at MPM ≥ 25 %
    # An independent atlas agrees: most voxels are in Harvard–Oxford pre/postcentral gyrus.
    ho = atlases["harvard_oxford_cortical"]
    central = roi_mask(ho, ["Left_Precentral_Gyrus", "Left_Postcentral_Gyrus"], min_prob_pct=1)
    assert (mask & central).sum() / mask.sum() > 0.8


def test_medial_pmc_mask(atlases):
    mask = medial_pmc_mask(atlases)
    xyz = ijk_to_mm(np.argwhere(mask))
    assert np.abs(xyz[:, 0]).max() <= 16
    assert _at(mask, (-4, -8, 60)) and _at(mask, (4, -8, 60))
    assert not _at(mask, (-28, -4, 58))  # lateral dorsal premotor: BA6 but not medial
    assert roi_mask(atlases["juelich"], ["GM_Premotor_cortex_BA6_L"])[
        tuple(mm_to_ijk(np.array([[-28.0, -4.0, 58.0]]))[0])
    ]
    left = medial_pmc_mask(atlases, hemisphere="left")
    assert (ijk_to_mm(np.argwhere(left))[:, 0] < 0).all() and left.sum() < mask.sum()
    # Harvard–Oxford's SMA proper lies (almost) entirely inside the medial BA6 ROI.
    ho = atlases["harvard_oxford_cortical"]
    sma = roi_mask(
        ho,
        [
            f"{side}_Juxtapositional_Lobule_Cortex_(formerly_Supplementary_Motor_Cortex)"
            for side in ("Left", "Right")
        ],
    )
    assert (sma & mask).sum() / sma.sum() > 0.85


def test_motor_rois_are_disjoint(atlases):
    rois = motor_roi_masks(atlases)
    assert not (rois["MI_left"] & rois["medial_PMC"]).any()


def test_sphere_mask_voxel_count():
    # Integer points with a²+b²+c² ≤ 4 (radius 4 mm on a 2 mm grid): 1 + 6 + 12 + 8 + 6.
    mask = sphere_mask((0.0, 0.0, 0.0), 4.0, MNI152_2MM)
    assert mask.sum() == 33
    assert _at(mask, (0, 0, 4)) and not _at(mask, (0, 2, 4))


@dataclass(frozen=True)
class ToyAtlas:
    key: str
    label_names: tuple[str, ...]
    maps: np.ndarray


TOY_GRID = Grid((4, 1, 1), ((2.0, 0, 0, 0.0), (0, 2.0, 0, 0.0), (0, 0, 2.0, 0.0), (0, 0, 0, 1.0)))


def _toy_prob():
    # 4 voxels × 3 labels (percent); WM competes only when grey_matter_only is False.
    probs = np.array([[60, 30, 0], [20, 10, 80], [10, 20, 0], [0, 0, 0]], dtype=np.uint8)
    return ToyAtlas("toy", ("GM_A", "GM_B", "WM_T"), probs.reshape(4, 1, 1, 3))


def test_maximum_probability_map_by_hand():
    atlas = _toy_prob()
    assert maximum_probability_map(atlas, 25).ravel().tolist() == [1, 0, 0, 0]
    assert maximum_probability_map(atlas, 15).ravel().tolist() == [1, 1, 2, 0]
    with_wm = maximum_probability_map(atlas, 15, grey_matter_only=False)
    assert with_wm.ravel().tolist() == [1, 3, 2, 0]


def test_roi_rules_by_hand():
    atlas = _toy_prob()
    assert roi_mask(atlas, ["GM_B"], min_prob_pct=15).ravel().tolist() == [0, 0, 1, 0]
    thr = roi_mask(atlas, ["GM_B"], min_prob_pct=15, rule="threshold")
    assert thr.ravel().tolist() == [1, 0, 1, 0]
    with pytest.raises(InputError, match="not in atlas"):
        roi_mask(atlas, ["GM_Z"])


def test_label_cluster_percentages_by_hand():
    det = ToyAtlas("det", ("Alpha", "Beta"), np.array([1, 1, 2, 0]).reshape(4, 1, 1))
    mask = np.ones((4, 1, 1), dtype=bool)
    out = label_cluster(mask, {"det": det, "prob": _toy_prob()}, min_prob_pct=15)
    assert out["det"] == [("Alpha", 50.0), ("Beta", 25.0)]
    assert out["prob"] == [("A", 50.0), ("B", 25.0)]
    assert format_composition(out["det"]) == "Alpha 50%; Beta 25%"
    labels = label_coordinates(np.array([[2.0, 0, 0]]), {"prob": _toy_prob()}, grid=TOY_GRID)
    assert labels.loc[0, "prob"] == "T" and labels.loc[0, "prob_all"] == "T 80%; A 20%; B 10%"
