from __future__ import annotations

import json
from pathlib import Path

import pytest

from biomark.errors import InputError
from biomark.io.nimare_json import read_nimare_json, write_nimare_json
from biomark.studies import Dataset


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _contrast(space: str = "MNI", **meta: object) -> dict[str, object]:
    return {"coords": {"space": space, "x": [1.0], "y": [2.0], "z": [3.0]}, "metadata": meta}


def test_written_layout_is_nimare(tmp_path: Path, small_dataset: Dataset) -> None:
    path = tmp_path / "out.json"
    write_nimare_json(small_dataset, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert list(doc) == ["Smith 2010", "Jones 2012"]
    smith = doc["Smith 2010"]["contrasts"]["Smith 2010: tapping"]
    assert smith["coords"] == {
        "space": "MNI",
        "x": [-38.0, 40.25],
        "y": [-22.0, 1 / 3],
        "z": [56.0, -0.5],
    }
    assert smith["metadata"] == {
        "sample_sizes": [12],
        "experiment_id": "Smith 2010: tapping",
        "cohort_id": "smith-cohort",
        "group": "stroke",
        "days_post_stroke": 20.5,
        "lesion_side": "right",
        "task": "active",
        "outcome_scale": "NIHSS",
        "outcome_score": 2.0,
        "whole_brain": True,
    }
    jones = doc["Jones 2012"]["contrasts"]["Jones 2012"]["metadata"]
    assert jones["whole_brain"] is False and jones["label"] == "Jones et al. (2012), controls"


def test_nimare_ids_keep_their_contrast_key(tmp_path: Path) -> None:
    path = _write(tmp_path, {"s1": {"contrasts": {"c1": _contrast(sample_sizes=[9])}}})
    ds = read_nimare_json(path)
    assert ds.experiments["experiment_id"].tolist() == ["s1-c1"]
    out = tmp_path / "out.json"
    write_nimare_json(ds, out)
    assert list(json.loads(out.read_text())["s1"]["contrasts"]) == ["c1"]


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        ("MNI", "MNI"),
        ("mni152_2mm", "MNI"),
        ("ale_2mm", "MNI"),
        ("TAL", "TAL"),
        ("Talairach", "TAL"),
    ],
)
def test_space_names(tmp_path: Path, space: str, expected: str) -> None:
    path = _write(tmp_path, {"s": {"contrasts": {"1": _contrast(space, sample_size=7)}}})
    ds = read_nimare_json(path)
    assert ds.experiments["space"].tolist() == [expected]
    assert ds.experiments["n"].tolist() == [7]


def test_metadata_fields_are_read_and_checked(tmp_path: Path) -> None:
    meta = {
        "sample_sizes": [14],
        "group": "patients",
        "lesion_side": "L",
        "days_post_stroke": 200,
        "outcome_scale": "mRS",
        "outcome_score": 1,
        "authors": "ignored",
    }
    ds = read_nimare_json(_write(tmp_path, {"s": {"contrasts": {"1": _contrast(**meta)}}}))
    row = ds.experiments.iloc[0]
    assert (row["group"], row["lesion_side"], row["days_post_stroke"]) == ("stroke", "left", 200.0)
    bad = _write(
        tmp_path, {"s": {"contrasts": {"1": _contrast(sample_sizes=[5], lesion_side="up")}}}
    )
    with pytest.raises(InputError, match=r"s/1: lesion_side must be one of"):
        read_nimare_json(bad)


def test_duplicate_experiment_ids(tmp_path: Path) -> None:
    doc = {
        "a": {"contrasts": {"1": _contrast(sample_sizes=[5], experiment_id="x")}},
        "b": {"contrasts": {"1": _contrast(sample_sizes=[5], experiment_id="x")}},
    }
    with pytest.raises(InputError, match="duplicate experiment name 'x'"):
        read_nimare_json(_write(tmp_path, doc))
