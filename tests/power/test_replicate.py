"""The replicate generator plants what its docstring says (means and SDs from the formula)."""

import math

import numpy as np
import pytest

from biomark.errors import InputError
from biomark.power.design import PowerDesign, preset, resize
from biomark.power.replicate import group_foci, simulate_peaks, simulate_replicate

# Eickhoff et al. 2009 by hand: mean Euclidean distances 5.7 mm (template) and 11.6 mm
# (subjects); a 3-D isotropic Gaussian with per-axis SD s has mean distance 2 s sqrt(2/pi).
SIGMA_T = 5.7 / (2 * math.sqrt(2 / math.pi))
SIGMA_S = 11.6 / (2 * math.sqrt(2 / math.pi))


def hand_sd(n: int, cohort_sd: float) -> float:
    return math.sqrt(cohort_sd**2 + SIGMA_T**2 + SIGMA_S**2 / n)


def test_peaks_have_planted_means_and_sds():
    d = PowerDesign(
        n_subjects_a=(8, 30),
        n_subjects_b=(8, 30),
        foci_a=(3, 3),
        foci_b=(3, 3),
        shift_mm=6.0,
        shifted_group="b",
        cohort_sd_mm=2.0,
    )
    r = 20000
    peaks = simulate_peaks(d, np.random.default_rng(5), r)  # (r, 4, 3)
    centre = np.array(d.mi_centre_mm)
    expected_mean = np.tile(centre, (4, 1))
    expected_mean[2:, 2] -= 6.0  # group b, ventral
    sds = np.array([hand_sd(n, 2.0) for n in (8, 30, 8, 30)])
    mean = peaks.mean(axis=0)
    se = sds[:, None] / math.sqrt(r)
    assert np.all(np.abs(mean - expected_mean) < 4 * se)
    # per-axis SD within 3 % of the formula (SE of an SD ~ sd/sqrt(2r) = 0.5 %)
    np.testing.assert_allclose(peaks.std(axis=0), np.repeat(sds[:, None], 3, axis=1), rtol=0.03)


def test_replicate_layout_carriers_and_background(brain_mm):
    d = preset("outcome")
    rng = np.random.default_rng(11)
    rep = simulate_replicate(d, brain_mm, rng)
    counts = np.bincount(rep.experiment_index)
    assert counts.tolist() == list(d.foci_a + d.foci_b)
    assert rep.carriers[: d.n_a].sum() == 4  # round(0.5 * 9), half to even
    assert not rep.carriers[d.n_a :].any()  # only the good-outcome group carries the target
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    np.testing.assert_array_equal(rep.foci_mm[starts], rep.peaks_mm)
    # the focus after the MI peak of a carrier is near the target; background on voxel centres
    brain = {tuple(v) for v in brain_mm.tolist()}
    for e in range(len(counts)):
        rest = rep.foci_mm[starts[e] + 1 : starts[e] + counts[e]]
        if rep.carriers[e]:
            assert np.linalg.norm(rest[0] - np.array(d.target_mm)) < 30
            rest = rest[1:]
        assert all(tuple(f) in brain for f in rest.tolist())


def test_target_focus_is_centred_on_target(brain_mm):
    d = resize(preset("outcome"), n_a=4)
    rng = np.random.default_rng(3)
    offs = []
    for _ in range(400):
        rep = simulate_replicate(d, brain_mm, rng)
        starts = np.r_[0, np.cumsum(np.bincount(rep.experiment_index))[:-1]]
        for e in np.flatnonzero(rep.carriers):
            offs.append(rep.foci_mm[starts[e] + 1] - np.array(d.target_mm))
    offs = np.array(offs)
    assert np.all(np.abs(offs.mean(axis=0)) < 4 * offs.std(axis=0) / math.sqrt(len(offs)))


def test_group_foci_renumbers(brain_mm):
    d = preset("outcome")
    rep = simulate_replicate(d, brain_mm, np.random.default_rng(0))
    xyz, exp, n = group_foci(rep, "b")
    assert exp.min() == 0 and exp.max() == d.n_b - 1
    assert np.bincount(exp).tolist() == list(d.foci_b)
    assert n.tolist() == list(d.n_subjects_b)
    assert xyz.shape == (sum(d.foci_b), 3)


def test_design_validation_and_resize():
    with pytest.raises(InputError, match="≥ 2 foci"):
        PowerDesign(foci_a=(1,) * 10)
    with pytest.raises(InputError, match="shift_mm"):
        PowerDesign(shift_mm=-1)
    d = resize(preset("outcome"), n_a=12, n_b=3)
    assert d.n_a == 12 and d.n_b == 3
    assert d.n_subjects_a[9:] == preset("outcome").n_subjects_a[:3]


def test_outcome_preset_matches_paper_counts():
    d = preset("outcome")  # SCIENCE.md §1: good 9 / 95 / 59, poor 5 / 35 / 48
    assert (d.n_a, sum(d.n_subjects_a), sum(d.foci_a)) == (9, 95, 59)
    assert (d.n_b, sum(d.n_subjects_b), sum(d.foci_b)) == (5, 35, 48)
