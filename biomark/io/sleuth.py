r"""GingerALE/Sleuth text files, with an optional metadata sidecar TSV.

A Sleuth file starts with ``// Reference=MNI`` (or ``Talairach``/``TAL``; case, spacing and
variants such as ``MNI152`` are tolerated). Each experiment is one or more ``//`` header lines, the
last being ``// Subjects=N``, followed by one ``x y z`` line per focus (tabs or spaces). Blank lines
separate experiments; a header line after foci also starts a new experiment.

Reading choices:

* ``experiment_id`` is the last header line before ``Subjects``; earlier header lines, if any, are
  kept joined by ``" / "`` in ``label``.
* ``study_id`` is the text of ``experiment_id`` before its first ``:`` (``"Smith 2010: tapping"``
  → ``"Smith 2010"``); without a ``:`` it is the experiment_id itself.
* ``\r\n`` and ``\r`` line ends, a UTF-8 BOM, trailing blanks, ``#`` comment lines and repeated
  ``// Reference`` lines naming the same space are accepted. A repeated Reference naming a
  different space is an error: the format has one space per file, and other tools read only the
  first line.
* Every experiment and focus records ``source_file`` and ``source_line``.

The sidecar (``<stem>.metadata.tsv`` beside the file, see :func:`sidecar_path`) is a TSV with an
``experiment_id`` column and any of :data:`biomark.io.tables.METADATA_COLUMNS`; empty cells keep
the value read from the Sleuth text. Rows naming an experiment that is not in the Sleuth file are
errors.

Writing: coordinates are written as the shortest decimal text that reads back to the same float64
(``repr``, with a trailing ``.0`` dropped), so foci round-trip exactly. A Sleuth file holds one
space, so :func:`write_sleuth` refuses a dataset whose experiments are in several spaces (convert
Talairach foci with :func:`biomark.rules.to_mni` first, or save as NiMARE JSON or TSV). The sidecar
is always written, with ``experiment_id`` and every field whose value the Sleuth text alone would
not give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd

from biomark.errors import InputError
from biomark.io.tables import (
    METADATA_COLUMNS,
    Where,
    canonical_space,
    read_metadata_table,
)
from biomark.studies import Dataset, make_dataset

SIDECAR_SUFFIX: Final = ".metadata.tsv"
_REFERENCE = re.compile(r"^reference\s*[=:]\s*(.*)$", re.IGNORECASE)
_SUBJECTS = re.compile(r"^subjects\s*=\s*(.*)$", re.IGNORECASE)
_NEWLINE = re.compile(r"\r\n|\r|\n")
_EXPECT_REFERENCE: Final = (
    "expected '// Reference=MNI' or '// Reference=Talairach' as the first line"
)
_SPACE_NAMES: Final = {"MNI": "MNI", "TAL": "Talairach"}


@dataclass
class _Block:
    """One experiment while it is being read."""

    line: int
    names: list[str] = field(default_factory=list)
    n: int | None = None
    foci: list[tuple[int, float, float, float]] = field(default_factory=list)


@dataclass
class _State:
    source: Path
    space: str | None = None
    blocks: list[_Block] = field(default_factory=list)


def sidecar_path(path: Path) -> Path:
    """The metadata sidecar that goes with Sleuth file ``path``: ``<stem>.metadata.tsv``."""
    return path.with_name(path.stem + SIDECAR_SUFFIX)


def read_sleuth(path: Path, sidecar: Path | None = None) -> Dataset:
    """Read a GingerALE/Sleuth text file (and optionally its metadata sidecar).

    Parameters
    ----------
    path
        The Sleuth ``.txt`` file.
    sidecar
        A TSV with ``experiment_id`` and metadata columns, matched by experiment name.

    Returns
    -------
    Dataset
        Validated; named after the file's stem.

    Raises
    ------
    InputError
        One line naming the file, the line and what was expected there.
    """
    state = _State(source=path)
    for lineno, raw in enumerate(_decode_lines(path), start=1):
        _read_line(state, lineno, raw.strip())
    if state.space is None:
        raise InputError(f"no Reference line; {_EXPECT_REFERENCE}", source=path)
    if not state.blocks:
        raise InputError(
            "no experiments found; expected '// name', '// Subjects=N' and 'x y z' lines "
            "after the Reference line",
            source=path,
        )
    _check_has_foci(state, state.blocks[-1])
    rows = [_experiment_row(b, state.space, path) for b in state.blocks]
    if sidecar is not None:
        _apply_sidecar(rows, sidecar)
    foci = [
        {"experiment_id": row["experiment_id"], "x": x, "y": y, "z": z, "source_line": ln}
        for row, block in zip(rows, state.blocks, strict=True)
        for ln, x, y, z in block.foci
    ]
    return make_dataset(rows, foci, name=path.stem, source=str(path))


def _decode_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source=path) from exc
    if not raw.strip():
        raise InputError(f"empty file; {_EXPECT_REFERENCE}", source=path)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            "file is UTF-16 encoded; expected UTF-8 text (save it as UTF-8)", source=path
        )
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise InputError("binary file (NUL byte); expected Sleuth text", source=path, line=line)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); expected UTF-8 (save it as UTF-8)",
            source=path,
            line=line,
        ) from exc
    return _NEWLINE.split(text)


def _read_line(state: _State, lineno: int, line: str) -> None:
    if not line or line.startswith("#"):
        return
    if line.startswith("//"):
        body = line[2:].strip()
        if body:  # a bare "//" carries nothing: treat it as a comment
            _read_header(state, lineno, body)
    else:
        _read_focus(state, lineno, line)


def _read_header(state: _State, lineno: int, body: str) -> None:
    where: Where = {"source": state.source, "line": lineno}
    ref = _REFERENCE.match(body)
    if ref:
        space = canonical_space(ref.group(1))
        if space is None:
            raise InputError(
                f"unknown space {ref.group(1).strip()!r} in Reference line; expected MNI or "
                "Talairach (TAL)",
                **where,
            )
        if state.space is not None and space != state.space:
            raise InputError(
                f"Reference line says {space} but the file began with {state.space}; "
                "expected one space per Sleuth file (split the file)",
                **where,
            )
        state.space = space
        return
    if state.space is None:
        raise InputError(f"{_EXPECT_REFERENCE}, got '// {body}'", **where)
    current = state.blocks[-1] if state.blocks else None
    subjects = _SUBJECTS.match(body)
    if subjects:
        if current is None or current.foci or not current.names:
            raise InputError(
                "'// Subjects=N' without an experiment name; expected a '// name' header line "
                "before it",
                **where,
            )
        if current.n is not None:
            raise InputError("repeated '// Subjects=' line; expected 'x y z' focus lines", **where)
        current.n = _parse_subjects(subjects.group(1).strip(), where)
        return
    if current is not None and not current.foci:
        if current.n is not None:
            _check_has_foci(state, current)
        current.names.append(body)
        return
    state.blocks.append(_Block(line=lineno, names=[body]))


def _parse_subjects(text: str, where: Where) -> int:
    try:
        n = int(text)
    except ValueError:
        raise InputError(
            f"expected a whole number of subjects in '// Subjects=N', got {text!r}",
            **where,
        ) from None
    if n <= 0:
        raise InputError(f"number of subjects must be > 0, got {n}", **where)
    return n


def _check_has_foci(state: _State, block: _Block) -> None:
    if block.n is None and block.names:
        raise InputError(
            f"experiment {block.names[-1]!r} has no '// Subjects=N' line; expected it as the "
            "last header line",
            source=state.source,
            line=block.line,
        )
    if not block.foci:
        raise InputError(
            f"experiment {block.names[-1]!r} has no foci; expected 'x y z' lines after "
            "'// Subjects=N'",
            source=state.source,
            line=block.line,
        )


def _read_focus(state: _State, lineno: int, line: str) -> None:
    where: Where = {"source": state.source, "line": lineno}
    if state.space is None:
        raise InputError(f"{_EXPECT_REFERENCE}, got {line!r}", **where)
    if not state.blocks:
        raise InputError(
            "focus line before any experiment; expected '// name' and '// Subjects=N' first",
            **where,
        )
    block = state.blocks[-1]
    if block.n is None:
        raise InputError(
            f"missing '// Subjects=N' for experiment {block.names[-1]!r}; expected it as the "
            "last header line before the foci",
            **where,
        )
    tokens = line.split()
    if len(tokens) != 3:
        raise InputError(f"expected 3 coordinates (x y z), got {len(tokens)}: {line!r}", **where)
    xyz = [_parse_coordinate(axis, tok, where) for axis, tok in zip("xyz", tokens, strict=True)]
    block.foci.append((lineno, xyz[0], xyz[1], xyz[2]))


def _parse_coordinate(axis: str, token: str, where: Where) -> float:
    try:
        value = float(token)
    except ValueError:
        raise InputError(
            f"coordinate {axis} is not a number: {token!r}; expected 3 numbers in mm (x y z)",
            **where,
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(
            f"coordinate {axis} is not a finite number: {token!r}; expected mm", **where
        )
    return value


def study_id_of(experiment_id: str) -> str:
    """The study an experiment name belongs to: its text before the first ``:``, else itself."""
    head, sep, _ = experiment_id.partition(":")
    return head.strip() if sep and head.strip() else experiment_id


def _experiment_row(block: _Block, space: str, path: Path) -> dict[str, object]:
    name = block.names[-1]
    return {
        "experiment_id": name,
        "study_id": study_id_of(name),
        "n": block.n,
        "space": space,
        "label": " / ".join(block.names[:-1]) if len(block.names) > 1 else pd.NA,
        "source_file": str(path),
        "source_line": block.line,
    }


def _apply_sidecar(rows: list[dict[str, object]], sidecar: Path) -> None:
    by_id = {str(r["experiment_id"]): r for r in rows}
    for eid, (line, fields) in read_metadata_table(sidecar).items():
        where: Where = {"source": sidecar, "line": line}
        if eid not in by_id:
            raise InputError(
                f"experiment {eid!r} is not in the Sleuth file; expected one of its experiment "
                "names (the last '//' line before '// Subjects=N')",
                **where,
            )
        row = by_id[eid]
        for col, value in fields.items():
            if value is pd.NA:
                continue
            if col in ("n", "space") and value != row[col]:
                raise InputError(
                    f"{col} is {value!r} here but {row[col]!r} in the Sleuth file; expected the "
                    "same value or an empty cell",
                    **where,
                )
            row[col] = value


def format_coordinate(value: float) -> str:
    """Shortest text that reads back to the same float64 (``-38.0`` → ``"-38"``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def write_sleuth(dataset: Dataset, path: Path) -> list[Path]:
    """Write ``dataset`` as a Sleuth text file plus its metadata sidecar; return both paths.

    Raises
    ------
    InputError
        The experiments are in more than one space, or an experiment name cannot be written as a
        Sleuth header line (empty, multi-line, padded with blanks, or read back as a
        Reference/Subjects line). Nothing is written then.
    """
    exps = dataset.experiments
    spaces = sorted(set(exps["space"].astype(str)))
    if len(spaces) != 1:
        raise InputError(
            f"experiments are in more than one space ({', '.join(spaces)}); a Sleuth file holds "
            "one: convert Talairach foci to MNI first or save as NiMARE JSON or TSV",
            source=path,
        )
    ids = exps["experiment_id"].astype(str).tolist()
    for eid in ids:
        _check_writable_name(eid, path)
    foci_by_exp: dict[str, list[str]] = {eid: [] for eid in ids}
    for eid, x, y, z in dataset.foci[["experiment_id", "x", "y", "z"]].itertuples(index=False):
        foci_by_exp[str(eid)].append("\t".join(format_coordinate(v) for v in (x, y, z)))
    lines = [f"// Reference={_SPACE_NAMES[spaces[0]]}"]
    for eid, n in zip(ids, exps["n"], strict=True):
        lines += ["", f"// {eid}", f"// Subjects={int(n)}", *foci_by_exp[eid]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    side = sidecar_path(path)
    _sidecar_table(exps).to_csv(side, sep="\t", index=False, na_rep="", lineterminator="\n")
    return [path, side]


def _check_writable_name(eid: str, path: Path) -> None:
    body = eid.strip()
    bad = (
        not body
        or body != eid
        or _NEWLINE.search(eid) is not None
        or _REFERENCE.match(body) is not None
        or _SUBJECTS.match(body) is not None
    )
    if bad:
        raise InputError(
            f"experiment name {eid!r} cannot be a Sleuth header line; expected one line of text "
            "without surrounding blanks that is not a Reference or Subjects line",
            source=path,
        )


def _sidecar_table(exps: pd.DataFrame) -> pd.DataFrame:
    """``experiment_id`` and each field whose value differs from what the Sleuth text gives."""
    ids = exps["experiment_id"].astype(str)
    defaults: dict[str, pd.Series] = {
        "study_id": ids.map(study_id_of),
        "cohort_id": ids,
        "whole_brain": pd.Series(True, index=exps.index),
    }
    keep = ["experiment_id"]
    for col in METADATA_COLUMNS:
        default = defaults.get(col, pd.Series(pd.NA, index=exps.index, dtype="object"))
        actual = exps[col].astype("object")
        same = [
            (pd.isna(a) and pd.isna(d)) or (not pd.isna(a) and not pd.isna(d) and a == d)
            for a, d in zip(actual, default.astype("object"), strict=True)
        ]
        if not all(same):
            keep.append(col)
    return exps[keep]
