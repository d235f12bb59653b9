"""The one place that runs PyMC's sampler on a shift model, and stamps what produced the draws.

Every result is an ``xarray.DataTree`` (what PyMC 6 returns) whose root ``attrs`` record the seed,
the sampler and prior configurations, the ROI, and the PyMC/PyTensor/ArviZ versions, so that the
report can print provenance without knowing how the model was run.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final

import arviz
import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import xarray as xr

from biomark.config import PriorConfig, SamplerConfig
from biomark.parallel import PendingChunks
from biomark.shift.model import OutcomeOmittedWarning, ShiftModel, build_shift_model

MAX_CORES: Final = 2
SEED_BOUND: Final = 2**31 - 1


def _seed_int(seed: int | np.random.Generator) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, SEED_BOUND))
    return int(seed)


def provenance(shift_model: ShiftModel, sampler: SamplerConfig | None, seed: int) -> dict[str, Any]:
    """The attrs stamped on every shift result (JSON strings for the configuration records)."""
    return {
        "biomark_result": "shift_model",
        "roi": shift_model.roi,
        "seed": seed,
        "sampler_config": json.dumps(asdict(sampler)) if sampler else "",
        "prior_config": json.dumps(asdict(shift_model.priors)),
        "contrasts": json.dumps(list(shift_model.contrasts)),
        "has_outcome": int(shift_model.has_outcome),
        "pymc_version": pm.__version__,
        "pytensor_version": pytensor.__version__,
        "arviz_version": arviz.__version__,
    }


def sample_shift_model(
    shift_model: ShiftModel,
    sampler: SamplerConfig | None = None,
    seed: int | np.random.Generator = 0,
    *,
    posterior_predictive: bool = True,
    progressbar: bool = False,
    step: Any = None,
) -> xr.DataTree:
    """Sample the posterior (PyMC NUTS) and, optionally, the posterior predictive.

    Parameters
    ----------
    shift_model
        From :func:`biomark.shift.model.build_shift_model`.
    sampler
        Chains, draws, tune, target_accept, cores (capped at 2), init.
    seed
        An int, or a generator from which one int seed is drawn; the int is stamped in ``attrs``.
    posterior_predictive
        Also draw ``peak_mm`` (and ``good_outcome``) replicates for the predictive check.
    progressbar
        Show PyMC's progress bar.
    step
        A NUTS step from :func:`nuts_step` to reuse its compiled functions across refits
        (chains then start from the model's initial point, without jitter; tuning is reset).

    Returns
    -------
    xarray.DataTree
        Groups posterior, sample_stats, observed_data, constant_data (and posterior_predictive);
        ``attrs`` as :func:`provenance`.
    """
    sampler = sampler or SamplerConfig()
    seed_int = _seed_int(seed)
    with shift_model.model:
        # a prebuilt step already carries target_accept; PyMC rejects it twice
        step_kwargs: dict[str, Any] = (
            {"step": step} if step is not None else {"target_accept": sampler.target_accept}
        )
        idata = pm.sample(
            draws=sampler.draws,
            tune=sampler.tune,
            chains=sampler.chains,
            cores=min(sampler.cores, MAX_CORES),
            init=sampler.init,
            random_seed=seed_int,
            nuts_sampler="pymc",
            progressbar=progressbar,
            compute_convergence_checks=False,
            **step_kwargs,
        )
        if posterior_predictive:
            pm.sample_posterior_predictive(
                idata,
                random_seed=seed_int + 1,
                extend_inferencedata=True,
                progressbar=progressbar,
            )
    idata.attrs.update(provenance(shift_model, sampler, seed_int))
    result: xr.DataTree = idata
    return result


def nuts_step(shift_model: ShiftModel, sampler: SamplerConfig | None = None) -> Any:
    """Compile a PyMC NUTS step once, for many :func:`sample_shift_model` calls on one model.

    Use with :func:`biomark.shift.model.swap_data` to refit simulated datasets of one design.
    """
    sampler = sampler or SamplerConfig()
    with shift_model.model:
        return pm.NUTS(target_accept=sampler.target_accept)


def sample_prior_predictive(
    shift_model: ShiftModel, draws: int, seed: int | np.random.Generator
) -> xr.DataTree:
    """Draw ``draws`` sets of parameters and data from the model's prior (for checks and SBC)."""
    seed_int = _seed_int(seed)
    with shift_model.model:
        idata = pm.sample_prior_predictive(draws=draws, random_seed=seed_int)
    idata.attrs.update(provenance(shift_model, None, seed_int))
    result: xr.DataTree = idata
    return result


@dataclass(frozen=True)
class FitJob:
    """One fit to run, possibly in another process: the model's inputs, priors, sampler, seed."""

    peaks: pd.DataFrame = field(repr=False)
    roi: str
    priors: PriorConfig
    contrasts: tuple[str, ...]
    outcome_groups: tuple[str, ...]
    sampler: SamplerConfig
    seed: int
    posterior_predictive: bool = False

    @classmethod
    def of(
        cls, shift_model: ShiftModel, sampler: SamplerConfig, seed: int, *,
        priors: PriorConfig | None = None, posterior_predictive: bool = False,
    ) -> FitJob:  # fmt: skip
        """A job refitting ``shift_model``'s data (under ``priors``, default its own)."""
        return cls(shift_model.peaks, shift_model.roi, priors or shift_model.priors,
                   shift_model.contrasts, shift_model.outcome_groups, sampler, seed,
                   posterior_predictive)  # fmt: skip


def _run_job(jobs: Sequence[FitJob], k: int) -> xr.DataTree:
    job = jobs[k]
    pymc_log = logging.getLogger("pymc")
    level = pymc_log.level
    # PyMC narrates every sampler start at INFO (in worker processes too); biomark reports its own.
    pymc_log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            # the omitted-outcome warning was already raised where the original model was built
            warnings.simplefilter("ignore", OutcomeOmittedWarning)
            warnings.simplefilter("ignore", FutureWarning)
            model = build_shift_model(job.peaks, job.priors, roi=job.roi, contrasts=job.contrasts,
                                      outcome_groups=job.outcome_groups)  # fmt: skip
            return sample_shift_model(
                model, job.sampler, job.seed, posterior_predictive=job.posterior_predictive
            )
    finally:
        pymc_log.setLevel(level)


def start_fits(jobs: Sequence[FitJob], cores: int = MAX_CORES) -> PendingChunks:
    """Start several fits in the background; ``.results()`` gives them in order of ``jobs``.

    Whole fits are spread over ``cores`` processes, each fit's chains one after another:
    PyMC's own per-fit worker processes cost seconds to start and leave a core idle while the
    longest chain finishes. PyMC seeds each chain from the fit's seed whatever the number of
    cores, so a job gives the same draws on every run (the same as :func:`sample_shift_model`
    in a fresh process; a long-lived process may differ in the last bits of the compiled code). Put
    the longest jobs first: a process takes the next job when it finishes one. Use the result
    as a context manager so that an error or interruption stops the fits.
    """
    jobs = list(jobs)
    cores = min(cores, MAX_CORES, len(jobs))
    if cores > 1:
        jobs = [replace(j, sampler=replace(j.sampler, cores=1)) for j in jobs]
    # Its own processes: in a pool shared with the ALE's short chunks, the ALE would queue
    # behind whole fits.
    return PendingChunks(_run_job, jobs, len(jobs), cores, own_pool=True)


def run_fits(jobs: Sequence[FitJob], cores: int = MAX_CORES) -> list[xr.DataTree]:
    """Run several fits (see :func:`start_fits`) and return them in order of ``jobs``."""
    with start_fits(jobs, cores) as pending:
        fits: list[xr.DataTree] = pending.results()
    return fits


def sensitivity_jobs(
    shift_model: ShiftModel,
    sampler: SamplerConfig | None = None,
    seed: int | np.random.Generator = 0,
    priors: Sequence[PriorConfig] | None = None,
) -> list[FitJob]:
    """The prior-sensitivity refits (default: ``tight`` and ``wide`` variants) as jobs."""
    seed_int = _seed_int(seed)
    variants = (
        list(priors)
        if priors is not None
        else [shift_model.priors.tight(), shift_model.priors.wide()]
    )
    return [FitJob.of(shift_model, sampler or SamplerConfig(), seed_int + 10 * (k + 1), priors=p)
            for k, p in enumerate(variants)]  # fmt: skip


def fit_prior_sensitivity(
    shift_model: ShiftModel,
    sampler: SamplerConfig | None = None,
    seed: int | np.random.Generator = 0,
    priors: Sequence[PriorConfig] | None = None,
) -> dict[str, xr.DataTree]:
    """Refit the same data under other priors (default: ``tight`` and ``wide`` variants).

    Returns the fits keyed by prior name; the rebuilt models use the same ROI, contrasts and
    peaks as ``shift_model``. Posterior predictive draws are skipped.
    """
    jobs = sensitivity_jobs(shift_model, sampler, seed, priors)
    return fits_by_prior(jobs, run_fits(jobs, (sampler or SamplerConfig()).cores))


def fits_by_prior(jobs: Sequence[FitJob], fits: Sequence[xr.DataTree]) -> dict[str, xr.DataTree]:
    """Refits keyed by the name of their prior (``tight``, ``wide``)."""
    return {job.priors.name: fit for job, fit in zip(jobs, fits, strict=True)}
