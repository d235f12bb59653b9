"""Report figures as PNG bytes: brain maps (nilearn) and statistics plots (matplotlib).

The only module of biomark that plots. matplotlib and nilearn are imported inside the functions,
so importing :mod:`biomark.report` stays fast. Every function takes plain arrays / DataFrames
(and nibabel images for brain maps), draws on its own :class:`matplotlib.figure.Figure` (no
pyplot state is left behind) and returns PNG bytes sized for an A4 column
(:data:`WIDTH_IN` inches wide) at :data:`DPI` dots per inch. Backgrounds use nilearn's bundled
MNI152 template, so nothing is downloaded.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

DPI: Final = 300
WIDTH_IN: Final = 6.5
# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies and in greyscale.
FREQ_COLOUR: Final = "#0072B2"
BAYES_COLOUR: Final = "#D55E00"
PALETTE: Final = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


def _new_figure(height_in: float, width_in: float = WIDTH_IN) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in))
    fig.set_layout_engine("constrained")
    return fig


def _png(fig: Figure, dpi: int) -> bytes:
    buf = io.BytesIO()
    # No "Software" tag, so the same figure gives the same bytes across matplotlib patch releases.
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def glass_brain_png(
    stat_img: Any,
    *,
    threshold: float | None = None,
    title: str | None = None,
    dpi: int = DPI,
) -> bytes:
    """Glass-brain projections (left, right, axial, coronal) of a 3-D statistical map.

    Parameters
    ----------
    stat_img
        A 3-D nibabel image in MNI space (e.g. thresholded z or ALE).
    threshold
        Values with ``|v| < threshold`` are not drawn; ``None`` draws every non-zero voxel.
    title
        Drawn in the top-left corner.
    dpi
        Resolution of the returned PNG.
    """
    from nilearn import plotting

    fig = _new_figure(2.4)
    fig.set_layout_engine(None)
    display = plotting.plot_glass_brain(
        stat_img,
        threshold=threshold,
        display_mode="lyrz",
        colorbar=True,
        plot_abs=False,
        cmap="cold_hot",
        title=title,
        figure=fig,
    )
    del display  # a standalone Figure: nothing registered with pyplot to close
    return _png(fig, dpi)


def stat_map_png(
    stat_img: Any,
    *,
    cut_coords: Sequence[float] | int = 6,
    display_mode: str = "z",
    threshold: float | None = None,
    title: str | None = None,
    dpi: int = DPI,
) -> bytes:
    """Slices of a 3-D statistical map over the bundled MNI152 2 mm template.

    Parameters
    ----------
    stat_img
        A 3-D nibabel image in MNI space.
    cut_coords
        Slice positions in mm along ``display_mode``'s axis, or how many to choose.
    display_mode
        ``"x"``, ``"y"`` or ``"z"`` (sagittal, coronal, axial rows of slices).
    threshold
        Values with ``|v| < threshold`` are transparent; ``None`` hides only zeros (nilearn
        would otherwise paint the zero voxels of a thresholded map over the whole template).
    title
        Drawn in the top-left corner.
    dpi
        Resolution of the returned PNG.
    """
    from nilearn import plotting
    from nilearn.datasets import load_mni152_template

    fig = _new_figure(1.9)
    fig.set_layout_engine(None)
    display = plotting.plot_stat_map(
        stat_img,
        bg_img=load_mni152_template(resolution=2),
        cut_coords=cut_coords,
        display_mode=display_mode,
        threshold=threshold if threshold is not None else 1e-6,
        cmap="cold_hot",
        title=title,
        annotate=True,
        draw_cross=False,
        black_bg=False,
        figure=fig,
    )
    del display
    return _png(fig, dpi)


def forest_png(
    rows: pd.DataFrame,
    *,
    xlabel: str = "shift (mm)",
    dpi: int = DPI,
) -> bytes:
    """Forest plot of estimates with intervals, several methods per row label.

    Parameters
    ----------
    rows
        Columns ``label`` (y-axis group), ``method`` (legend entry, e.g. ``"Welch t-test (95 %
        CI)"``), ``estimate``, ``low``, ``high`` in the unit of ``xlabel``.
    xlabel
        x-axis label; a dotted line marks zero (no shift).
    dpi
        Resolution of the returned PNG.
    """
    labels = list(dict.fromkeys(rows["label"]))
    methods = list(dict.fromkeys(rows["method"]))
    fig = _new_figure(0.32 * len(labels) * max(1, len(methods)) / 2 + 1.1)
    ax = fig.add_subplot()
    offsets = np.linspace(-0.18, 0.18, len(methods)) if len(methods) > 1 else np.zeros(1)
    for k, method in enumerate(methods):
        sub = rows[rows["method"] == method]
        y = np.array([labels.index(v) for v in sub["label"]], dtype=float) + offsets[k]
        est = sub["estimate"].to_numpy(dtype=float)
        err = np.vstack([est - sub["low"].to_numpy(float), sub["high"].to_numpy(float) - est])
        ax.errorbar(
            est,
            y,
            xerr=err,
            fmt="o",
            ms=4,
            capsize=2,
            lw=1.2,
            color=PALETTE[k % len(PALETTE)],
            label=method,
        )
    ax.axvline(0.0, color="0.4", lw=0.8, ls=":")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(
        fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(methods), frameon=False
    )
    return _png(fig, dpi)


def density_png(
    draws: Mapping[str, ArrayLike],
    *,
    xlabel: str = "shift (mm)",
    reference: float | None = 0.0,
    dpi: int = DPI,
) -> bytes:
    """Posterior densities (Gaussian KDE) of several scalar quantities on one axis.

    Parameters
    ----------
    draws
        Name → 1-D array of posterior draws (chains flattened), same unit as ``xlabel``.
    xlabel
        x-axis label.
    reference
        Where a dotted vertical line marks "no effect"; ``None`` for none.
    dpi
        Resolution of the returned PNG.
    """
    from scipy.stats import gaussian_kde

    fig = _new_figure(2.2)
    ax = fig.add_subplot()
    for k, (name, values) in enumerate(draws.items()):
        x = np.asarray(values, dtype=float).ravel()
        grid = np.linspace(x.min(), x.max(), 256)
        colour = PALETTE[k % len(PALETTE)]
        density = gaussian_kde(x)(grid)
        ax.plot(grid, density, color=colour, lw=1.4, label=name)
        ax.fill_between(grid, density, color=colour, alpha=0.15)
    if reference is not None:
        ax.axvline(reference, color="0.4", lw=0.8, ls=":")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("posterior density", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False)
    return _png(fig, dpi)


def outcome_curve_png(
    displacement_mm: ArrayLike,
    prob_good: ArrayLike,
    low: ArrayLike,
    high: ArrayLike,
    *,
    observed_mm: ArrayLike | None = None,
    observed_good: ArrayLike | None = None,
    xlabel: str = "ventral displacement of the MI peak (mm)",
    band_label: str = "95 % interval",
    label: str = "posterior mean",
    extra: tuple[str, ArrayLike, ArrayLike, ArrayLike] | None = None,
    dpi: int = DPI,
) -> bytes:
    """Predicted probability of good recovery along a displacement axis, with its band.

    Parameters
    ----------
    displacement_mm, prob_good, low, high
        Shape ``(n_points,)``: the grid, the posterior mean probability and the band's bounds.
    observed_mm, observed_good
        Optional experiments to draw as a rug at 0 (poor) and 1 (good).
    xlabel, band_label, label
        Axis label, the band's and the curve's legend entries.
    extra
        A second curve on the same grid, ``(label, probability, low, high)``, drawn dashed.
    dpi
        Resolution of the returned PNG.
    """
    x = np.asarray(displacement_mm, dtype=float)
    fig = _new_figure(2.4)
    ax = fig.add_subplot()
    ax.fill_between(
        x,
        np.asarray(low, float),
        np.asarray(high, float),
        color=BAYES_COLOUR,
        alpha=0.2,
        lw=0,
        label=band_label,
    )
    ax.plot(x, np.asarray(prob_good, float), color=BAYES_COLOUR, lw=1.6, label=label)
    if extra is not None:
        name, p2, lo2, hi2 = extra
        ax.fill_between(x, np.asarray(lo2, float), np.asarray(hi2, float), color=FREQ_COLOUR,
                        alpha=0.12, lw=0)  # fmt: skip
        ax.plot(x, np.asarray(p2, float), color=FREQ_COLOUR, lw=1.4, ls="--", label=name)
    if observed_mm is not None and observed_good is not None:
        good = np.asarray(observed_good, dtype=float)
        ax.plot(
            np.asarray(observed_mm, float),
            good,
            "|",
            color="0.2",
            ms=10,
            label="experiments (good = 1, poor = 0)",
        )
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("P(good recovery)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.0),
              ncols=2 if extra is not None else 3, frameon=False)  # fmt: skip
    return _png(fig, dpi)
