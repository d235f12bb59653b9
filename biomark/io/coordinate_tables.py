"""Reader for the long coordinate tables of ``data/real/`` (Neurosynth / NeuroQuery extracts).

Rows are ``source, pmid, table_id, table_label, x, y, z, space``. One experiment is one article
table (``source``, ``pmid``, ``table_id``). These tables carry no sample sizes, so the caller states
an assumed ``n``; they are machine-extracted and mix contrasts (see ``data/real/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from biomark.errors import InputError
from biomark.studies import Dataset, make_dataset

_COLUMNS = ("source", "pmid", "table_id", "x", "y", "z", "space")


def read_coordinate_table(
    path: Path, *, n_subjects: int, source: str | None = None, group: str | None = None
) -> Dataset:
    """Read a long coordinate table as experiments of ``n_subjects`` each.

    Parameters
    ----------
    path
        The TSV file.
    n_subjects
        Assumed sample size of every experiment (the tables have none).
    source
        Keep only rows of this database (e.g. ``"neuroquery_v1"``); the two sources overlap and
        must not be pooled.
    group
        Value for the ``group`` column (``"healthy"`` or ``"stroke"``), if known.
    """
    try:
        table = pd.read_csv(path, sep="\t", dtype={"pmid": str, "table_id": str})
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read coordinate table ({exc.__class__.__name__})", source=path
        ) from exc
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"missing columns {missing}; expected {list(_COLUMNS)}", source=path)
    table["source_line"] = range(2, len(table) + 2)
    if source is not None:
        table = table[table["source"] == source]
        if table.empty:
            raise InputError(f"no rows from source {source!r}", source=path)
    # Neurosynth marks spaces it could not guess as UNKNOWN; MNI is the safer reading.
    table["space"] = table["space"].where(table["space"].isin(["MNI", "TAL"]), "MNI")
    table["experiment_id"] = (
        table["source"] + ":" + table["pmid"] + ":" + table["table_id"].astype(str)
    )
    first = table.groupby("experiment_id", sort=False).first().reset_index()
    experiments = pd.DataFrame(
        {
            "experiment_id": first["experiment_id"],
            "study_id": first["pmid"],
            "cohort_id": first["source"] + ":" + first["pmid"],
            "n": n_subjects,
            "space": first["space"],
            "group": group,
            "label": first.get("table_label"),
            "source_file": str(path),
            "source_line": first["source_line"],
        }
    )
    foci = table[["experiment_id", "x", "y", "z", "source_line"]]
    return make_dataset(experiments, foci, name=Path(path).stem, source=str(path))
