from __future__ import annotations

import numpy as np
import pytest

from biomark.io.images import load_mask
from biomark.power.ale_power import brain_xyz_mm


@pytest.fixture(scope="session")
def mask_grid():
    return load_mask()


@pytest.fixture(scope="session")
def brain_mm(mask_grid) -> np.ndarray:
    mask, grid = mask_grid
    return brain_xyz_mm(mask, grid)


@pytest.fixture(scope="session")
def mi_mask() -> np.ndarray:
    """The pipeline's ipsilesional MI ROI, where simulated experiments' peaks are found."""
    from biomark.io.atlases import load_atlases
    from biomark.shift.rois import roi_mask

    return roi_mask(load_atlases(), "mi")
