"""NIfTI input/output of masks and maps (nibabel), on biomark's RAS grids.

NiMARE ships the GingerALE 2 mm mask x-flipped (affine diag(−2, 2, 2)); biomark stores it in
RAS order so that it lines up with :data:`biomark.space.MNI152_2MM` voxel for voxel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from numpy.typing import NDArray

from biomark.errors import InputError
from biomark.io.resources import data_path
from biomark.space import MNI152_2MM, Grid

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]

MASK_FILE = "MNI152_2mm_brainmask.nii.gz"


def _grid_of(img: Any) -> Grid:
    aff = np.asarray(img.affine, dtype=np.float64)
    rows = tuple((float(r[0]), float(r[1]), float(r[2]), float(r[3])) for r in aff)
    shape = tuple(int(s) for s in img.shape[:3])
    return Grid(shape=(shape[0], shape[1], shape[2]), affine=rows)


def load_mask(path: str | Path | None = None) -> tuple[BoolArray, Grid]:
    """Load a brain mask (default: the packaged GingerALE/NiMARE 2 mm mask) and its grid."""
    source = Path(path) if path is not None else data_path("masks", MASK_FILE)
    try:
        img: Any = nib.load(str(source))
    except (OSError, nib.filebasedimages.ImageFileError) as exc:
        raise InputError(f"cannot read NIfTI mask: {exc}", source=source) from exc
    data = np.asanyarray(img.dataobj)
    if data.ndim != 3:
        raise InputError(f"expected a 3-D mask, got shape {data.shape}", source=source)
    return data > 0, _grid_of(img)


def load_map(path: str | Path) -> tuple[FloatArray, Grid]:
    """Load a 3-D map as float64 with its grid."""
    try:
        img: Any = nib.load(str(path))
    except (OSError, nib.filebasedimages.ImageFileError) as exc:
        raise InputError(f"cannot read NIfTI map: {exc}", source=path) from exc
    return np.asarray(img.get_fdata(dtype=np.float64)), _grid_of(img)


def save_map(
    values: FloatArray, mask: BoolArray, path: str | Path, grid: Grid = MNI152_2MM
) -> Path:
    """Write in-mask ``values`` ``(n_mask_voxels,)`` as a float32 NIfTI (0 outside the mask)."""
    vol = np.zeros(grid.shape, dtype=np.float32)
    vol[mask] = values
    out = Path(path)
    img = nib.Nifti1Image(vol, grid.affine_array)
    img.header.set_data_dtype(np.float32)
    nib.save(img, str(out))
    return out
