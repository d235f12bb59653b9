"""Filters against hand-written strings (U+2212 minus, U+00A0 no-break space)."""

from __future__ import annotations

import jinja2
import pytest

from biomark.report import filters as f

NB = "\u00a0"


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (-5.23, 1, "\u22125.2"),
        (5.26, 1, "5.3"),
        (3, 0, "3"),
        (-0.04, 1, "0.0"),  # rounds to zero: no signed zero
        (0.02134, 4, "0.0213"),
        (None, 1, "\u2014"),
        (float("nan"), 1, "\u2014"),
        (float("inf"), 1, "\u2014"),
    ],
)
def test_fmt_num(value: float | None, digits: int, expected: str) -> None:
    assert f.fmt_num(value, digits) == expected


def test_fmt_int() -> None:
    assert f.fmt_int(10000) == "10,000"
    assert f.fmt_int(-1234) == "\u22121,234"
    assert f.fmt_int(None) == "\u2014"


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.022, "p = 0.022"),
        (0.038, "p = 0.038"),
        (0.35, "p = 0.350"),
        (0.0004, "p < 0.001"),
        (1e-12, "p < 0.001"),
        (0.001, "p = 0.001"),
        (0.9999, "p > 0.999"),
        (1.0, "p > 0.999"),
        (None, "p = \u2014"),
    ],
)
def test_fmt_p(p: float | None, expected: str) -> None:
    assert f.fmt_p(p) == expected


def test_fmt_ci_and_hdi() -> None:
    assert f.fmt_ci(5.2, 1.1, 9.3) == f"5.2{NB}mm (95{NB}% CI 1.1 to 9.3)"
    assert f.fmt_ci(-5.2, -9.3, -1.1) == f"\u22125.2{NB}mm (95{NB}% CI \u22129.3 to \u22121.1)"
    assert f.fmt_ci(0.8, 0.1, 1.5, unit="", prob=0.9, digits=2) == f"0.80 (90{NB}% CI 0.10 to 1.50)"
    assert f.fmt_hdi(6.4, 2.0, 10.9) == f"6.4{NB}mm (95{NB}% HDI 2.0 to 10.9)"


def test_fmt_coord_and_pct() -> None:
    assert f.fmt_coord((-38, -22, 56)) == "(\u221238, \u221222, 56)"
    assert f.fmt_coord([-37.6, 0.4, 12.7]) == "(\u221238, 0, 13)"
    assert f.fmt_coord(None) == "\u2014"
    assert f.fmt_pct(0.683) == f"68{NB}%"
    assert f.fmt_pct(0.9936, 1) == f"99.4{NB}%"
    assert f.fmt_unit(4.26, "mm") == f"4.3{NB}mm"
    assert f.fmt_unit(12.0, "mm", 0) == f"12{NB}mm"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (0.0001, "p", "< 0.001"),
        (0.022, "p", "0.022"),
        ([1.1, 9.3], "interval", "1.1 to 9.3"),
        ([-9.1, None], "interval", "\u22129.1 to \u2014"),
        (1240, "mm3", f"1,240{NB}mm\u00b3"),
        (-5.2, "mm", f"\u22125.2{NB}mm"),
        (True, "text", "yes"),
        (None, "text", "\u2014"),
        ([-4, -10, 60], "coord", "(\u22124, \u221210, 60)"),
        (0.984, "pct1", f"98.4{NB}%"),
        (1.0342, "num3", "1.034"),
    ],
)
def test_fmt_cell(value: object, kind: str, expected: str) -> None:
    assert f.fmt_cell(value, kind) == expected


def test_filters_in_jinja() -> None:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    f.register_filters(env)
    out = env.from_string("{{ p | p }}; {{ e | ci(lo, hi) }}; {{ xyz | coord }}").render(
        p=0.0004, e=5.2, lo=1.1, hi=9.3, xyz=[-38, -22, 56]
    )
    assert out == f"p &lt; 0.001; 5.2{NB}mm (95{NB}% CI 1.1 to 9.3); (\u221238, \u221222, 56)"


@pytest.mark.parametrize(
    ("value", "text"),
    [(3.06, "3.1"), (21.47, "21"), (0.0074, "0.0074"), (0.0027656, "0.0028"), (1.0, "1.0"),
     (149.6, "150"), (None, "—")],
)  # fmt: skip
def test_ratio_keeps_two_significant_digits(value, text):
    from biomark.report.filters import fmt_ratio

    assert fmt_ratio(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.97075, "97.1\u00a0%"), (0.9995, ">\u00a099.9\u00a0%"), (1.0, ">\u00a099.9\u00a0%"),
     (0.0004, "<\u00a00.1\u00a0%"), (0.5, "50.0\u00a0%")],
)  # fmt: skip
def test_probability_never_prints_certainty(value, text):
    from biomark.report.filters import fmt_prob

    assert fmt_prob(value) == text
