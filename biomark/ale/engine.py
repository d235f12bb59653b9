"""Choice between a compiled (numba) hot loop and its numpy reference implementation."""

from __future__ import annotations

import importlib
from typing import Literal

Engine = Literal["auto", "numba", "numpy"]


def resolve_engine(engine: Engine, kernel_module: str) -> Literal["numba", "numpy"]:
    """The engine ``"auto"`` stands for: numba if ``kernel_module`` imports, else numpy."""
    if engine not in ("auto", "numba", "numpy"):
        raise ValueError(f"engine must be 'auto', 'numba' or 'numpy', got {engine!r}")
    if engine != "auto":
        return engine
    try:
        importlib.import_module(kernel_module)
    except ImportError:
        return "numpy"
    return "numba"
