"""The whole-experiment simulator and the peak-rule bias study (fast tier and one slow test)."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from biomark.power.experiments import simulate_experiments
from biomark.power.peak_rule import PAPER_DESIGN, SCENARIOS, bias_study, welch_shifts
from biomark.shift.neighbours import PMD, SI
from biomark.shift.peaks import roi_peaks


def test_simulator_plants_the_shift_and_is_seeded():
    design = replace(PAPER_DESIGN, shift_mm=6.0, neighbours=(PMD, SI), n_background=3)
    a = simulate_experiments(design, np.random.default_rng(4), 300)
    b = simulate_experiments(design, np.random.default_rng(4), 300)
    pd.testing.assert_frame_equal(a.foci, b.foci)
    e = a.experiments
    gap = e.loc[~e.shifted, "true_z"].mean() - e.loc[e.shifted, "true_z"].mean()
    assert gap == pytest.approx(6.0, abs=0.3)  # SE ≈ 2.8 / sqrt(3600) · 2 ≈ 0.1 mm
    first = a.foci.groupby("experiment_id", sort=False)["origin"].first()
    assert (first == "MI").all() and len(first) == len(e)
    # neighbour rates: P(reported) 0.55 / 0.56, 1 + Poisson(≈1.1) foci when reported
    per = a.foci.groupby(["experiment_id", "origin"]).size().unstack(fill_value=0)
    assert (per["PMd"] > 0).mean() == pytest.approx(0.55, abs=0.03)
    assert per["SI"][per["SI"] > 0].mean() == pytest.approx(2.16, abs=0.1)
    assert (per["background"] == 3).all()


def test_dataset_goes_through_roi_peaks(mi_mask):
    sim = simulate_experiments(SCENARIOS["MI only"], np.random.default_rng(1), 2)
    found = roi_peaks(sim.dataset(), mi_mask, "mi", tolerance_mm=6.0)
    assert set(found.peaks["group"]) == {"healthy", "chronic"}
    assert len(found.peaks) + len(found.missing) == 2 * len(PAPER_DESIGN.shifted)


def test_welch_shifts_match_scipy():
    from scipy import stats

    rng = np.random.default_rng(0)
    z = rng.normal(50, 5, 20)
    peaks = pd.DataFrame({"experiment_id": [f"e{i}" for i in range(20)], "z": z,
                          "group": ["healthy"] * 9 + ["chronic"] * 11})  # fmt: skip
    out = welch_shifts(peaks, {f"e{i}": 0 for i in range(20)}, 1).iloc[0]
    ref = stats.ttest_ind(z[:9], z[9:], equal_var=False).confidence_interval(0.95)
    assert out.shift_mm == pytest.approx(z[:9].mean() - z[9:].mean())
    assert (out.ci_low, out.ci_high) == pytest.approx((ref.low, ref.high))


def test_bias_study_table_shape(mi_mask):
    table = bias_study(mi_mask, np.random.default_rng(2), 20, scenarios=("+ PMd",),
                       shifts_mm=(6.0,))  # fmt: skip
    assert table["rule"].tolist() == ["likeliest", "nearest-centroid", "group-mixture"]
    assert table["replicates"].eq(20).all() and table["coverage"].between(0, 1).all()


# The target of SCIENCE.md §7, fixed before the run: |bias| ≤ 10 % of the planted shift and 95 %
# CI coverage in [0.88, 0.99]. Measured with 600 replicates (benchmarks/peak_rule_study.py):
# the default centroid rule meets it with the MI focus alone and misses the bias target as soon
# as PMd or SI foci are present (-19 % to -43 %), so those cases are strict xfails: they flag the
# day a rule passes them.
_NEIGHBOUR_MISS = pytest.mark.xfail(strict=True, reason="neighbour foci bias every ROI rule")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "planted"),
    [("MI only", 3.0), ("MI only", 6.0)]
    + [pytest.param(s, 6.0, marks=_NEIGHBOUR_MISS) for s in ("+ PMd", "+ SI", "real rates")],
)
def test_rule_bias_and_coverage(mi_mask, scenario, planted):
    """600 replicates: the MC SE of the mean recovered shift is ≈ 0.085 mm, so the test detects
    a bias of (1.96 + 0.84) · 0.085 ≈ 0.24 mm (8 % of 3 mm, 4 % of 6 mm) with ≥ 80 % power, and a
    true bias beyond the 10 % limit by more than 0.84 · 0.085 ≈ 0.07 mm fails it with ≥ 80 %
    probability. Coverage's MC SE is ≈ 0.009.
    """
    row = bias_study(mi_mask, np.random.default_rng(20261203), 600, scenarios=(scenario,),
                     shifts_mm=(planted,), rules=("nearest-centroid",)).iloc[0]  # fmt: skip
    print(f"\n{scenario} {planted} mm: mean {row.mean_mm:.2f}, bias {row.bias_pct:+.1f} %, "
          f"coverage {row.coverage:.3f}, MC SE {row.mc_se_mm:.3f}")  # fmt: skip
    assert abs(row.bias_pct) <= 10.0
    assert 0.88 <= row.coverage <= 0.99
