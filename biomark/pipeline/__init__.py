"""The only package that wires files, study rules, analyses and reports together.

The CLI calls one function here per command; each returns plain data (tables, paths) for the CLI
to print, and raises :class:`biomark.errors.BiomarkError` for anything the user can fix.
"""

from biomark.pipeline.data import (
    ValidationSummary,
    convert_data,
    families,
    load,
    simulate,
    validate_data,
)
from biomark.pipeline.staging import staged_output

__all__ = [
    "ValidationSummary",
    "convert_data",
    "families",
    "load",
    "simulate",
    "staged_output",
    "validate_data",
]
