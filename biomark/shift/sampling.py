"""The one place that runs PyMC's sampler on a shift model, and stamps what produced the draws.

Every result is an ``xarray.DataTree`` (what PyMC 6 returns) whose root ``attrs`` record the seed,
the sampler and prior configurations, the ROI, and the PyMC/PyTensor/ArviZ versions, so that the
report can print provenance without knowing how the model was run.
"""

from __future__ import annotations

import hashlib
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
from biomark.shift.model import (
    OutcomeOmittedWarning,
    ShiftModel,
    build_shift_model,
    with_priors,
)
from biomark.shift.sensitivity import K_MAX, reweight

MAX_CORES: Final = 2
SEED_BOUND: Final = 2**31 - 1
PART_SEED: Final = 1_000_003  # seed step between the parts of one fit's chains


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
    initvals: Sequence[dict[str, np.ndarray]] | None = None,
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
        (tuning is reset; chains start from ``initvals``, else from the model's initial point).
    initvals
        One start point per chain, e.g. from :func:`jittered_starts`.

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
            initvals=list(initvals) if initvals is not None else None,
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


def jittered_starts(shift_model: ShiftModel, chains: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Start points for a prebuilt step, as PyMC's ``jitter+adapt_diag`` makes them.

    The model's initial point plus U(−1, 1) jitter on every free variable in its unconstrained
    space, one point per chain, seeded from ``seed``.
    """
    from pymc.initial_point import make_initial_point_fns_per_chain

    model = shift_model.model
    fns = make_initial_point_fns_per_chain(
        model=model, overrides=None, jitter_rvs=set(model.free_RVs), chains=chains
    )
    seeds = np.random.default_rng(seed).integers(0, SEED_BOUND, size=chains)
    return [fn(int(s)) for fn, s in zip(fns, seeds, strict=True)]


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
    """One fit to run, possibly in another process: the model's inputs, priors, sampler, seed.

    ``sensitivity`` lists other priors to assess after the fit (see :func:`sensitivity_plan`),
    refitting with ``sensitivity_sampler`` when reweighting is not reliable.
    """

    peaks: pd.DataFrame = field(repr=False)
    roi: str
    priors: PriorConfig
    contrasts: tuple[str, ...]
    outcome_groups: tuple[str, ...]
    sampler: SamplerConfig
    seed: int
    posterior_predictive: bool = False
    sensitivity: tuple[PriorConfig, ...] = ()
    sensitivity_sampler: SamplerConfig | None = None

    @classmethod
    def of(
        cls, shift_model: ShiftModel, sampler: SamplerConfig, seed: int, *,
        priors: PriorConfig | None = None, posterior_predictive: bool = False,
        sensitivity: Sequence[PriorConfig] = (), sensitivity_sampler: SamplerConfig | None = None,
    ) -> FitJob:  # fmt: skip
        """A job refitting ``shift_model``'s data (under ``priors``, default its own)."""
        return cls(shift_model.peaks, shift_model.roi, priors or shift_model.priors,
                   shift_model.contrasts, shift_model.outcome_groups, sampler, seed,
                   posterior_predictive, tuple(sensitivity), sensitivity_sampler)  # fmt: skip


@dataclass(frozen=True)
class PriorFit:
    """The posterior under another prior, and how it was obtained."""

    prior: str
    idata: xr.DataTree = field(repr=False)
    method: str  # "reweighted" (PSIS) or "refit"
    pareto_k: float  # of the reweighting; above sensitivity.K_MAX it was refitted


# Built models and their compiled NUTS steps, per process and data set: another fit of the same
# data (other chains, other priors as pm.Data scales) reuses them instead of spending 2–4 s
# building the gradient graph again. A fit's draws do not depend on whether its step came from
# here.
_COMPILED: dict[str, tuple[ShiftModel, Any]] = {}


def _build(job: FitJob) -> ShiftModel:
    return build_shift_model(job.peaks, job.priors, roi=job.roi, contrasts=job.contrasts,
                             outcome_groups=job.outcome_groups)  # fmt: skip


def _compiled(job: FitJob) -> tuple[ShiftModel, Any]:
    design = (job.roi, job.contrasts, job.outcome_groups, job.priors.beta_unit_mm,
              job.sampler.target_accept)  # fmt: skip
    data = pd.util.hash_pandas_object(job.peaks).to_numpy().tobytes()
    key = hashlib.sha256(data + repr(design).encode()).hexdigest()
    if key not in _COMPILED:
        model = _build(job)
        _COMPILED[key] = (model, nuts_step(model, job.sampler))
    return _COMPILED[key]


def _fit(job: FitJob) -> xr.DataTree:
    if job.sampler.init != "jitter+adapt_diag":
        return sample_shift_model(_build(job), job.sampler, job.seed,
                                  posterior_predictive=job.posterior_predictive)  # fmt: skip
    # PyMC's jitter+adapt_diag, done by hand so that the compiled step can be reused
    model, step = _compiled(job)
    model = with_priors(model, job.priors)
    starts = jittered_starts(model, job.sampler.chains, job.seed)
    return sample_shift_model(model, job.sampler, job.seed, step=step, initvals=starts,
                              posterior_predictive=job.posterior_predictive)  # fmt: skip


def _run_part(parts: Sequence[FitJob], k: int) -> xr.DataTree:
    pymc_log = logging.getLogger("pymc")
    level = pymc_log.level
    # PyMC narrates every sampler start at INFO (in worker processes too); biomark reports its own.
    pymc_log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            # the omitted-outcome warning was already raised where the original model was built
            warnings.simplefilter("ignore", OutcomeOmittedWarning)
            warnings.simplefilter("ignore", FutureWarning)
            return _fit(parts[k])
    finally:
        pymc_log.setLevel(level)


def split_chains(job: FitJob, parts: int) -> list[FitJob]:
    """``job`` as up to ``parts`` jobs of whole chains; part ``p`` is seeded ``seed + PART_SEED·p``.

    Each chain's draws depend only on the job's seed and its place in the split, so a fit is
    the same whichever processes run its parts.
    """
    chains = job.sampler.chains
    sizes = [len(c) for c in np.array_split(np.arange(chains), min(parts, chains))]
    return [replace(job, sampler=replace(job.sampler, chains=n, cores=1),
                    seed=job.seed + PART_SEED * p) for p, n in enumerate(sizes)]  # fmt: skip


def merge_chains(job: FitJob, parts: Sequence[xr.DataTree]) -> xr.DataTree:
    """The fits of :func:`split_chains` as one fit of ``job`` (chains renumbered 0, 1, …)."""
    if len(parts) == 1:
        merged = parts[0].copy()
    else:
        groups = {}
        for name, node in parts[0].children.items():
            ds = node.to_dataset()
            if "chain" in ds.dims:
                ds = xr.concat([p[name].to_dataset() for p in parts], dim="chain")
                ds = ds.assign_coords(chain=np.arange(ds.sizes["chain"]))
            groups[name] = xr.DataTree(ds)
        merged = xr.DataTree(children=groups)
    merged.attrs.update(parts[0].attrs)
    merged.attrs.update(seed=job.seed, sampler_config=json.dumps(asdict(job.sampler)))
    return merged


def _parts(jobs: Sequence[FitJob]) -> list[tuple[int, FitJob]]:
    # Always MAX_CORES parts, however many processes run them, so that the draws depend on the
    # seed alone. Round-robin over the fits (first parts of every fit, then second parts): the
    # processes start on different models, so that a cold cache compiles them side by side
    # instead of one process waiting for the other's compile lock.
    split = [split_chains(job, MAX_CORES) for job in jobs]
    rounds = max((len(s) for s in split), default=0)
    return [(j, s[r]) for r in range(rounds) for j, s in enumerate(split) if r < len(s)]


def start_fits(jobs: Sequence[FitJob], cores: int = MAX_CORES, pool: Any = None) -> PendingChunks:
    """Start several fits in the background; join them with :func:`collect_fits`.

    Each fit's chains are split into ``MAX_CORES`` parts (:func:`split_chains`), all parts of
    all fits spread over ``cores`` processes (``pool``, from :func:`biomark.parallel.local_pool`,
    to reuse workers that already compiled the models). PyMC's own per-fit worker processes
    would cost seconds to start each. Put the longest fits first. Use the result as a context
    manager so that an error or interruption stops the fits.
    """
    parts = [part for _, part in _parts(jobs)]
    # Its own processes: in a pool shared with the ALE's short chunks, the ALE would queue
    # behind whole fits.
    return PendingChunks(_run_part, parts, len(parts), min(cores, MAX_CORES), own_pool=True,
                         pool=pool)  # fmt: skip


def collect_fits(jobs: Sequence[FitJob], pending: PendingChunks) -> list[xr.DataTree]:
    """Wait for :func:`start_fits` and merge each job's parts, in the order of ``jobs``."""
    owners = [j for j, _ in _parts(jobs)]
    fits = pending.results()
    return [merge_chains(job, [f for o, f in zip(owners, fits, strict=True) if o == j])
            for j, job in enumerate(jobs)]  # fmt: skip


def run_fits(jobs: Sequence[FitJob], cores: int = MAX_CORES, pool: Any = None) -> list[xr.DataTree]:
    """Run several fits (see :func:`start_fits`) and return them in order of ``jobs``."""
    with start_fits(jobs, cores, pool) as pending:
        return collect_fits(jobs, pending)


def sensitivity_plan(
    job: FitJob, idata: xr.DataTree
) -> tuple[dict[str, PriorFit], list[tuple[FitJob, float]]]:
    """``idata`` (the fit of ``job``) under each of ``job.sensitivity``'s priors.

    Returns the posteriors reweighted by PSIS whose Pareto k̂ ≤
    :data:`biomark.shift.sensitivity.K_MAX`, and for the others a refit job
    (``job.sensitivity_sampler``, default ``job.sampler``) with its k̂. Prior ``k`` uses seed
    ``job.seed + 10 (k + 1)``.
    """
    done: dict[str, PriorFit] = {}
    refits = []
    for k, prior in enumerate(job.sensitivity):
        seed = job.seed + 10 * (k + 1)
        reweighted, khat = reweight(idata, job.priors, prior, seed)
        if khat <= K_MAX:
            done[prior.name] = PriorFit(prior.name, reweighted, "reweighted", khat)
            continue
        refit = replace(job, priors=prior, seed=seed, posterior_predictive=False,
                        sampler=job.sensitivity_sampler or job.sampler, sensitivity=(),
                        sensitivity_sampler=None)  # fmt: skip
        refits.append((refit, khat))
    return done, refits


def finish_plan(
    job: FitJob, done: dict[str, PriorFit], refits: Sequence[tuple[FitJob, float]],
    fits: Sequence[xr.DataTree],
) -> tuple[PriorFit, ...]:  # fmt: skip
    """The priors of ``job.sensitivity`` in order, once the refits of the plan are fitted."""
    out = dict(done)
    for (refit, khat), fit in zip(refits, fits, strict=True):
        out[refit.priors.name] = PriorFit(refit.priors.name, fit, "refit", khat)
    return tuple(out[p.name] for p in job.sensitivity)


def assess_priors(
    job: FitJob, idata: xr.DataTree, cores: int = MAX_CORES, pool: Any = None
) -> tuple[PriorFit, ...]:
    """Each prior of ``job.sensitivity``: reweighted or refitted (see :func:`sensitivity_plan`)."""
    done, refits = sensitivity_plan(job, idata)
    return finish_plan(job, done, refits, run_fits([r for r, _ in refits], cores, pool))


def default_variants(priors: PriorConfig) -> tuple[PriorConfig, ...]:
    """The prior-sensitivity variants: ``tight`` (half the scales) and ``wide`` (double)."""
    return priors.tight(), priors.wide()


def fit_prior_sensitivity(
    shift_model: ShiftModel,
    idata: xr.DataTree,
    sampler: SamplerConfig | None = None,
    seed: int | np.random.Generator = 0,
    priors: Sequence[PriorConfig] | None = None,
) -> tuple[PriorFit, ...]:
    """``idata`` (a fit of ``shift_model``) under other priors (default: tight and wide).

    Reweighted where PSIS allows, refitted (with ``sampler``) elsewhere; see
    :func:`assess_priors`.
    """
    variants = tuple(priors) if priors is not None else default_variants(shift_model.priors)
    sampler = sampler or SamplerConfig()
    job = FitJob.of(shift_model, sampler, _seed_int(seed), sensitivity=variants)
    return assess_priors(job, idata, sampler.cores)
