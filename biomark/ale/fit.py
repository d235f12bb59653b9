"""One call per main-effect analysis: :func:`fit_ale` (two groups: :mod:`biomark.ale.fit_contrast`).

It takes plain arrays (foci in mm on the analysis grid, experiment rows, sample sizes, mask)
and return frozen, self-describing results (:mod:`biomark.ale.results`). Random work (Monte
Carlo, permutations) runs in chunks seeded from ``(seed, chunk)`` through
:func:`biomark.parallel.map_chunks`, so the numbers are the same for any backend and number of
workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from biomark.ale import montecarlo
from biomark.ale.diagnostics import experiment_count_warning
from biomark.ale.fdr import fdr_threshold, min_volume_filter, min_volume_voxels
from biomark.ale.fwe import corrected_p
from biomark.ale.ma import compute_ma_maps
from biomark.ale.null import ale_from_ma, ale_threshold, analytic_null, p_from_null, z_from_p
from biomark.ale.results import (
    FDR_WARNING,
    AleResult,
    Correction,
    ale_methods,
    frozen_array,
    to_volume,
)
from biomark.errors import InputError
from biomark.parallel import Backend, map_chunks
from biomark.space import MNI152_2MM, Grid

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
Progress = Callable[[int, int], None]

CORRECTIONS: tuple[str, ...] = ("cfwe", "vfwe", "fdr", "none")


@dataclass(frozen=True)
class _Foci:
    xyz_mm: FloatArray
    experiment_index: IntArray
    n_subjects: FloatArray
    mask: BoolArray


def _check_inputs(
    xyz_mm: FloatArray,
    experiment_index: IntArray,
    n_subjects: FloatArray,
    mask: BoolArray,
    grid: Grid,
) -> _Foci:
    xyz = np.asarray(xyz_mm, dtype=np.float64)
    exp = np.asarray(experiment_index)
    n_subj = np.asarray(n_subjects, dtype=np.float64).ravel()
    mask_arr = np.asarray(mask, dtype=bool)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or not np.isfinite(xyz).all():
        raise InputError(f"foci must be finite (n, 3) mm coordinates, got shape {xyz.shape}")
    if exp.shape != (xyz.shape[0],) or not np.issubdtype(exp.dtype, np.integer):
        raise InputError("experiment_index must give one integer experiment row per focus")
    if n_subj.size == 0 or not (np.isfinite(n_subj).all() and (n_subj > 0).all()):
        raise InputError("every experiment needs a positive sample size")
    if exp.size and (exp.min() < 0 or exp.max() >= n_subj.size):
        raise InputError(f"experiment_index must lie in 0..{n_subj.size - 1}")
    empty = np.flatnonzero(np.bincount(exp, minlength=n_subj.size) == 0)
    if empty.size:
        raise InputError(f"experiment rows without foci: {empty.tolist()}")
    if mask_arr.shape != grid.shape or not mask_arr.any():
        raise InputError(f"mask must be a non-empty boolean volume of shape {grid.shape}")
    return _Foci(xyz, exp.astype(np.int64), n_subj, mask_arr)


def _check_options(
    correction: str, fdr_method: str, connectivity: int, n_iterations: int, *p_values: float
) -> None:
    if correction not in CORRECTIONS:
        raise InputError(f"unknown correction {correction!r}; expected one of {CORRECTIONS}")
    if fdr_method not in ("bh", "by"):
        raise InputError(f"unknown FDR method {fdr_method!r}; expected 'bh' or 'by'")
    if connectivity not in (6, 18, 26):
        raise InputError(f"connectivity must be 6, 18 or 26, got {connectivity}")
    if correction in ("cfwe", "vfwe") and n_iterations < 1:
        raise InputError(f"{correction} needs Monte Carlo iterations (n_iterations >= 1)")
    for p in p_values:
        if not 0 < p < 1:
            raise InputError(f"p and q thresholds must lie in (0, 1), got {p}")


def _run_montecarlo(
    foci: _Foci,
    grid: Grid,
    threshold: float,
    opts: dict[str, Any],
    backend: Backend,
    progress: Progress | None,
) -> montecarlo.MonteCarloNull:
    spec = montecarlo.MonteCarloSpec(
        mask=foci.mask,
        voxel_size_mm=montecarlo.grid_voxel_size(grid),
        n_subjects=foci.n_subjects,
        experiment_index=foci.experiment_index,
        ale_threshold=threshold,
        connectivity=opts["connectivity"],
        n_iterations=opts["n_iterations"],
        seed=opts["seed"],
    )
    total = spec.n_iterations

    def report(chunks_done: int) -> None:
        if progress is not None:
            progress(min(chunks_done * spec.chunk_size, total), total)

    parts = map_chunks(montecarlo.run_chunk, spec, spec.n_chunks, backend, report)
    return montecarlo.MonteCarloNull(
        np.concatenate([p.max_ale for p in parts]),
        np.concatenate([p.max_cluster_size for p in parts]),
        np.concatenate([p.max_cluster_mass for p in parts]),
    )


def _significant(
    opts: dict[str, Any],
    p: FloatArray,
    p_vfwe: FloatArray | None,
    labels: IntArray,
    cluster_p: FloatArray,
) -> BoolArray:
    """Masked voxels surviving the chosen correction (before the minimum cluster volume)."""
    correction = opts["correction"]
    if correction == "cfwe":
        keep = np.concatenate([[False], cluster_p < opts["cluster_p"]])
        out: BoolArray = keep[labels]
        return out
    if correction == "vfwe" and p_vfwe is not None:
        return np.asarray(p_vfwe < opts["voxel_fwe_p"])
    if correction == "fdr":
        cut = fdr_threshold(p, opts["fdr_q"], opts["fdr_method"])
        return np.asarray((p <= cut) & (cut > 0))
    return np.asarray(p < opts["cluster_forming_p"])


def _ale_warnings(opts: dict[str, Any], n_exp: int, n_outside: int) -> tuple[str, ...]:
    found = [experiment_count_warning(n_exp)]
    if opts["correction"] == "fdr":
        found.append(FDR_WARNING)
    if opts["correction"] == "none":
        found.append("Results are thresholded without correction for multiple comparisons.")
    if opts["correction"] in ("cfwe", "vfwe"):
        alpha = opts["cluster_p"] if opts["correction"] == "cfwe" else opts["voxel_fwe_p"]
        if 1.0 / (1 + opts["n_iterations"]) >= alpha:
            found.append(
                f"{opts['n_iterations']} Monte Carlo iterations cannot reach corrected p < {alpha}."
            )
    if n_outside:
        found.append(
            f"{n_outside} foci lie outside the brain mask; they contribute only the in-mask part "
            "of their kernels."
        )
    return tuple(w for w in found if w)


def fit_ale(
    xyz_mm: FloatArray,
    experiment_index: IntArray,
    n_subjects: FloatArray,
    mask: BoolArray,
    grid: Grid = MNI152_2MM,
    *,
    cluster_forming_p: float = 0.001,
    cluster_p: float = 0.05,
    voxel_fwe_p: float = 0.05,
    n_iterations: int = 10000,
    connectivity: int = 6,
    correction: Correction = "cfwe",
    fdr_q: float = 0.05,
    fdr_method: Literal["bh", "by"] = "bh",
    min_cluster_mm3: float = 0.0,
    seed: int = 0,
    backend: Backend | None = None,
    progress: Progress | None = None,
) -> AleResult:
    """Fit one ALE analysis and threshold it.

    Parameters
    ----------
    xyz_mm
        Foci in mm (MNI, on ``grid``'s space), ``(n_foci, 3)``.
    experiment_index
        Experiment row of each focus, ``(n_foci,)``, values ``0..n_experiments-1``.
    n_subjects
        Sample size per experiment, ``(n_experiments,)``.
    mask
        Boolean brain mask with ``grid.shape``.
    grid
        The voxel grid (its voxel size sets the kernels).
    cluster_forming_p
        Voxel-level p forming clusters (cFWE) or thresholding (``"none"``).
    cluster_p, voxel_fwe_p
        Cluster- and voxel-level FWE significance levels.
    n_iterations
        Monte Carlo iterations (cFWE/vFWE; the null is computed for both whenever it is run).
    connectivity
        6, 18 or 26 neighbours.
    correction
        ``"cfwe"`` (default), ``"vfwe"``, ``"fdr"`` (with a warning) or ``"none"``.
    fdr_q, fdr_method
        FDR level and rule (``"bh"`` = pID, ``"by"`` = pN).
    min_cluster_mm3
        Surviving clusters smaller than this are dropped (any correction).
    seed, backend, progress
        Monte Carlo seed, where chunks run, and ``progress(iterations_done, total)``.

    Returns
    -------
    AleResult
    """
    foci = _check_inputs(xyz_mm, experiment_index, n_subjects, mask, grid)
    _check_options(
        correction, fdr_method, connectivity, n_iterations,
        cluster_forming_p, cluster_p, voxel_fwe_p, fdr_q,
    )  # fmt: skip
    opts: dict[str, Any] = {
        "correction": correction, "cluster_forming_p": cluster_forming_p,
        "cluster_p": cluster_p, "voxel_fwe_p": voxel_fwe_p, "n_iterations": int(n_iterations),
        "connectivity": int(connectivity), "fdr_q": fdr_q, "fdr_method": fdr_method,
        "min_cluster_mm3": float(min_cluster_mm3), "seed": int(seed),
    }  # fmt: skip
    return _fit(foci, grid, opts, backend or Backend(), progress)


def _fit(
    foci: _Foci, grid: Grid, opts: dict[str, Any], backend: Backend, progress: Progress | None
) -> AleResult:
    ma = compute_ma_maps(foci.xyz_mm, foci.experiment_index, foci.n_subjects, foci.mask, grid)
    ale = ale_from_ma(ma)
    null = analytic_null(ma)
    p = p_from_null(ale, null)
    threshold = ale_threshold(null, opts["cluster_forming_p"])
    labels_3d, sizes, masses = montecarlo.label_clusters(
        to_volume(ale, foci.mask), threshold, opts["connectivity"]
    )
    labels = labels_3d[foci.mask]
    mc, p_vfwe = None, None
    cl_p = np.full(sizes.shape, np.nan)
    mass_p = np.full(sizes.shape, np.nan)
    if opts["correction"] in ("cfwe", "vfwe"):
        mc = _run_montecarlo(foci, grid, threshold, opts, backend, progress)
        p_vfwe = frozen_array(corrected_p(ale, mc.max_ale))
        cl_p = corrected_p(sizes, mc.max_cluster_size)
        mass_p = corrected_p(masses, mc.max_cluster_mass)
    sig = _significant(opts, p, p_vfwe, labels, cl_p)
    min_vox = min_volume_voxels(opts["min_cluster_mm3"], grid)
    if min_vox > 1:
        sig = min_volume_filter(to_volume(sig, foci.mask), min_vox, opts["connectivity"])
        sig = sig[foci.mask]
    z = safe_z(p)
    n_exp = int(foci.n_subjects.size)
    opts |= {"n_mask_voxels": int(foci.mask.sum()), "backend": backend.describe(),
             "cluster_forming_ale": threshold}  # fmt: skip
    text, refs = ale_methods(
        opts, n_exp, foci.xyz_mm.shape[0], float(foci.n_subjects.sum()),
        ma.n_foci_outside_mask, grid,
    )  # fmt: skip
    return AleResult(
        grid=grid, mask=frozen_array(foci.mask), ale=frozen_array(ale), p=frozen_array(p),
        z=frozen_array(z), logp=frozen_array(-np.log10(p)), n_experiments=n_exp,
        n_foci=int(foci.xyz_mm.shape[0]), n_foci_outside_mask=ma.n_foci_outside_mask,
        n_subjects=frozen_array(foci.n_subjects), ma_peak=frozen_array(ma.row_max()),
        ma_n_voxels=frozen_array(np.diff(ma.indptr)), null=null,
        cluster_forming_threshold=threshold, montecarlo=mc, p_voxel_fwe=p_vfwe,
        cluster_labels=frozen_array(labels), cluster_size_voxels=frozen_array(sizes),
        cluster_mass=frozen_array(masses), cluster_p_fwe=frozen_array(cl_p),
        cluster_mass_p_fwe=frozen_array(mass_p), significant=frozen_array(sig),
        z_thresholded=frozen_array(np.where(sig, z, 0.0)), correction=opts["correction"],
        warnings=_ale_warnings(opts, n_exp, ma.n_foci_outside_mask),
        parameters=MappingProxyType(dict(opts)), methods=text, references=refs,
    )  # fmt: skip


def safe_z(p: FloatArray) -> FloatArray:
    """Return Φ⁻¹(1 − p) with p clipped to [1e-300, 1 − 1e-16], so p = 1 maps to a finite z."""
    return z_from_p(np.clip(p, 1e-300, 1.0 - 1e-16))


def _subset(foci: _Foci, rows: BoolArray) -> _Foci:
    keep = rows[foci.experiment_index]
    new_row = np.cumsum(rows) - 1
    return _Foci(
        foci.xyz_mm[keep], new_row[foci.experiment_index[keep]], foci.n_subjects[rows], foci.mask
    )
