"""False discovery rate thresholds on voxel p (GingerALE style) and cluster-volume filters.

pID is the Benjamini–Hochberg threshold (independence or positive dependence), pN the
Benjamini–Yekutieli one (any dependence). Eickhoff et al. 2016 (NeuroImage 137:70) showed
voxel-level FDR is not appropriate for ALE; biomark offers it only with a warning.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from biomark.ale.montecarlo import structure
from biomark.space import Grid

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _step_up(p: FloatArray, q: float, constant: float) -> float:
    if not 0 < q < 1:
        raise ValueError(f"q must lie in (0, 1), got {q}")
    ps = np.sort(np.asarray(p, dtype=np.float64).ravel())
    m = ps.shape[0]
    ok = np.flatnonzero(ps <= np.arange(1, m + 1) / m * q / constant)
    return float(ps[ok[-1]]) if ok.size else 0.0


def fdr_bh_threshold(p: FloatArray, q: float = 0.05) -> float:
    """pID: largest p(i) with p(i) ≤ i/m · q (Benjamini & Hochberg 1995); 0 if none."""
    return _step_up(p, q, 1.0)


def fdr_by_threshold(p: FloatArray, q: float = 0.05) -> float:
    """pN: as :func:`fdr_bh_threshold` with q divided by Σ 1/i (Benjamini & Yekutieli 2001)."""
    m = np.asarray(p).size
    return _step_up(p, q, float(np.sum(1.0 / np.arange(1, m + 1))))


def fdr_threshold(p: FloatArray, q: float, method: str) -> float:
    """The FDR p cut of ``method`` (``"bh"`` or ``"by"``); 0 when nothing passes."""
    return fdr_bh_threshold(p, q) if method == "bh" else fdr_by_threshold(p, q)


def min_volume_voxels(min_cluster_mm3: float, grid: Grid) -> int:
    """Voxels of ``grid`` a cluster needs to reach ``min_cluster_mm3`` (0 for no minimum)."""
    return int(np.ceil(min_cluster_mm3 / round(grid.voxel_volume_mm3, 9) - 1e-9))


def min_volume_filter(
    significant_3d: BoolArray, min_voxels: int, connectivity: int = 6
) -> BoolArray:
    """Keep only clusters of ``significant_3d`` with at least ``min_voxels`` voxels."""
    labels, n = ndimage.label(significant_3d, structure(connectivity))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= min_voxels
    keep[0] = False
    out: BoolArray = keep[labels]
    return out


def threshold_uncorrected(
    p_3d: FloatArray, mask: BoolArray, p: float = 0.001, min_voxels: int = 0, connectivity: int = 6
) -> BoolArray:
    """Voxels with p < ``p`` inside ``mask``, then clusters smaller than ``min_voxels`` removed."""
    sig = (np.asarray(p_3d) < p) & mask
    return min_volume_filter(sig, min_voxels, connectivity) if min_voxels > 1 else sig
