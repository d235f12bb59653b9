"""The report context: a plain, JSON-serialisable dict that the templates only read.

Results are turned into this dict (by the builders at the end of this module and by the
pipeline), validated with :func:`validate_context`, and rendered by
:func:`biomark.report.render.render_html`. Nothing in it is computed by a template: every sentence
is written here and every number is formatted by a filter named in the table's column ``kind``.

Schema (version 1)
------------------
Top level::

    schema_version  int, 1
    title, subtitle str
    generated       str   ISO date/time the results were made
    simulated       bool  True ⇒ every page carries ``banner``
    banner          str   "SIMULATED DATA — not a clinical result" when simulated, else ""
    summary         {question: str, findings: [FINDING], evidence_note: str, caveats: [str]}
    flow            {n_found: int, n_included: int, exclusions: [{reason: str, n: int}],
                     not_run: [{what: str, why: str}], audit: TABLE, left_out: TABLE|None,
                     analyses: TABLE}
    ale             [ALE]                 one per ALE analysis or contrast (may be empty)
    shift           [SHIFT]               one per region of interest (may be empty)
    methods         {paragraphs: [str], references: [{key: str, text: str}],
                     atlases: [{name: str, source: str, licence: str}]}
    provenance      {biomark_version: str, seed: int, command: str,
                     parameters: [{name: str, value: SCALAR}], software: [{name, version: str}],
                     inputs: [{name: str, sha256: str}]}

Building blocks::

    FINDING  {headline: str, detail: str, evidence: "strong"|"moderate"|"weak"|"inconclusive"}
    TABLE    {caption: str, columns: [{key: str, label: str, kind: KIND}], rows: [{key: CELL}]}
             KIND is a key of biomark.report.filters.CELL_KINDS (text, int, num0–num4, p, mm,
             mm3, coord, interval, pct, pct1, prob, ratio); CELL is str, int, float, bool,
             None, [x, y, z] for coord or [low, high] for interval.
             Every row has exactly the column keys.
    FIGURE   {title: str, caption: str, alt: str, src: "data:image/png;base64,…"}
    WARNING  {level: "warning"|"note", text: str}
    ALE      {id: str, title: str, kind: "main"|"contrast"|"conjunction", description: str,
              n_experiments: int, n_subjects: int, n_foci: int, correction: str,
              warnings: [WARNING], figures: [FIGURE], clusters: TABLE, jackknife: TABLE|None}
    SHIFT    {id: str, title: str, description: str, comparison: TABLE, forest: FIGURE|None,
              densities: FIGURE|None, outcome: OUTCOME|None, diagnostics: DIAGNOSTICS,
              sensitivity: TABLE|None, notes: [str]}
    OUTCOME  {text: str, table: TABLE|None, figure: FIGURE|None}
    DIAGNOSTICS {ok: bool, message: str, divergences: int, table: TABLE}

``None`` stands for "not available"; NaN is not allowed (JSON has none) — builders map it to None.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from biomark.ale.diagnostics import MIN_RECOMMENDED_EXPERIMENTS
from biomark.errors import InputError
from biomark.report.filters import CELL_KINDS, NBSP, fmt_hdi, fmt_num, fmt_prob
from biomark.shift.contract import ESS_MIN, RHAT_MAX

SCHEMA_VERSION: Final = 1
BANNER_TEXT: Final = "SIMULATED DATA \u2014 not a clinical result"
PNG_PREFIX: Final = "data:image/png;base64,"
EVIDENCE: Final = ("strong", "moderate", "weak", "inconclusive")
_DIRECTIONS: Final = {
    "x": ("lateral", "medial"),
    "y": ("caudal", "rostral"),
    "z": ("ventral", "dorsal"),
}


@dataclass(frozen=True)
class _Opt:
    spec: Any


@dataclass(frozen=True)
class _OneOf:
    values: tuple[str, ...]


_SCALAR = (str, int, float, bool, type(None))
_STR_LIST = [str]
_TABLE = {"caption": str, "columns": [{"key": str, "label": str, "kind": str}], "rows": [dict]}
_FIGURE = {"title": str, "caption": str, "alt": str, "src": str}
_WARNING = {"level": _OneOf(("warning", "note")), "text": str}
_ALE = {
    "id": str,
    "title": str,
    "kind": _OneOf(("main", "contrast", "conjunction")),
    "description": str,
    "n_experiments": int,
    "n_subjects": int,
    "n_foci": int,
    "correction": str,
    "warnings": [_WARNING],
    "figures": [_FIGURE],
    "clusters": _TABLE,
    "jackknife": _Opt(_TABLE),
}
_SHIFT = {
    "id": str,
    "title": str,
    "description": str,
    "comparison": _TABLE,
    "forest": _Opt(_FIGURE),
    "densities": _Opt(_FIGURE),
    "outcome": _Opt({"text": str, "table": _Opt(_TABLE), "figure": _Opt(_FIGURE)}),
    "diagnostics": {"ok": bool, "message": str, "divergences": int, "table": _TABLE},
    "sensitivity": _Opt(_TABLE),
    "notes": _STR_LIST,
}
_POWER = {
    "title": str,
    "text": str,
    "caveat": str,
    "table": _TABLE,
    "figure": _FIGURE,
    "methods": str,
}
SCHEMA: Final[dict[str, Any]] = {
    "schema_version": int,
    "title": str,
    "subtitle": str,
    "generated": str,
    "simulated": bool,
    "banner": str,
    "summary": {
        "question": str,
        "findings": [{"headline": str, "detail": str, "evidence": _OneOf(EVIDENCE)}],
        "evidence_note": str,
        "caveats": _STR_LIST,
    },
    "flow": {
        "n_found": int,
        "n_included": int,
        "exclusions": [{"reason": str, "n": int}],
        "not_run": [{"what": str, "why": str}],
        "audit": _TABLE,
        "left_out": _Opt(_TABLE),
        "analyses": _TABLE,
    },
    "ale": [_ALE],
    "shift": [_SHIFT],
    "power": _Opt(_POWER),
    "methods": {
        "paragraphs": _STR_LIST,
        "references": [{"key": str, "text": str}],
        "atlases": [{"name": str, "source": str, "licence": str}],
    },
    "provenance": {
        "biomark_version": str,
        "seed": int,
        "command": str,
        "parameters": [{"name": str, "value": _SCALAR}],
        "software": [{"name": str, "version": str}],
        "inputs": [{"name": str, "sha256": str}],
    },
}


def _fail(path: str, what: str) -> None:
    raise InputError(what, source="report context", record=path)


def _check(value: Any, spec: Any, path: str) -> None:
    if isinstance(spec, _Opt):
        if value is not None:
            _check(value, spec.spec, path)
    elif isinstance(spec, _OneOf):
        if value not in spec.values:
            _fail(path, f"expected one of {list(spec.values)}, got {value!r}")
    elif isinstance(spec, dict):
        if not isinstance(value, dict):
            _fail(path, f"expected an object, got {type(value).__name__}")
        missing = sorted(set(spec) - set(value))
        extra = sorted(set(value) - set(spec))
        if missing or extra:
            _fail(path, f"missing keys {missing}, unknown keys {extra}")
        for key, sub in spec.items():
            _check(value[key], sub, f"{path}.{key}")
        if spec is _TABLE:
            _check_table(value, path)
        if spec is _FIGURE and not value["src"].startswith(PNG_PREFIX):
            _fail(f"{path}.src", "a figure must be an embedded PNG data URI")
    elif isinstance(spec, list):
        if not isinstance(value, list):
            _fail(path, f"expected a list, got {type(value).__name__}")
        for i, item in enumerate(value):
            _check(item, spec[0], f"{path}[{i}]")
    elif spec is int and isinstance(value, bool):
        _fail(path, "expected an integer, got a boolean")
    elif not isinstance(value, spec):
        _fail(path, f"expected {spec}, got {type(value).__name__}")


def _is_cell(value: Any) -> bool:
    if isinstance(value, list):
        return len(value) in (2, 3) and all(isinstance(v, int | float | None) for v in value)
    return isinstance(value, _SCALAR)


def _check_table(table: Mapping[str, Any], path: str) -> None:
    keys = [c["key"] for c in table["columns"]]
    for col in table["columns"]:
        if col["kind"] not in CELL_KINDS:
            _fail(f"{path}.columns", f"unknown column kind {col['kind']!r}")
    for i, row in enumerate(table["rows"]):
        if sorted(row) != sorted(keys):
            _fail(f"{path}.rows[{i}]", f"row keys {sorted(row)} differ from columns {keys}")
        bad = [k for k, v in row.items() if not _is_cell(v)]
        if bad:
            _fail(f"{path}.rows[{i}]", f"cells {bad} are not scalars, [x, y, z] or [low, high]")


def validate_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Check a report context against :data:`SCHEMA` and that it is strict JSON.

    Returns
    -------
    dict
        The same context (as a plain dict), so calls can be chained.

    Raises
    ------
    InputError
        Naming the first offending key path, e.g. ``summary.findings[0].evidence``.
    """
    ctx = dict(context)
    _check(ctx, SCHEMA, "context")
    if ctx["schema_version"] != SCHEMA_VERSION:
        _fail("context.schema_version", f"expected {SCHEMA_VERSION}")
    if ctx["simulated"] and ctx["banner"] != BANNER_TEXT:
        _fail("context.banner", f"simulated data need the banner {BANNER_TEXT!r}")
    try:
        json.dumps(ctx, allow_nan=False)
    except ValueError as err:
        _fail("context", f"not strict JSON (NaN or infinity?): {err}")
    return ctx


# ---------------------------------------------------------------- builders from plain data


def plain(value: Any) -> Any:
    """A JSON-safe Python value: numpy scalars → int/float/bool, NaN/inf → None, arrays → lists."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def figure(png: bytes, *, title: str, caption: str, alt: str = "") -> dict[str, str]:
    """A FIGURE entry embedding ``png`` as a base64 data URI (``alt`` defaults to ``title``)."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise InputError("figure bytes are not a PNG", source="report context", record=title)
    src = PNG_PREFIX + base64.b64encode(png).decode("ascii")
    return {"title": title, "caption": caption, "alt": alt or title, "src": src}


def table(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[tuple[str, str, str]],
    caption: str = "",
) -> dict[str, Any]:
    """A TABLE from row records (e.g. ``DataFrame.to_dict("records")``).

    Parameters
    ----------
    records
        One mapping per row; only the keys named in ``columns`` are kept.
    columns
        ``(key, label, kind)`` per column, kind from :data:`biomark.report.filters.CELL_KINDS`.
    caption
        Table caption.
    """
    cols = [{"key": k, "label": label, "kind": kind} for k, label, kind in columns]
    rows = [{k: plain(rec.get(k)) for k, _, _ in columns} for rec in records]
    return {"caption": caption, "columns": cols, "rows": rows}


def banner(simulated: bool) -> str:
    """The banner text every page carries: :data:`BANNER_TEXT` for simulated data, else ``""``."""
    return BANNER_TEXT if simulated else ""


def ale_warnings(
    n_experiments: int, correction: str, *, jackknife: bool = True
) -> list[dict[str, str]]:
    """The WARNING entries an ALE analysis needs: too few experiments, a liberal FDR threshold.

    ``jackknife`` says whether the section's cluster table has a jackknife column to point to.
    """
    out = []
    if n_experiments < MIN_RECOMMENDED_EXPERIMENTS:
        hint = " and read the jackknife column" if jackknife else ""
        out.append(
            {
                "level": "warning",
                "text": f"Only {n_experiments} experiments: ALE needs about 17\u201320 for results "
                "that no single experiment drives (Eickhoff 2016). Treat these clusters as "
                f"provisional{hint}.",
            }
        )
    if "fdr" in correction.lower():
        out.append(
            {
                "level": "warning",
                "text": "False-discovery-rate thresholds are liberal for ALE (Eickhoff 2016; "
                "GingerALE \u2264 2.3.2 erratum 2017); cluster-level FWE is the recommended "
                "correction.",
            }
        )
    return out


def evidence_strength(prob_direction: float, interval_excludes_zero: bool) -> str:
    """Grade evidence for a directional effect from the posterior probability of its direction.

    ``strong``: P ≥ 0.99 and the 95 % interval excludes zero; ``moderate``: P ≥ 0.95 and the
    interval excludes zero; ``weak``: P ≥ 0.80; otherwise ``inconclusive``. The grading is
    printed in the report. The interval is the one the finding prints, so no finding above
    ``weak`` sits beside an interval that reaches no effect.
    """
    if prob_direction >= 0.99 and interval_excludes_zero:
        return "strong"
    if prob_direction >= 0.95 and interval_excludes_zero:
        return "moderate"
    if prob_direction >= 0.80:
        return "weak"
    return "inconclusive"


def shift_finding(
    *,
    region: str,
    comparison: str,
    axis: str,
    shift_mm: float,
    low_mm: float,
    high_mm: float,
    prob_direction: float,
    prob: float = 0.95,
) -> dict[str, str]:
    """A plain-language FINDING for a peak shift along one axis (Bayesian estimate, HDI).

    The shift is stated as a positive distance in its direction: a z-shift of −5.2 mm
    (HDI −9.3 to −1.1) reads "5.2 mm more ventral (95 % HDI 1.1 to 9.3)".
    """
    negative, positive = _DIRECTIONS[axis]
    sign = -1.0 if shift_mm < 0 else 1.0
    direction = negative if sign < 0 else positive
    low, high = sorted((sign * low_mm, sign * high_mm))
    excludes_zero = low > 0
    headline = (
        f"{region} activity peaks lie {fmt_num(abs(shift_mm))}{NBSP}mm more {direction} "
        f"in {comparison}."
    )
    detail = (
        f"Shift {fmt_hdi(abs(shift_mm), low, high, prob=prob)} {direction}; probability that "
        f"the shift is {direction}: {fmt_prob(prob_direction)}."
    )
    evidence = evidence_strength(prob_direction, excludes_zero)
    return {"headline": headline, "detail": detail, "evidence": evidence}


def diagnostics_block(
    rows: Sequence[Mapping[str, Any]],
    divergences: int,
    *,
    r_hat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
) -> dict[str, Any]:
    """DIAGNOSTICS from per-parameter rows (``parameter``, ``r_hat``, ``ess_bulk``, ``ess_tail``).

    ``ok`` is False when any R̂ > ``r_hat_max``, any ESS < ``ess_min`` or ``divergences`` > 0, and
    ``message`` then says in plain words which check failed and what it means for the estimates.
    """
    problems = []
    r_hats = [r["r_hat"] for r in rows if r["r_hat"] is not None]
    ess = [min(r["ess_bulk"], r["ess_tail"]) for r in rows]
    if r_hats and max(r_hats) > r_hat_max:
        problems.append(f"R\u0302 up to {fmt_num(max(r_hats), 3)} (should be \u2264 {r_hat_max})")
    if ess and min(ess) < ess_min:
        problems.append(f"effective sample size down to {fmt_num(min(ess), 0)} (\u2265 {ess_min})")
    if divergences > 0:
        problems.append(f"{divergences} divergent transitions (should be 0)")
    if problems:
        message = (
            "The sampler did not converge cleanly: "
            + "; ".join(problems)
            + ". The Bayesian estimates below may be wrong; do not rely on them."
        )
    else:
        message = (
            f"All parameters have R\u0302 \u2264 {r_hat_max}, bulk and tail ESS \u2265 {ess_min}, "
            "and there were no divergent transitions."
        )
    diag_table = table(
        rows,
        [
            ("parameter", "Parameter", "text"),
            ("r_hat", "R\u0302", "num3"),
            ("ess_bulk", "ESS bulk", "int"),
            ("ess_tail", "ESS tail", "int"),
        ],
        caption="Sampler diagnostics per parameter.",
    )
    return {
        "ok": not problems,
        "message": message,
        "divergences": int(divergences),
        "table": diag_table,
    }
