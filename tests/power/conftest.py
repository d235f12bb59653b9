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
