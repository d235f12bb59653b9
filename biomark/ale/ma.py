"""Modelled-activation (MA) maps: one per experiment, stored sparsely over the mask.

A focus goes to the voxel ``rint(inv(affine) · xyz)`` (half to even, as NiMARE does, so odd-mm
coordinates on the 2 mm grid land on even indices). An experiment's MA map is the voxel-wise
maximum of its foci's kernels (Turkeltaub et al. 2012, Hum Brain Mapp 33:1), so several foci of
one experiment never add up. Foci outside the mask still contribute the in-mask part of their
kernel; they are counted so that reports can say how many there were.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from biomark.ale.kernels import ale_kernel
from biomark.space import MNI152_2MM, Grid, mm_to_ijk

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ColumnArray = NDArray[np.int32]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class MaMaps:
    """MA maps in compressed-sparse-row form over the in-mask voxels.

    Row ``e`` holds ``values[indptr[e]:indptr[e+1]]`` at masked voxel indices
    ``columns[indptr[e]:indptr[e+1]]`` (sorted); every other voxel is 0.

    Attributes
    ----------
    indptr, columns, values
        CSR arrays: ``(n_experiments + 1,)`` int64, ``(nnz,)`` int32, ``(nnz,)`` float64.
    n_mask_voxels
        Number of in-mask voxels (the width of a row).
    n_subjects
        Sample size per experiment, ``(n_experiments,)``.
    ijk
        Voxel of each focus, ``(n_foci, 3)``.
    experiment_index
        Experiment row of each focus, ``(n_foci,)``.
    focus_in_mask
        Whether each focus's voxel lies in the mask, ``(n_foci,)``.
    """

    indptr: IntArray
    columns: ColumnArray
    values: FloatArray
    n_mask_voxels: int
    n_subjects: FloatArray
    ijk: IntArray
    experiment_index: IntArray
    focus_in_mask: BoolArray

    @property
    def n_experiments(self) -> int:
        """Number of experiments (rows)."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_foci_outside_mask(self) -> int:
        """How many foci fall outside the mask (they still add their in-mask kernel tail)."""
        return int((~self.focus_in_mask).sum())

    def row(self, e: int) -> tuple[ColumnArray, FloatArray]:
        """Masked voxel indices and MA values of experiment ``e``."""
        lo, hi = int(self.indptr[e]), int(self.indptr[e + 1])
        return self.columns[lo:hi], self.values[lo:hi]

    def row_max(self) -> FloatArray:
        """Maximum MA value per experiment, ``(n_experiments,)``."""
        out = np.zeros(self.n_experiments)
        for e in range(self.n_experiments):
            _, v = self.row(e)
            if v.size:
                out[e] = v.max()
        return out

    def dense(self, columns: IntArray | None = None) -> FloatArray:
        """MA values as a dense ``(n_experiments, n_columns)`` array.

        ``columns`` restricts (and orders) the masked voxels; default all of them.
        """
        rows = np.repeat(np.arange(self.n_experiments), np.diff(self.indptr))
        if columns is None:
            out = np.zeros((self.n_experiments, self.n_mask_voxels))
            out[rows, self.columns] = self.values
            return out
        where = np.full(self.n_mask_voxels, -1, dtype=np.int64)
        where[columns] = np.arange(columns.shape[0])
        pos = where[self.columns]
        keep = pos >= 0
        out = np.zeros((self.n_experiments, columns.shape[0]))
        out[rows[keep], pos[keep]] = self.values[keep]
        return out


def box_slices(
    centre_ijk: NDArray[np.integer], radius: NDArray[np.integer], shape: tuple[int, ...]
) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    """Clip the box ``centre ± radius`` to a volume of ``shape``.

    Returns the volume slices and the matching kernel slices, or ``None`` when the box misses
    the volume entirely.
    """
    lo = centre_ijk - radius
    hi = centre_ijk + radius + 1
    vlo = np.maximum(lo, 0)
    vhi = np.minimum(hi, shape)
    if np.any(vhi <= vlo):
        return None
    klo = vlo - lo
    khi = klo + (vhi - vlo)
    vol = tuple(slice(int(a), int(b)) for a, b in zip(vlo, vhi, strict=True))
    ker = tuple(slice(int(a), int(b)) for a, b in zip(klo, khi, strict=True))
    return vol, ker


def _experiment_ma(
    ijk: IntArray, kernel: FloatArray, scratch: FloatArray
) -> list[tuple[slice, ...]]:
    """Write one experiment's MA (max over foci) into the zeroed ``scratch``; return boxes."""
    radius = np.asarray(kernel.shape) // 2
    touched = []
    for centre in ijk:
        cut = box_slices(centre, radius, scratch.shape)
        if cut is None:
            continue
        vol_sl, ker_sl = cut
        view = scratch[vol_sl]
        np.maximum(view, kernel[ker_sl], out=view)
        touched.append(vol_sl)
    return touched


def compute_ma_maps(
    xyz_mm: FloatArray,
    experiment_index: IntArray,
    n_subjects: FloatArray,
    mask: BoolArray,
    grid: Grid = MNI152_2MM,
) -> MaMaps:
    """MA maps of all experiments, restricted to ``mask``.

    Parameters
    ----------
    xyz_mm
        Foci in mm on ``grid``'s space, ``(n_foci, 3)``.
    experiment_index
        Experiment row of each focus, ``(n_foci,)``, values in ``0..n_experiments-1``.
    n_subjects
        Sample size per experiment, ``(n_experiments,)``.
    mask
        Boolean brain mask with ``grid.shape``.
    grid
        The voxel grid (its voxel size sets the kernels).

    Returns
    -------
    MaMaps
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != grid.shape:
        raise ValueError(f"mask shape {mask.shape} does not match grid shape {grid.shape}")
    n_subjects = np.asarray(n_subjects, dtype=np.float64)
    exp_idx = np.asarray(experiment_index, dtype=np.int64)
    ijk = mm_to_ijk(np.asarray(xyz_mm, dtype=np.float64).reshape(-1, 3), grid)
    inside = np.all((ijk >= 0) & (ijk < np.asarray(grid.shape)), axis=1)
    in_mask = np.zeros(ijk.shape[0], dtype=bool)
    in_mask[inside] = mask[tuple(ijk[inside].T)]
    n_mask = int(mask.sum())
    indptr, columns, values = _sparse_rows(ijk, exp_idx, n_subjects, mask, grid)
    return MaMaps(
        indptr=indptr,
        columns=columns,
        values=values,
        n_mask_voxels=n_mask,
        n_subjects=n_subjects,
        ijk=ijk,
        experiment_index=exp_idx,
        focus_in_mask=in_mask,
    )


def _sparse_rows(
    ijk: IntArray, exp_idx: IntArray, n_subjects: FloatArray, mask: BoolArray, grid: Grid
) -> tuple[IntArray, ColumnArray, FloatArray]:
    """CSR ``indptr, columns, values`` of the MA maps (the work of :func:`compute_ma_maps`)."""
    n_mask = int(mask.sum())
    # masked column of every voxel (-1 outside): C order keeps each box's columns sorted
    column_of = np.full(grid.shape, -1, dtype=np.int32)
    column_of[mask] = np.arange(n_mask, dtype=np.int32)
    order = np.argsort(exp_idx, kind="stable")
    starts = np.searchsorted(exp_idx[order], np.arange(n_subjects.shape[0] + 1))
    scratch = np.zeros(grid.shape)
    kernels = [ale_kernel(float(n), grid.voxel_size_mm) for n in n_subjects]
    # an upper bound on the non-zeros (a row holds at most its foci's kernel boxes): pages of
    # the buffers that are never written are never resident, and nothing has to be regrown
    bound = [min(int(c) * k.size, n_mask) for c, k in zip(np.diff(starts), kernels, strict=True)]
    store = _RowStore(n_subjects.shape[0], capacity=sum(bound))
    for e, kernel in enumerate(kernels):
        touched = _experiment_ma(ijk[order[starts[e] : starts[e + 1]]], kernel, scratch)
        if touched:
            box = _bounding_box(touched)
            values, columns = scratch[box], column_of[box]
            keep = (values != 0.0) & (columns >= 0)
            store.append(columns[keep], values[keep])
            scratch[box] = 0.0
        else:
            store.append(np.zeros(0, np.int32), np.zeros(0))
    return store.finish()


def _bounding_box(boxes: list[tuple[slice, ...]]) -> tuple[slice, ...]:
    """The smallest box holding all ``boxes`` (slices with explicit start and stop)."""
    lo = np.min([[int(sl.start) for sl in box] for box in boxes], axis=0)
    hi = np.max([[int(sl.stop) for sl in box] for box in boxes], axis=0)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


class _RowStore:
    """CSR rows appended one at a time into buffers of a known upper-bound size.

    Filling preallocated buffers avoids concatenating per-row pieces (which needs twice the
    memory); :meth:`finish` shrinks them in place (``ndarray.resize`` reallocates, and for
    large buffers the C library just unmaps the unused tail).
    """

    def __init__(self, n_rows: int, capacity: int) -> None:
        self.indptr = np.zeros(n_rows + 1, dtype=np.int64)
        self.columns = np.empty(capacity, dtype=np.int32)
        self.values = np.empty(capacity, dtype=np.float64)
        self.n_rows = 0

    def append(self, columns: ColumnArray, values: FloatArray) -> None:
        lo = int(self.indptr[self.n_rows])
        hi = lo + columns.shape[0]
        self.columns[lo:hi] = columns
        self.values[lo:hi] = values
        self.n_rows += 1
        self.indptr[self.n_rows] = hi

    def finish(self) -> tuple[IntArray, ColumnArray, FloatArray]:
        nnz = int(self.indptr[self.n_rows])
        self.columns.resize(nnz, refcheck=False)
        self.values.resize(nnz, refcheck=False)
        return self.indptr, self.columns, self.values
