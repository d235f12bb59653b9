"""The MI candidate mixture: extraction, its likelihood against a hand computation, the model."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from biomark.errors import InputError
from biomark.shift.candidates import RoiCandidates, candidate_box, candidate_peaks, roi_candidates
from biomark.shift.mixture import candidate_loglik_numpy
from biomark.shift.neighbours import PMD, SI, expected_neighbours, neighbour_density
from biomark.shift.peaks import roi_peaks
from biomark.space import MNI152_2MM, mm_to_ijk
from biomark.studies import Dataset


def _box_mask(lo_mm, hi_mm):
    mask = np.zeros(MNI152_2MM.shape, dtype=bool)
    a, b = mm_to_ijk(np.array([lo_mm, hi_mm], dtype=float))
    mask[a[0] : b[0] + 1, a[1] : b[1] + 1, a[2] : b[2] + 1] = True
    return mask


def _dataset():
    exps = pd.DataFrame(
        {
            "experiment_id": ["h1", "h2", "c1", "c2", "x1"],
            "study_id": ["s1", "s2", "s3", "s4", "s5"],
            "cohort_id": ["h1", "h2", "c1", "c2", "x1"],
            "n": [10, 12, 8, 9, 10],
            "group": ["healthy", "healthy", "stroke", "stroke", "stroke"],
            "time_group": [None, None, "chronic", "chronic", None],
            "lesion_location": [None, None, "subcortical", "subcortical", "subcortical"],
            "outcome": [None, None, "good", "poor", None],
            "days_post_stroke": [np.nan, np.nan, 200.0, 300.0, np.nan],
        }
    )
    foci = pd.DataFrame(
        [
            ("h1", -36, -20, 56), ("h1", -30, -12, 60), ("h1", 40, -20, 56),  # one off-box
            ("h2", -38, -22, 54),
            ("c1", -36, -20, 70),  # outside the ROI, inside the box: candidate, no ROI peak
            ("c2", -36, -20, 50), ("c2", -40, -28, 52), ("c2", -34, -14, 58),
            ("x1", -36, -20, 56),  # no time group: not a shift experiment
        ],
        columns=["experiment_id", "x", "y", "z"],
    )  # fmt: skip
    return Dataset(exps, foci, "t")


def test_candidates_are_every_focus_in_the_widened_box_padded_to_a_width():
    mask = _box_mask((-40, -24, 50), (-32, -16, 60))
    lo, hi, centre = candidate_box(mask, margin_mm=10.0)
    np.testing.assert_allclose(lo, [-50, -34, 40])
    np.testing.assert_allclose(hi, [-22, -6, 70])
    np.testing.assert_allclose(centre, [-36, -20, 55])
    c = roi_candidates(_dataset(), mask, "mi", margin_mm=10.0, width=4)
    assert c.experiment_ids == ("h1", "h2", "c1", "c2")
    np.testing.assert_array_equal(c.valid.sum(axis=1), [2, 1, 1, 3])
    assert c.xyz_mm.shape == (4, 4, 3)
    np.testing.assert_allclose(c.xyz_mm[3, :3], [[-36, -20, 50], [-40, -28, 52], [-34, -14, 58]])
    q = neighbour_density(np.array([[-40.0, -28.0, 52.0]]))
    assert c.log_density[3, 1] == pytest.approx(math.log(q[0]))
    assert c.expected_neighbours == pytest.approx(expected_neighbours(lo, hi))
    with pytest.raises(InputError, match="allows 2"):
        roi_candidates(_dataset(), mask, "mi", margin_mm=10.0, width=2)
    found = roi_peaks(_dataset(), mask, "mi")
    peaks = candidate_peaks(_dataset(), c, found)
    assert list(peaks["experiment_id"]) == ["h1", "h2", "c1", "c2"]
    row = peaks.set_index("experiment_id").loc["c1"]
    assert (row["z"], row["n_maxima"], row["outcome"]) == (70.0, 0, "good")


def test_expected_neighbours_is_the_integral_of_the_density():
    lo, hi = np.array([-50.0, -34.0, 40.0]), np.array([-22.0, -6.0, 70.0])
    # independent: the Gaussian parts by numeric integration, the background by volume
    total = 0.0
    for r in (PMD, SI):
        shares = [integrate.quad(stats.norm(c, s).pdf, a, b)[0]
                  for c, s, a, b in zip(r.centre_mm, r.sd_mm, lo, hi, strict=True)]  # fmt: skip
        total += r.rate * (1 + r.extra_foci) * float(np.prod(shares))
    background = neighbour_density(np.array([[200.0, 200.0, 200.0]]))[0]
    total += background * float(np.prod(hi - lo))
    assert expected_neighbours(lo, hi) == pytest.approx(total, rel=1e-9)


def test_candidate_likelihood_equals_bayes_rule_by_hand():
    rng = np.random.default_rng(5)
    lo, hi, big_q = np.array([-50.0, -34.0, 40.0]), np.array([-22.0, -6.0, 70.0]), 3.2
    mean = np.array([[-36.0, -20.0, 55.0], [-36.0, -20.0, 69.0]])
    sd = np.array([[4.0, 5.0, 6.0], [3.0, 3.0, 3.0]])
    xyz = np.zeros((2, 3, 3))
    xyz[0, :2] = [[-35.0, -19.0, 50.0], [-30.0, -12.0, 60.0]]
    xyz[1, :1] = [[-40.0, -25.0, 45.0]]
    valid = np.array([[True, True, False], [True, False, False]])
    log_q = np.where(valid, np.log(rng.uniform(1e-5, 5e-4, (2, 3))), 0.0)
    got = candidate_loglik_numpy(mean, sd, xyz, valid, log_q, lo, hi, big_q)
    for e in range(2):
        p_in = np.prod(stats.norm.cdf(hi, mean[e], sd[e]) - stats.norm.cdf(lo, mean[e], sd[e]))
        ratio = sum(
            stats.multivariate_normal(mean[e], np.diag(sd[e] ** 2)).pdf(xyz[e, j])
            / math.exp(log_q[e, j])
            for j in range(3)
            if valid[e, j]
        )
        expected = math.log((1 - p_in) + ratio) - math.log(1 - (1 - p_in) * math.exp(-big_q))
        assert got[e] == pytest.approx(expected, rel=1e-9)


def test_the_model_reads_the_candidates_and_not_the_stand_in_peaks():
    from biomark.shift.model import build_shift_model, swap_data

    mask = _box_mask((-40, -24, 50), (-32, -16, 60))
    ds = _dataset()
    c = roi_candidates(ds, mask, "mi", margin_mm=10.0, width=4)
    peaks = candidate_peaks(ds, c, roi_peaks(ds, mask, "mi"))
    m = build_shift_model(peaks, contrasts=("chronic",), outcome_groups=(), candidates=c)
    assert "peak_mm" not in m.model.named_vars and "roi_candidates" in m.model.named_vars
    np.testing.assert_allclose(m.model["reference_mm"].get_value(), c.centre_mm)
    logp = m.model.compile_logp()
    point = m.model.initial_point()
    before = logp(point)
    moved = peaks.assign(z=peaks["z"] + 7.0)  # stand-in peaks are not data in this model
    swap_data(m, moved, c)
    assert logp(point) == pytest.approx(before)
    shifted = RoiCandidates(c.roi, c.experiment_ids, c.xyz_mm + np.array([0.0, 0.0, 7.0]), c.valid,
                            c.log_density, c.box_lo_mm, c.box_hi_mm, c.centre_mm,
                            c.expected_neighbours)  # fmt: skip
    swap_data(m, moved, shifted)
    assert logp(point) != pytest.approx(before)
    with pytest.raises(InputError, match="candidates"):
        swap_data(m, moved)
    wider = roi_candidates(ds, mask, "mi", margin_mm=12.0, width=4)
    with pytest.raises(InputError, match="same box"):
        swap_data(m, moved, wider)
