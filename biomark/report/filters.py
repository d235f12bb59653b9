r"""Number formatting for the report: the only place numbers become text.

Every function is a plain ``value(s) -> str`` and is registered as a Jinja filter by
:func:`register_filters`, so templates never format or compute. The same functions build the
plain-language sentences of the first page (see :mod:`biomark.report.context`).

Conventions
-----------
- Negative numbers use the Unicode minus sign ``−`` (U+2212), never a hyphen.
- A number and its unit or percent sign are joined by a no-break space (U+00A0), so
  ``95 % CI`` never breaks across lines; tests spell it ``"95\\u00a0%"``.
- Missing values (``None`` or NaN) print as an em dash ``—``.
- Intervals read ``"1.1 to 9.3"``: a dash between two possibly negative numbers is ambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Final

MINUS: Final = "\u2212"
NBSP: Final = "\u00a0"
MISSING: Final = "\u2014"


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    return isinstance(value, float) and not math.isfinite(value)


def fmt_num(value: float | int | None, digits: int = 1) -> str:
    """Format a number with ``digits`` decimals and a true minus sign (``-5.23`` → ``"−5.2"``).

    Parameters
    ----------
    value
        The number; ``None`` or NaN gives ``"—"``.
    digits
        Decimal places (≥ 0).
    """
    if _is_missing(value):
        return MISSING
    text = f"{float(value):.{digits}f}"  # type: ignore[arg-type]
    if text.startswith("-"):
        # Rounding can leave "-0.0", which reads as a signed result; print it as zero.
        if float(text) == 0.0:
            return text[1:]
        return MINUS + text[1:]
    return text


def fmt_int(value: float | int | None) -> str:
    """Format a count with thousands separators (``10000`` → ``"10,000"``)."""
    if _is_missing(value):
        return MISSING
    text = f"{round(float(value)):,d}"  # type: ignore[arg-type]
    return MINUS + text[1:] if text.startswith("-") else text


def fmt_p(value: float | None) -> str:
    """Format a p-value: ``"p = 0.022"``, ``"p < 0.001"`` or ``"p > 0.999"`` (three decimals)."""
    if _is_missing(value):
        return f"p = {MISSING}"
    p = float(value)  # type: ignore[arg-type]
    if p < 0.0005:
        return "p < 0.001"
    if p > 0.9995:
        return "p > 0.999"
    return f"p = {p:.3f}"


def fmt_unit(value: float | None, unit: str = "mm", digits: int = 1) -> str:
    """A number with its unit: ``(5.24, "mm")`` → ``"5.2 mm"`` (no-break space)."""
    number = fmt_num(value, digits)
    return f"{number}{NBSP}{unit}" if unit and number != MISSING else number


def fmt_interval(low: float | None, high: float | None, digits: int = 1) -> str:
    """An interval's bounds: ``(1.1, 9.3)`` → ``"1.1 to 9.3"``."""
    return f"{fmt_num(low, digits)} to {fmt_num(high, digits)}"


def _interval_estimate(
    kind: str,
    estimate: float | None,
    low: float | None,
    high: float | None,
    unit: str,
    prob: float,
    digits: int,
) -> str:
    level = f"{fmt_num(100 * prob, 0)}{NBSP}%"
    bounds = fmt_interval(low, high, digits)
    return f"{fmt_unit(estimate, unit, digits)} ({level} {kind} {bounds})"


def fmt_ci(
    estimate: float | None,
    low: float | None,
    high: float | None,
    unit: str = "mm",
    prob: float = 0.95,
    digits: int = 1,
) -> str:
    """Estimate with a confidence interval: ``"5.2 mm (95 % CI 1.1 to 9.3)"``."""
    return _interval_estimate("CI", estimate, low, high, unit, prob, digits)


def fmt_hdi(
    estimate: float | None,
    low: float | None,
    high: float | None,
    unit: str = "mm",
    prob: float = 0.95,
    digits: int = 1,
) -> str:
    """Posterior estimate with its highest-density interval: ``"5.2 mm (95 % HDI 1.1 to 9.3)"``."""
    return _interval_estimate("HDI", estimate, low, high, unit, prob, digits)


def fmt_coord(xyz: Sequence[float | None] | None, digits: int = 0) -> str:
    """An MNI coordinate in mm: ``(-38, -22, 56)`` → ``"(−38, −22, 56)"``."""
    if xyz is None:
        return MISSING
    return "(" + ", ".join(fmt_num(v, digits) for v in xyz) + ")"


def fmt_pct(fraction: float | None, digits: int = 0) -> str:
    """A fraction as a percentage: ``0.683`` → ``"68 %"`` (no-break space)."""
    if _is_missing(fraction):
        return MISSING
    return f"{fmt_num(100.0 * float(fraction), digits)}{NBSP}%"  # type: ignore[arg-type]


def fmt_ratio(value: float | None, significant: int = 2) -> str:
    """A positive ratio to ``significant`` digits: ``3.06`` → ``"3.1"``, ``0.0074`` → ``"0.0074"``.

    Odds ratios span orders of magnitude; fixed decimals would print small bounds as ``0.00``.
    """
    if _is_missing(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    if v <= 0:
        return fmt_num(v, 2)
    decimals = max(0, significant - 1 - math.floor(math.log10(v)))
    return fmt_num(round(v, decimals), decimals)


def fmt_prob(fraction: float | None) -> str:
    """A probability as a percentage with one decimal, never claiming certainty.

    ``0.9995`` → ``"> 99.9 %"`` and ``0.0002`` → ``"< 0.1 %"``: a finite posterior sample
    cannot show a probability of exactly 100 % or 0 %.
    """
    if _is_missing(fraction):
        return MISSING
    f = float(fraction)  # type: ignore[arg-type]
    if f >= 0.9995:
        return f">{NBSP}99.9{NBSP}%"
    if f < 0.0005:
        return f"<{NBSP}0.1{NBSP}%"
    return fmt_pct(f, 1)


def fmt_text(value: object) -> str:
    """Any value as text, with ``None``/NaN as ``"—"`` and booleans as ``yes``/``no``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if _is_missing(value):
        return MISSING
    return str(value)


# Table cell kinds: the context names a column's kind, the template applies ``cell`` to it.
CELL_KINDS: Final[dict[str, Callable[[Any], str]]] = {
    "text": fmt_text,
    "int": fmt_int,
    "num0": lambda v: fmt_num(v, 0),
    "num1": lambda v: fmt_num(v, 1),
    "num2": lambda v: fmt_num(v, 2),
    "num3": lambda v: fmt_num(v, 3),
    "num4": lambda v: fmt_num(v, 4),
    "p": lambda v: MISSING if _is_missing(v) else fmt_p(v).removeprefix("p").lstrip(" ="),
    "mm": lambda v: fmt_unit(v, "mm", 1),
    "mm3": lambda v: MISSING if _is_missing(v) else f"{fmt_int(v)}{NBSP}mm³",
    "coord": fmt_coord,
    "interval": lambda v: MISSING if v is None else fmt_interval(v[0], v[1], 1),
    "pct": lambda v: fmt_pct(v, 0),
    "pct1": lambda v: fmt_pct(v, 1),
    "prob": fmt_prob,
    "ratio": fmt_ratio,
}


def fmt_cell(value: object, kind: str = "text") -> str:
    """Format one table cell by its column ``kind`` (a key of :data:`CELL_KINDS`).

    Raises
    ------
    KeyError
        For an unknown kind (the context validator rejects those before rendering).
    """
    return CELL_KINDS[kind](value)


FILTERS: Final[dict[str, Callable[..., str]]] = {
    "num": fmt_num,
    "int": fmt_int,
    "p": fmt_p,
    "unit": fmt_unit,
    "interval": fmt_interval,
    "ci": fmt_ci,
    "hdi": fmt_hdi,
    "coord": fmt_coord,
    "pct": fmt_pct,
    "prob": fmt_prob,
    "ratio": fmt_ratio,
    "text": fmt_text,
    "cell": fmt_cell,
}


def register_filters(env: Any) -> None:
    """Add every report filter to a :class:`jinja2.Environment` (``env.filters``)."""
    env.filters.update(FILTERS)
