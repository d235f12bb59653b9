"""The one place that finds biomark's ``data/`` and ``templates/`` folders.

From a checkout they sit at the repository root; in an installed wheel they are packaged as
``biomark/data`` and ``biomark/templates`` (hatch ``force-include``). Both layouts resolve here.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _resource_dir(name: str) -> Path:
    installed = _PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"biomark resource folder {name!r} not found beside {_PACKAGE_DIR}")


def data_dir() -> Path:
    """The packaged ``data/`` folder (embedded dataset, mask, real tables)."""
    return _resource_dir("data")


def templates_dir() -> Path:
    """The packaged ``templates/`` folder (Jinja2 templates and report CSS)."""
    return _resource_dir("templates")


def data_path(*parts: str) -> Path:
    """A path inside ``data/``; raises :class:`FileNotFoundError` when it does not exist."""
    path = data_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"packaged data file missing: {path}")
    return path


def embedded_dataset_dir() -> Path:
    """The folder of the embedded (simulated) stroke dataset."""
    return data_path("embedded")
