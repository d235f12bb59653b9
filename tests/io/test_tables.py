from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from biomark.errors import InputError
from biomark.io.tables import canonical_space, parse_fields, read_tables, write_tables
from biomark.studies import Dataset


def test_tables_round_trip_exactly(tmp_path: Path, small_dataset: Dataset) -> None:
    write_tables(small_dataset, tmp_path)
    text = (tmp_path / "foci.tsv").read_text()
    assert "0.3333333333333333" in text  # full precision, not %.6g
    back = read_tables(tmp_path)
    assert back.foci["y"].iloc[1] == 1 / 3
    cols = [c for c in small_dataset.experiments.columns if not c.startswith("source_")]
    pd.testing.assert_frame_equal(back.experiments[cols], small_dataset.experiments[cols])
    assert back.experiments["source_line"].tolist() == [2, 3]
    assert back.foci["source_line"].tolist() == [2, 3, 4]


@pytest.mark.parametrize(
    ("text", "space"),
    [
        ("MNI", "MNI"),
        ("mni152_2mm", "MNI"),
        ("ICBM152", "MNI"),
        ("ale_2mm", "MNI"),
        ("Talairach", "TAL"),
        ("Talaraich", "TAL"),
        ("tal", "TAL"),
        ("SPM", None),
        ("", None),
    ],
)
def test_canonical_space(text: str, space: str | None) -> None:
    assert canonical_space(text) == space


def test_parse_fields_coerces_and_names_the_place() -> None:
    fields = parse_fields(
        {
            "n": "12",
            "whole_brain": "yes",
            "lesion_side": "R",
            "task": "",
            "days_post_stroke": 7,
            "unknown": "x",
        },
        source="f.tsv",
        line=4,
    )
    assert fields == {
        "n": 12,
        "whole_brain": True,
        "lesion_side": "right",
        "task": pd.NA,
        "days_post_stroke": 7.0,
    }
    with pytest.raises(InputError) as info:
        parse_fields({"n": "12.5"}, source="f.tsv", line=4, record="experiment A")
    assert str(info.value) == "f.tsv:4: experiment A: column 'n' expects a whole number, got '12.5'"
