"""Exceptions that biomark raises on purpose.

Every error a user can cause is an :class:`InputError`: it names the file, the line or record, and
what was expected, so that the CLI can print it as one line and exit with code 2.
"""

from __future__ import annotations

from pathlib import Path


class BiomarkError(Exception):
    """Base class of the errors biomark raises deliberately."""


class InputError(BiomarkError):
    """Bad user input: a file, a line or record in it, and what was expected there.

    Parameters
    ----------
    what
        What is wrong and what was expected, e.g. ``"expected 3 coordinates (x y z), got 2"``.
    source
        The file (or other named input) the problem is in.
    line
        1-based line number in ``source``, when known.
    record
        A record name (experiment, column, key) when there is no line number.
    """

    def __init__(
        self,
        what: str,
        *,
        source: str | Path | None = None,
        line: int | None = None,
        record: str | None = None,
    ) -> None:
        self.what = what
        self.source = str(source) if source is not None else None
        self.line = line
        self.record = record
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """Return the message as ``file:line: record: what`` on a single line."""
        where = self.source or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.record) if p]
        prefix = ": ".join(parts)
        text = f"{prefix}: {self.what}" if prefix else self.what
        return " ".join(text.split())


class ConvergenceError(BiomarkError):
    """A sampler run failed its diagnostics badly enough that its estimates must not be used."""


class RenderError(BiomarkError):
    """A report could not be rendered (template, figure or PDF stage)."""
