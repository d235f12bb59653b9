"""Writers for result tables and JSON records (deterministic bytes for the same content)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays to Python, NaN to ``None``, paths to strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if value is pd.NA:
        return None
    return value


def write_json(record: Any, path: Path) -> Path:
    """Write ``record`` as sorted, indented UTF-8 JSON with a final newline."""
    text = json.dumps(_plain(record), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def write_table(table: pd.DataFrame, path: Path) -> Path:
    """Write a table as TSV (empty cells for missing values, Unix line ends)."""
    out = table.copy()
    for col in out.columns:
        if out[col].map(lambda v: isinstance(v, list | tuple)).any():
            out[col] = out[col].map(lambda v: json.dumps(_plain(v)) if v is not None else "")
    out.to_csv(path, sep="\t", index=False, na_rep="", lineterminator="\n")
    return path


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (inputs' checksums for provenance)."""
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
