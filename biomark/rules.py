"""The stroke-study rules of the meta-analysis, each a pure function with an audited decision.

:func:`prepare` applies, in order: Talairach → MNI conversion, the x-flip of right-hemisphere
lesions, time groups, outcome recoding and the inclusion criteria, and returns the prepared dataset
with an **audit table** (one row per experiment: every decision and, for exclusions, why).
The report's study-flow diagram counts this table. Duplicate cohorts are resolved per analysis by
:func:`resolve_duplicate_cohorts`, because a cohort may legitimately appear in several analyses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from biomark.scales import OUTCOME_SCALES, canonical_scale, recode_outcome
from biomark.space import DEFAULT_TAL_TRANSFORM, TAL_TRANSFORMS, tal_to_mni
from biomark.studies import Dataset

ACUTE_MAX_DAYS: Final = 35.0  # acute: < 35 days
CHRONIC_MIN_DAYS: Final = 90.0  # chronic: > 90 days (3 months)
MIN_SUBJECTS_EXCLUSIVE: Final = 5  # inclusion: n > 5
INCLUDED_TASKS: Final = ("active", "passive")

DuplicateRule = Literal["largest", "pool"]
DUPLICATE_RULES: Final[dict[str, str]] = {
    "largest": "keep the experiment with the most subjects (then most foci, then first listed)",
    "pool": "pool the cohort's foci into one experiment (Turkeltaub et al. 2012)",
}

AUDIT_COLUMNS: Final = (
    "experiment_id",
    "study_id",
    "cohort_id",
    "group",
    "n",
    "n_foci",
    "space_reported",
    "tal_transform",
    "flipped",
    "time_group",
    "outcome",
    "included",
    "reason",
)


def time_group(days: float | None) -> str | None:
    """``"acute"`` (< 35 d), ``"intermediate"`` (35–90 d), ``"chronic"`` (> 90 d) or ``None``."""
    if days is None or pd.isna(days):
        return None
    if days < ACUTE_MAX_DAYS:
        return "acute"
    if days > CHRONIC_MIN_DAYS:
        return "chronic"
    return "intermediate"


def flip_x(xyz_mm: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Mirror x (x → −x) for the rows where ``flip`` is true; shapes ``(n, 3)`` and ``(n,)``."""
    out = np.array(xyz_mm, dtype=np.float64, copy=True)
    out[np.asarray(flip, dtype=bool), 0] *= -1.0
    return out


def exclusion_reason(row: pd.Series) -> str | None:
    """Why an experiment fails the inclusion criteria, or ``None`` if it meets them all."""
    if not row["n"] > MIN_SUBJECTS_EXCLUSIVE:
        return f"n = {row['n']} ≤ {MIN_SUBJECTS_EXCLUSIVE} subjects"
    task = row["task"]
    if not pd.isna(task) and task not in INCLUDED_TASKS:
        return f"task '{task}' is not an active or passive upper-limb task (high cognitive load)"
    if row["whole_brain"] is False or (not pd.isna(row["whole_brain"]) and not row["whole_brain"]):
        return "not a whole-brain voxel-wise analysis including the cerebellum"
    return None


def to_mni(dataset: Dataset, transform: str = DEFAULT_TAL_TRANSFORM) -> Dataset:
    """Convert Talairach experiments' foci to MNI; records ``tal_transform`` per experiment."""
    if transform not in TAL_TRANSFORMS:
        raise ValueError(f"unknown Talairach transform {transform!r}; expected {TAL_TRANSFORMS}")
    exps = dataset.experiments.copy()
    foci = dataset.foci.copy()
    tal_ids = set(exps.loc[exps["space"] == "TAL", "experiment_id"].astype(str))
    rows = foci["experiment_id"].astype(str).isin(tal_ids).to_numpy()
    if rows.any():
        xyz = foci.loc[rows, ["x", "y", "z"]].to_numpy(dtype=np.float64)
        foci.loc[rows, ["x", "y", "z"]] = tal_to_mni(xyz, transform)
    exps["space_reported"] = exps["space"]
    exps["tal_transform"] = pd.Series(
        np.where(exps["space"] == "TAL", transform, pd.NA), index=exps.index, dtype="string"
    )
    exps["space"] = "MNI"
    exps["space"] = exps["space"].astype("string")
    return Dataset(exps, foci, dataset.name, dataset.meta)


def flip_right_lesions(dataset: Dataset) -> Dataset:
    """Mirror experiments with right-hemisphere lesions so left = ipsilesional everywhere."""
    exps = dataset.experiments.copy()
    exps["flipped"] = (exps["lesion_side"] == "right").fillna(False).astype(bool)
    flipped_ids = set(exps.loc[exps["flipped"], "experiment_id"].astype(str))
    foci = dataset.foci.copy()
    rows = foci["experiment_id"].astype(str).isin(flipped_ids).to_numpy()
    foci[["x", "y", "z"]] = flip_x(foci[["x", "y", "z"]].to_numpy(dtype=np.float64), rows)
    return Dataset(exps, foci, dataset.name, dataset.meta)


def add_time_and_outcome(dataset: Dataset) -> Dataset:
    """Add ``time_group`` (stroke only) and ``outcome`` (good/poor/NA) columns."""
    exps = dataset.experiments.copy()
    is_stroke = exps["group"] == "stroke"
    exps["time_group"] = pd.Series(
        [
            time_group(d) if s else None
            for d, s in zip(exps["days_post_stroke"], is_stroke.fillna(False), strict=True)
        ],
        index=exps.index,
        dtype="string",
    )
    exps["outcome"] = pd.Series(
        [
            recode_outcome(sc, v)
            for sc, v in zip(exps["outcome_scale"], exps["outcome_score"], strict=True)
        ],
        index=exps.index,
        dtype="string",
    )
    exps["outcome_scale"] = (
        exps["outcome_scale"].map(lambda s: canonical_scale(s) or pd.NA).astype("string")
    )
    return Dataset(exps, dataset.foci, dataset.name, dataset.meta)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A dataset after the study rules, with the audit table of every decision."""

    dataset: Dataset  # included experiments only, MNI, flipped, with derived columns
    audit: pd.DataFrame  # one row per input experiment, columns AUDIT_COLUMNS


def prepare(dataset: Dataset, transform: str = DEFAULT_TAL_TRANSFORM) -> Prepared:
    """Apply every study rule and audit it (duplicate cohorts are resolved per analysis)."""
    ds = add_time_and_outcome(flip_right_lesions(to_mni(dataset, transform)))
    exps = ds.experiments
    reasons = [exclusion_reason(row) for _, row in exps.iterrows()]
    n_foci = ds.foci["experiment_id"].astype(str).value_counts()
    audit = pd.DataFrame(
        {
            "experiment_id": exps["experiment_id"],
            "study_id": exps["study_id"],
            "cohort_id": exps["cohort_id"],
            "group": exps["group"],
            "n": exps["n"],
            "n_foci": [int(n_foci.get(str(e), 0)) for e in exps["experiment_id"]],
            "space_reported": exps["space_reported"],
            "tal_transform": exps["tal_transform"],
            "flipped": exps["flipped"],
            "time_group": exps["time_group"],
            "outcome": exps["outcome"],
            "included": [r is None for r in reasons],
            "reason": pd.Series([r or "" for r in reasons], dtype="string"),
        }
    )
    kept = audit.loc[audit["included"], "experiment_id"].astype(str)
    return Prepared(ds.subset(kept), audit)


def resolve_duplicate_cohorts(
    dataset: Dataset, rule: DuplicateRule = "largest"
) -> tuple[Dataset, pd.DataFrame]:
    """Make each cohort count once in one analysis.

    Returns the resolved dataset and a table of the decisions: ``cohort_id``, ``experiment_id``,
    ``kept`` (bool), ``rule``, ``detail``. Cohorts used once do not appear in the table.
    """
    if rule not in DUPLICATE_RULES:
        raise ValueError(
            f"unknown duplicate rule {rule!r}; expected one of {list(DUPLICATE_RULES)}"
        )
    exps = dataset.experiments.reset_index(drop=True)
    n_foci = dataset.foci["experiment_id"].astype(str).value_counts()
    counts = exps["cohort_id"].value_counts()
    dup_cohorts = [c for c in exps["cohort_id"].unique() if counts[c] > 1]
    if not dup_cohorts:
        return dataset, pd.DataFrame(
            columns=["cohort_id", "experiment_id", "kept", "rule", "detail"]
        )
    records: list[tuple[str, str, bool, str, str]] = []
    if rule == "largest":
        drop: list[str] = []
        for cohort in dup_cohorts:
            members = exps[exps["cohort_id"] == cohort].copy()
            members["_foci"] = [int(n_foci.get(str(e), 0)) for e in members["experiment_id"]]
            members["_order"] = members.index
            ranked = members.sort_values(["n", "_foci", "_order"], ascending=[False, False, True])
            keep = str(ranked["experiment_id"].iloc[0])
            for e in members["experiment_id"].astype(str):
                records.append((cohort, e, e == keep, rule, DUPLICATE_RULES[rule]))
                if e != keep:
                    drop.append(e)
        remaining = [e for e in exps["experiment_id"].astype(str) if e not in set(drop)]
        resolved = dataset.subset(remaining)
    else:
        resolved = _pool_cohorts(dataset, dup_cohorts)
        for cohort in dup_cohorts:
            for e in exps.loc[exps["cohort_id"] == cohort, "experiment_id"].astype(str):
                records.append((cohort, e, True, rule, DUPLICATE_RULES[rule]))
    table = pd.DataFrame(records, columns=["cohort_id", "experiment_id", "kept", "rule", "detail"])
    return resolved, table


def _pool_cohorts(dataset: Dataset, cohorts: list[str]) -> Dataset:
    exps = dataset.experiments.reset_index(drop=True)
    foci = dataset.foci.copy()
    keep_rows = []
    for cohort in exps["cohort_id"].unique():
        members = exps[exps["cohort_id"] == cohort]
        if cohort not in cohorts:
            keep_rows.append(members.iloc[0])
            continue
        first = members.iloc[0].copy()
        pooled_id = f"{cohort} (pooled)"
        first["experiment_id"] = pooled_id
        first["n"] = int(members["n"].max())
        first["label"] = " + ".join(members["experiment_id"].astype(str))
        foci.loc[foci["experiment_id"].isin(members["experiment_id"]), "experiment_id"] = pooled_id
        keep_rows.append(first)
    new_exps = pd.DataFrame(keep_rows).reset_index(drop=True).astype(exps.dtypes.to_dict())
    return Dataset(new_exps, foci.reset_index(drop=True), dataset.name, dataset.meta)


def outcome_scale_table() -> pd.DataFrame:
    """The eight scales, their ranges and good-outcome rules, for reports."""
    return pd.DataFrame(
        [(s.key, s.name, s.low, s.high, s.rule) for s in OUTCOME_SCALES.values()],
        columns=["scale", "name", "min", "max", "good_outcome"],
    )
