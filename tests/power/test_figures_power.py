"""The power-curve figure: PNG bytes, deterministic, drawn from the curve table."""

import pandas as pd

from biomark.report.figures_power import power_curve_png

CURVE = pd.DataFrame(
    {
        "shift_mm": [0.0, 3.0, 6.0],
        "estimate": [0.05, 0.3, 0.6],
        "ci_low": [0.03, 0.25, 0.55],
        "ci_high": [0.07, 0.35, 0.65],
    }
)


def test_power_curve_png_is_deterministic_png():
    a = power_curve_png(CURVE, design_shift_mm=6.0, points={"Bayes": (6.0, 0.5, 0.4, 0.6)}, dpi=50)
    b = power_curve_png(CURVE, design_shift_mm=6.0, points={"Bayes": (6.0, 0.5, 0.4, 0.6)}, dpi=50)
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b
    assert a != power_curve_png(CURVE, dpi=50)
