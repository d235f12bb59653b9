"""``biomark report --family …``: run a family end to end and write its HTML/PDF report."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from biomark import __version__
from biomark.config import AleConfig, RunConfig
from biomark.errors import InputError
from biomark.families import SELECTIONS
from biomark.io.atlases import atlas_credits
from biomark.io.images import save_map
from biomark.io.outputs import write_json, write_table
from biomark.io.resources import embedded_dataset_dir
from biomark.pipeline.ale import software_versions
from biomark.pipeline.data import load
from biomark.pipeline.family import FamilyRun, family_list, run_families
from biomark.pipeline.staging import staged_output
from biomark.report import sections
from biomark.report.context import SCHEMA_VERSION, banner, validate_context
from biomark.rules import prepare

Progress = Callable[[str, int, int], None]
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
) -> dict[str, Any]:
    """Fit the family's analyses, build the report context, render and write it atomically."""
    families = family_list(family)
    target = out if out is not None else Path("reports") / family
    source = data if data is not None else embedded_dataset_dir()
    raw = load(source)
    prepared = prepare(raw)
    fam = run_families(families, prepared, config, run, progress)
    simulated = data is None or _is_embedded(source)
    context = build_context(fam, family, simulated, config, run, source, raw.checksum())
    validate_context(context)
    html = _render_html(context)
    with staged_output(target) as tmp:
        if "html" in formats:
            (tmp / "report.html").write_text(html, encoding="utf-8")
        if "pdf" in formats:
            from biomark.report.render import render_pdf

            render_pdf(html, tmp / "report.pdf")
        _write_results(fam, tmp)
        write_json(context, tmp / "context.json")
        write_json(_provenance(context, config, run), tmp / "provenance.json")
    return {"out": str(target), "formats": list(formats), "simulated": simulated,
            "analyses": len(fam.analyses), "contrasts": len(fam.contrasts)}  # fmt: skip


def _is_embedded(source: Path) -> bool:
    try:
        return source.resolve() == embedded_dataset_dir().resolve()
    except FileNotFoundError:
        return False


def _render_html(context: dict[str, Any]) -> str:
    from biomark.report.render import render_html

    return render_html(context)


def build_context(
    fam: FamilyRun, family: str, simulated: bool, config: AleConfig, run: RunConfig,
    source: Path, checksum: str,
) -> dict[str, Any]:  # fmt: skip
    """The report context of a finished family run (validated by the caller)."""
    titles = [f.title for f in fam.families]
    question = " ".join(f.question for f in fam.families)
    ale: list[dict[str, Any]] = []
    findings: list[dict[str, str]] = []
    for key, a in fam.analyses.items():
        ale.append(sections.ale_section(
            key, a.title, a.result, a.clusters, a.contributions, n_subjects=a.dataset.n_subjects,
            description=f"{a.result.n_experiments} experiments of the selection '{a.title}'.",
        ))  # fmt: skip
    for key, c in fam.contrasts.items():
        ale.extend(sections.contrast_sections(key, c.names, c.result, c.tables))
        n_exp = (c.result.main_a.n_experiments, c.result.main_b.n_experiments)
        sel_a, sel_b = SELECTIONS[c.contrast.a], SELECTIONS[c.contrast.b]
        lesioned = all(dict(sel.where).get("group") == ("stroke",) for sel in (sel_a, sel_b))
        findings.extend(sections.contrast_findings(
            (sel_a.who, sel_b.who), c.tables, n_exp, lesioned=lesioned
        ))  # fmt: skip
    paragraphs = [_study_methods()]
    references: list[str] = []
    for a in fam.analyses.values():
        paragraphs.append(a.result.methods)
        references.extend(a.result.references)
        break
    for c in fam.contrasts.values():
        paragraphs.append(c.result.methods)
        references.extend(c.result.references)
        break
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
            "caveats": list(CAVEATS),
        },
        "flow": sections.flow_section(fam.prepared.audit, fam.counts),
        "ale": ale,
        "shift": [],
        "methods": sections.methods_section(paragraphs, references, atlas_credits()),
        "provenance": sections.provenance_section(
            version=__version__,
            seed=run.seed,
            command=f"biomark report --family {family} --iterations {config.iterations} "
            f"--seed {run.seed}",
            parameters=asdict(config),
            software=software_versions(),
            inputs=[(str(source), checksum)],
        ),
    }


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


def _provenance(context: dict[str, Any], config: AleConfig, run: RunConfig) -> dict[str, Any]:
    prov = dict(context["provenance"])
    prov["ale_config"] = asdict(config)
    prov["atlases"] = atlas_credits()
    return prov
