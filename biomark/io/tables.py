"""biomark's own tidy format: a folder with ``experiments.tsv`` and ``foci.tsv``.

``experiments.tsv`` has the columns of :data:`biomark.studies.EXPERIMENT_COLUMNS` (provenance
columns excluded: they are re-derived on reading, pointing at this file and line); ``foci.tsv`` has
``experiment_id, x, y, z``. Missing values are written as empty cells.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from biomark.errors import InputError
from biomark.studies import EXPERIMENT_COLUMNS, Dataset, make_dataset

EXPERIMENTS_FILE = "experiments.tsv"
FOCI_FILE = "foci.tsv"
_PROVENANCE = ("source_file", "source_line")


def write_tables(dataset: Dataset, folder: Path) -> list[Path]:
    """Write ``dataset`` as ``experiments.tsv`` + ``foci.tsv`` in ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    cols = [c for c in EXPERIMENT_COLUMNS if c not in _PROVENANCE]
    exp_path, foci_path = folder / EXPERIMENTS_FILE, folder / FOCI_FILE
    dataset.experiments[cols].to_csv(exp_path, sep="\t", index=False, na_rep="", lineterminator="\n")
    dataset.foci[["experiment_id", "x", "y", "z"]].to_csv(
        foci_path, sep="\t", index=False, na_rep="", lineterminator="\n", float_format="%.6g"
    )
    return [exp_path, foci_path]


def read_tables(folder: Path) -> Dataset:
    """Read a biomark dataset folder; errors name the file and line."""
    exp_path, foci_path = folder / EXPERIMENTS_FILE, folder / FOCI_FILE
    for path in (exp_path, foci_path):
        if not path.is_file():
            raise InputError(f"dataset folder is missing {path.name}", source=folder)
    exps = _read_tsv(exp_path)
    foci = _read_tsv(foci_path)
    exps["source_file"] = str(exp_path)
    exps["source_line"] = range(2, len(exps) + 2)
    foci["source_line"] = range(2, len(foci) + 2)
    return make_dataset(exps, foci, name=folder.name, source=str(exp_path))


def _read_tsv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"not a readable tab-separated table ({exc.__class__.__name__})",
                         source=path) from exc
