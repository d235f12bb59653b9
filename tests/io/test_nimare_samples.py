"""NiMARE 0.22.1's own sample files (tests/data/nimare, MIT): valid ones load, broken ones don't."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from biomark.errors import InputError
from biomark.io.datasets import load_dataset
from tests.io.conftest import NIMARE_DIR


def _count_sleuth(path: Path) -> tuple[int, int]:
    """Independent count: experiments = Subjects lines, foci = lines of three numbers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    n_exp = sum(1 for ln in lines if re.match(r"\s*//\s*Subjects", ln))
    number = r"[-+]?\d+(\.\d*)?"
    n_foci = sum(1 for ln in lines if re.fullmatch(rf"\s*{number}\s+{number}\s+{number}\s*", ln))
    return n_exp, n_foci


@pytest.mark.parametrize("name", ["test_sleuth_file.txt", "test_sleuth_file2.txt"])
def test_valid_sleuth_samples_load_with_raw_counts(name: str) -> None:
    path = NIMARE_DIR / name
    ds = load_dataset(path)
    assert (ds.n_experiments, ds.n_foci) == _count_sleuth(path)


def test_sleuth_sample_details() -> None:
    ds = load_dataset(NIMARE_DIR / "test_sleuth_file.txt")
    assert ds.experiments["n"].tolist() == [50, 46, 20]
    assert ds.experiments["study_id"].tolist() == ["StudyName", "StudyName2", "StudyName3"]
    assert ds.experiments["experiment_id"].iloc[2] == "StudyName3: ExperimentName3"
    tal = load_dataset(NIMARE_DIR / "test_sleuth_file2.txt")
    assert set(tal.experiments["space"]) == {"TAL"}
    assert tal.foci[["x", "y", "z"]].to_numpy().tolist()[1] == [-18, -58, -24]  # space-separated


@pytest.mark.parametrize(
    ("name", "line", "phrase"),
    [
        ("test_sleuth_file3.txt", 5, "coordinate z is not a number: 'dog'"),
        ("test_sleuth_file4.txt", 5, "expected 3 coordinates (x y z), got 2"),
        ("test_sleuth_file5.txt", 1, "unknown space 'Dog'"),
    ],
)
def test_nimare_malformed_samples_are_rejected(name: str, line: int, phrase: str) -> None:
    with pytest.raises(InputError) as info:
        load_dataset(NIMARE_DIR / name)
    assert info.value.line == line
    assert phrase in str(info.value)
    assert str(info.value).startswith(f"{NIMARE_DIR / name}:{line}: ")


def _count_json(path: Path) -> tuple[int, int, list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    with_coords = [
        (s, c, v) for s, d in data.items() for c, v in d["contrasts"].items() if "coords" in v
    ]
    skipped = [
        f"{s}/{c}" for s, d in data.items() for c, v in d["contrasts"].items() if "coords" not in v
    ]
    return len(with_coords), sum(len(v["coords"]["x"]) for _, _, v in with_coords), skipped


@pytest.mark.parametrize(
    ("name", "n_exp", "n_foci"),
    [
        ("nidm_pain_dset.json", 21, 267),
        ("test_pain_dataset.json", 19, 243),
        ("test_pain_dataset_multiple_contrasts.json", 19, 243),
    ],
)
def test_pain_json_loads_with_raw_counts(name: str, n_exp: int, n_foci: int) -> None:
    path = NIMARE_DIR / name
    ds = load_dataset(path)
    counted_exp, counted_foci, skipped = _count_json(path)
    assert (ds.n_experiments, ds.n_foci) == (counted_exp, counted_foci) == (n_exp, n_foci)
    assert list(ds.meta["skipped_contrasts"]) == skipped


def test_pain_json_ids_and_sizes() -> None:
    ds = load_dataset(NIMARE_DIR / "nidm_pain_dset.json")
    first = ds.experiments.iloc[0]
    assert first["experiment_id"] == "pain_01.nidm-1"  # NiMARE's own "<study>-<contrast>" id
    assert first["study_id"] == "pain_01.nidm"
    assert first["n"] == 25 and first["space"] == "MNI"
    assert ds.foci[["x", "y", "z"]].iloc[0].tolist() == [48.0, -38.0, -24.0]
