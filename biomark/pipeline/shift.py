"""``biomark shift`` and ``biomark predict``: ROI maxima, frequentist tests and the PyMC model."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from biomark.config import SamplerConfig
from biomark.errors import InputError
from biomark.io.atlases import AtlasSet, load_atlases
from biomark.io.outputs import write_json, write_table
from biomark.parallel import local_pool, preload_in_workers
from biomark.pipeline.ale import software_versions
from biomark.pipeline.data import load
from biomark.pipeline.staging import staged_output
from biomark.rules import prepare, resolve_duplicate_cohorts
from biomark.shift.contract import supported_contrasts
from biomark.shift.peaks import RoiPeaks, roi_peaks
from biomark.shift.rois import OUTCOME_GROUPS, ROI_TOLERANCE_MM, ROIS, roi_mask, roi_names
from biomark.studies import Dataset

SENSITIVITY_SAMPLER = SamplerConfig(chains=2, draws=500, tune=500)


def sensitivity_sampler(main: SamplerConfig) -> SamplerConfig:
    """The prior-sensitivity refits: 2 chains × 500 draws, never longer than the main fit."""
    base = SENSITIVITY_SAMPLER
    return replace(base, draws=min(base.draws, main.draws), tune=min(base.tune, main.tune),
                   cores=main.cores)  # fmt: skip


@dataclass(frozen=True)
class RoiShift:
    """Everything one ROI's shift analysis produced."""

    roi: str
    title: str
    peaks: RoiPeaks
    frequentist: Any  # biomark.shift.frequentist.FrequentistShift
    idata: Any  # xarray.DataTree from the PyMC fit
    bayes: pd.DataFrame
    outcome: pd.DataFrame
    comparison: pd.DataFrame
    diagnostics: Any  # biomark.shift.summary.Diagnostics
    sensitivity: pd.DataFrame
    ppc: pd.DataFrame
    methods: str
    curve: pd.DataFrame  # P(good) along the ventral displacement axis (empty without outcome)
    main_axis: str  # the axis of the paper's finding: z (ventral) for MI, y (caudal) for PMC
    draws: dict[str, np.ndarray]  # posterior draws of each contrast's shift on ``main_axis``
    skipped: tuple[tuple[str, str], ...] = ()  # (contrast, why the data could not support it)


def shift_dataset(dataset: Dataset) -> Dataset:
    """Experiments of the shift analyses: active upper-limb tasks, patients and controls."""
    exps = dataset.experiments
    keep = exps["task"].eq("active").fillna(False) & exps["group"].notna()
    return dataset.subset(exps.loc[keep, "experiment_id"].astype(str), "shift")


@dataclass(frozen=True)
class _Prepared:
    """One ROI's peaks, frequentist tests and (unsampled) model, waiting for its fits."""

    roi: str
    found: RoiPeaks
    freq: Any  # biomark.shift.frequentist.FrequentistShift
    model: Any  # biomark.shift.model.ShiftModel
    skipped: tuple[tuple[str, str], ...]  # (contrast, why it was not run)


def _prepare_roi(dataset: Dataset, atlases: AtlasSet, roi: str, seed: int) -> _Prepared:
    from biomark.shift import frequentist
    from biomark.shift.model import build_shift_model

    found = roi_peaks(dataset, roi_mask(atlases, roi), roi, tolerance_mm=ROI_TOLERANCE_MM[roi])
    peaks = found.peaks
    if peaks.empty or not (peaks["group"] == "healthy").any():
        raise InputError(f"no healthy experiment has a focus in the {roi} ROI", record=roi)
    # The paper counted each cohort once; the model keeps duplicates as a cohort effect.
    dedup, _ = resolve_duplicate_cohorts(dataset.subset(peaks["experiment_id"].astype(str)))
    freq_peaks = peaks[peaks["experiment_id"].isin(dedup.experiments["experiment_id"])]
    contrasts, skipped = supported_contrasts(freq_peaks, roi)
    freq = frequentist.frequentist_shift(freq_peaks, np.random.default_rng(seed), contrasts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = build_shift_model(peaks, roi=roi, contrasts=contrasts,
                                  outcome_groups=OUTCOME_GROUPS[roi])  # fmt: skip
    return _Prepared(roi, found, freq, model, skipped)


def _finish_roi(prep: _Prepared, idata: Any, priors: Sequence[Any]) -> RoiShift:
    from biomark.shift import summary
    from biomark.shift.predict import outcome_curve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        sens = (
            summary.sensitivity_table(
                {"default": idata, **{s.prior: s.idata for s in priors}},
                {s.prior: (s.method, s.pareto_k) for s in priors},
            )
            if priors
            else pd.DataFrame()
        )
    bayes = summary.shift_table(idata)
    outcome = summary.outcome_table(idata) if prep.model.has_outcome else pd.DataFrame()
    axis = "z" if prep.roi == "mi" else "y"
    shift: Any = idata["posterior"]["shift"]
    draws = {str(c): np.asarray(shift.sel(contrast=c, axis=axis).values).ravel()
             for c in shift["contrast"].values}  # fmt: skip
    freq = prep.freq
    return RoiShift(
        prep.roi, ROIS[prep.roi], prep.found, freq, idata, bayes, outcome,
        summary.comparison_table(freq.axis_tests, bayes), summary.diagnostics(idata), sens,
        summary.ppc_summary(idata), freq.methods,
        outcome_curve(idata, np.linspace(-10.0, 15.0, 51)), axis, draws, prep.skipped,
    )  # fmt: skip


class PendingShift:
    """Shift analyses whose fits run in the background; a context manager like the fits.

    Leaving the ``with`` block by an exception stops the fits; :meth:`results` waits for them,
    then fits the prior-sensitivity refits that reweighting could not replace.
    """

    def __init__(
        self, prepared: list[_Prepared], jobs: list[Any], cores: int,
        skipped: tuple[tuple[str, str], ...] = (),
    ) -> None:  # fmt: skip
        from biomark.shift.sampling import MAX_CORES, start_fits

        self._prepared, self._jobs, self._cores = prepared, jobs, cores
        self.skipped = skipped  # (ROI, why its data support no comparison)
        # one pool for the main fits and the refits: its workers have compiled the models
        with ExitStack() as stack:
            self._pool = stack.enter_context(local_pool(min(cores, MAX_CORES)))
            self._fits = stack.enter_context(start_fits(jobs, cores, self._pool))
            self._stack = stack.pop_all()

    def __enter__(self) -> PendingShift:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.__exit__(*exc)

    def results(self) -> dict[str, RoiShift]:
        """Wait for every fit and summarise each ROI."""
        from biomark.shift import sampling

        jobs, cores = self._jobs, self._cores
        fits = sampling.collect_fits(jobs, self._fits)
        plans = [sampling.sensitivity_plan(job, fit) for job, fit in zip(jobs, fits, strict=True)]
        refits = [r for _, todo in plans for r, _ in todo]
        refitted = iter(sampling.run_fits(refits, cores, self._pool))
        out = {}
        for prep, job, fit, (done, todo) in zip(self._prepared, jobs, fits, plans, strict=True):
            mine = [next(refitted) for _ in todo]
            out[prep.roi] = _finish_roi(prep, fit, sampling.finish_plan(job, done, todo, mine))
        return out


def start_shift_analyses(
    dataset: Dataset, rois: Sequence[str], sampler: SamplerConfig, seed: int,
    *, sensitivity: bool = True, skip_unsupported: bool = False,
) -> PendingShift:  # fmt: skip
    """Find the ROI peaks, run the t-tests and start every fit in the background.

    ROI ``i`` is fitted with seed ``seed + i``, its chains in two parts spread over
    ``sampler.cores`` processes; then assessed under the tight and wide priors (PSIS-reweighted,
    or refitted with :func:`sensitivity_sampler` from seed ``seed + i + 10 (k + 1)``). Bad input
    is raised here, before anything starts; with ``skip_unsupported`` an ROI whose data support
    no comparison is listed in :attr:`PendingShift.skipped` with its reason instead.
    """
    from biomark.shift.sampling import FitJob, default_variants

    data = shift_dataset(dataset)
    atlases = load_atlases()
    prepared, seeds, skipped = [], [], []
    for i, r in enumerate(rois):
        try:
            prepared.append(_prepare_roi(data, atlases, r, seed + i))
        except InputError as err:
            if not skip_unsupported:
                raise
            skipped.append((r, err.what))
            continue
        seeds.append(seed + i)  # an ROI's seed does not depend on which others ran
    refit = sensitivity_sampler(sampler)
    jobs = [
        FitJob.of(
            p.model,
            sampler,
            s,
            posterior_predictive=True,
            sensitivity_sampler=refit,
            sensitivity=default_variants(p.model.priors) if sensitivity else (),
        )
        for p, s in zip(prepared, seeds, strict=True)
    ]
    return PendingShift(prepared, jobs, sampler.cores, tuple(skipped))


def run_shift_analyses(
    dataset: Dataset, rois: Sequence[str], sampler: SamplerConfig, seed: int,
    *, sensitivity: bool = True,
) -> dict[str, RoiShift]:  # fmt: skip
    """Every requested ROI (a prepared dataset; active tasks are selected here)."""
    with start_shift_analyses(dataset, rois, sampler, seed, sensitivity=sensitivity) as pending:
        return pending.results()


def write_shift_outputs(results: dict[str, RoiShift], folder: Path) -> None:
    """The tables, ``posterior.nc`` (one group per ROI) and diagnostics of a shift run."""
    import xarray as xr

    def stack(attr: str) -> pd.DataFrame:
        frames = [getattr(r, attr).assign(roi=k) for k, r in results.items()]
        return pd.concat([f for f in frames if len(f)], ignore_index=True) if frames else frames

    freq = pd.concat([r.frequentist.axis_tests.assign(roi=k) for k, r in results.items()])
    write_table(freq, folder / "shift_frequentist.tsv")
    write_table(pd.concat([r.frequentist.hotelling.assign(roi=k) for k, r in results.items()]),
                folder / "shift_hotelling.tsv")  # fmt: skip
    ancova = [r.frequentist.ancova.assign(roi=k) for k, r in results.items()]
    write_table(pd.concat(ancova), folder / "shift_ancova.tsv")
    write_table(stack("bayes"), folder / "shift_bayes.tsv")
    write_table(stack("comparison"), folder / "comparison.tsv")
    write_table(stack("sensitivity"), folder / "prior_sensitivity.tsv")
    write_table(stack("ppc"), folder / "posterior_predictive_check.tsv")
    outcome = [r.outcome.assign(roi=k) for k, r in results.items() if len(r.outcome)]
    if outcome:
        write_table(pd.concat(outcome), folder / "outcome_association.tsv")
    write_table(pd.concat([r.peaks.peaks.assign(roi=k) for k, r in results.items()]),
                folder / "roi_peaks.tsv")  # fmt: skip
    write_table(pd.concat([r.peaks.missing.assign(roi=k) for k, r in results.items()]),
                folder / "roi_missing.tsv")  # fmt: skip
    diag = [{"roi": k, **asdict(r.diagnostics)} for k, r in results.items()]
    write_table(pd.DataFrame(diag), folder / "diagnostics.tsv")
    tree = xr.DataTree(children={k.replace("-", "_"): r.idata for k, r in results.items()})
    tree.to_netcdf(folder / "posterior.nc", engine="h5netcdf")


def run_shift(
    source: Path | None, out: Path, roi: str, sampler: SamplerConfig, seed: int
) -> dict[str, Any]:
    """``biomark shift``: analyse the ROIs and write every table atomically."""
    rois = roi_names(roi)
    # the fit workers are forked with PyMC already imported instead of importing it each
    preload_in_workers(("biomark.shift.sampling",))
    raw = load(source)
    results = run_shift_analyses(prepare(raw).dataset, rois, sampler, seed)
    with staged_output(out) as tmp:
        write_shift_outputs(results, tmp)
        write_json({"software": software_versions(), "seed": seed, "sampler": asdict(sampler),
                    "rois": {k: v.title for k, v in results.items()},
                    "input_sha256": raw.checksum(), "methods": [r.methods for r in
                    results.values()][:1],
                    "skipped": {k: dict(r.skipped) for k, r in results.items()}},
                   tmp / "provenance.json")  # fmt: skip
    return {"out": str(out), "diagnostics": {k: r.diagnostics for k, r in results.items()},
            "skipped": {k: r.skipped for k, r in results.items()}}  # fmt: skip


def predict(
    mi_peak: tuple[float, float, float], days: float | None, posterior: Path | None,
    source: Path | None, seed: int, n_subjects: float = 1.0,
) -> Any:  # fmt: skip
    """Probability of good outcome for a new MI peak (fits the MI model if needed).

    Bad input (a peak outside the brain mask or otherwise unpredictable, ``n_subjects`` < 1, a
    posterior without an outcome part) is raised before any fit.
    """
    from biomark.io.images import load_mask
    from biomark.shift.peaks import foci_in_mask
    from biomark.shift.predict import check_new_peak, outcome_draws, predict_good_outcome

    xyz = np.asarray(mi_peak, dtype=np.float64)
    check_new_peak(xyz, mi_peak, n_subjects, days)
    mask, grid = load_mask()
    if not foci_in_mask(xyz[None, :], mask, grid)[0]:
        raise InputError(
            f"peak ({xyz[0]:g}, {xyz[1]:g}, {xyz[2]:g}) mm lies outside the MNI brain mask; "
            "expected an MNI coordinate inside the brain", record="--mi-peak",
        )  # fmt: skip
    if posterior is not None:
        idata = _read_posterior(posterior)
        try:
            outcome_draws(idata)
        except InputError as err:
            raise InputError(err.what, source=posterior) from None
    else:
        sampler = replace(SamplerConfig(), chains=2)
        fit = run_shift_analyses(prepare(load(source)).dataset, ["mi"], sampler, seed,
                                 sensitivity=False)  # fmt: skip
        idata = fit["mi"].idata
    return predict_good_outcome(idata, xyz, days, n_subjects=n_subjects)


def _read_posterior(path: Path) -> Any:
    import xarray as xr

    try:
        tree = xr.open_datatree(path, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read posterior file ({exc.__class__.__name__})",
                         source=path) from None  # fmt: skip
    if "mi" not in tree.children:
        raise InputError("posterior file has no MI fit; run biomark shift --roi mi", source=path)
    return tree["mi"]
