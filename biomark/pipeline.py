"""The only module that wires files, study rules, analyses and reports together.

The CLI calls one function here per command; each returns plain data (tables, paths) for the CLI
to print, and raises :class:`biomark.errors.BiomarkError` for anything the user can fix.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from biomark.errors import InputError
from biomark.families import family_counts
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
        path=str(path),
        n_experiments=dataset.n_experiments,
        n_foci=dataset.n_foci,
        n_subjects=dataset.n_subjects,
        n_excluded=int((~prepared.audit["included"]).sum()),
        spaces={str(k): int(v) for k, v in spaces.items()},
    )


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
    """Generate the simulated stroke dataset for ``seed`` into ``out`` (atomically)."""
    from biomark.io.tables import write_tables
    from biomark.simulate import simulate_stroke_dataset

    dataset, truth = simulate_stroke_dataset(np.random.default_rng(seed))
    with staged_output(out) as tmp:
        write_tables(dataset, tmp)
        text = json.dumps(truth, sort_keys=True, indent=2) + "\n"
        (tmp / "ground_truth.json").write_text(text, encoding="utf-8")
    return out


class staged_output:
    """Write into a temporary sibling folder; replace ``target`` only when the block succeeds.

    A failed or interrupted run leaves an existing ``target`` exactly as it was.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        parent = self.target.resolve().parent
        if parent.exists() and not parent.is_dir():
            raise InputError("output parent is not a folder", source=parent)
        parent.mkdir(parents=True, exist_ok=True)
        if self.target.exists() and not self.target.is_dir():
            raise InputError("output exists and is not a folder", source=self.target)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=parent))
        return self.tmp

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.tmp is None:
            return
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            self.target.replace(old)
        self.tmp.replace(self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
