"""The model families of the stroke meta-analysis as plain data.

A :class:`Family` lists the ALE analyses it runs (each a :class:`Selection` of experiments by their
columns), the subtraction/conjunction contrasts between them and the peak-shift tests. Nothing here
computes; :func:`select` only filters a prepared dataset, so the pipeline and the report read the
same description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import pandas as pd

from biomark.rules import DuplicateRule, resolve_duplicate_cohorts
from biomark.studies import Dataset


@dataclass(frozen=True, slots=True)
class Selection:
    """Experiments whose columns take one of the listed values (all conditions must hold)."""

    key: str
    title: str
    where: tuple[tuple[str, tuple[str, ...]], ...]
    who: str = ""  # plain words for sentences, e.g. "patients with good recovery"

    @property
    def patients_only(self) -> bool:
        """Whether the selection takes patients only (its left hemisphere is ipsilesional)."""
        return dict(self.where).get("group") == ("stroke",)

    def conditions(self, experiments: pd.DataFrame) -> pd.DataFrame:
        """One boolean column per condition (in ``where`` order): whether each row meets it."""
        out = {}
        for column, values in self.where:
            if column not in experiments.columns:
                raise KeyError(f"selection {self.key!r} needs column {column!r}")
            out[column] = experiments[column].isin(values).fillna(False).astype(bool)
        return pd.DataFrame(out, index=experiments.index)

    def matches(self, experiments: pd.DataFrame) -> pd.Series:
        """Boolean mask over ``experiments`` rows."""
        return self.conditions(experiments).all(axis=1)


@dataclass(frozen=True, slots=True)
class Contrast:
    """A subtraction ``a − b`` (and ``b − a``) plus the conjunction of two analyses."""

    a: str
    b: str

    @property
    def key(self) -> str:
        """Identifier such as ``good_vs_poor``."""
        return f"{self.a}_vs_{self.b}"


@dataclass(frozen=True, slots=True)
class ShiftTest:
    """Peak displacement of ``groups`` against ``reference`` in region ``roi``."""

    roi: str  # "mi" or "medial-pmc"
    groups: tuple[str, ...]
    reference: str = "healthy"
    outcome_association: bool = False


@dataclass(frozen=True, slots=True)
class Family:
    """One model family: its question, analyses, contrasts and shift tests."""

    key: str
    title: str
    question: str
    analyses: tuple[str, ...]
    contrasts: tuple[Contrast, ...] = ()
    shift_tests: tuple[ShiftTest, ...] = field(default_factory=tuple)


def _sel(key: str, title: str, who: str, **where: str | tuple[str, ...]) -> Selection:
    conds = tuple((k, (v,) if isinstance(v, str) else v) for k, v in where.items())
    return Selection(key, title, conds, who)


SELECTIONS: Final[dict[str, Selection]] = {
    s.key: s
    for s in (
        _sel("patients", "All patients", "patients", group="stroke"),
        _sel("healthy", "Healthy controls", "healthy controls", group="healthy"),
        _sel(
            "acute",
            "Acute patients (< 35 days), active tasks",
            "acute patients",
            group="stroke",
            time_group="acute",
            task="active",
        ),
        _sel(
            "chronic",
            "Chronic patients (> 90 days), active tasks",
            "chronic patients",
            group="stroke",
            time_group="chronic",
            task="active",
        ),
        _sel(
            "good",
            "Good outcome (chronic, active tasks)",
            "patients with good recovery",
            group="stroke",
            time_group="chronic",
            task="active",
            outcome="good",
        ),
        _sel(
            "poor",
            "Poor outcome (chronic, active tasks)",
            "patients with poor recovery",
            group="stroke",
            time_group="chronic",
            task="active",
            outcome="poor",
        ),
        _sel(
            "subcortical",
            "Subcortical lesions",
            "patients with subcortical lesions",
            group="stroke",
            lesion_location="subcortical",
        ),
        _sel(
            "subcortical_acute",
            "Subcortical lesions, acute",
            "acute subcortical patients",
            group="stroke",
            lesion_location="subcortical",
            time_group="acute",
        ),
        _sel(
            "subcortical_chronic",
            "Subcortical lesions, chronic",
            "chronic subcortical patients",
            group="stroke",
            lesion_location="subcortical",
            time_group="chronic",
        ),
        _sel(
            "patients_active",
            "Patients, active tasks",
            "patients moving actively",
            group="stroke",
            task="active",
        ),
        _sel(
            "patients_passive",
            "Patients, passive tasks",
            "patients moved passively",
            group="stroke",
            task="passive",
        ),
        _sel(
            "healthy_active",
            "Healthy controls, active tasks",
            "controls moving actively",
            group="healthy",
            task="active",
        ),
        _sel(
            "healthy_passive",
            "Healthy controls, passive tasks",
            "controls moved passively",
            group="healthy",
            task="passive",
        ),
    )
}

_SHIFT_GROUPS: Final = ("acute", "chronic", "subcortical")

FAMILIES: Final[dict[str, Family]] = {
    f.key: f
    for f in (
        Family(
            "group",
            "Patients vs healthy controls",
            "Where does motor-task activity after stroke differ from healthy controls?",
            ("patients", "healthy"),
            (Contrast("patients", "healthy"),),
        ),
        Family(
            "time",
            "Acute vs chronic stage",
            "How does motor-task activity change from the acute to the chronic stage?",
            ("acute", "chronic"),
            (Contrast("acute", "chronic"),),
        ),
        Family(
            "outcome",
            "Good vs poor recovery",
            "Which motor regions' activity goes with good recovery, and does the primary motor "
            "peak position predict it?",
            ("good", "poor"),
            (Contrast("good", "poor"),),
            (
                ShiftTest("mi", _SHIFT_GROUPS, outcome_association=True),
                # The paper tied outcome to the MI peak; medial PMC gets the ANCOVA only.
                ShiftTest("medial-pmc", _SHIFT_GROUPS),
            ),
        ),
        Family(
            "shift",
            "Displacement of activation peaks",
            "Do primary motor and medial premotor activation peaks move after stroke?",
            ("healthy", "acute", "chronic", "subcortical"),
            (),
            (ShiftTest("mi", _SHIFT_GROUPS), ShiftTest("medial-pmc", _SHIFT_GROUPS)),
        ),
        Family(
            "subcortical",
            "Purely subcortical lesions",
            "Do the group and time findings hold for purely subcortical strokes?",
            ("subcortical", "subcortical_acute", "subcortical_chronic", "healthy"),
            (
                Contrast("subcortical", "healthy"),
                Contrast("subcortical_acute", "subcortical_chronic"),
            ),
        ),
        Family(
            "task",
            "Active vs passive tasks",
            "How do active and passive upper-limb tasks differ, in patients and controls?",
            ("patients_active", "patients_passive", "healthy_active", "healthy_passive"),
            (
                Contrast("patients_active", "patients_passive"),
                Contrast("healthy_active", "healthy_passive"),
            ),
        ),
    )
}


def select(
    dataset: Dataset, selection: str | Selection, rule: DuplicateRule = "largest"
) -> tuple[Dataset, pd.DataFrame]:
    """The experiments of one analysis, with duplicate cohorts resolved by ``rule``.

    Returns the analysis dataset and the duplicate-cohort decisions (empty when none).
    """
    sel = SELECTIONS[selection] if isinstance(selection, str) else selection
    mask = sel.matches(dataset.experiments)
    chosen = dataset.subset(dataset.experiments.loc[mask, "experiment_id"].astype(str), sel.key)
    return resolve_duplicate_cohorts(chosen, rule)


def family_counts(
    dataset: Dataset, families: Mapping[str, Family] = FAMILIES, rule: DuplicateRule = "largest"
) -> pd.DataFrame:
    """Experiments, subjects and foci per family and analysis (after duplicate resolution)."""
    rows = []
    for fam in families.values():
        for key in fam.analyses:
            ds, dups = select(dataset, key, rule)
            rows.append(
                {
                    "family": fam.key,
                    "analysis": key,
                    "title": SELECTIONS[key].title,
                    "experiments": ds.n_experiments,
                    "subjects": ds.n_subjects,
                    "foci": ds.n_foci,
                    "duplicates_resolved": int((~dups["kept"].astype(bool)).sum())
                    if len(dups)
                    else 0,
                }
            )
    return pd.DataFrame(rows)


# The input fields a derived selection column comes from (named in what the user is told).
_SOURCE_FIELDS: Final = {
    "time_group": "days_post_stroke",
    "outcome": "outcome_scale and outcome_score",
}
NOT_MIRRORED: Final = "not mirrored: its left hemisphere is read as ipsilesional"


def missing_fields(
    experiments: pd.DataFrame, selections: Mapping[str, Selection] = SELECTIONS
) -> pd.DataFrame:
    """Included experiments that an empty field leaves out of analyses, or leaves unmirrored.

    An experiment is listed under a field when a selection would take it but for that field
    being empty (all its other conditions hold), and a patient experiment without
    ``lesion_side`` is listed as not mirrored. Returns ``experiment_id, field, consequence``
    plus the experiment's ``source_file``/``source_line`` where the dataset records them.
    """
    left_out: dict[object, dict[str, list[str]]] = {}
    for sel in selections.values():
        held = sel.conditions(experiments)
        empty = experiments[list(held.columns)].isna()
        for row in held.index[((held | empty).all(axis=1) & empty.any(axis=1)).to_numpy()]:
            # the first empty condition: a later one (outcome) may be derived from it
            first = str(empty.columns[empty.loc[row].to_numpy().argmax()])
            fields = left_out.setdefault(row, {})
            fields.setdefault(_SOURCE_FIELDS.get(first, first), []).append(sel.title)
    unmirrored = SELECTIONS["patients"].matches(experiments) & experiments["lesion_side"].isna()
    rows = []
    for row, exp in experiments.iterrows():
        found = [(f, "left out of: " + "; ".join(t)) for f, t in left_out.get(row, {}).items()]
        if unmirrored.loc[row]:
            found.append(("lesion_side", NOT_MIRRORED))
        where = {k: exp[k] for k in ("source_file", "source_line") if k in exp}
        for field_name, consequence in found:
            rows.append({"experiment_id": str(exp["experiment_id"]), "field": field_name,
                         "consequence": consequence, **where})  # fmt: skip
    return pd.DataFrame(rows, columns=["experiment_id", "field", "consequence",
                                       "source_file", "source_line"])  # fmt: skip
