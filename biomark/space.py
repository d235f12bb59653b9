"""The MNI152 2 mm grid, mm ⇄ voxel conversion, and Talairach ⇄ MNI transforms.

All coordinates are in millimetres (``xyz_mm``, shape ``(n, 3)``) or integer voxel indices
(``ijk``, shape ``(n, 3)``). The grid's brain mask is loaded by :mod:`biomark.io.images`; this
module holds only arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Grid:
    """A regular voxel grid: ``shape`` in voxels and a 4×4 voxel-to-mm ``affine``."""

    shape: tuple[int, int, int]
    affine: tuple[tuple[float, float, float, float], ...]

    @property
    def affine_array(self) -> FloatArray:
        """The affine as a ``(4, 4)`` float array."""
        return np.asarray(self.affine, dtype=np.float64)

    @property
    def voxel_size_mm(self) -> FloatArray:
        """Voxel edge lengths in mm, shape ``(3,)``."""
        return np.sqrt((self.affine_array[:3, :3] ** 2).sum(axis=0))

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume of one voxel in mm³."""
        return float(abs(np.linalg.det(self.affine_array[:3, :3])))


MNI152_2MM: Final = Grid(
    shape=(91, 109, 91),
    affine=(
        (2.0, 0.0, 0.0, -90.0),
        (0.0, 2.0, 0.0, -126.0),
        (0.0, 0.0, 2.0, -72.0),
        (0.0, 0.0, 0.0, 1.0),
    ),
)


def mm_to_ijk(xyz_mm: FloatArray, grid: Grid = MNI152_2MM) -> IntArray:
    """Map mm coordinates to voxel indices, rounding half to even.

    Half-to-even (``numpy.rint``) is NiMARE's convention, so odd-mm coordinates on the 2 mm grid
    land on even indices exactly as in NiMARE; biomark matches it for comparability.

    Parameters
    ----------
    xyz_mm
        Coordinates in mm, shape ``(n, 3)``.
    grid
        Target grid.

    Returns
    -------
    numpy.ndarray
        Integer indices, shape ``(n, 3)``; may lie outside the grid.
    """
    xyz = np.atleast_2d(np.asarray(xyz_mm, dtype=np.float64))
    inv = np.linalg.inv(grid.affine_array)
    ijk = xyz @ inv[:3, :3].T + inv[:3, 3]
    return np.rint(ijk).astype(np.int64)


def ijk_to_mm(ijk: IntArray | FloatArray, grid: Grid = MNI152_2MM) -> FloatArray:
    """Map voxel indices, shape ``(n, 3)``, to mm coordinates, shape ``(n, 3)``."""
    idx = np.atleast_2d(np.asarray(ijk, dtype=np.float64))
    aff = grid.affine_array
    return idx @ aff[:3, :3].T + aff[:3, 3]


def in_grid(ijk: IntArray, grid: Grid = MNI152_2MM) -> NDArray[np.bool_]:
    """Whether each voxel index, shape ``(n, 3)``, lies inside the grid."""
    idx = np.atleast_2d(ijk)
    return np.all((idx >= 0) & (idx < np.asarray(grid.shape)), axis=1)


# Lancaster et al. 2007 icbm2tal, MNI → Talairach: tal = M · [x y z 1].
_LANCASTER: Final[dict[str, tuple[tuple[float, ...], ...]]] = {
    "lancaster_pooled": (
        (0.9357, 0.0029, -0.0072, -1.0423),
        (-0.0065, 0.9396, -0.0726, -1.3940),
        (0.0103, 0.0752, 0.8967, 3.6475),
    ),
    "lancaster_spm": (
        (0.9254, 0.0024, -0.0118, -1.0207),
        (-0.0048, 0.9316, -0.0871, -1.7667),
        (0.0152, 0.0883, 0.8924, 4.0926),
    ),
    "lancaster_fsl": (
        (0.9464, 0.0034, -0.0026, -1.0680),
        (-0.0083, 0.9479, -0.0580, -1.0239),
        (0.0053, 0.0617, 0.9010, 3.1883),
    ),
}

TalTransform = Literal["lancaster_pooled", "lancaster_spm", "lancaster_fsl", "brett"]
TAL_TRANSFORMS: Final[tuple[str, ...]] = (*_LANCASTER, "brett")
DEFAULT_TAL_TRANSFORM: Final = "lancaster_pooled"


def _homogeneous(rows: tuple[tuple[float, ...], ...]) -> FloatArray:
    out = np.eye(4)
    out[:3, :] = np.asarray(rows, dtype=np.float64)
    return out


def _brett_matrices() -> tuple[FloatArray, FloatArray]:
    """Brett's mni2tal: rotate 0.05 rad about x, then zoom; different z zoom below the AC."""
    c, s = np.cos(0.05), np.sin(0.05)
    rot = np.array([[1.0, 0, 0, 0], [0, c, s, 0], [0, -s, c, 0], [0, 0, 0, 1.0]])
    up = rot @ np.diag([0.99, 0.97, 0.92, 1.0])
    down = rot @ np.diag([0.99, 0.97, 0.84, 1.0])
    return up, down


def _apply(mat: FloatArray, xyz: FloatArray) -> FloatArray:
    return xyz @ mat[:3, :3].T + mat[:3, 3]


def mni_to_tal(xyz_mm: FloatArray, transform: str = DEFAULT_TAL_TRANSFORM) -> FloatArray:
    """Convert MNI mm coordinates, shape ``(n, 3)``, to Talairach with the named transform."""
    xyz = np.atleast_2d(np.asarray(xyz_mm, dtype=np.float64))
    if transform in _LANCASTER:
        return _apply(_homogeneous(_LANCASTER[transform]), xyz)
    if transform == "brett":
        up, down = _brett_matrices()
        below = xyz[:, 2] < 0
        return np.where(below[:, None], _apply(down, xyz), _apply(up, xyz))
    raise ValueError(f"unknown Talairach transform {transform!r}; expected one of {TAL_TRANSFORMS}")


def tal_to_mni(xyz_mm: FloatArray, transform: str = DEFAULT_TAL_TRANSFORM) -> FloatArray:
    """Convert Talairach mm coordinates, shape ``(n, 3)``, to MNI (inverse of :func:`mni_to_tal`).

    The Lancaster pooled transform is the default, as in GingerALE and NiMARE.
    """
    xyz = np.atleast_2d(np.asarray(xyz_mm, dtype=np.float64))
    if transform in _LANCASTER:
        return _apply(np.linalg.inv(_homogeneous(_LANCASTER[transform])), xyz)
    if transform == "brett":
        up, down = _brett_matrices()
        # Brett's tal2mni picks the inverse by the sign of the Talairach z.
        below = xyz[:, 2] < 0
        return np.where(
            below[:, None], _apply(np.linalg.inv(down), xyz), _apply(np.linalg.inv(up), xyz)
        )
    raise ValueError(f"unknown Talairach transform {transform!r}; expected one of {TAL_TRANSFORMS}")
