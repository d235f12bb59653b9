"""Sentences of the peak-shift section that carry numbers, against values written by hand."""

from __future__ import annotations

import math

import pandas as pd

from biomark.report import shift_sections as S


def _comparison(**hdi: tuple[float, float]) -> pd.DataFrame:
    rows = []
    for contrast, (lo, hi) in hdi.items():
        rows.append({"contrast": contrast, "axis": "z", "test": "welch", "freq_shift_mm": -3.04,
                     "ci_low_mm": -6.51, "ci_high_mm": 0.43, "p_value": 0.0817,
                     "posterior_mean_mm": -3.4, "hdi_low_mm": lo, "hdi_high_mm": hi,
                     "direction": "ventral", "p_direction": 0.93})  # fmt: skip
    rows.append({**rows[0], "axis": "y", "hdi_low_mm": -1.0, "hdi_high_mm": 1.0})
    return pd.DataFrame(rows)


def test_welch_is_given_only_where_the_interval_reaches_zero() -> None:
    notes = S.welch_notes(_comparison(chronic=(-7.8, 1.2), acute=(-9.9, -0.2)), "z")
    assert len(notes) == 1  # acute excludes 0; the y row is not the main axis
    assert notes[0].startswith("Chronic patients: the 95 % HDI of the z shift reaches 0 mm")
    assert "−3.0\u00a0mm (95\u00a0% CI −6.5 to 0.4), p = 0.082." in notes[0]


def test_welch_note_skips_a_missing_interval() -> None:
    assert S.welch_notes(_comparison(chronic=(math.nan, 1.0)), "z") == []


def test_skipped_comparisons_are_named_with_their_reason() -> None:
    notes = S.skipped_notes((("acute", "0 acute experiment(s) in the ROI"),))
    assert notes == ["Not compared: acute patients against healthy controls (0 acute "
                     "experiment(s) in the ROI)."]  # fmt: skip
