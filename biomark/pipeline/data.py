"""Data commands: load, validate, convert, family counts, simulate."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biomark.errors import InputError
from biomark.families import family_counts, missing_fields
from biomark.io.resources import embedded_dataset_dir
from biomark.rules import prepare
from biomark.studies import Dataset


@dataclass(frozen=True, slots=True)
class ValidationSummary:
    """What ``biomark data validate`` reports about a valid dataset."""

    path: str
    n_experiments: int
    n_foci: int
    n_subjects: int
    n_excluded: int
    spaces: dict[str, int]
    warnings: tuple[str, ...] = ()


def load(path: Path | None) -> Dataset:
    """Load a dataset (Sleuth ``.txt``, NiMARE ``.json`` or a biomark folder); default: embedded."""
    from biomark.io.datasets import load_dataset

    return load_dataset(path if path is not None else embedded_dataset_dir())


def validate_data(path: Path) -> ValidationSummary:
    """Read and validate ``path`` and apply the study rules; raise on the first problem."""
    dataset = load(path)
    prepared = prepare(dataset)
    spaces = dataset.experiments["space"].value_counts().to_dict()
    return ValidationSummary(
        warnings=tuple(missing_field_warnings(missing_fields(prepared.dataset.experiments))),
        path=str(path),
        n_experiments=dataset.n_experiments,
        n_foci=dataset.n_foci,
        n_subjects=dataset.n_subjects,
        n_excluded=int((~prepared.audit["included"]).sum()),
        spaces={str(k): int(v) for k, v in spaces.items()},
    )


def missing_field_warnings(missing: pd.DataFrame) -> list[str]:
    """One line per listed experiment and field: where it is, what is empty, what follows."""
    out = []
    for rec in missing.to_dict("records"):
        where = ""
        if isinstance(rec.get("source_file"), str):
            line = rec.get("source_line")
            where = f"{rec['source_file']}" + (f":{int(line)}" if pd.notna(line) else "") + ": "
        out.append(f"{where}experiment {rec['experiment_id']!r} has no {rec['field']}; "
                   f"{rec['consequence']}")  # fmt: skip
    return out


def convert_data(source: Path, target: Path, fmt: str) -> Path:
    """Convert ``source`` to ``fmt`` (sleuth, nimare, tsv) at ``target``.

    Nothing is written on error.
    """
    from biomark.io.datasets import FORMATS, save_dataset

    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    dataset = load(source)
    save_dataset(dataset, target, fmt)
    return target


def families(path: Path | None) -> pd.DataFrame:
    """Experiment, subject and focus counts of every family's analyses."""
    return family_counts(prepare(load(path)).dataset)


def simulate(seed: int, out: Path) -> Path:
    """Generate the simulated stroke dataset for ``seed`` into ``out``.

    Only the three data files are replaced (each atomically), so a README or other files kept
    beside them survive regeneration.
    """
    from biomark.io.tables import EXPERIMENTS_FILE, FOCI_FILE, write_tables
    from biomark.simulate.dataset import simulate_stroke_dataset

    dataset, truth = simulate_stroke_dataset(np.random.default_rng(seed))
    if out.exists() and not out.is_dir():
        raise InputError("output exists and is not a folder", source=out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".simulate-", dir=out))
    try:
        write_tables(dataset, tmp)
        text = json.dumps(truth, sort_keys=True, indent=2) + "\n"
        (tmp / "ground_truth.json").write_text(text, encoding="utf-8")
        for name in (EXPERIMENTS_FILE, FOCI_FILE, "ground_truth.json"):
            (tmp / name).replace(out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
