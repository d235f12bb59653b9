"""Power of cluster-level FWE ALE to find a planted region, with one Monte Carlo null per design.

The shortcut. The cluster-level FWE null (:mod:`biomark.ale.montecarlo`) moves every focus to a
uniformly drawn in-mask voxel, keeping the experiments, their N and focus counts, and records the
largest cluster above the cluster-forming ALE threshold. It never looks at where the observed
foci are: for a fixed threshold its distribution is a function of the design alone. So one null
per design serves every replicate, and a replicate costs MA maps + ALE + labelling (≈ 0.1 s)
instead of a 10,000-iteration Monte Carlo run (≈ 20 s).

The one data-dependent input of the usual pipeline is the cluster-forming threshold, read from
the analytic null of the observed MA maps (p < 0.001). Here it is fixed per design: the median
threshold of a few random-location configurations of the design. The test stays exactly valid
(observed and null statistics use the same fixed threshold); it differs from the per-data
threshold by at most a few 1e-5 ALE bins (tests/power/test_ale_power.py measures it).

Detection rule: a replicate *finds* a planted location when a cluster with FWE-corrected
p ≤ alpha (cluster size) has a voxel within ``hit_radius_mm`` of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from biomark.ale.fwe import corrected_p
from biomark.ale.ma import compute_ma_maps
from biomark.ale.montecarlo import (
    MonteCarloSpec,
    grid_voxel_size,
    label_clusters,
    run_montecarlo,
)
from biomark.ale.null import ale_from_ma, ale_threshold, analytic_null
from biomark.parallel import Backend, chunk_rng
from biomark.power.design import GroupKey, PowerDesign
from biomark.power.replicate import (
    BoolArray,
    FloatArray,
    IntArray,
    group_foci,
    planted_offsets_mm,
    simulate_replicate,
)
from biomark.space import Grid, ijk_to_mm

N_THRESHOLD_CONFIGS = 5


def group_layout(design: PowerDesign, group: GroupKey) -> tuple[FloatArray, IntArray]:
    """``(n_subjects per experiment, experiment index per focus)`` of one group."""
    n, foci = design.group_sizes(group)
    exp = np.repeat(np.arange(len(n)), np.asarray(foci, dtype=np.int64))
    return np.asarray(n, dtype=np.float64), exp


def brain_xyz_mm(mask: BoolArray, grid: Grid) -> FloatArray:
    """Centres (mm) of the in-mask voxels, ``(n_mask_voxels, 3)``."""
    return ijk_to_mm(np.argwhere(mask), grid)


def random_location_foci(
    exp: IntArray, brain_mm: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """Every focus at a uniformly drawn in-mask voxel centre (the FWE null), ``(n_foci, 3)``."""
    out: FloatArray = brain_mm[rng.integers(0, brain_mm.shape[0], size=exp.shape[0])]
    return out


def data_threshold(
    xyz_mm: FloatArray, exp: IntArray, n: FloatArray, mask: BoolArray, grid: Grid, p: float
) -> float:
    """The usual per-data cluster-forming ALE threshold (analytic null of these MA maps)."""
    return ale_threshold(analytic_null(compute_ma_maps(xyz_mm, exp, n, mask, grid)), p)


def design_threshold(
    design: PowerDesign, group: GroupKey, mask: BoolArray, grid: Grid, rng: np.random.Generator
) -> float:
    """Median per-data threshold over random-location configurations of the group's design."""
    n, exp = group_layout(design, group)
    brain = brain_xyz_mm(mask, grid)
    thresholds = [
        data_threshold(
            random_location_foci(exp, brain, rng), exp, n, mask, grid, design.cluster_forming_p
        )
        for _ in range(N_THRESHOLD_CONFIGS)
    ]
    return float(np.median(thresholds))


def shared_null(
    design: PowerDesign,
    group: GroupKey,
    mask: BoolArray,
    grid: Grid,
    threshold: float,
    seed: int,
    backend: Backend,
    progress: Callable[[int], None] | None = None,
) -> FloatArray:
    """Sorted null maxima of cluster size (voxels) of the group's design, one run per design."""
    n, exp = group_layout(design, group)
    spec = MonteCarloSpec(
        mask=mask,
        voxel_size_mm=grid_voxel_size(grid),
        n_subjects=n,
        experiment_index=exp,
        ale_threshold=threshold,
        n_iterations=design.ale_iterations,
        seed=seed,
    )
    return np.sort(run_montecarlo(spec, backend, progress=progress).max_cluster_size)


def cluster_p_values(
    xyz_mm: FloatArray,
    exp: IntArray,
    n: FloatArray,
    mask: BoolArray,
    grid: Grid,
    threshold: float,
    null_sizes: FloatArray,
    near: Sequence[IntArray],
) -> tuple[FloatArray, float]:
    """FWE-corrected cluster p near each location and the smallest p anywhere.

    Parameters
    ----------
    near
        Per location, flat grid indices of the voxels within the hit radius.

    Returns
    -------
    tuple
        ``(n_locations,)`` smallest corrected p of a cluster touching each location (1.0 if
        none) and the smallest corrected p of any cluster (1.0 if none).
    """
    ale = np.zeros(mask.shape)
    ale[mask] = ale_from_ma(compute_ma_maps(xyz_mm, exp, n, mask, grid))
    labels, sizes, _ = label_clusters(ale, threshold, connectivity=6)
    p = np.r_[1.0, corrected_p(sizes, null_sizes)]  # label 0 = no cluster
    flat = labels.ravel()
    p_near = np.array([p[flat[idx]].min(initial=1.0) for idx in near])
    return p_near, float(p.min())


def location_voxels(
    points_mm: Sequence[Sequence[float]], radius_mm: float, grid: Grid
) -> list[IntArray]:
    """Flat grid indices within ``radius_mm`` of each point (at least the point's own voxel)."""
    inv = np.linalg.inv(grid.affine_array)
    reach = int(np.ceil(radius_mm / float(np.min(np.abs(grid.voxel_size_mm))))) + 1
    offsets = np.stack(
        np.meshgrid(*[np.arange(-reach, reach + 1)] * 3, indexing="ij"), axis=-1
    ).reshape(-1, 3)
    out = []
    for point in points_mm:
        xyz = np.asarray(point, dtype=np.float64)
        centre = np.rint(inv[:3, :3] @ xyz + inv[:3, 3]).astype(np.int64)
        ijk = centre + offsets
        ijk = ijk[np.all((ijk >= 0) & (ijk < np.asarray(grid.shape)), axis=1)]
        d2 = ((ijk_to_mm(ijk, grid) - xyz) ** 2).sum(axis=1)
        inside = d2 <= radius_mm**2 + 1e-9
        keep = ijk[inside] if inside.any() else ijk[[int(np.argmin(d2))]]
        out.append(np.ravel_multi_index(tuple(keep.T), grid.shape).astype(np.int64))
    return out


@dataclass(frozen=True)
class AleSpec:
    """What a block of power replicates needs (picklable plain data)."""

    design: PowerDesign
    mask: BoolArray
    grid: Grid
    threshold: float
    null_sizes: FloatArray
    seed: int

    @property
    def n_chunks(self) -> int:
        """Blocks of ``design.block_size`` replicates covering ``design.replicates``."""
        return len(self.design.replicate_blocks)


def group_mi_mm(design: PowerDesign, group: GroupKey) -> FloatArray:
    """The planted (mean) MI peak of a group."""
    offsets = planted_offsets_mm(design)
    row = 0 if group == "a" else design.n_a
    out: FloatArray = np.asarray(design.mi_centre_mm) + offsets[row]
    return out


def power_chunk(spec: AleSpec, k: int) -> dict[str, FloatArray]:
    """Block ``k`` of replicates: ALE cluster p at MI, at the target and anywhere."""
    d = spec.design
    group = d.target_group
    rng = chunk_rng(spec.seed, k)
    brain = brain_xyz_mm(spec.mask, spec.grid)
    points = [group_mi_mm(d, group)] + ([np.asarray(d.target_mm)] if d.target_mm else [])
    near = location_voxels(points, d.hit_radius_mm, spec.grid)
    size = d.replicate_blocks[k]
    out: dict[str, list[float]] = {"p_mi": [], "p_target": [], "p_any": []}
    for _ in range(size):
        rep = simulate_replicate(d, brain, rng)
        xyz, exp, n = group_foci(rep, group)
        p_near, p_any = cluster_p_values(
            xyz, exp, n, spec.mask, spec.grid, spec.threshold, spec.null_sizes, near
        )
        out["p_mi"].append(float(p_near[0]))
        out["p_target"].append(float(p_near[1]) if d.target_mm else np.nan)
        out["p_any"].append(p_any)
    return {key: np.asarray(v, dtype=np.float64) for key, v in out.items()}
