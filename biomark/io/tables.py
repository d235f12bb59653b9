"""biomark's own tidy format: a folder with ``experiments.tsv`` and ``foci.tsv``.

``experiments.tsv`` has the columns of :data:`biomark.studies.EXPERIMENT_COLUMNS` (provenance
columns excluded: they are re-derived on reading, pointing at this file and line); ``foci.tsv`` has
``experiment_id, x, y, z``. Missing values are written as empty cells. Numbers are written as the
shortest decimal text that reads back to the same float64 (Python ``repr``), so the tables
round-trip exactly.

This module also holds the field parser shared by every reader (:func:`parse_fields`), so that a
bad value gets the same message whether it came from a TSV cell, a Sleuth sidecar or NiMARE JSON.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Final, TypedDict

import pandas as pd

from biomark.errors import InputError
from biomark.scales import validate_outcome
from biomark.studies import (
    CATEGORIES,
    EXPERIMENT_COLUMNS,
    Dataset,
    make_dataset,
    normalise_category,
)

EXPERIMENTS_FILE: Final = "experiments.tsv"
FOCI_FILE: Final = "foci.tsv"
PROVENANCE_COLUMNS: Final = ("source_file", "source_line")
# Experiment fields other than the key, the sample size, the space and provenance: the ones that
# Sleuth text cannot carry and NiMARE keeps in contrast metadata.
METADATA_COLUMNS: Final = tuple(
    c for c in EXPERIMENT_COLUMNS if c not in ("experiment_id", "n", "space", *PROVENANCE_COLUMNS)
)


class Where(TypedDict, total=False):
    """Keyword arguments of :class:`biomark.errors.InputError` that say where a problem is."""

    source: str | Path | None
    line: int | None
    record: str | None


_KIND: Final = {"Int64": "a whole number", "Float64": "a finite number", "boolean": "true/false"}
_TRUE: Final = frozenset({"true", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "no", "n", "0"})
_MNI_NAMES: Final = frozenset({"mni", "icbm", "ale", "ale2mm"})
_TAL_NAMES: Final = frozenset({"tal", "talairach", "talaraich", "talairachtournoux", "tt"})


def canonical_space(text: object) -> str | None:
    """``"MNI"`` or ``"TAL"`` for a space name, tolerant of case, spacing and common variants.

    Accepts ``MNI``, ``MNI152``, ``mni152_2mm``, ``ICBM152``, ``ale_2mm`` (NiMARE's ALE template,
    which is MNI152) and ``TAL``, ``Talairach``, ``Talaraich``; anything else gives ``None``.
    """
    key = "".join(ch for ch in str(text).lower() if ch.isalnum())
    if key in _TAL_NAMES or key.startswith("talairach"):
        return "TAL"
    if key in _MNI_NAMES or key.startswith(("mni", "icbm")):
        return "MNI"
    return None


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _coerce(column: str, value: object) -> object:
    """One value as the column's Python type; raises ``ValueError`` when it cannot be."""
    dtype = EXPERIMENT_COLUMNS[column]
    if _is_missing(value):
        return pd.NA
    if dtype == "string":
        return str(value)
    if dtype == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ValueError(text)
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    number = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ValueError("not finite")
    if dtype == "Int64":
        if number != int(number):
            raise ValueError("not whole")
        return int(number)
    return number


def parse_fields(
    values: Mapping[str, object],
    *,
    source: str | Path,
    line: int | None = None,
    record: str | None = None,
) -> dict[str, object]:
    """Coerce and check one experiment's fields, naming the input on the first problem.

    Parameters
    ----------
    values
        Column name → raw value (text from a table cell, or a JSON scalar). Only columns of
        :data:`biomark.studies.EXPERIMENT_COLUMNS` are read; empty text and ``None`` mean missing.
    source, line, record
        Where the values came from, for the error message.

    Returns
    -------
    dict
        The same columns with canonical values (``pd.NA`` when missing): categories normalised
        (``"R"`` → ``"right"``), numbers as ``int``/``float``, flags as ``bool``.

    Raises
    ------
    InputError
        A value of the wrong kind, a category outside its allowed set, a negative day count, a
        sample size ≤ 0, an unknown outcome scale or a score outside the scale's range.
    """
    where: Where = {"source": source, "line": line, "record": record}
    out: dict[str, object] = {}
    for column, raw in values.items():
        if column not in EXPERIMENT_COLUMNS or column in PROVENANCE_COLUMNS:
            continue
        try:
            value = _coerce(column, raw)
        except (ValueError, TypeError, OverflowError) as exc:
            kind = _KIND[EXPERIMENT_COLUMNS[column]]
            raise InputError(f"column {column!r} expects {kind}, got {raw!r}", **where) from exc
        if column == "space" and value is not pd.NA:
            space = canonical_space(value)
            if space is None:
                raise InputError(f"unknown space {value!r}; expected MNI or TAL", **where)
            value = space
        elif column in CATEGORIES:
            value = normalise_category(column, value)
            if value is not pd.NA and value not in CATEGORIES[column]:
                allowed = ", ".join(CATEGORIES[column])
                raise InputError(f"{column} must be one of {allowed}; got {value!r}", **where)
        out[column] = value
    _check_ranges(out, where)
    return out


def _check_ranges(fields: Mapping[str, object], where: Where) -> None:
    n = fields.get("n", pd.NA)
    if isinstance(n, int) and n <= 0:
        raise InputError(f"number of subjects must be > 0, got {n}", **where)
    days = fields.get("days_post_stroke", pd.NA)
    if isinstance(days, float) and days < 0:
        raise InputError(f"days_post_stroke must be ≥ 0, got {days:g}", **where)
    validate_outcome(fields.get("outcome_scale"), fields.get("outcome_score"), **where)


def write_tables(dataset: Dataset, folder: Path) -> list[Path]:
    """Write ``dataset`` as ``experiments.tsv`` + ``foci.tsv`` in ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    cols = [c for c in EXPERIMENT_COLUMNS if c not in PROVENANCE_COLUMNS]
    exp_path, foci_path = folder / EXPERIMENTS_FILE, folder / FOCI_FILE
    dataset.experiments[cols].to_csv(
        exp_path, sep="\t", index=False, na_rep="", lineterminator="\n"
    )
    # float_format=None writes repr(), the shortest text that reads back to the same float64
    dataset.foci[["experiment_id", "x", "y", "z"]].to_csv(
        foci_path, sep="\t", index=False, na_rep="", lineterminator="\n"
    )
    return [exp_path, foci_path]


def read_tables(folder: Path) -> Dataset:
    """Read a biomark dataset folder; errors name the file and line."""
    exp_path, foci_path = folder / EXPERIMENTS_FILE, folder / FOCI_FILE
    for path in (exp_path, foci_path):
        if not path.is_file():
            raise InputError(
                f"dataset folder is missing {path.name}; expected {EXPERIMENTS_FILE} and "
                f"{FOCI_FILE}",
                source=folder,
            )
    exps = _read_tsv(exp_path, required=("experiment_id", "n", "space"))
    foci = _read_tsv(foci_path, required=("experiment_id", "x", "y", "z"))
    rows = []
    for i, row in enumerate(exps.to_dict("records")):
        line = i + 2
        fields = parse_fields(row, source=exp_path, line=line)
        fields.update(source_file=str(exp_path), source_line=line)
        rows.append({**row, **fields})
    known = {str(r["experiment_id"]) for r in rows}
    _check_foci(foci, known, foci_path)
    foci["source_line"] = range(2, len(foci) + 2)
    return make_dataset(
        pd.DataFrame(rows, columns=exps.columns.tolist() + list(PROVENANCE_COLUMNS)),
        foci,
        name=folder.name,
        source=str(exp_path),
    )


def _check_foci(foci: pd.DataFrame, known: set[str], path: Path) -> None:
    for i, row in enumerate(foci.to_dict("records")):
        line = i + 2
        if str(row["experiment_id"]) not in known:
            raise InputError(
                f"focus refers to unknown experiment {row['experiment_id']!r}; expected an "
                f"experiment_id listed in {EXPERIMENTS_FILE}",
                source=path,
                line=line,
            )
        for axis in ("x", "y", "z"):
            try:
                value = float(row[axis])
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value):
                raise InputError(
                    f"column {axis!r} expects a finite number in mm, got {row[axis]!r}",
                    source=path,
                    line=line,
                )


def read_metadata_table(path: Path) -> dict[str, tuple[int, dict[str, object]]]:
    """Read a per-experiment metadata TSV (e.g. a Sleuth sidecar), checking every cell.

    The table has an ``experiment_id`` column and any of ``n``, ``space`` and
    :data:`METADATA_COLUMNS`. Returns experiment_id → (line number, parsed fields without
    ``experiment_id``; empty cells are ``pd.NA``).

    Raises
    ------
    InputError
        A missing file, no ``experiment_id`` column, an unknown column, an experiment listed twice
        or a bad value (see :func:`parse_fields`), naming the file and line.
    """
    if not path.is_file():
        raise InputError("metadata table not found; expected a TSV file", source=path)
    table = _read_tsv(path, required=("experiment_id",))
    allowed = {"experiment_id", "n", "space", *METADATA_COLUMNS}
    unknown = [c for c in table.columns if c not in allowed]
    if unknown:
        raise InputError(
            f"unknown column {unknown[0]!r}; expected experiment_id and any of "
            f"{', '.join(METADATA_COLUMNS)}",
            source=path,
            line=1,
        )
    out: dict[str, tuple[int, dict[str, object]]] = {}
    for i, raw in enumerate(table.to_dict("records")):
        line, eid = i + 2, raw.pop("experiment_id")
        if pd.isna(eid):
            raise InputError(
                "empty experiment_id; expected an experiment name", source=path, line=line
            )
        if str(eid) in out:
            raise InputError(
                f"experiment {eid!r} listed twice (first at line {out[str(eid)][0]}); expected "
                "one row per experiment",
                source=path,
                line=line,
            )
        out[str(eid)] = (
            line,
            parse_fields(raw, source=path, line=line, record=f"experiment {eid}"),
        )
    return out


def _check_field_counts(path: Path) -> None:
    """Every row has the header's number of fields (pandas pads short rows with empty cells)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = csv.reader(handle, delimiter="\t")
            header = next(rows, None)
            if header is None:
                return
            for line, row in enumerate(rows, start=2):
                if row and len(row) != len(header):
                    raise InputError(
                        f"{len(row)} tab-separated fields where the header has {len(header)}; "
                        "expected one value (or an empty cell) per column",
                        source=path,
                        line=line,
                    )
    except (UnicodeDecodeError, csv.Error):
        return  # reported by the reader below, with its own message


def _read_tsv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    _check_field_counts(path)
    try:
        table = pd.read_csv(
            path, sep="\t", dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"not a readable UTF-8 tab-separated table ({exc.__class__.__name__})", source=path
        ) from exc
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; expected a header with "
            f"{', '.join(required)} (tab-separated)",
            source=path,
            line=1,
        )
    return table
