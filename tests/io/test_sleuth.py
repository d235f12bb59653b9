from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from biomark.errors import InputError
from biomark.io.sleuth import (
    format_coordinate,
    read_sleuth,
    sidecar_path,
    study_id_of,
    write_sleuth,
)
from biomark.studies import Dataset, make_dataset

# BOM, CRLF, a padded Reference line, a comment, trailing blanks, two header lines, a repeated
# Reference naming the same space, mixed tabs/spaces, a header right after foci (no blank line).
MESSY = (
    "\ufeff//  reference = mni152  \r\n"
    "# exported from a spreadsheet\r\n"
    "//\r\n"
    "// Smith et al. 2010, Brain\r\n"
    "// Smith 2010: finger tapping   \r\n"
    "//Subjects = 12\r\n"
    "-38\t-22\t56   \r\n"
    "40  -20.5 54\r\n"
    "\r\n"
    "\r\n"
    "// Reference=MNI\r\n"
    "// Jones 2012\r\n"
    "// SUBJECTS=9\r\n"
    "1.5 2 3\r\n"
    "// Lee 2015: grip\r\n"
    "// Subjects=30\r\n"
    "-4e1 0 10\r\n"
)


def _write(tmp_path: Path, text: str, name: str = "messy.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_messy_file_reads_every_experiment_and_focus(tmp_path: Path) -> None:
    path = _write(tmp_path, MESSY)
    ds = read_sleuth(path)
    exps = ds.experiments
    assert exps["experiment_id"].tolist() == [
        "Smith 2010: finger tapping",
        "Jones 2012",
        "Lee 2015: grip",
    ]
    assert exps["study_id"].tolist() == ["Smith 2010", "Jones 2012", "Lee 2015"]
    assert exps["n"].tolist() == [12, 9, 30]
    assert set(exps["space"]) == {"MNI"}
    assert exps["label"].iloc[0] == "Smith et al. 2010, Brain"
    assert pd.isna(exps["label"].iloc[1])
    assert exps["source_line"].tolist() == [4, 12, 15]
    assert set(exps["source_file"]) == {str(path)}
    assert ds.foci[["x", "y", "z"]].to_numpy().tolist() == [
        [-38, -22, 56],
        [40, -20.5, 54],
        [1.5, 2, 3],
        [-40, 0, 10],
    ]
    assert ds.foci["source_line"].tolist() == [7, 8, 14, 17]
    assert ds.name == "messy"


@pytest.mark.parametrize(
    ("spelling", "space"),
    [
        ("MNI", "MNI"),
        ("mni", "MNI"),
        ("MNI152", "MNI"),
        (" MNI 152 ", "MNI"),
        ("Talairach", "TAL"),
        ("TAL", "TAL"),
        ("tal", "TAL"),
        ("TALAIRACH", "TAL"),
    ],
)
def test_reference_spellings(tmp_path: Path, spelling: str, space: str) -> None:
    path = _write(tmp_path, f"// Reference={spelling}\n// A\n// Subjects=5\n1 2 3\n")
    assert read_sleuth(path).experiments["space"].tolist() == [space]


def test_old_mac_line_ends(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "// Reference=MNI\r// A\r// Subjects=5\r1 2 3\r\r// B\r// Subjects=6\r4 5 6\r"
    )
    ds = read_sleuth(path)
    assert ds.n_experiments == 2
    assert ds.foci["source_line"].tolist() == [4, 8]


@pytest.mark.parametrize(
    ("name", "study"),
    [
        ("Smith 2010: tapping", "Smith 2010"),
        ("Smith 2010", "Smith 2010"),
        ("Smith 2010: a: b", "Smith 2010"),
        (": orphan", ": orphan"),
        ("A:", "A"),
    ],
)
def test_study_id_is_text_before_first_colon(name: str, study: str) -> None:
    assert study_id_of(name) == study


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-38.0, "-38"),
        (40.25, "40.25"),
        (1 / 3, "0.3333333333333333"),
        (0.1, "0.1"),
        (-0.0, "-0"),
        (1e-7, "1e-07"),
    ],
)
def test_coordinate_text_is_shortest_exact(value: float, text: str) -> None:
    assert format_coordinate(value) == text
    assert float(text) == value


def test_sidecar_overrides_and_keeps_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "// Reference=TAL\n// S: a\n// Subjects=10\n1 2 3\n\n// T\n// Subjects=8\n4 5 6\n"
    )
    side = tmp_path / "side.tsv"
    side.write_text(
        "experiment_id\tstudy_id\tgroup\tdays_post_stroke\tlesion_side\toutcome_scale"
        "\toutcome_score\twhole_brain\n"
        "T\t\tPatients\t400\tR\tFugl-Meyer\t45\tno\n",
        encoding="utf-8",
    )
    ds = read_sleuth(path, side)
    s, t = (ds.experiments.iloc[i] for i in range(2))
    assert s["study_id"] == "S" and pd.isna(s["group"]) and bool(s["whole_brain"])
    assert t["study_id"] == "T"  # empty cell keeps the derived value
    assert t["group"] == "stroke" and t["lesion_side"] == "right"
    assert t["days_post_stroke"] == 400.0 and t["outcome_score"] == 45.0
    assert t["outcome_scale"] == "Fugl-Meyer" and not bool(t["whole_brain"])
    assert t["source_line"] == 6  # provenance still points at the Sleuth file


def test_write_sleuth_text_and_sidecar(tmp_path: Path, small_dataset: Dataset) -> None:
    path = tmp_path / "out.txt"
    written = write_sleuth(small_dataset, path)
    assert written == [path, sidecar_path(path)]
    assert sidecar_path(path).name == "out.metadata.tsv"
    assert path.read_text(encoding="utf-8") == (
        "// Reference=MNI\n"
        "\n"
        "// Smith 2010: tapping\n"
        "// Subjects=12\n"
        "-38\t-22\t56\n"
        "40.25\t0.3333333333333333\t-0.5\n"
        "\n"
        "// Jones 2012\n"
        "// Subjects=9\n"
        "2\t-4\t60\n"
    )
    side = pd.read_csv(sidecar_path(path), sep="\t", dtype=str, keep_default_na=False)
    # study_id is derivable from the names, so it is not repeated in the sidecar
    assert side.columns.tolist() == [
        "experiment_id",
        "cohort_id",
        "group",
        "days_post_stroke",
        "lesion_side",
        "task",
        "outcome_scale",
        "outcome_score",
        "whole_brain",
        "label",
    ]
    assert side.iloc[0].tolist() == [
        "Smith 2010: tapping",
        "smith-cohort",
        "stroke",
        "20.5",
        "right",
        "active",
        "NIHSS",
        "2.0",
        "True",
        "",
    ]


def test_write_then_read_keeps_everything(tmp_path: Path, small_dataset: Dataset) -> None:
    path = tmp_path / "out.txt"
    write_sleuth(small_dataset, path)
    back = read_sleuth(path, sidecar_path(path))
    cols = [c for c in small_dataset.experiments.columns if not c.startswith("source_")]
    pd.testing.assert_frame_equal(back.experiments[cols], small_dataset.experiments[cols])
    pd.testing.assert_frame_equal(
        back.foci[["experiment_id", "x", "y", "z"]],
        small_dataset.foci[["experiment_id", "x", "y", "z"]],
    )


def test_mixed_spaces_are_refused(tmp_path: Path) -> None:
    ds = make_dataset(
        [
            {"experiment_id": "a", "n": 5, "space": "MNI"},
            {"experiment_id": "b", "n": 5, "space": "TAL"},
        ],
        [
            {"experiment_id": "a", "x": 1, "y": 2, "z": 3},
            {"experiment_id": "b", "x": 1, "y": 2, "z": 3},
        ],
    )
    with pytest.raises(InputError, match="more than one space"):
        write_sleuth(ds, tmp_path / "mixed.txt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["Subjects=5", "Reference=MNI", "two\nlines"])
def test_unwritable_names_are_refused(tmp_path: Path, name: str) -> None:
    ds = make_dataset(
        [{"experiment_id": name, "n": 5, "space": "MNI"}],
        [{"experiment_id": name, "x": 1, "y": 2, "z": 3}],
    )
    with pytest.raises(InputError, match="cannot be a Sleuth header line"):
        write_sleuth(ds, tmp_path / "bad.txt")
