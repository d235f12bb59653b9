from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from biomark.ale.ma import MaMaps, compute_ma_maps
from biomark.io.images import load_mask

REF = Path(__file__).resolve().parents[1] / "data" / "nimare_reference"


def read_sleuth(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tiny Sleuth reader for the synthetic file (MNI, tab-separated)."""
    xyz, exp, n = [], [], []
    new = True
    for line in path.read_text().splitlines():
        s = line.strip()
        if not s:
            new = True
            continue
        if s.startswith("//"):
            if "Subjects=" in s:
                n.append(float(s.split("=")[1]))
            continue
        if new:
            new = False
        xyz.append([float(v) for v in s.split()])
        exp.append(len(n) - 1)
    return np.array(xyz), np.array(exp), np.array(n)


@pytest.fixture(scope="session")
def mask() -> np.ndarray:
    return load_mask()[0]


@pytest.fixture(scope="session")
def synth() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return read_sleuth(REF / "synthetic_ale25.txt")


@pytest.fixture(scope="session")
def synth_ma(synth, mask) -> MaMaps:
    xyz, exp, n = synth
    return compute_ma_maps(xyz, exp, n, mask)


@pytest.fixture(scope="session")
def ref_summary() -> dict:
    return json.loads((REF / "ref_synth25_nimare_ijk.json").read_text())


def ref_map(name: str, mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Masked reference map and its quantisation step (maps are stored as scaled uint8)."""
    img = nib.load(str(REF / name))
    proxy = img.dataobj
    return np.asanyarray(proxy)[mask].astype(float), float(proxy.slope)
