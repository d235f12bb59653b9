"""NiMARE dataset JSON (``nimare.dataset.Dataset`` source dictionaries).

Layout (as in NiMARE's ``resources/nidm_pain_dset.json``)::

    {study_id: {"contrasts": {contrast_id: {
        "coords": {"space": "MNI", "x": [...], "y": [...], "z": [...]},
        "metadata": {"sample_sizes": [N], ...},
        "images": {...}}}}}

Reading choices:

* A contrast without ``coords`` (image-only) is skipped, as NiMARE's coordinate table skips it;
  the skipped ``study/contrast`` names are listed in ``Dataset.meta["skipped_contrasts"]``.
* ``n`` comes from ``metadata.sample_sizes`` (a one-element list) or ``metadata.sample_size``. A
  list with several sizes is an error: a biomark experiment is one group, and averaging (NiMARE's
  kernel does) would hide that.
* ``space`` ``MNI``/``mni152_2mm``/``ale_2mm`` → MNI; ``TAL``/``Talairach`` → TAL.
* ``experiment_id`` is ``metadata.experiment_id`` when present (biomark writes it), else NiMARE's
  own id ``"<study>-<contrast>"``; ``study_id`` is the study key.
* Other biomark fields (:data:`biomark.io.tables.METADATA_COLUMNS`) are read from contrast metadata
  under their own names; other metadata keys are ignored.

Writing puts ``n`` in ``sample_sizes``, every non-missing biomark field in contrast metadata, and
names each contrast by its experiment_id (without a ``"<study>-"`` prefix when that keeps the
contrast keys of the study unique). Floats are written by :mod:`json` (``repr``), so they round-trip
exactly. Errors name the file and the JSON path as ``record="study/contrast"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from biomark.errors import InputError
from biomark.io.tables import METADATA_COLUMNS, canonical_space, parse_fields
from biomark.studies import MAX_ABS_COORD_MM, Dataset, make_dataset


def read_nimare_json(path: Path) -> Dataset:
    """Read a NiMARE dataset JSON file into a validated :class:`Dataset`.

    Raises
    ------
    InputError
        Invalid JSON (with its line), a wrong structure, unequal coordinate lists, a non-finite
        coordinate, a missing or invalid sample size or field; naming ``study/contrast``.
    """
    data = _load_json(path)
    rows: list[dict[str, object]] = []
    foci: list[dict[str, object]] = []
    skipped: list[str] = []
    for study_id, study in data.items():
        contrasts = study.get("contrasts") if isinstance(study, dict) else None
        if not isinstance(contrasts, dict):
            raise InputError(
                "expected an object with a 'contrasts' object", source=path, record=str(study_id)
            )
        for contrast_id, contrast in contrasts.items():
            record = f"{study_id}/{contrast_id}"
            if not isinstance(contrast, dict):
                raise InputError("expected a contrast object", source=path, record=record)
            if "coords" not in contrast:
                skipped.append(record)
                continue
            row = _experiment_row(contrast, str(study_id), str(contrast_id), path, record)
            rows.append(row)
            foci += [
                {"experiment_id": row["experiment_id"], "x": x, "y": y, "z": z}
                for x, y, z in _coordinates(contrast["coords"], path, record)
            ]
    if not rows:
        raise InputError(
            "no contrasts with coordinates found; expected 'coords' with x, y, z", source=path
        )
    _check_unique(rows, path)
    return make_dataset(
        rows, foci, name=path.stem, source=str(path), meta={"skipped_contrasts": skipped}
    )


def _load_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", source=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text; expected a UTF-8 JSON file", source=path) from exc
    if not text.strip():
        raise InputError("empty file; expected a NiMARE dataset JSON object", source=path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", source=path, line=exc.lineno) from exc
    if not isinstance(data, dict):
        raise InputError(
            f"expected a JSON object of studies, got a {type(data).__name__}", source=path
        )
    return data


def _sample_size(meta: Mapping[str, Any], path: Path, record: str) -> object:
    if "sample_sizes" in meta and meta["sample_sizes"] is not None:
        sizes = meta["sample_sizes"]
        if not isinstance(sizes, list):
            sizes = [sizes]
        if len(sizes) != 1:
            raise InputError(
                f"metadata.sample_sizes has {len(sizes)} values {sizes}; expected one sample size "
                "per contrast (one group)",
                source=path,
                record=record,
            )
        return sizes[0]
    if meta.get("sample_size") is not None:
        return meta["sample_size"]
    raise InputError(
        "no sample size; expected metadata.sample_sizes [N] or metadata.sample_size N",
        source=path,
        record=record,
    )


def _experiment_row(
    contrast: Mapping[str, Any], study_id: str, contrast_id: str, path: Path, record: str
) -> dict[str, object]:
    meta = contrast.get("metadata") or {}
    coords = contrast["coords"]
    if not isinstance(meta, dict) or not isinstance(coords, dict):
        raise InputError(
            "expected 'coords' and 'metadata' to be objects", source=path, record=record
        )
    space = coords.get("space")
    if canonical_space(space) is None:
        raise InputError(
            f"unknown coords.space {space!r}; expected MNI or TAL", source=path, record=record
        )
    raw: dict[str, object] = {c: meta[c] for c in METADATA_COLUMNS if c in meta}
    raw.update(
        experiment_id=meta.get("experiment_id") or f"{study_id}-{contrast_id}",
        study_id=study_id,
        n=_sample_size(meta, path, record),
        space=space,
    )
    row = parse_fields(raw, source=path, record=record)
    row["source_file"] = str(path)
    return row


def _coordinates(
    coords: Mapping[str, Any], path: Path, record: str
) -> list[tuple[float, float, float]]:
    axes = []
    for axis in ("x", "y", "z"):
        values = coords.get(axis)
        if not isinstance(values, list):
            raise InputError(f"coords.{axis} must be a list of numbers", source=path, record=record)
        for i, v in enumerate(values):
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            if not ok:
                raise InputError(
                    f"coords.{axis}[{i}] is {v!r}; expected a finite number in mm",
                    source=path,
                    record=record,
                )
            if abs(v) > MAX_ABS_COORD_MM:
                raise InputError(
                    f"coords.{axis}[{i}] is {v!r}, more than {MAX_ABS_COORD_MM:g} mm from the "
                    "origin, outside any brain; expected mm in MNI or Talairach space",
                    source=path,
                    record=record,
                )
        axes.append(values)
    lengths = [len(a) for a in axes]
    if len(set(lengths)) != 1:
        raise InputError(
            f"coords.x, y, z have {lengths[0]}, {lengths[1]}, {lengths[2]} values; expected "
            "equal lengths",
            source=path,
            record=record,
        )
    if lengths[0] == 0:
        raise InputError(
            "contrast has no foci; expected at least one x, y, z", source=path, record=record
        )
    return [(float(x), float(y), float(z)) for x, y, z in zip(*axes, strict=True)]


def _check_unique(rows: list[dict[str, object]], path: Path) -> None:
    seen: set[object] = set()
    for row in rows:
        if row["experiment_id"] in seen:
            raise InputError(
                f"duplicate experiment name {row['experiment_id']!r}; each experiment needs a "
                "unique name",
                source=path,
                record=str(row["experiment_id"]),
            )
        seen.add(row["experiment_id"])


def write_nimare_json(dataset: Dataset, path: Path) -> list[Path]:
    """Write ``dataset`` as NiMARE dataset JSON; return ``[path]``."""
    exps = dataset.experiments
    foci = {eid: f for eid, f in dataset.foci.groupby("experiment_id", sort=False)}
    out: dict[str, dict[str, Any]] = {}
    for study_id, group in exps.groupby("study_id", sort=False):
        keys = _contrast_keys(str(study_id), group["experiment_id"].astype(str).tolist())
        contrasts: dict[str, Any] = {}
        for key, row in zip(keys, group.to_dict("records"), strict=True):
            f = foci[row["experiment_id"]]
            contrasts[key] = {
                "coords": {
                    "space": str(row["space"]),
                    "x": [float(v) for v in f["x"]],
                    "y": [float(v) for v in f["y"]],
                    "z": [float(v) for v in f["z"]],
                },
                "metadata": _metadata(row),
            }
        out[str(study_id)] = {"contrasts": contrasts}
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return [path]


def _contrast_keys(study_id: str, ids: list[str]) -> list[str]:
    prefix = f"{study_id}-"
    short = [e[len(prefix) :] if e.startswith(prefix) and len(e) > len(prefix) else e for e in ids]
    return short if len(set(short)) == len(short) else ids


def _metadata(row: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "sample_sizes": [int(row["n"])],
        "experiment_id": str(row["experiment_id"]),
    }
    for col in METADATA_COLUMNS:
        if col == "study_id" or pd.isna(row[col]):
            continue
        value = row[col]
        if isinstance(value, bool):
            meta[col] = value
        elif isinstance(value, int | float) or hasattr(value, "item"):
            meta[col] = value.item() if hasattr(value, "item") else value
        else:
            meta[col] = str(value)
    return meta
