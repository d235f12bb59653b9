import numpy as np
import pytest

from biomark.rules import prepare
from biomark.shift.peaks import foci_in_mask, roi_peaks
from biomark.space import MNI152_2MM, mm_to_ijk
from biomark.studies import make_dataset


def _box_mask(lo_mm, hi_mm):
    mask = np.zeros(MNI152_2MM.shape, dtype=bool)
    lo, hi = mm_to_ijk(np.array([lo_mm]))[0], mm_to_ijk(np.array([hi_mm]))[0]
    mask[lo[0] : hi[0] + 1, lo[1] : hi[1] + 1, lo[2] : hi[2] + 1] = True
    return mask


def test_foci_in_mask_including_out_of_grid():
    mask = _box_mask((-40, -24, 50), (-30, -16, 60))
    xyz = np.array([[-38.0, -22, 56], [38.0, -22, 56], [-500.0, 0, 0]])
    assert foci_in_mask(xyz, mask).tolist() == [True, False, False]


def test_roi_peaks_centroid_counts_and_missing():
    exps = [
        {"experiment_id": "h", "group": "healthy", "n": 12, "space": "MNI"},
        {
            "experiment_id": "s",
            "group": "stroke",
            "n": 9,
            "space": "MNI",
            "days_post_stroke": 200,
            "lesion_side": "right",
            "lesion_location": "subcortical",
            "task": "active",
            "outcome_scale": "NIHSS",
            "outcome_score": 1,
        },
        {"experiment_id": "m", "group": "stroke", "n": 8, "space": "MNI", "days_post_stroke": 10},
    ]
    foci = [
        {"experiment_id": "h", "x": -38, "y": -22, "z": 56},
        {"experiment_id": "h", "x": -34, "y": -20, "z": 52},
        {"experiment_id": "h", "x": 40, "y": 0, "z": 0},
        # right lesion: flipped to x = -36 by prepare
        {"experiment_id": "s", "x": 36, "y": -18, "z": 54},
        {"experiment_id": "m", "x": 0, "y": 0, "z": 0},
    ]
    ds = prepare(make_dataset(exps, foci)).dataset
    out = roi_peaks(ds, _box_mask((-40, -24, 50), (-30, -16, 60)), "mi", rule="nearest-centroid")
    p = out.peaks.set_index("experiment_id")
    # centroid of (-38,-22,56) and (-34,-20,52) by hand
    assert p.loc["h", ["x", "y", "z"]].tolist() == pytest.approx([-36, -21, 54])
    assert p.loc["h", "n_maxima"] == 2 and p.loc["h", "group"] == "healthy"
    assert p.loc["s", ["x", "y", "z"]].tolist() == pytest.approx([-36, -18, 54])
    assert p.loc["s", "group"] == "chronic" and p.loc["s", "outcome"] == "good"
    assert bool(p.loc["s", "subcortical"])
    assert out.missing["experiment_id"].tolist() == ["m"]
    assert len(out.maxima) == 3


def test_distance_to_mask_by_hand():
    from biomark.shift.peaks import distance_to_mask_mm

    mask = _box_mask((-40, -24, 50), (-30, -16, 60))
    xyz = np.array([[-36.0, -20, 56], [-26.0, -20, 56], [-26.0, -12, 56], [-500.0, 0, 0]])
    d = distance_to_mask_mm(xyz, mask)
    # inside; 4 mm beyond the x = -30 face; 4 mm in x and 4 mm in y beyond an edge → sqrt(32)
    assert d[:3] == pytest.approx([0.0, 4.0, np.sqrt(32.0)])
    assert np.isinf(d[3])


def test_tolerance_admits_the_nearest_foci_only():
    exps = [
        {"experiment_id": "in", "group": "healthy", "n": 12, "space": "MNI"},
        {"experiment_id": "near", "group": "healthy", "n": 12, "space": "MNI"},
        {"experiment_id": "far", "group": "healthy", "n": 12, "space": "MNI"},
    ]
    foci = [
        {"experiment_id": "in", "x": -36, "y": -20, "z": 56},
        {"experiment_id": "in", "x": -26, "y": -20, "z": 56},  # 4 mm out: ignored, one is inside
        {"experiment_id": "near", "x": -26, "y": -20, "z": 52},  # 4 mm out
        {"experiment_id": "near", "x": -28, "y": -20, "z": 54},  # 2 mm out: the nearest
        {"experiment_id": "far", "x": -20, "y": -20, "z": 56},  # 10 mm out
    ]
    ds = prepare(make_dataset(exps, foci)).dataset
    mask = _box_mask((-40, -24, 50), (-30, -16, 60))
    strict = roi_peaks(ds, mask, "mi", rule="nearest-centroid")
    assert sorted(strict.missing["experiment_id"]) == ["far", "near"]
    loose = roi_peaks(ds, mask, "mi", tolerance_mm=6.0, rule="nearest-centroid")
    p = loose.peaks.set_index("experiment_id")
    assert p.loc["in", ["x", "y", "z"]].tolist() == pytest.approx([-36, -20, 56])
    assert p.loc["near", ["x", "y", "z"]].tolist() == pytest.approx([-28, -20, 54])
    assert p.loc["in", "n_maxima"] == 1 and p.loc["near", "n_maxima"] == 1
    assert loose.missing["experiment_id"].tolist() == ["far"]
    with pytest.raises(ValueError):
        roi_peaks(ds, mask, "mi", tolerance_mm=-1.0)


def test_roi_likelihood_is_the_mask_blurred_by_the_peak_sd():
    from scipy.stats import norm

    from biomark.shift.peaks import roi_likelihood

    # a slab 40 mm thick in z (voxel centres z = 40..80), unbounded in x and y within the grid:
    # the blur is 1-D, Φ((80 + 1 - z)/σ) - Φ((40 - 1 - z)/σ) up to the 2 mm sampling
    mask = np.zeros(MNI152_2MM.shape, dtype=bool)
    lo, hi = mm_to_ijk(np.array([[0.0, 0.0, 40.0], [0.0, 0.0, 80.0]]))[:, 2]
    mask[:, :, lo : hi + 1] = True
    z = np.array([60.0, 80.0, 84.0, 90.0])
    xyz = np.c_[np.zeros(4), np.zeros(4), z]
    sigma = np.full(4, 4.0)
    got = roi_likelihood(xyz, sigma, mask)
    expected = norm.cdf((81.0 - z) / 4.0) - norm.cdf((39.0 - z) / 4.0)
    assert got == pytest.approx(expected, abs=0.01)
    assert roi_likelihood(np.array([[0.0, 0.0, 60.0]]), np.array([4.0]), mask * False)[0] == 0.0


def _planted(mi_z_healthy, mi_z_shifted, neighbour):
    """Two healthy and two chronic experiments; each has its MI focus deep in the ROI box and one
    neighbour focus in the box's dorsal-anterior-medial corner (inside the ROI)."""
    exps, foci = [], []
    for k, (group, z) in enumerate(
        [("healthy", mi_z_healthy)] * 2 + [("chronic", mi_z_shifted)] * 2
    ):
        eid = f"{group}{k}"
        row = {"experiment_id": eid, "group": "healthy", "n": 12, "space": "MNI"}
        if group == "chronic":
            row.update(group="stroke", days_post_stroke=200, lesion_side="left")
        exps.append(row)
        foci.append({"experiment_id": eid, "x": -36 + (k % 2) * 2, "y": -20, "z": z})
        foci.append({"experiment_id": eid, **dict(zip("xyz", neighbour, strict=True))})
    return prepare(make_dataset(exps, foci)).dataset


def test_neighbour_in_the_roi_biases_the_centroid_not_the_likeliest():
    # ROI box x -44..-28, y -26..-14, z 42..62; MI foci at z 56 (healthy) and 50 (chronic),
    # 6 mm apart; a PMd-like focus at (-28, -14, 62), the box's corner, in every experiment
    mask = _box_mask((-44, -26, 42), (-28, -14, 62))
    ds = _planted(56, 50, (-28, -14, 62))

    def shift(rule):
        p = roi_peaks(ds, mask, "mi", tolerance_mm=6.0, rule=rule).peaks
        return p.groupby("group")["z"].mean()["healthy"] - p.groupby("group")["z"].mean()["chronic"]

    # centroid: healthy (56 + 62) / 2 = 59, chronic (50 + 62) / 2 = 56 → 3 mm, half the truth
    assert shift("nearest-centroid") == pytest.approx(3.0)
    # the corner is far less likely to hold an ROI peak than the box's middle → the MI focus
    assert shift("likeliest") == pytest.approx(6.0)
    found = roi_peaks(ds, mask, "mi", tolerance_mm=6.0)
    assert (found.peaks["n_maxima"] == 2).all() and len(found.maxima) == 8


def test_likeliest_takes_one_focus_even_outside_and_checks_its_rule():
    mask = _box_mask((-44, -26, 42), (-28, -14, 62))
    ds = _planted(36, 38, (-36, -20, 30))  # all foci below the box: 4-6 mm and 12 mm away
    p = roi_peaks(ds, mask, "mi", tolerance_mm=6.0, rule="likeliest").peaks.set_index(
        "experiment_id"
    )
    # the MI foci (4 and 6 mm below the box) are the only candidates; the 12 mm one is not
    assert p["z"].tolist() == [36, 36, 38, 38]
    with pytest.raises(ValueError):
        roi_peaks(ds, mask, "mi", rule="centroid")  # type: ignore[arg-type]
