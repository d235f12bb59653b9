"""Load and save a dataset in any of biomark's formats, chosen by the path.

=============================  ==========  ===================================================
path                           format      reader / writer
=============================  ==========  ===================================================
``*.txt``                      ``sleuth``  :mod:`biomark.io.sleuth` (sidecar ``<stem>.metadata.tsv``
                                           read when present, always written)
``*.json``                     ``nimare``  :mod:`biomark.io.nimare_json`
a folder                       ``tsv``     :mod:`biomark.io.tables` (``experiments.tsv`` and
                                           ``foci.tsv``)
=============================  ==========  ===================================================

:func:`save_dataset` writes into a temporary folder beside the target and moves each finished
file into place with :meth:`pathlib.Path.replace` (``os.replace``), so a failed save (invalid
dataset, a space Sleuth cannot hold, a full disk) leaves the target as it was.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

from biomark.errors import InputError
from biomark.io.nimare_json import read_nimare_json, write_nimare_json
from biomark.io.sleuth import read_sleuth, sidecar_path, write_sleuth
from biomark.io.tables import read_tables, write_tables
from biomark.studies import Dataset

Format = Literal["sleuth", "nimare", "tsv"]
FORMATS: Final[tuple[Format, ...]] = ("sleuth", "nimare", "tsv")
_SUFFIX: Final[dict[str, Format]] = {".txt": "sleuth", ".json": "nimare"}
_WRITERS: Final[dict[str, Callable[[Dataset, Path], list[Path]]]] = {
    "sleuth": write_sleuth,
    "nimare": write_nimare_json,
    "tsv": write_tables,
}
_EXPECTED: Final = (
    "expected a Sleuth .txt file, a NiMARE .json file or a folder with experiments.tsv and foci.tsv"
)


def load_dataset(path: Path) -> Dataset:
    """Read a dataset from a Sleuth ``.txt`` file, a NiMARE ``.json`` file or a TSV folder.

    A Sleuth file's sidecar ``<stem>.metadata.tsv`` is read when it exists beside it.

    Raises
    ------
    InputError
        The path does not exist, has an unknown extension, or its content is invalid.
    """
    path = Path(path)
    if path.is_dir():
        return read_tables(path)
    if not path.exists():
        raise InputError(f"no such file or folder; {_EXPECTED}", source=path)
    fmt = _SUFFIX.get(path.suffix.lower())
    if fmt == "sleuth":
        side = sidecar_path(path)
        return read_sleuth(path, side if side.is_file() else None)
    if fmt == "nimare":
        return read_nimare_json(path)
    raise InputError(
        f"unknown dataset format {path.suffix or '(no extension)'!r}; {_EXPECTED}", source=path
    )


def format_of(path: Path) -> Format:
    """The format :func:`save_dataset` infers from ``path``: by suffix, else a TSV folder."""
    return _SUFFIX.get(Path(path).suffix.lower(), "tsv")


def save_dataset(dataset: Dataset, path: Path, fmt: Format | None = None) -> list[Path]:
    """Write ``dataset`` to ``path`` atomically; return the paths written.

    Parameters
    ----------
    dataset
        The dataset to write.
    path
        A ``.txt`` file (Sleuth; its sidecar goes beside it), a ``.json`` file (NiMARE) or a
        folder (TSV pair).
    fmt
        ``"sleuth"``, ``"nimare"`` or ``"tsv"``; inferred from ``path`` when ``None``.

    Raises
    ------
    InputError
        Unknown format, a missing parent folder, a path of the wrong kind, or a dataset the
        format cannot hold. Nothing is written then.
    """
    path = Path(path)
    fmt = fmt or format_of(path)
    if fmt not in _WRITERS:
        raise InputError(
            f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}", source=path
        )
    if not path.parent.is_dir():
        raise InputError("the folder to write into does not exist", source=path.parent)
    if fmt == "tsv" and path.exists() and not path.is_dir():
        raise InputError("expected a folder for the TSV format, found a file", source=path)
    if fmt != "tsv" and path.is_dir():
        raise InputError(f"expected a file for the {fmt} format, found a folder", source=path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
        staged = _WRITERS[fmt](dataset, Path(tmp) / path.name)
        written = []
        for item in staged:
            dest = path.parent / item.relative_to(tmp)
            dest.parent.mkdir(exist_ok=True)
            item.replace(dest)
            written.append(dest)
    return written
