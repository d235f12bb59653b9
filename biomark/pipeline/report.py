"""``biomark report --family …``: run a family end to end and write its HTML/PDF report."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

from biomark import __version__
from biomark.ale.diagnostics import JACKKNIFE_METHODS
from biomark.config import AleConfig, RunConfig, SamplerConfig
from biomark.errors import InputError
from biomark.families import SELECTIONS, missing_fields
from biomark.io.atlases import atlas_credits
from biomark.io.images import save_map
from biomark.io.outputs import write_json, write_table
from biomark.io.resources import embedded_dataset_dir
from biomark.parallel import preload_in_workers, shared_local_pool
from biomark.pipeline.ale import backend_of, software_versions
from biomark.pipeline.data import load
from biomark.pipeline.family import FamilyRun, family_list, run_families
from biomark.pipeline.staging import staged_output
from biomark.report import sections, shift_sections
from biomark.report.context import SCHEMA_VERSION, banner, validate_context
from biomark.rules import prepare

Progress = Callable[[str, int, int], None]
# What the ALE, power and peak-shift workers import: loaded once where they are forked from.
WORKER_MODULES = ("biomark.ale.contrast", "biomark.ale.montecarlo", "biomark.power.ale_power",
                  "biomark.shift.sampling")  # fmt: skip
FORMATS = ("html", "pdf")
CAVEATS = (
    "Every sub-analysis has fewer experiments than the ~17–20 that ALE needs for results no "
    "single experiment drives (Eickhoff et al., 2016); treat clusters as provisional.",
    "Peak coordinates come from published tables, not from patients' images; a study reports "
    "only its strongest maxima.",
    "Outcome was dichotomised (good/poor) from eight different clinical scales.",
)


def parse_formats(text: str) -> tuple[str, ...]:
    """``"html,pdf"`` → ``("html", "pdf")``; unknown formats are a one-line error."""
    wanted = tuple(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise InputError(f"--format takes html and/or pdf, got {text!r}", record="--format")
    return wanted


def run_report(
    family: str,
    data: Path | None,
    out: Path | None,
    formats: Sequence[str],
    config: AleConfig,
    run: RunConfig,
    progress: Progress | None = None,
    sampler: SamplerConfig | None = None,
) -> dict[str, Any]:
    """Fit the family's analyses, build the report context, render and write it atomically."""
    clock = _StageClock()
    families = family_list(family)
    target = out if out is not None else Path("reports") / family
    source = data if data is not None else embedded_dataset_dir()
    raw = load(source)
    prepared = prepare(raw, config.tal_transform)
    clock.lap("load and prepare")
    rois = list(dict.fromkeys(t.roi for f in families for t in f.shift_tests))
    with ExitStack() as scope:
        ale_pool = scope.enter_context(ExitStack())
        ale_pool.enter_context(_run_pool(run))
        pending = scope.enter_context(_start_shift(prepared.dataset, rois, sampler, run.seed))
        # The peak-shift fits run in their own processes meanwhile and fill the cores that the
        # single-threaded steps (observed ALE maps, clusters, jackknife, power) leave idle.
        fam = run_families(families, prepared, config, run, progress)
        clock.lap("ALE analyses and contrasts")
        power = _power(families, fam, config, run, progress)
        clock.lap("power simulation")
        ale_pool.close()  # the ALE workers' memory is free before the figures are drawn
        ale_part = ale_context(fam)
        clock.lap("ALE figures and tables")
        if pending is not None:
            if progress is not None:
                progress("Peak-shift models", 0, len(rois))
            fam.shifts.update(pending.results())
            fam.skipped.extend(shift_skipped(pending.skipped, fam.shifts))
            if progress is not None:
                progress("Peak-shift models", len(rois), len(rois))
            clock.lap("waiting for the peak-shift models")
    if not fam.analyses and not fam.shifts:
        reasons = "; ".join(f"{what}: {why}" for what, why in fam.skipped)
        raise InputError(f"the data support none of the analyses of family '{family}' "
                         f"({reasons})", source=source)  # fmt: skip
    simulated = data is None or _is_embedded(source)
    context = build_context(fam, family, simulated, config, run, source, raw.checksum(),
                            sampler=sampler or SamplerConfig(), power=power,
                            ale_part=ale_part)  # fmt: skip
    validate_context(context)
    clock.lap("report context and shift figures")
    html = _render_html(context)
    clock.lap("HTML")
    with staged_output(target) as tmp:
        if "html" in formats:
            (tmp / "report.html").write_text(html, encoding="utf-8")
        if "pdf" in formats:
            from biomark.report.render import render_pdf

            render_pdf(html, tmp / "report.pdf")
            clock.lap("PDF")
        _write_results(fam, tmp)
        if fam.shifts:
            from biomark.pipeline.shift import write_shift_outputs

            (tmp / "shift").mkdir()
            write_shift_outputs(fam.shifts, tmp / "shift")
        write_json(context, tmp / "context.json")
        clock.lap("maps, tables and posterior files")
        stages = [{"stage": k, "seconds": v} for k, v in clock.laps.items()]
        write_json(_provenance(context, config, run) | {"stage_seconds": stages},
                   tmp / "provenance.json")  # fmt: skip
    return {"out": str(target), "formats": list(formats), "simulated": simulated,
            "analyses": len(fam.analyses), "contrasts": len(fam.contrasts),
            "skipped": list(fam.skipped)}  # fmt: skip


def shift_skipped(
    rois: Sequence[tuple[str, str]], shifts: dict[str, Any]
) -> list[tuple[str, str]]:  # fmt: skip
    """(what, why) for each ROI and each group comparison the peak-shift data did not support."""
    from biomark.shift.rois import ROIS

    out = [(f"Peak displacement: {ROIS[roi]}", why) for roi, why in rois]
    for r in shifts.values():
        out += [(f"Peak displacement: {r.title}, {c} vs healthy", why) for c, why in r.skipped]
    return out


def _power(
    families: Sequence[Any], fam: FamilyRun, config: AleConfig, run: RunConfig,
    progress: Progress | None,
) -> dict[str, Any] | None:  # fmt: skip
    if not any(t.outcome_association for f in families for t in f.shift_tests):
        return None
    from biomark.pipeline.report_power import power_context

    if progress is not None:
        progress("Power of this design (simulation)", 0, 1)
    power = power_context(fam, config, run)
    if progress is not None:
        progress("Power of this design (simulation)", 1, 1)
    return power


def _run_pool(run: RunConfig) -> AbstractContextManager[None]:
    # Every Monte Carlo, permutation and power map of the run reuses one pool of processes.
    preload_in_workers(WORKER_MODULES)
    if backend_of(run).kind != "local":
        return nullcontext()
    return shared_local_pool(run.jobs, warm_up=_warm_worker)


def _warm_worker() -> None:
    """Submitted once per worker so that the pool forks its workers while data still load.

    The workers' imports (``WORKER_MODULES``) were done once in the process they fork from.
    """


def _start_shift(
    dataset: Any, rois: list[str], sampler: SamplerConfig | None, seed: int
) -> AbstractContextManager[Any]:
    if not rois:
        return nullcontext(None)
    from biomark.pipeline.shift import start_shift_analyses

    return start_shift_analyses(dataset, rois, sampler or SamplerConfig(), seed,
                                skip_unsupported=True)  # fmt: skip


def _is_embedded(source: Path) -> bool:
    try:
        return source.resolve() == embedded_dataset_dir().resolve()
    except FileNotFoundError:
        return False


def _render_html(context: dict[str, Any]) -> str:
    from biomark.report.render import render_html

    return render_html(context)


def ale_context(fam: FamilyRun) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The ALE and contrast sections (with their figures) and their plain-language findings."""
    ale: list[dict[str, Any]] = []
    findings: list[dict[str, str]] = []
    for key, a in fam.analyses.items():
        ale.append(sections.ale_section(
            key, a.title, a.result, a.clusters, a.contributions, n_subjects=a.dataset.n_subjects,
            description=f"{a.result.n_experiments} experiments of the selection '{a.title}'.",
            lesioned=SELECTIONS[key].patients_only,
        ))  # fmt: skip
    for key, c in fam.contrasts.items():
        sel_a, sel_b = SELECTIONS[c.contrast.a], SELECTIONS[c.contrast.b]
        lesioned = sel_a.patients_only and sel_b.patients_only
        ale.extend(sections.contrast_sections(key, c.names, c.result, c.tables,
                                              lesioned=lesioned))  # fmt: skip
        n_exp = (c.result.main_a.n_experiments, c.result.main_b.n_experiments)
        findings.extend(sections.contrast_findings(
            (sel_a.who, sel_b.who), c.tables, n_exp, lesioned=lesioned
        ))  # fmt: skip
    return ale, findings


def build_context(
    fam: FamilyRun, family: str, simulated: bool, config: AleConfig, run: RunConfig,
    source: Path, checksum: str, *, sampler: SamplerConfig | None = None,
    power: dict[str, Any] | None = None,
    ale_part: tuple[list[dict[str, Any]], list[dict[str, str]]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The report context of a finished family run (validated by the caller).

    ``ale_part`` is :func:`ale_context` of ``fam`` when already built (it does not need the
    peak-shift fits, so :func:`run_report` draws its figures while they run).
    """
    sampler = sampler or SamplerConfig()
    titles = [f.title for f in fam.families]
    question = " ".join(f.question for f in fam.families)
    ale, ale_findings = ale_part if ale_part is not None else ale_context(fam)
    findings = list(ale_findings)
    shift_context, shift_findings = [], []
    for roi, r in fam.shifts.items():
        shift_context.append(_shift_section(roi, r, sampler))
        if not r.outcome.empty:
            shift_findings.append(shift_sections.outcome_finding(roi, r.outcome.iloc[0]))
        shift_findings.extend(shift_sections.shift_findings(roi, r.bayes, r.main_axis))
    findings = shift_findings + findings
    paragraphs = [_study_methods()]
    references: list[str] = []
    for a in fam.analyses.values():
        paragraphs.append(f"{a.result.methods} {JACKKNIFE_METHODS} "
                          f"{sections.HEMISPHERE_CONVENTION}")  # fmt: skip
        references.extend(a.result.references)
        break
    for c in fam.contrasts.values():
        paragraphs.append(c.result.methods)
        references.extend(c.result.references)
        break
    if fam.shifts:
        from biomark.shift import methods

        paragraphs.append(methods.frequentist_methods(
            [(r.title, r.frequentist.ancova_text) for r in fam.shifts.values()]
        ))  # fmt: skip
        paragraphs.append(methods.MODEL_METHODS)
        references.extend(methods.SHIFT_REFERENCES)
    return {
        "schema_version": SCHEMA_VERSION,
        "title": "Motor network activity and recovery after stroke",
        "subtitle": "ALE meta-analysis and peak displacement — " + "; ".join(titles),
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "simulated": simulated,
        "banner": banner(simulated),
        "summary": {
            "question": question,
            "findings": findings
            or [
                {
                    "headline": "No analysis of this family reported a cluster.",
                    "detail": "",
                    "evidence": "inconclusive",
                }
            ],
            "evidence_note": "ALE findings are graded by the number of experiments behind them "
            "(fewer than 17 per group: weak); peak-shift findings by the Bayesian probability "
            "that the shift has the stated direction.",
            "caveats": list(CAVEATS) + ([power["caveat"]] if power else []),
        },
        "flow": sections.flow_section(
            fam.prepared.audit,
            fam.counts,
            fam.skipped,
            missing_fields(fam.prepared.dataset.experiments),
        ),
        "ale": ale,
        "shift": shift_context,
        "power": power,
        "methods": sections.methods_section(paragraphs, references, atlas_credits()),
        "provenance": sections.provenance_section(
            version=__version__,
            seed=run.seed,
            command=_command(family, config, run, sampler, fam),
            parameters=asdict(config) | (_sampler_parameters(sampler) if fam.shifts else {}),
            software=_report_software(bool(fam.shifts)),
            inputs=[(_input_label(source), checksum)],
        ),
    }


def _command(
    family: str, config: AleConfig, run: RunConfig, sampler: SamplerConfig, fam: FamilyRun
) -> str:
    text = f"biomark report --family {family} --iterations {config.iterations} --seed {run.seed}"
    if fam.shifts:
        text += f" --draws {sampler.draws} --tune {sampler.tune} --chains {sampler.chains}"
    return text


def _sampler_parameters(sampler: SamplerConfig) -> dict[str, Any]:
    return {f"sampler_{k}": v for k, v in asdict(sampler).items()}


def _report_software(with_shift: bool) -> dict[str, str]:
    from importlib import metadata

    names = ("jinja2", "weasyprint", "matplotlib") + (("pymc", "arviz") if with_shift else ())
    return software_versions() | {n: metadata.version(n) for n in names}


def _input_label(source: Path) -> str:
    """The input as a reader can find it: the embedded dataset by name, else the path given."""
    if _is_embedded(source):
        return "embedded simulated dataset (biomark data/embedded)"
    return str(source)


def _shift_section(roi: str, r: Any, sampler: SamplerConfig) -> dict[str, Any]:
    diag_rows = [
        {"parameter": f"shift {row['contrast']} {row['axis']}", "r_hat": row["r_hat"],
         "ess_bulk": row["ess_bulk"], "ess_tail": row["ess_tail"]}
        for row in r.bayes.to_dict("records")
    ]  # fmt: skip
    notes = [f"Sampler: {sampler.chains} chains × {sampler.draws:,} draws after {sampler.tune:,} "
             f"tuning steps (NUTS, target acceptance {sampler.target_accept:g}). "
             f"{r.diagnostics.message}", *shift_sections.skipped_notes(r.skipped)]  # fmt: skip
    return shift_sections.shift_section(
        roi, r.title, r.comparison, r.bayes, r.outcome, r.curve, r.draws, diag_rows,
        int(r.diagnostics.divergences), r.sensitivity, r.main_axis, len(r.peaks.missing), notes,
    )  # fmt: skip


def _study_methods() -> str:
    return (
        "Experiments were selected and recoded by the rules of the stroke meta-analysis biomark "
        "implements: more than 5 subjects, an active or passive upper-limb task, a whole-brain "
        "voxel-wise analysis including the cerebellum; Talairach coordinates converted to MNI "
        "with the Lancaster et al. (2007) pooled transform; right-hemisphere lesions mirrored so "
        "that the left hemisphere is ipsilesional; acute < 35 days, chronic > 90 days after "
        "stroke; outcome recoded as good or poor from the study's clinical scale. Cohorts "
        "reported more than once counted once per analysis (the report with most subjects kept)."
    )


def _write_results(fam: FamilyRun, folder: Path) -> None:
    maps, tables = folder / "maps", folder / "tables"
    maps.mkdir()
    tables.mkdir()
    write_table(fam.prepared.audit, tables / "audit.tsv")
    write_table(fam.counts, tables / "analysis_counts.tsv")
    for key, a in fam.analyses.items():
        for name in ("ale", "z", "z_thresholded"):
            save_map(getattr(a.result, name), a.result.mask, maps / f"{key}_{name}.nii.gz",
                     a.result.grid)  # fmt: skip
        write_table(a.clusters, tables / f"{key}_clusters.tsv")
        write_table(a.contributions, tables / f"{key}_contributions.tsv")
    for key, c in fam.contrasts.items():
        for d, frame in c.tables.items():
            save_map(getattr(c.result, d), c.result.mask, maps / f"{key}_{d}.nii.gz",
                     c.result.grid)  # fmt: skip
            write_table(frame, tables / f"{key}_{d}_clusters.tsv")


class _StageClock:
    """Wall seconds of each stage of a report, in order (written to provenance)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round(now - self._last, 3)
        self._last = now


def _provenance(context: dict[str, Any], config: AleConfig, run: RunConfig) -> dict[str, Any]:
    prov = dict(context["provenance"])
    prov["ale_config"] = asdict(config)
    prov["atlases"] = atlas_credits()
    return prov
