"""Null false-positive rates of cluster-level FWE ALE and of the subtraction contrast.

ALE: null meta-analyses of the design's group (same experiments, N and focus counts; every focus
at a uniformly drawn in-mask voxel) are tested against the design's shared Monte Carlo null
(:mod:`biomark.power.ale_power`); a false positive is any cluster with corrected p ≤ alpha. The
rate must be ≤ alpha (it is exactly valid by construction; the check guards the plumbing).

Contrast: homogeneous splits — both groups drawn from one population (the design with no planted
shift and no target region: every experiment an unshifted MI peak plus background foci) — are
tested with the permutation subtraction of :func:`biomark.ale.contrast.subtraction` (whole mask,
no gating). Per split the share of voxels at one-sided p ≤ 0.01 and p ≤ 0.05 is recorded, among
voxels any experiment reaches and among voxels ≥ :data:`MIN_SUPPORT` experiments reach (few
contributing experiments make a permutation p coarse, hence conservative, so nominal rates are
expected only there). Monte Carlo SE of a mean rate = SD over splits / √splits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np

from biomark.ale.contrast import subtraction
from biomark.ale.ma import compute_ma_maps
from biomark.parallel import chunk_rng
from biomark.power.ale_power import (
    brain_xyz_mm,
    cluster_p_values,
    group_layout,
    random_location_foci,
)
from biomark.power.design import GroupKey, PowerDesign
from biomark.power.replicate import BoolArray, FloatArray, simulate_replicate
from biomark.power.results import mean_row, proportion_row
from biomark.space import Grid

MIN_SUPPORT: Final = 3
LEVELS: Final = (0.01, 0.05)


@dataclass(frozen=True)
class NullAleSpec:
    """Blocks of null meta-analyses of one group's design, against its shared null."""

    design: PowerDesign
    group: GroupKey
    mask: BoolArray
    grid: Grid
    threshold: float
    null_sizes: FloatArray
    seed: int

    @property
    def n_chunks(self) -> int:
        """Blocks of ``design.block_size`` covering ``design.replicates``."""
        return len(self.design.replicate_blocks)


def null_ale_chunk(spec: NullAleSpec, k: int) -> FloatArray:
    """Smallest corrected cluster p of each null meta-analysis of block ``k``."""
    n, exp = group_layout(spec.design, spec.group)
    rng = chunk_rng(spec.seed, k)
    brain = brain_xyz_mm(spec.mask, spec.grid)
    size = spec.design.replicate_blocks[k]
    out = np.empty(size)
    for r in range(size):
        xyz = random_location_foci(exp, brain, rng)
        _, out[r] = cluster_p_values(
            xyz, exp, n, spec.mask, spec.grid, spec.threshold, spec.null_sizes, []
        )
    return out


@dataclass(frozen=True)
class ContrastSpec:
    """Chunk ``k`` tests homogeneous split ``k`` with ``design.contrast_permutations``."""

    design: PowerDesign
    mask: BoolArray
    grid: Grid
    seed: int


def homogeneous(design: PowerDesign) -> PowerDesign:
    """The design's null population: no planted shift and no target region."""
    return replace(design, shift_mm=0.0, target_mm=None)


def contrast_chunk(spec: ContrastSpec, k: int) -> FloatArray:
    """Rates of one null split: (direction a−b, b−a) × (reached, supported) × LEVELS, flat."""
    design = homogeneous(spec.design)
    rng = chunk_rng(spec.seed, k)
    rep = simulate_replicate(design, brain_xyz_mm(spec.mask, spec.grid), rng)
    ma = compute_ma_maps(rep.foci_mm, rep.experiment_index, rep.n_subjects, spec.mask, spec.grid)
    support = np.bincount(ma.columns, minlength=ma.n_mask_voxels)
    res = subtraction(
        ma,
        rep.in_a,
        n_permutations=spec.design.contrast_permutations,
        seed=int(rng.integers(0, 2**31 - 1)),
    )
    rates = []
    for p in (res.p_upper, res.p_lower):
        for where in (support > 0, support >= MIN_SUPPORT):
            for level in LEVELS:
                rates.append(float((p[where] <= level).mean()) if where.any() else np.nan)
    return np.asarray(rates)


def contrast_rows(rates: FloatArray, design: PowerDesign) -> list[dict[str, Any]]:
    """Estimate rows from the per-split rates, ``(n_splits, 8)``."""
    rows = []
    col = 0
    names = (f"{design.label_a} > {design.label_b}", f"{design.label_b} > {design.label_a}")
    for d_key, direction in zip(("a_gt_b", "b_gt_a"), names, strict=True):
        for w_key, where in zip(
            ("reached", "supported"),
            ("reached voxels", f"voxels ≥ {MIN_SUPPORT} experiments reach"),
            strict=True,
        ):
            for level in LEVELS:
                quantity = f"share of {where} at p ≤ {level:g} ({direction})"
                key = f"contrast_{d_key}_{w_key}_{level:g}"
                rows.append(
                    mean_row(
                        key, "calibration", "subtraction contrast", quantity, rates[:, col], 0.0
                    )
                )
                col += 1
    return rows


def ale_rows(
    p_min: FloatArray, design: PowerDesign, group: GroupKey, label: str
) -> list[dict[str, Any]]:
    """False-positive-rate row of cluster-level FWE ALE from the null p minima."""
    return [
        proportion_row(
            f"ale_fpr_{group}",
            "calibration",
            "cluster-level FWE ALE",
            f"false-positive rate, {label} ({design.alpha:g} nominal)",
            p_min <= design.alpha,
            0.0,
        )
    ]
