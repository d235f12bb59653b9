"""ALE kernels: Eickhoff 2009 spatial uncertainty as a discrete 3-D Gaussian.

The FWHM combines between-template (5.7 mm) and between-subject (11.6 mm, shrinking with √N)
uncertainty (Eickhoff et al. 2009, Hum Brain Mapp 30:2907). The kernel is the outer product of
three sampled 1-D Gaussians, each normalised to sum 1 and truncated at ``int(4σ + 0.5)`` voxels
(the ``scipy.ndimage.gaussian_filter`` recipe NiMARE uses), so it sums to exactly 1 and its
value at voxel offset ``d`` is ``peak · exp(-|d|² / 2σ²)`` per axis.

How biomark differs from NiMARE 0.22.1: NiMARE converts FWHM to voxels by dividing by
``sqrt(prod(zooms))`` and then to σ with a factor ``√2 / (2 √(2 ln 2))`` instead of
``1 / √(8 ln 2)``; the two slips cancel exactly at 2 mm isotropic voxels only. biomark takes
σ in mm and divides by each axis's voxel size, so it is right at any (even anisotropic)
voxel size, and it never clips the kernel to NiMARE's 31³ box (which matters only for N = 1).
At 2 mm the kernels are identical to NiMARE's.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_FWHM_FROM_SD: Final = math.sqrt(8.0 * math.log(2.0))
_ED_TO_SD: Final = 2.0 * math.sqrt(2.0 / math.pi)
#: Between-template uncertainty, FWHM in mm (5.7 mm expected distance; Eickhoff 2009).
TEMPLATE_FWHM_MM: Final = 5.7 / _ED_TO_SD * _FWHM_FROM_SD
#: Between-subject uncertainty for one subject, FWHM in mm (11.6 mm expected distance).
SUBJECT_FWHM_MM: Final = 11.6 / _ED_TO_SD * _FWHM_FROM_SD
TRUNCATE_SD: Final = 4.0


def eickhoff_fwhm_mm(n_subjects: float) -> float:
    """Kernel FWHM in mm for an experiment with ``n_subjects`` subjects (Eickhoff 2009)."""
    if not n_subjects > 0:
        raise ValueError(f"sample size must be positive, got {n_subjects}")
    return math.sqrt(TEMPLATE_FWHM_MM**2 + SUBJECT_FWHM_MM**2 / n_subjects)


def fwhm_to_sigma(fwhm: float) -> float:
    """Gaussian standard deviation for a full width at half maximum (same unit)."""
    return fwhm / _FWHM_FROM_SD


def gaussian_1d(sigma_vox: float) -> FloatArray:
    """Sampled Gaussian on integer offsets ``-r..r`` with ``r = int(4σ + 0.5)``, summing to 1."""
    radius = int(TRUNCATE_SD * sigma_vox + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / sigma_vox**2 * x**2)
    out: FloatArray = phi / phi.sum()
    return out


@lru_cache(maxsize=256)
def _kernel_cached(n_subjects: float, voxel_size_mm: tuple[float, float, float]) -> FloatArray:
    sigma_mm = fwhm_to_sigma(eickhoff_fwhm_mm(n_subjects))
    gx, gy, gz = (gaussian_1d(sigma_mm / v) for v in voxel_size_mm)
    kernel = gx[:, None, None] * gy[None, :, None] * gz[None, None, :]
    kernel.setflags(write=False)
    return kernel


def ale_kernel(
    n_subjects: float, voxel_size_mm: tuple[float, float, float] | FloatArray = (2.0, 2.0, 2.0)
) -> FloatArray:
    """The ALE kernel for ``n_subjects`` on a grid with the given voxel size.

    Parameters
    ----------
    n_subjects
        Sample size N of the experiment.
    voxel_size_mm
        Voxel edge lengths in mm, ``(3,)``.

    Returns
    -------
    numpy.ndarray
        Read-only kernel, shape ``(2rx+1, 2ry+1, 2rz+1)`` (odd, centred), non-negative, sum 1.
        Cached per distinct ``(N, voxel size)``.
    """
    sizes = tuple(float(v) for v in np.asarray(voxel_size_mm, dtype=np.float64).ravel())
    if len(sizes) != 3 or min(sizes) <= 0:
        raise ValueError(f"voxel size must be three positive numbers, got {voxel_size_mm}")
    return _kernel_cached(float(n_subjects), (sizes[0], sizes[1], sizes[2]))
