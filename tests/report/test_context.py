"""The context schema: the stored sample validates, malformed contexts are named precisely."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from biomark.errors import InputError
from biomark.report import context as C
from tests.report.sample import sample_context, tiny_png

NB = "\u00a0"


def test_stored_sample_validates(sample_ctx: dict[str, Any]) -> None:
    C.validate_context(sample_ctx)


def test_stored_sample_is_up_to_date(sample_ctx: dict[str, Any]) -> None:
    # Regenerate with `python -m tests.report.sample --json` after changing the sample builder.
    assert sample_ctx == sample_context()


def _expect_error(ctx: dict[str, Any], record: str) -> InputError:
    with pytest.raises(InputError) as info:
        C.validate_context(ctx)
    assert info.value.record == record
    return info.value


def test_missing_and_unknown_keys(sample_ctx: dict[str, Any]) -> None:
    del sample_ctx["summary"]["caveats"]
    err = _expect_error(sample_ctx, "context.summary")
    assert "caveats" in err.what


def test_unknown_key_rejected(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["flow"]["n_excluded"] = 4
    _expect_error(sample_ctx, "context.flow")


def test_bad_evidence_grade(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["summary"]["findings"][1]["evidence"] = "convincing"
    _expect_error(sample_ctx, "context.summary.findings[1].evidence")


def test_bool_is_not_an_int(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["flow"]["n_found"] = True
    _expect_error(sample_ctx, "context.flow.n_found")


def test_nan_cell_is_not_json(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["ale"][0]["clusters"]["rows"][0]["z"] = math.nan
    err = _expect_error(sample_ctx, "context")
    assert "JSON" in err.what


def test_row_keys_must_match_columns(sample_ctx: dict[str, Any]) -> None:
    del sample_ctx["flow"]["analyses"]["rows"][2]["foci"]
    _expect_error(sample_ctx, "context.flow.analyses.rows[2]")


def test_unknown_column_kind(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["flow"]["analyses"]["columns"][1]["kind"] = "float"
    _expect_error(sample_ctx, "context.flow.analyses.columns")


def test_figure_must_be_embedded_png(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["ale"][0]["figures"][0]["src"] = "https://example.org/x.png"
    _expect_error(sample_ctx, "context.ale[0].figures[0].src")


def test_simulated_needs_banner(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["banner"] = ""
    _expect_error(sample_ctx, "context.banner")


def test_optional_sections_may_be_none_or_empty(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["shift"][0]["outcome"] = None
    sample_ctx["shift"][0]["forest"] = None
    sample_ctx["ale"] = []
    C.validate_context(sample_ctx)


def test_table_builder_makes_plain_json_values() -> None:
    records = [
        {
            "a": np.float64("nan"),
            "b": np.int64(3),
            "c": np.array([-38.0, -22.0, 56.0]),
            "d": "x",
            "ignored": 1,
        }
    ]
    t = C.table(
        records,
        [("a", "A", "num1"), ("b", "B", "int"), ("c", "C", "coord"), ("d", "D", "text")],
        caption="cap",
    )
    assert t["rows"] == [{"a": None, "b": 3, "c": [-38.0, -22.0, 56.0], "d": "x"}]
    assert type(t["rows"][0]["b"]) is int
    assert t["columns"][2] == {"key": "c", "label": "C", "kind": "coord"}


def test_figure_builder() -> None:
    fig = C.figure(tiny_png(), title="T", caption="c")
    assert fig["src"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert fig["alt"] == "T"
    with pytest.raises(InputError):
        C.figure(b"GIF89a....", title="T", caption="c")


def test_ale_warnings() -> None:
    few = C.ale_warnings(9, "cluster-level FWE")
    assert len(few) == 1 and "Only 9 experiments" in few[0]["text"] and "17" in few[0]["text"]
    assert C.ale_warnings(17, "cluster-level FWE") == []
    fdr = C.ale_warnings(25, "FDR (pID) q < 0.05")
    assert len(fdr) == 1 and "liberal" in fdr[0]["text"]
    assert len(C.ale_warnings(5, "fdr")) == 2


@pytest.mark.parametrize(
    ("prob", "excludes", "grade"),
    [
        (0.995, True, "strong"),
        (0.995, False, "weak"),  # an interval reaching 0 beside it caps the grade
        (0.96, False, "weak"),
        (0.95, True, "moderate"),
        (0.949, True, "weak"),
        (0.80, False, "weak"),
        (0.79, False, "inconclusive"),
    ],
)
def test_evidence_strength(prob: float, excludes: bool, grade: str) -> None:
    assert C.evidence_strength(prob, excludes) == grade


def test_shift_finding_states_distance_in_its_direction() -> None:
    f = C.shift_finding(
        region="Ipsilesional MI",
        comparison="chronic patients than in controls",
        axis="z",
        shift_mm=-5.2,
        low_mm=-9.1,
        high_mm=-1.3,
        prob_direction=0.994,
    )
    assert (
        f["headline"] == f"Ipsilesional MI activity peaks lie 5.2{NB}mm more ventral in "
        "chronic patients than in controls."
    )
    assert f"5.2{NB}mm (95{NB}% HDI 1.3 to 9.1) ventral" in f["detail"]
    assert f"99.4{NB}%" in f["detail"]
    assert f["evidence"] == "strong"


def test_shift_finding_interval_crossing_zero() -> None:
    f = C.shift_finding(
        region="SMA",
        comparison="acute patients",
        axis="y",
        shift_mm=-6.7,
        low_mm=-11.9,
        high_mm=0.6,
        prob_direction=0.962,
    )
    assert "more caudal" in f["headline"]
    assert "HDI \u22120.6 to 11.9" in f["detail"]
    assert f["evidence"] == "weak"  # P ≥ 0.95, but the printed interval reaches 0


def _diag_rows(r_hat: float = 1.002, ess: float = 2000) -> list[dict[str, Any]]:
    return [
        {"parameter": "delta", "r_hat": r_hat, "ess_bulk": ess, "ess_tail": 1500},
        {"parameter": "tau", "r_hat": 1.001, "ess_bulk": 900, "ess_tail": 800},
    ]


def test_diagnostics_ok() -> None:
    d = C.diagnostics_block(_diag_rows(), 0)
    assert d["ok"] and d["divergences"] == 0
    assert "no divergent" in d["message"]
    assert [r["parameter"] for r in d["table"]["rows"]] == ["delta", "tau"]


@pytest.mark.parametrize(
    ("rows", "div", "phrase"),
    [
        (_diag_rows(r_hat=1.02), 0, "1.020"),
        (_diag_rows(ess=350), 0, "down to 350"),
        (_diag_rows(), 2, "2 divergent"),
    ],
)
def test_diagnostics_fail_plainly(rows: list[dict[str, Any]], div: int, phrase: str) -> None:
    d = C.diagnostics_block(rows, div)
    assert not d["ok"]
    assert phrase in d["message"] and "do not rely on them" in d["message"]
