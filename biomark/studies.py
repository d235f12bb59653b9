"""The experiment and focus tables every analysis reads, and their validation.

An analysis sees **experiments** (one contrast of one group in one study) with **foci** in mm. A
:class:`Dataset` holds two pandas tables:

``experiments`` — one row per experiment, columns :data:`EXPERIMENT_COLUMNS`:

=====================  ==========  ==============================================================
column                 kind        meaning
=====================  ==========  ==============================================================
experiment_id          str         unique key (Sleuth: the experiment's header text)
study_id               str         publication the experiment comes from
cohort_id              str         the patients (or controls) measured; shared by duplicate reports
n                      int > 0     subjects in the experiment
space                  MNI | TAL   space its foci were reported in
group                  str         ``stroke`` or ``healthy`` (NA when unknown)
days_post_stroke       float ≥ 0   mean time since stroke in days (NA for controls)
lesion_side            str         ``left`` / ``right`` (NA for controls)
lesion_location        str         ``subcortical`` / ``cortico-subcortical``
task                   str         ``active`` / ``passive`` / ``cognitive`` (high-load, excluded)
outcome_scale          str         one of :data:`biomark.scales.OUTCOME_SCALES` keys, or NA
outcome_score          float       score on that scale, or NA
modality               str         ``fMRI`` / ``PET``
whole_brain            bool        voxel-wise whole-brain analysis including the cerebellum
label                  str         free text shown in reports (title, contrast)
source_file            str         provenance: file the experiment was read from
source_line            int         provenance: 1-based line of its first header
=====================  ==========  ==============================================================

``foci`` — one row per focus: ``experiment_id``, ``x``, ``y``, ``z`` (mm, in the experiment's
``space``) and ``source_line``.

Derived columns (``time_group``, ``outcome``, ``flipped``) are added by :mod:`biomark.rules`, which
also writes the audit table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from biomark.errors import InputError
from biomark.scales import validate_outcome

# Coordinates further than this from the MNI origin cannot be in a brain.
MAX_ABS_COORD_MM: Final = 150.0

CATEGORIES: Final[dict[str, tuple[str, ...]]] = {
    "space": ("MNI", "TAL"),
    "group": ("stroke", "healthy"),
    "lesion_side": ("left", "right"),
    "lesion_location": ("subcortical", "cortico-subcortical"),
    "task": ("active", "passive", "cognitive"),
    "modality": ("fMRI", "PET"),
}

# column -> pandas dtype used for the table
EXPERIMENT_COLUMNS: Final[dict[str, str]] = {
    "experiment_id": "string",
    "study_id": "string",
    "cohort_id": "string",
    "n": "Int64",
    "space": "string",
    "group": "string",
    "days_post_stroke": "Float64",
    "lesion_side": "string",
    "lesion_location": "string",
    "task": "string",
    "outcome_scale": "string",
    "outcome_score": "Float64",
    "modality": "string",
    "whole_brain": "boolean",
    "label": "string",
    "source_file": "string",
    "source_line": "Int64",
}
FOCI_COLUMNS: Final[dict[str, str]] = {
    "experiment_id": "string",
    "x": "float64",
    "y": "float64",
    "z": "float64",
    "source_line": "Int64",
}
REQUIRED_EXPERIMENT_COLUMNS: Final = ("experiment_id", "n", "space")

_ALIASES: Final[dict[str, dict[str, str]]] = {
    "space": {"mni": "MNI", "tal": "TAL", "talairach": "TAL"},
    "group": {
        "stroke": "stroke",
        "patients": "stroke",
        "patient": "stroke",
        "healthy": "healthy",
        "controls": "healthy",
        "control": "healthy",
    },
    "lesion_side": {"left": "left", "l": "left", "right": "right", "r": "right"},
    "lesion_location": {
        "subcortical": "subcortical",
        "cortico-subcortical": "cortico-subcortical",
        "corticosubcortical": "cortico-subcortical",
        "cortical": "cortico-subcortical",
    },
    "task": {"active": "active", "passive": "passive", "cognitive": "cognitive"},
    "modality": {"fmri": "fMRI", "pet": "PET"},
}


@dataclass(frozen=True, slots=True)
class Dataset:
    """Experiments and their foci, validated.

    Build one with :func:`make_dataset`; the constructor does not validate.
    """

    experiments: pd.DataFrame
    foci: pd.DataFrame
    name: str = "dataset"
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_experiments(self) -> int:
        """Number of experiments."""
        return len(self.experiments)

    @property
    def n_foci(self) -> int:
        """Number of foci."""
        return len(self.foci)

    @property
    def n_subjects(self) -> int:
        """Sum of the experiments' sample sizes."""
        return int(self.experiments["n"].sum())

    def subset(self, experiment_ids: Iterable[str], name: str | None = None) -> Dataset:
        """Return the dataset restricted to ``experiment_ids``, keeping this order of rows."""
        keep = set(experiment_ids)
        exps = self.experiments[self.experiments["experiment_id"].isin(keep)]
        foci = self.foci[self.foci["experiment_id"].isin(keep)]
        return Dataset(
            exps.reset_index(drop=True), foci.reset_index(drop=True), name or self.name, self.meta
        )

    def coordinates(self) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
        """Arrays for the ALE engine.

        Returns
        -------
        xyz_mm : numpy.ndarray
            Foci, shape ``(n_foci, 3)``, in the dataset's coordinates (MNI after
            :func:`biomark.rules.to_mni`).
        experiment_index : numpy.ndarray
            For each focus, the row of its experiment in ``experiments``, shape ``(n_foci,)``.
        n_subjects : numpy.ndarray
            Sample size per experiment, shape ``(n_experiments,)``.
        """
        ids = self.experiments["experiment_id"].astype(str).tolist()
        index = {e: i for i, e in enumerate(ids)}
        exp_idx = np.asarray([index[e] for e in self.foci["experiment_id"].astype(str)], np.int64)
        xyz = self.foci[["x", "y", "z"]].to_numpy(dtype=np.float64)
        n = self.experiments["n"].to_numpy(dtype=np.int64)
        return xyz, exp_idx, n

    def checksum(self) -> str:
        """SHA-256 of the canonical content (experiments and foci), for provenance."""
        h = hashlib.sha256()
        cols = [c for c in EXPERIMENT_COLUMNS if c not in ("source_file", "source_line")]
        h.update(self.experiments[cols].to_csv(index=False).encode())
        h.update(self.foci[["experiment_id", "x", "y", "z"]].to_csv(index=False).encode())
        return h.hexdigest()


def normalise_category(column: str, value: object) -> object:
    """Map a user spelling (``"Talairach"``, ``"R"``, ``"fmri"``) to the canonical value, or NA."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return pd.NA
    text = str(value).strip()
    if text == "" or text.lower() in ("na", "n/a", "nan", "none"):
        return pd.NA
    return _ALIASES.get(column, {}).get(text.lower(), text)


def make_dataset(
    experiments: pd.DataFrame | Iterable[Mapping[str, Any]],
    foci: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    name: str = "dataset",
    source: str = "<memory>",
    meta: Mapping[str, Any] | None = None,
) -> Dataset:
    """Build a validated :class:`Dataset` from rows or tables.

    Missing optional columns are added as NA; categorical spellings are normalised.

    Raises
    ------
    InputError
        Naming ``source`` and the experiment (and line, when known) that is wrong.
    """
    exps = pd.DataFrame(experiments).copy()
    fo = pd.DataFrame(foci).copy()
    for col in REQUIRED_EXPERIMENT_COLUMNS:
        if col not in exps.columns:
            raise InputError(f"missing required experiment column {col!r}", source=source)
    for col in ("experiment_id", "x", "y", "z"):
        if col not in fo.columns and len(fo):
            raise InputError(f"missing required focus column {col!r}", source=source)
    for col, dtype in EXPERIMENT_COLUMNS.items():
        if col not in exps.columns:
            exps[col] = pd.NA
        if col in CATEGORIES:
            exps[col] = exps[col].map(lambda v, c=col: normalise_category(c, v))
        exps[col] = _coerce(exps, col, dtype, source)
    if exps["whole_brain"].isna().any():
        exps["whole_brain"] = exps["whole_brain"].fillna(True)
    exps["cohort_id"] = exps["cohort_id"].fillna(exps["experiment_id"])
    exps["study_id"] = exps["study_id"].fillna(exps["experiment_id"])
    exps["source_file"] = exps["source_file"].fillna(source)
    extra = [c for c in exps.columns if c not in EXPERIMENT_COLUMNS]
    exps = exps[[*EXPERIMENT_COLUMNS, *extra]].reset_index(drop=True)
    for col, dtype in FOCI_COLUMNS.items():
        if col not in fo.columns:
            fo[col] = pd.NA
        fo[col] = _coerce(fo, col, dtype, source, table="foci")
    fo = fo[list(FOCI_COLUMNS)].reset_index(drop=True)
    dataset = Dataset(exps, fo, name=name, meta=dict(meta or {}))
    validate_dataset(dataset, source=source)
    return dataset


def _coerce(df: pd.DataFrame, col: str, dtype: str, source: str, table: str = "experiments") -> Any:
    try:
        if dtype == "boolean":
            return df[col].map(_to_bool).astype("boolean")
        if dtype in ("Int64", "Float64", "float64"):
            num = pd.to_numeric(df[col], errors="raise")
            if dtype == "Int64":
                frac = num.dropna() % 1
                if (frac != 0).any():
                    raise ValueError("not a whole number")
            return num.astype(dtype)
        return df[col].astype(dtype)
    except (ValueError, TypeError) as exc:
        bad = _first_bad(df[col], dtype)
        raise InputError(
            f"column {col!r} expects {_KIND[dtype]}, got {bad!r}", source=source, record=table
        ) from exc


_KIND: Final = {
    "Int64": "a whole number",
    "Float64": "a number",
    "float64": "a number",
    "boolean": "true/false",
    "string": "text",
}


def _to_bool(v: object) -> object:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return pd.NA
    if isinstance(v, bool | np.bool_):
        return bool(v)
    text = str(v).strip().lower()
    if text in ("true", "yes", "1", "y"):
        return True
    if text in ("false", "no", "0", "n"):
        return False
    if text in ("", "na", "n/a", "nan"):
        return pd.NA
    raise ValueError(text)


def _first_bad(series: pd.Series, dtype: str) -> object:
    for v in series:
        try:
            if dtype == "boolean":
                _to_bool(v)
            elif dtype != "string" and not pd.isna(v):
                f = float(v)
                if dtype == "Int64" and f % 1:
                    return v
        except (ValueError, TypeError):
            return v
    return None


def _where(row: pd.Series) -> dict[str, Any]:
    line = row.get("source_line")
    return {
        "source": row.get("source_file") or "<memory>",
        "line": int(line) if line is not None and not pd.isna(line) else None,
        "record": f"experiment {row['experiment_id']!s}",
    }


def validate_dataset(dataset: Dataset, *, source: str = "<memory>") -> None:
    """Check every experiment and focus; raise :class:`InputError` at the first problem."""
    exps, foci = dataset.experiments, dataset.foci
    if exps.empty:
        raise InputError("no experiments found", source=source)
    ids = exps["experiment_id"]
    if ids.isna().any():
        raise InputError("an experiment has no experiment_id", source=source)
    dup = ids[ids.duplicated()]
    if len(dup):
        row = exps[ids == dup.iloc[0]].iloc[1]
        raise InputError(
            "duplicate experiment name; each experiment needs a unique name", **_where(row)
        )
    for _, row in exps.iterrows():
        _validate_experiment(row)
    known = set(ids.astype(str))
    orphan = foci[~foci["experiment_id"].astype(str).isin(known)]
    if len(orphan):
        raise InputError(
            f"focus refers to unknown experiment {orphan['experiment_id'].iloc[0]!r}",
            source=source,
            record="foci",
        )
    counts = foci["experiment_id"].astype(str).value_counts()
    for _, row in exps.iterrows():
        if counts.get(str(row["experiment_id"]), 0) == 0:
            raise InputError(
                "experiment has no foci; expected at least one 'x y z' line", **_where(row)
            )
    _validate_foci(foci, exps, source)


def _validate_experiment(row: pd.Series) -> None:
    where = _where(row)
    n = row["n"]
    if pd.isna(n):
        raise InputError("missing number of subjects; expected 'Subjects=N' with N > 0", **where)
    if n <= 0:
        raise InputError(f"number of subjects must be > 0, got {n}", **where)
    if pd.isna(row["space"]):
        raise InputError("missing space; expected MNI or TAL", **where)
    for col, allowed in CATEGORIES.items():
        v = row[col]
        if not pd.isna(v) and v not in allowed:
            raise InputError(f"{col} must be one of {', '.join(allowed)}; got {v!r}", **where)
    days = row["days_post_stroke"]
    if not pd.isna(days) and days < 0:
        raise InputError(f"days_post_stroke must be ≥ 0, got {days}", **where)
    validate_outcome(row["outcome_scale"], row["outcome_score"], **where)


def _validate_foci(foci: pd.DataFrame, exps: pd.DataFrame, source: str) -> None:
    xyz = foci[["x", "y", "z"]].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(xyz).all(axis=1)
    far = np.abs(np.nan_to_num(xyz)).max(axis=1, initial=0.0) > MAX_ABS_COORD_MM
    for mask, what in (
        (bad, "coordinates must be finite numbers"),
        (
            far,
            f"coordinates lie more than {MAX_ABS_COORD_MM:g} mm from the origin, "
            "outside any brain; expected mm in MNI or Talairach space",
        ),
    ):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            row = foci.iloc[i]
            exp = exps[exps["experiment_id"] == row["experiment_id"]].iloc[0]
            line = row["source_line"]
            raise InputError(
                f"{what}, got ({row['x']}, {row['y']}, {row['z']})",
                source=exp["source_file"] if not pd.isna(exp["source_file"]) else source,
                line=int(line) if not pd.isna(line) else None,
                record=f"experiment {exp['experiment_id']}",
            )
