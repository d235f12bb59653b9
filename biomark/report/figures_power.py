"""The power-curve figure of a simulated power study, as PNG bytes (matplotlib, house style).

Same conventions as :mod:`biomark.report.figures`: its own Figure (no pyplot state), A4-column
width, Okabe–Ito colours, deterministic PNG bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from biomark.report.figures import BAYES_COLOUR, DPI, FREQ_COLOUR, _new_figure, _png

if TYPE_CHECKING:
    import pandas as pd


def power_curve_png(
    curve: pd.DataFrame,
    *,
    alpha: float = 0.05,
    design_shift_mm: float | None = None,
    points: Mapping[str, tuple[float, float, float, float]] | None = None,
    title: str | None = None,
    dpi: int = DPI,
) -> bytes:
    """Detection rate against planted shift, with 95 % Monte Carlo intervals.

    Parameters
    ----------
    curve
        Rows with ``shift_mm``, ``estimate``, ``ci_low``, ``ci_high`` (one method).
    alpha
        Drawn as a dotted line (the rate a valid test has at 0 mm).
    design_shift_mm
        The design's planted shift, marked with a vertical line.
    points
        Extra single estimates to mark, ``{label: (shift_mm, estimate, ci_low, ci_high)}``
        (e.g. the Bayesian model's power at the design shift), drawn with interval bars.
    title
        Axes title.
    dpi
        Resolution.
    """
    fig = _new_figure(3.2)
    ax = fig.add_subplot()
    x = curve["shift_mm"].to_numpy(dtype=float)
    y = curve["estimate"].to_numpy(dtype=float)
    lo = curve["ci_low"].to_numpy(dtype=float)
    hi = curve["ci_high"].to_numpy(dtype=float)
    ax.fill_between(x, lo, hi, color=FREQ_COLOUR, alpha=0.2, linewidth=0)
    ax.plot(x, y, "o-", color=FREQ_COLOUR, label="Welch t-test (95 % MC interval)")
    for label, (sx, est, p_lo, p_hi) in (points or {}).items():
        ax.errorbar(
            [sx], [est], yerr=[[est - p_lo], [p_hi - est]], fmt="s", color=BAYES_COLOUR,
            capsize=3, label=label,
        )  # fmt: skip
    ax.axhline(alpha, color="0.4", linestyle=":", linewidth=1, label=f"α = {alpha:g}")
    ax.axhline(0.8, color="0.6", linestyle="--", linewidth=0.8, label="80 % power")
    if design_shift_mm is not None:
        ax.axvline(design_shift_mm, color="0.6", linewidth=0.8)
    ax.set_xlabel("planted ventral MI shift (mm)")
    ax.set_ylabel("detection rate")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(np.unique(x))
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10)
    return _png(fig, dpi)
