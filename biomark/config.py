"""Frozen configuration dataclasses.

Every knob a run depends on lives in one of these immutable records, so that results can stamp the
exact configuration that produced them (``dataclasses.asdict``) into their provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal


@dataclass(frozen=True, slots=True)
class SamplerConfig:
    """How the peak-displacement model is sampled (PyMC's own NUTS, always).

    Parameters
    ----------
    chains, draws, tune
        Markov chains, kept draws per chain and tuning (warm-up) draws per chain.
    target_accept
        NUTS target acceptance rate; higher means smaller steps and fewer divergences.
    cores
        Worker processes; capped at 2 by :func:`biomark.shift.sampling.sample_shift_model`.
    init
        PyMC initialisation strategy.
    nuts_sampler
        Fixed to ``"pymc"``: explicit because PyMC silently prefers nutpie when installed.
    """

    chains: int = 4
    draws: int = 1000
    tune: int = 1000
    target_accept: float = 0.95
    cores: int = 2
    init: str = "jitter+adapt_diag"
    nuts_sampler: Literal["pymc"] = "pymc"

    def smoke(self) -> SamplerConfig:
        """Return a tiny configuration (2 chains × 50 draws, 50 tuning, 1 core) for smoke tests.

        One core: for runs this short, starting worker processes costs more than it saves.
        """
        return replace(self, chains=2, draws=50, tune=50, cores=1)


@dataclass(frozen=True, slots=True)
class PriorConfig:
    """Priors of the peak-displacement model, all on the millimetre scale unless stated.

    Parameters
    ----------
    name
        Label printed in the report (``"default"``, ``"tight"``, ``"wide"``).
    mu_sd_mm
        SD of the healthy mean peak around the observed healthy centroid (Normal).
    delta_sd_mm
        SD of each group displacement per axis (Normal, centred on no shift).
    tau_cohort_sd_mm
        Scale of the HalfNormal prior on the between-cohort SD per axis.
    tau_experiment_sd_mm
        Scale of the HalfNormal prior on the residual between-experiment SD per axis.
    alpha_sd
        SD of the outcome intercept on the logit scale.
    beta_sd
        SD of the outcome slope on the logit scale **per** ``beta_unit_mm`` of ventral displacement.
    beta_unit_mm
        The displacement unit of the slope (5 mm: the odds ratio is reported per 5 mm).
    """

    name: str = "default"
    mu_sd_mm: float = 20.0
    delta_sd_mm: float = 10.0
    tau_cohort_sd_mm: float = 5.0
    tau_experiment_sd_mm: float = 5.0
    alpha_sd: float = 1.5
    beta_sd: float = 1.5
    beta_unit_mm: float = 5.0

    def tight(self) -> PriorConfig:
        """Return the sensitivity variant with half the SDs (Δ ~ N(0, 5), τ ~ HalfNormal(2.5))."""
        return replace(
            self,
            name="tight",
            delta_sd_mm=self.delta_sd_mm / 2,
            tau_cohort_sd_mm=self.tau_cohort_sd_mm / 2,
            tau_experiment_sd_mm=self.tau_experiment_sd_mm / 2,
            beta_sd=self.beta_sd / 2,
        )

    def wide(self) -> PriorConfig:
        """Return the sensitivity variant with double the SDs (Δ ~ N(0, 20), τ ~ HalfNormal(10))."""
        return replace(
            self,
            name="wide",
            delta_sd_mm=self.delta_sd_mm * 2,
            tau_cohort_sd_mm=self.tau_cohort_sd_mm * 2,
            tau_experiment_sd_mm=self.tau_experiment_sd_mm * 2,
            beta_sd=self.beta_sd * 2,
        )


@dataclass(frozen=True, slots=True)
class AleConfig:
    """Inference options of an ALE analysis or contrast (CLI defaults: GingerALE's).

    Parameters
    ----------
    iterations
        Monte Carlo iterations (and label permutations of a contrast).
    cluster_forming_p, cluster_p
        Voxel p that forms clusters; cluster-level FWE significance.
    correction
        ``"cfwe"`` (default), ``"vfwe"``, ``"fdr"`` (with a warning) or ``"none"``.
    connectivity
        6 (faces, NiMARE's default), 18 or 26.
    fdr_q, fdr_method
        FDR level and rule (``"bh"`` pID, ``"by"`` pN).
    min_cluster_mm3
        Minimum volume of surviving clusters.
    contrast_p, contrast_mode, contrast_min_cluster_mm3
        Subtraction voxel threshold, ``"gated"`` (GingerALE) or ``"whole_mask"`` (NiMARE), and
        its minimum cluster volume (200 mm³, a common GingerALE choice, so that single voxels
        of a noisy difference map are not reported as findings).
    tal_transform
        Talairach → MNI transform for experiments reported in Talairach space (Lancaster 2007
        pooled by default, as GingerALE and NiMARE; SPM, FSL or Brett on request).
    """

    iterations: int = 10000
    cluster_forming_p: float = 0.001
    cluster_p: float = 0.05
    correction: Literal["cfwe", "vfwe", "fdr", "none"] = "cfwe"
    connectivity: Literal[6, 18, 26] = 6
    fdr_q: float = 0.05
    fdr_method: Literal["bh", "by"] = "bh"
    min_cluster_mm3: float = 0.0
    contrast_p: float = 0.01
    contrast_mode: Literal["gated", "whole_mask"] = "gated"
    contrast_min_cluster_mm3: float = 200.0
    tal_transform: Literal["lancaster_pooled", "lancaster_spm", "lancaster_fsl", "brett"] = (
        "lancaster_pooled"
    )


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How a run executes: its seed and where chunks of work go (never changes the numbers)."""

    seed: int = 0
    jobs: int = 1
    dask_scheduler: str | None = None
    dask_local: int | None = None
