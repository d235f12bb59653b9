"""Figure functions return PNGs of the promised size, deterministically and offline."""

from __future__ import annotations

import io
import socket

import numpy as np
import pandas as pd
import pytest

from biomark.report import figures as F

DPI = 40


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("figure code tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def _image(png: bytes) -> np.ndarray:
    from PIL import Image

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as img:
        img.verify()
    with Image.open(io.BytesIO(png)) as img:
        return np.asarray(img.convert("RGB"))


def _forest_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": ["acute", "acute", "chronic", "chronic"],
            "method": ["t-test", "Bayes", "t-test", "Bayes"],
            "estimate": [-6.4, -5.8, -5.2, -4.7],
            "low": [-11.0, -9.7, -9.8, -8.6],
            "high": [-2.3, -2.0, -1.1, -0.9],
        }
    )


def test_forest_png_is_a_column_wide_png_and_deterministic() -> None:
    png = F.forest_png(_forest_rows(), dpi=DPI)
    pixels = _image(png)
    assert pixels.shape[1] == round(F.WIDTH_IN * DPI)
    assert (pixels < 250).any()  # something was drawn
    assert F.forest_png(_forest_rows(), dpi=DPI) == png


def test_density_png() -> None:
    rng = np.random.default_rng(0)
    pixels = _image(
        F.density_png({"acute": rng.normal(-6, 2, 500), "chronic": rng.normal(-5, 2, 500)}, dpi=DPI)
    )
    assert pixels.shape[1] == round(F.WIDTH_IN * DPI)


def test_outcome_curve_png() -> None:
    x = np.linspace(-15, 5, 41)
    p = 1 / (1 + np.exp(0.2 * x))
    pixels = _image(
        F.outcome_curve_png(
            x,
            p,
            p * 0.8,
            np.minimum(p * 1.2, 1),
            observed_mm=[-8.0, 2.0],
            observed_good=[1, 0],
            dpi=DPI,
        )
    )
    assert pixels.shape[1] == round(F.WIDTH_IN * DPI)


def test_no_pyplot_figures_left_open() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    F.forest_png(_forest_rows(), dpi=DPI)
    assert plt.get_fignums() == before


@pytest.mark.slow
def test_brain_maps_offline() -> None:
    from tests.report.sample import synthetic_map

    img = synthetic_map()
    for png in (
        F.glass_brain_png(img, threshold=2.0, title="good > poor", dpi=DPI),
        F.stat_map_png(img, threshold=2.0, cut_coords=[0, 56], dpi=DPI),
    ):
        pixels = _image(png).astype(int)
        assert pixels.shape[1] == round(F.WIDTH_IN * DPI)
        # the positive blobs are drawn in warm colours (red channel well above blue)
        assert ((pixels[..., 0] - pixels[..., 2]) > 100).any()


@pytest.mark.slow
def test_slices_of_a_thresholded_map_show_the_template() -> None:
    # A thresholded map is zero almost everywhere; the template must show through the zeros.
    import nibabel as nib

    from tests.report.sample import synthetic_map

    img = synthetic_map()
    data = np.asarray(img.get_fdata())
    thresholded = nib.Nifti1Image(np.where(data > 2.0, data, 0.0).astype(np.float32), img.affine)
    pixels = _image(F.stat_map_png(thresholded, cut_coords=[0, 56], dpi=DPI)).astype(int)
    grey = (np.ptp(pixels, axis=2) < 12) & (pixels[..., 0] > 40) & (pixels[..., 0] < 225)
    assert grey.mean() > 0.10  # anatomy in mid greys
