"""The report's power section: how likely this design was to find what it looked for.

Built from plain data a power study produced (sentences, rows, the Welch power curve); the
report never runs simulations itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from biomark.report.context import figure, table
from biomark.report.figures_power import power_curve_png

_COLUMNS = [
    ("method", "Method", "text"), ("quantity", "Quantity", "text"),
    ("estimate", "Estimate", "pct"), ("mcse", "MC SE", "pct1"),
    ("ci_low", "95 % low", "pct"), ("ci_high", "95 % high", "pct"),
    ("replicates", "Simulations", "int"),
]  # fmt: skip


def power_section(
    *, summary: str, caveat: str, methods: str, rows: Sequence[Mapping[str, Any]],
    curve: pd.DataFrame, alpha: float, design_shift_mm: float, design_label: str,
) -> dict[str, Any]:  # fmt: skip
    """The POWER context entry (see :data:`biomark.report.context.SCHEMA`)."""
    png = power_curve_png(curve, alpha=alpha, design_shift_mm=design_shift_mm,
                          title=f"{design_label} (simulated)")  # fmt: skip
    return {
        "title": "How much could this design detect?",
        "text": summary,
        "caveat": caveat,
        "table": table([dict(r) for r in rows], _COLUMNS,
                       caption="Power by simulation of this report's design (Monte Carlo "
                       "standard error and 95 % Wilson interval)."),
        "figure": figure(png, title="Power of Welch's t-test against the size of the shift",
                         caption="Share of simulated meta-analyses in which the test finds a "
                         "ventral MI shift, with 95 % intervals; the grey line marks the "
                         f"design's {design_shift_mm:g} mm."),
        "methods": methods,
    }  # fmt: skip
