"""Context sections built from results: study flow, ALE analyses and contrasts, methods, provenance.

Each builder takes fitted results and plain tables and returns the JSON-able pieces of the
schema in :mod:`biomark.report.context`; figures are rendered here through
:mod:`biomark.report.figures`. Nothing here fits a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from biomark.ale.diagnostics import MIN_RECOMMENDED_EXPERIMENTS
from biomark.ale.fit_contrast import unequal_groups_warning
from biomark.ale.results import AleResult, ContrastResult
from biomark.report import figures
from biomark.report.context import ale_warnings, figure, table
from biomark.report.filters import fmt_coord

_CORRECTION_NAMES = {
    "cfwe": "cluster-level FWE",
    "vfwe": "voxel-level FWE",
    "fdr": "voxel-level FDR",
    "none": "uncorrected",
}
_LABEL_ATLASES = ("juelich", "harvard_oxford_cortical", "harvard_oxford_subcortical", "aal2")


def flow_section(
    audit: pd.DataFrame, counts: pd.DataFrame, not_run: Sequence[tuple[str, str]] = (),
    missing: pd.DataFrame | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Study flow: experiments found, excluded (and why), per-analysis counts, and not-run parts.

    ``not_run`` is each analysis or comparison of the family that the data could not support,
    as (what, why); ``missing`` the included experiments an empty field leaves out of analyses
    or unmirrored (:func:`biomark.families.missing_fields`).
    """
    excluded = audit[~audit["included"].astype(bool)]
    reasons = excluded["reason"].astype(str).value_counts()
    return {
        "n_found": len(audit),
        "n_included": int(audit["included"].astype(bool).sum()),
        "exclusions": [{"reason": r, "n": int(n)} for r, n in reasons.items()],
        "not_run": [{"what": what, "why": why} for what, why in not_run],
        "audit": table(
            excluded.to_dict("records"),
            [
                ("experiment_id", "Experiment", "text"),
                ("study_id", "Study", "text"),
                ("reason", "Reason for exclusion", "text"),
            ],
            caption="Experiments excluded by the inclusion criteria.",
        ),
        "left_out": table(
            missing.to_dict("records"),
            [
                ("experiment_id", "Experiment", "text"),
                ("field", "Empty field", "text"),
                ("consequence", "Consequence", "text"),
            ],
            caption="Included experiments that an empty field leaves out of analyses.",
        )
        if missing is not None and len(missing)
        else None,
        "analyses": table(
            counts.to_dict("records"),
            [
                ("title", "Analysis", "text"),
                ("experiments", "Experiments", "int"),
                ("subjects", "Subjects", "int"),
                ("foci", "Foci", "int"),
                ("duplicates_resolved", "Duplicate reports removed", "int"),
            ],
            caption="Experiments, subjects and foci per analysis, after each cohort was "
            "counted once (the larger report kept).",
        ),
    }


_WHITE_MATTER = ("tract", "radiation", "fascicle", "callosal", "cingulum", "fornix", "lemniscus")


def peak_label(row: Mapping[str, Any]) -> str:
    """The most specific grey-matter label of a cluster peak (Jülich area, else macro-anatomy).

    Jülich's fibre-tract maps are skipped: activation peaks are reported in grey matter.
    """
    for key in _LABEL_ATLASES:
        value = row.get(f"peak_{key}")
        if isinstance(value, str) and value and not any(w in value.lower() for w in _WHITE_MATTER):
            return value
    return "unlabelled"


def _contributors(contrib: pd.DataFrame, cluster_id: int, top: int = 3) -> str:
    if contrib.empty:
        return ""
    rows = contrib[(contrib["cluster_id"] == cluster_id) & (contrib["share_pct"] >= 1.0)]
    rows = rows.sort_values("share_pct", ascending=False)
    parts = [f"{r.experiment} ({r.share_pct:.0f} %)" for r in rows.head(top).itertuples()]
    more = len(rows) - top
    return "; ".join(parts) + (f"; +{more} more" if more > 0 else "")


def _jackknife(contrib: pd.DataFrame, cluster_id: int) -> str:
    if contrib.empty or "survives_without" not in contrib:
        return ""
    rows = contrib[contrib["cluster_id"] == cluster_id]
    survives = rows["survives_without"].astype("boolean")
    kept, total = int(survives.sum()), int(survives.notna().sum())
    return f"survives {kept} of {total} leave-one-out analyses"


def cluster_rows(
    clusters: pd.DataFrame, contrib: pd.DataFrame, *, lesioned: bool = False
) -> list[dict[str, Any]]:
    """Records for the cluster TABLE (peak, volume, label, contributors, jackknife)."""
    rows = []
    for rec in clusters.to_dict("records"):
        cid = int(rec["cluster_id"])
        rows.append({
            "cluster": cid,
            "volume_mm3": float(rec["volume_mm3"]),
            "peak_mm": [float(rec["peak_x"]), float(rec["peak_y"]), float(rec["peak_z"])],
            "max_ale": rec.get("max_ale"),
            "z": rec.get("max_z"),
            "label": hemisphere_words(peak_label(rec), lesioned),
            "contributors": _contributors(contrib, cid),
            "jackknife": _jackknife(contrib, cid),
        })  # fmt: skip
    return rows


_CLUSTER_COLUMNS = [
    ("cluster", "#", "int"), ("volume_mm3", "Volume", "mm3"),
    ("peak_mm", "Peak (MNI, mm)", "coord"), ("max_ale", "ALE", "num4"), ("z", "z", "num2"),
    ("label", "Label", "text"), ("contributors", "Contributing experiments (share of ALE)", "text"),
    ("jackknife", "Jackknife", "text"),
]  # fmt: skip


def _brain_figures(volume: np.ndarray, result: AleResult | ContrastResult, title: str,
                   kind: str, with_slices: bool) -> list[dict[str, str]]:  # fmt: skip
    import nibabel as nib

    if not np.any(volume):
        return []
    img = nib.Nifti1Image(volume.astype(np.float32), result.grid.affine_array)
    out = [
        figure(
            figures.glass_brain_png(img),
            title=f"{title}: glass brain",
            caption=f"Surviving voxels ({kind}) projected on a glass brain; left is left.",
        )
    ]
    if with_slices:
        out.append(
            figure(
                figures.stat_map_png(img, display_mode="z", cut_coords=5),
                title=f"{title}: axial slices",
                caption=f"Axial slices of the {kind} map over the MNI152 template.",
            )
        )
    return out  # fmt: skip


def ale_section(
    key: str, title: str, result: AleResult, clusters: pd.DataFrame, contrib: pd.DataFrame,
    *, n_subjects: int, description: str, with_slices: bool = True, lesioned: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """An ALE entry for one main-effect analysis."""
    correction = _CORRECTION_NAMES[result.correction]
    warnings = ale_warnings(result.n_experiments, result.correction)
    if result.n_foci_outside_mask:
        warnings.append(
            {
                "level": "note",
                "text": f"{result.n_foci_outside_mask} foci lie "
                "outside the brain mask; only their in-mask kernel tails count.",
            }
        )
    z = result.volume(result.z_thresholded)
    return {
        "id": f"ale-{key}", "title": title, "kind": "main", "description": description,
        "n_experiments": result.n_experiments, "n_subjects": int(n_subjects),
        "n_foci": result.n_foci, "correction": correction, "warnings": warnings,
        "figures": _brain_figures(z, result, title, "z, " + correction, with_slices),
        "clusters": table(cluster_rows(clusters, contrib, lesioned=lesioned), _CLUSTER_COLUMNS,
                          caption=f"Clusters of {title} ({correction}; p < "
                          f"{result.parameters['cluster_p']:g}), largest first."),
        "jackknife": None,
    }  # fmt: skip


def contrast_sections(
    key: str, names: tuple[str, str], result: ContrastResult,
    tables: Mapping[str, pd.DataFrame], *, with_slices: bool = False, lesioned: bool = False,
) -> list[dict[str, Any]]:  # fmt: skip
    """ALE entries for A − B, B − A and the conjunction of one contrast."""
    a, b = names
    n_exp = result.main_a.n_experiments + result.main_b.n_experiments
    titles = {"a_minus_b": (f"{a} > {b}", "contrast"), "b_minus_a": (f"{b} > {a}", "contrast"),
              "conjunction": (f"{a} and {b} (conjunction)", "conjunction")}  # fmt: skip
    groups = {"a_minus_b": (a, b), "b_minus_a": (b, a), "conjunction": (a, b)}
    out = []
    for direction, (title, kind) in titles.items():
        stat = getattr(result, direction)
        frame = tables[direction]
        rows = cluster_rows(frame, pd.DataFrame(), lesioned=lesioned) if len(frame) else []
        gate = ("tested only where the first group's main effect survives (GingerALE)"
                if result.mode == "gated" else "tested in the whole mask (NiMARE)")  # fmt: skip
        more, less = groups[direction]
        desc = (f"Voxels where activation is more consistent across {more} experiments than "
                f"across {less} experiments (permutation p < "
                f"{result.parameters['contrast_p']:g}), {gate}." if kind == "contrast" else
                "Voxels significant in both groups' main effects (minimum statistic).")  # fmt: skip
        out.append({
            "id": f"{kind}-{key}-{direction}", "title": title, "kind": kind,
            "description": desc, "n_experiments": n_exp,
            "n_subjects": int(result.main_a.n_subjects.sum() + result.main_b.n_subjects.sum()),
            "n_foci": result.main_a.n_foci + result.main_b.n_foci,
            "correction": f"permutation p < {result.parameters['contrast_p']:g}"
            if kind == "contrast" else "conjunction of corrected main effects",
            "warnings": ale_warnings(min(result.main_a.n_experiments,
                                         result.main_b.n_experiments), "", jackknife=False)
            + ([{"level": "warning", "text": w} for w in unequal_groups_warning(
                result.names, result.main_a, result.main_b)] if kind == "contrast" else []),
            "figures": _brain_figures(result.volume(stat), result, title, kind, with_slices),
            "clusters": table(rows, [*_CLUSTER_COLUMNS[:3], _CLUSTER_COLUMNS[5]],
                              caption=f"Clusters of {title}."),
            "jackknife": None,
        })  # fmt: skip
    return out


def methods_section(
    paragraphs: Sequence[str], references: Sequence[str], atlases: Sequence[Mapping[str, str]]
) -> dict[str, Any]:
    """Methods: paragraphs, numbered references (deduplicated, in order) and atlas credits."""
    refs = list(dict.fromkeys(references))
    return {
        "paragraphs": list(paragraphs),
        "references": [{"key": str(i), "text": r} for i, r in enumerate(refs, start=1)],
        "atlases": [
            {
                "name": a.get("title", a.get("name", "")),
                "source": a.get("citation", a.get("source", "")),
                "licence": a.get("licence", ""),
            }
            for a in atlases
        ],
    }


def provenance_section(
    *, version: str, seed: int, command: str, parameters: Mapping[str, Any],
    software: Mapping[str, str], inputs: Sequence[tuple[str, str]],
) -> dict[str, Any]:  # fmt: skip
    """Provenance: versions, seed, command, parameters and input checksums."""

    def scalar(v: Any) -> Any:
        return v if isinstance(v, str | int | float | bool) or v is None else str(v)

    return {
        "biomark_version": version, "seed": int(seed), "command": command,
        "parameters": [{"name": k, "value": scalar(v)} for k, v in parameters.items()],
        "software": [{"name": k, "version": v} for k, v in software.items()],
        "inputs": [{"name": n, "sha256": h} for n, h in inputs],
    }  # fmt: skip


HEMISPHERE_CONVENTION = (
    "Right-hemisphere lesions were mirrored so that the left hemisphere is always the lesioned "
    "one: in analyses of patients, cluster labels name the hemispheres ipsilesional (left) and "
    "contralesional (right); in analyses of healthy controls only, left and right."
)
# how shipped atlases write a hemisphere: Jülich "… L", AAL "Precentral_L" / "Precentral L",
# Harvard–Oxford "Left …"
_SIDE_SUFFIXES = ((" L", "left"), (" R", "right"), ("_L", "left"), ("_R", "right"))
_SIDE_PREFIXES = (("Left ", "left"), ("Right ", "right"))
_ROLE = {"left": "ipsilesional", "right": "contralesional"}


def hemisphere_words(label: str, lesioned: bool) -> str:
    """An atlas label with its hemisphere spelled out: ipsi/contralesional for patients."""
    side, name = None, label
    for suffix, s in _SIDE_SUFFIXES:
        if label.endswith(suffix):
            side, name = s, label[: -len(suffix)]
    for prefix, s in _SIDE_PREFIXES:
        if label.startswith(prefix):
            side, name = s, label[len(prefix) :]
    if side is None:
        return label
    return f"{name} ({_ROLE[side] if lesioned else side})"


def contrast_findings(
    names: tuple[str, str],
    tables: Mapping[str, pd.DataFrame],
    n_experiments: tuple[int, int],
    *,
    lesioned: bool = False,
) -> list[dict[str, str]]:
    """Plain-language findings for the clusters of both subtraction directions.

    ALE gives no probability of direction, so the grade reflects how far the evidence can be
    trusted: ``weak`` below 17 experiments per group (Eickhoff 2016), else ``moderate``.
    """
    a, b = names
    grade = "weak" if min(n_experiments) < MIN_RECOMMENDED_EXPERIMENTS else "moderate"
    out = []
    for direction, (hi, lo) in (("a_minus_b", (a, b)), ("b_minus_a", (b, a))):
        frame = tables.get(direction, pd.DataFrame())
        if frame.empty:
            out.append({
                "headline": f"No region is more active in {hi} than in {lo}.",
                "detail": "No cluster of the subtraction survived its threshold.",
                "evidence": "inconclusive",
            })  # fmt: skip
            continue
        labels = list(dict.fromkeys(
            hemisphere_words(peak_label(r), lesioned) for r in frame.to_dict("records")
        ))  # fmt: skip
        top = frame.iloc[0]
        out.append({
            "headline": f"Activity in {'; '.join(labels[:3])} is higher in {hi} than in {lo}.",
            "detail": f"{len(frame)} cluster(s); the largest has {top['volume_mm3']:,.0f} mm³ and "
            f"peaks at {fmt_coord([top['peak_x'], top['peak_y'], top['peak_z']])} mm MNI. "
            f"Groups of {n_experiments[0]} and {n_experiments[1]} experiments.",
            "evidence": grade,
        })  # fmt: skip
    return out
