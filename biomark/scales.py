"""The eight clinical outcome scales and their good-recovery cut-offs (SCIENCE.md §1).

Each scale has a valid score range and a rule for *good* recovery. Scores outside the range and
unknown scale names are input errors, never a silent "poor".
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from biomark.errors import InputError


@dataclass(frozen=True, slots=True)
class Scale:
    """A clinical scale: its range and the comparison that means good outcome."""

    key: str
    name: str
    low: float
    high: float
    op: str  # one of "<", "<=", ">", ">="
    cutoff: float
    aliases: tuple[str, ...] = ()

    def is_good(self, score: float) -> bool:
        """Whether ``score`` on this scale counts as good recovery."""
        return bool(_OPS[self.op](score, self.cutoff))

    @property
    def rule(self) -> str:
        """The good-outcome rule as text, e.g. ``"NIHSS < 3"``."""
        return f"{self.key} {self.op.replace('<=', '≤').replace('>=', '≥')} {self.cutoff:g}"


_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

OUTCOME_SCALES: Final[dict[str, Scale]] = {
    s.key: s
    for s in (
        Scale("NIHSS", "NIH Stroke Scale", 0, 42, "<", 3, ("nih stroke scale",)),
        Scale(
            "FM-UL",
            "Fugl-Meyer upper limb",
            0,
            66,
            ">",
            40,
            ("fugl-meyer", "fugl-meyer upper limb", "fma", "fma-ue", "fm-ue", "fmul"),
        ),
        Scale("BI", "Barthel Index", 0, 100, ">", 90, ("barthel", "barthel index")),
        Scale("ESS", "European Stroke Scale", 0, 100, ">=", 85, ("european stroke scale",)),
        Scale(
            "MI-UL",
            "Motricity Index upper limb",
            0,
            100,
            ">",
            80,
            ("motricity index", "motricity", "mi"),
        ),
        Scale("ASHWORTH", "Ashworth scale", 0, 4, "<=", 2, ("ashworth", "mas-ashworth")),
        Scale(
            "UL-MAS",
            "Upper-limb Motor Assessment Scale",
            0,
            18,
            ">",
            13,
            ("motor assessment scale", "mas-ul", "mas"),
        ),
        Scale("MRS", "modified Rankin Scale", 0, 6, "<=", 2, ("mrs", "rankin", "modified rankin")),
    )
}

_LOOKUP: Final[dict[str, str]] = {
    alias: s.key
    for s in OUTCOME_SCALES.values()
    for alias in (s.key.lower(), s.name.lower(), *s.aliases)
}


def canonical_scale(name: object) -> str | None:
    """The canonical key of a scale name or alias (case-insensitive), or ``None`` if unknown."""
    if name is None or name is pd.NA or (isinstance(name, float) and name != name):
        return None
    return _LOOKUP.get(str(name).strip().lower())


def validate_outcome(scale: object, score: object, **where: Any) -> None:
    """Raise :class:`InputError` (with ``where``) for an unknown scale or out-of-range score."""
    has_scale = not pd.isna(scale) if scale is not None else False
    has_score = not pd.isna(score) if score is not None else False
    if has_score and not has_scale:
        raise InputError("outcome_score given without outcome_scale", **where)
    if not has_scale:
        return
    key = canonical_scale(scale)
    if key is None:
        known = ", ".join(OUTCOME_SCALES)
        raise InputError(f"unknown outcome scale {scale!r}; expected one of {known}", **where)
    if has_score:
        s = OUTCOME_SCALES[key]
        value = float(score)  # type: ignore[arg-type]
        if not s.low <= value <= s.high:
            raise InputError(
                f"{s.key} score {value:g} is outside the scale's range {s.low:g}–{s.high:g}",
                **where,
            )


def recode_outcome(scale: object, score: object) -> str | None:
    """``"good"``, ``"poor"`` or ``None`` (no scale or score) for one experiment."""
    key = canonical_scale(scale)
    if key is None or score is None or pd.isna(score):
        return None
    return "good" if OUTCOME_SCALES[key].is_good(float(score)) else "poor"  # type: ignore[arg-type]
