"""Simulate one replicate of a :class:`~biomark.power.design.PowerDesign` (pure numpy).

Generative model (per experiment ``e`` of group ``g`` with ``N_e`` subjects), in MNI mm with the
lesioned hemisphere on the left:

* true MI peak = ``mi_centre_mm`` + (0, 0, −shift_mm if g is the shifted group else 0)
  + N(0, cohort_sd_mm²) per axis (between-study spread);
* reported MI peak = true peak + N(0, σ(N_e)²) per axis, σ = the Eickhoff et al. (2009)
  spatial uncertainty (:func:`biomark.simulate.dataset.eickhoff_peak_sd_mm`);
* ``round(target_fraction · n)`` randomly chosen experiments of ``target_group`` report one more
  focus at ``target_mm`` + N(0, σ(N_e)²);
* every other focus is a background focus at a uniformly drawn in-mask voxel centre — exactly
  the foci the cluster-level FWE Monte Carlo null draws.

Experiments are ordered group a then group b; within an experiment, foci are ordered MI peak,
target focus (if any), background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from biomark.power.design import GroupKey, PowerDesign
from biomark.simulate.dataset import eickhoff_peak_sd_mm

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Replicate:
    """One simulated two-group meta-analysis.

    Attributes
    ----------
    peaks_mm
        Reported ipsilesional-MI peak per experiment, ``(n_experiments, 3)``.
    in_a
        ``(n_experiments,)`` True for group a.
    n_subjects
        ``(n_experiments,)`` subjects.
    foci_mm
        All foci, ``(n_foci, 3)``.
    experiment_index
        Experiment of each focus, ``(n_foci,)`` (sorted).
    carriers
        ``(n_experiments,)`` True where the experiment reports the target region.
    """

    peaks_mm: FloatArray
    in_a: BoolArray
    n_subjects: FloatArray
    foci_mm: FloatArray
    experiment_index: IntArray
    carriers: BoolArray


def experiment_layout(design: PowerDesign) -> tuple[BoolArray, FloatArray, IntArray]:
    """``(in_a, n_subjects, foci per experiment)`` in replicate order (a then b)."""
    in_a = np.r_[np.ones(design.n_a, bool), np.zeros(design.n_b, bool)]
    n = np.asarray(design.n_subjects_a + design.n_subjects_b, dtype=np.float64)
    foci = np.asarray(design.foci_a + design.foci_b, dtype=np.int64)
    return in_a, n, foci


def peak_sd_mm(n_subjects: FloatArray) -> FloatArray:
    """Per-axis SD (mm) of a reported peak for each experiment's sample size."""
    return np.array([eickhoff_peak_sd_mm(int(n)) for n in n_subjects], dtype=np.float64)


def planted_offsets_mm(design: PowerDesign, shift_mm: float | None = None) -> FloatArray:
    """Planted MI displacement of each experiment, ``(n_experiments, 3)`` (ventral = −z)."""
    in_a, _, _ = experiment_layout(design)
    shifted = in_a if design.shifted_group == "a" else ~in_a
    out = np.zeros((in_a.shape[0], 3))
    out[shifted, 2] = -(design.shift_mm if shift_mm is None else shift_mm)
    return out


def simulate_peaks(
    design: PowerDesign,
    rng: np.random.Generator,
    n_replicates: int = 1,
    shift_mm: float | None = None,
) -> FloatArray:
    """Reported MI peaks of ``n_replicates`` replicates, ``(n_replicates, n_experiments, 3)``.

    ``shift_mm`` overrides the design's planted shift (for power curves).
    """
    _, n, _ = experiment_layout(design)
    true = design.mi_centre_mm + planted_offsets_mm(design, shift_mm)
    spread = rng.normal(0.0, design.cohort_sd_mm, size=(n_replicates, n.shape[0], 3))
    noise = rng.normal(0.0, 1.0, size=(n_replicates, n.shape[0], 3)) * peak_sd_mm(n)[:, None]
    out: FloatArray = true[None] + spread + noise
    return out


def choose_carriers(design: PowerDesign, rng: np.random.Generator) -> BoolArray:
    """Which experiments report the target: a random subset of fixed size of ``target_group``."""
    in_a, _, _ = experiment_layout(design)
    members = np.flatnonzero(in_a if design.target_group == "a" else ~in_a)
    carriers = np.zeros(in_a.shape[0], dtype=bool)
    carriers[rng.choice(members, size=design.n_target_carriers, replace=False)] = True
    return carriers


def simulate_replicate(
    design: PowerDesign, brain_xyz_mm: FloatArray, rng: np.random.Generator
) -> Replicate:
    """One replicate: MI peaks, target foci and uniform background foci.

    Parameters
    ----------
    design
        What to simulate.
    brain_xyz_mm
        Centres of the in-mask voxels, ``(n_mask_voxels, 3)`` mm; background foci are drawn
        uniformly from them.
    rng
        The only source of randomness.
    """
    in_a, n, foci = experiment_layout(design)
    peaks = simulate_peaks(design, rng)[0]
    carriers = choose_carriers(design, rng)
    target_noise = rng.normal(0.0, 1.0, size=(in_a.shape[0], 3)) * peak_sd_mm(n)[:, None]
    n_background = foci - 1 - carriers
    background = brain_xyz_mm[rng.integers(0, brain_xyz_mm.shape[0], size=int(n_background.sum()))]
    parts: list[FloatArray] = []
    start = 0
    for e in range(in_a.shape[0]):
        parts.append(peaks[e : e + 1])
        if carriers[e]:
            target = np.asarray(design.target_mm, dtype=np.float64)
            parts.append((target + target_noise[e])[None])
        parts.append(background[start : start + n_background[e]])
        start += int(n_background[e])
    return Replicate(
        peaks_mm=peaks,
        in_a=in_a,
        n_subjects=n,
        foci_mm=np.concatenate(parts, axis=0),
        experiment_index=np.repeat(np.arange(in_a.shape[0]), foci),
        carriers=carriers,
    )


def group_foci(rep: Replicate, group: GroupKey) -> tuple[FloatArray, IntArray, FloatArray]:
    """``(foci_mm, experiment_index 0..n-1, n_subjects)`` of one group's experiments."""
    keep_exp = rep.in_a if group == "a" else ~rep.in_a
    keep = keep_exp[rep.experiment_index]
    renumber = np.cumsum(keep_exp) - 1
    return rep.foci_mm[keep], renumber[rep.experiment_index[keep]], rep.n_subjects[keep_exp]
