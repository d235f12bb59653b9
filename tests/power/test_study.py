"""Power studies: same numbers on one process and on local worker processes; texts and rows."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from biomark.parallel import make_backend, map_chunks
from biomark.power.ale_power import AleSpec, power_chunk
from biomark.power.design import preset
from biomark.power.results import proportion_row, wilson_interval
from biomark.power.study import run_calibration, run_power_study, stage_seed
from biomark.power.text import caveat_sentence, methods_text, report_rows, summary_sentence

TINY = replace(
    preset("outcome"), replicates=6, block_size=3, bayes_replicates=0, ale_iterations=500,
    curve_replicates=200, contrast_splits=2, contrast_permutations=50,
)  # fmt: skip


@pytest.fixture(scope="module")
def serial_result(mask_grid, mi_mask):
    mask, grid = mask_grid
    return run_power_study(TINY, mask, mi_mask, grid, 13, make_backend(1))


def test_local_processes_give_identical_chunks(mask_grid):
    mask, grid = mask_grid
    spec = AleSpec(TINY, mask, grid, 0.00706, np.array([10.0, 40.0, 80.0]), 13)
    serial = map_chunks(power_chunk, spec, spec.n_chunks, make_backend(1))
    local = map_chunks(power_chunk, spec, spec.n_chunks, make_backend(2))
    for a, b in zip(serial, local, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.slow
def test_local_processes_give_identical_study(mask_grid, mi_mask, serial_result):
    mask, grid = mask_grid
    local = run_power_study(TINY, mask, mi_mask, grid, 13, make_backend(2))
    pd.testing.assert_frame_equal(serial_result.estimates, local.estimates)
    pd.testing.assert_frame_equal(serial_result.curve, local.curve)


def test_result_tables_and_texts(serial_result):
    est = serial_result.estimates
    assert set(est["key"]) == {"welch_power", "ale_mi_power", "ale_target_power"}
    assert est.set_index("key")["replicates"].to_dict() == {
        "welch_power": 200, "ale_mi_power": 6, "ale_target_power": 6
    }  # fmt: skip
    welch_at_6 = serial_result.curve.set_index("shift_mm").loc[6.0, "estimate"]
    assert serial_result.row("welch_power")["estimate"] == welch_at_6
    assert serial_result.curve["shift_mm"].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    sentence = summary_sentence(serial_result)
    welch = serial_result.row("welch_power")["estimate"]
    assert sentence.startswith("With 9 good-outcome vs 5 poor-outcome experiments")
    assert f"{100 * welch:.0f} %" in sentence and "4 of the 9 good-outcome" in sentence
    assert "Bayesian" not in sentence  # no Bayesian fits were run
    assert "6 mm ventral MI shift" in caveat_sentence(serial_result)
    assert "seed 13" in methods_text(serial_result)
    rows = report_rows(serial_result)
    assert len(rows) == 3 and {"estimate", "mcse", "ci_low", "ci_high"} <= set(rows[0])


def test_calibration_rows(mask_grid):
    mask, grid = mask_grid
    cal = run_calibration(TINY, mask, grid, 2, make_backend(1))
    keys = set(cal.estimates["key"])
    assert {"ale_fpr_a", "ale_fpr_b", "contrast_a_gt_b_reached_0.01"} <= keys
    assert len(cal.estimates) == 10


def test_mcse_and_wilson_by_hand():
    row = proportion_row("k", "s", "m", "q", [1] * 30 + [0] * 70)
    assert row["estimate"] == 0.3
    assert row["mcse"] == pytest.approx((0.3 * 0.7 / 100) ** 0.5)
    # Wilson 95 % for 30/100 (standard textbook value 0.219–0.396)
    assert row["ci_low"] == pytest.approx(0.2189, abs=5e-4)
    assert row["ci_high"] == pytest.approx(0.3958, abs=5e-4)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and 0.15 < hi < 0.17  # 0/20: upper ≈ 0.161


def test_stage_seeds_differ_and_are_stable():
    assert stage_seed(1, "curve") == stage_seed(1, "curve")
    assert len({stage_seed(1, s) for s in ("curve", "bayes", "replicates")}) == 3
    assert isinstance(stage_seed(0, "x"), int)
