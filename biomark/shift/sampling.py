"""The one place that runs PyMC's sampler on a shift model, and stamps what produced the draws.

Every result is an ``xarray.DataTree`` (what PyMC 6 returns) whose root ``attrs`` record the seed,
the sampler and prior configurations, the ROI, and the PyMC/PyTensor/ArviZ versions, so that the
report can print provenance without knowing how the model was run.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Final

import arviz
import numpy as np
import pymc as pm
import pytensor
import xarray as xr

from biomark.config import PriorConfig, SamplerConfig
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
    seed_int = _seed_int(seed)
    variants = (
        list(priors)
        if priors is not None
        else [
            shift_model.priors.tight(),
            shift_model.priors.wide(),
        ]
    )
    fits = {}
    for k, prior in enumerate(variants):
        with warnings.catch_warnings():
            # the omitted-outcome warning was already raised for the original model
            warnings.simplefilter("ignore", OutcomeOmittedWarning)
            variant = build_shift_model(
                shift_model.peaks,
                prior,
                roi=shift_model.roi,
                contrasts=shift_model.contrasts,
                outcome_groups=shift_model.outcome_groups,
            )
        fits[prior.name] = sample_shift_model(
            variant, sampler, seed_int + 10 * (k + 1), posterior_predictive=False
        )
    return fits
