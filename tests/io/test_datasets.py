from __future__ import annotations

from pathlib import Path

import pytest

from biomark.errors import InputError
from biomark.io.datasets import format_of, load_dataset, save_dataset
from biomark.studies import Dataset, make_dataset


def _mixed_space() -> Dataset:
    return make_dataset(
        [
            {"experiment_id": "a", "n": 5, "space": "MNI"},
            {"experiment_id": "b", "n": 5, "space": "TAL"},
        ],
        [
            {"experiment_id": "a", "x": 1, "y": 2, "z": 3},
            {"experiment_id": "b", "x": 1, "y": 2, "z": 3},
        ],
    )


@pytest.mark.parametrize(
    ("name", "fmt", "files"),
    [
        ("d.txt", "sleuth", ["d.metadata.tsv", "d.txt"]),
        ("d.json", "nimare", ["d.json"]),
        ("d", "tsv", ["d"]),
    ],
)
def test_save_writes_only_the_target(
    tmp_path: Path, small_dataset: Dataset, name: str, fmt: str, files: list[str]
) -> None:
    assert format_of(tmp_path / name) == fmt
    written = save_dataset(small_dataset, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == files  # no temporary leftovers
    assert all(p.is_file() for p in written)
    assert load_dataset(tmp_path / name).n_foci == 3


def test_sidecar_is_found_beside_the_sleuth_file(tmp_path: Path, small_dataset: Dataset) -> None:
    save_dataset(small_dataset, tmp_path / "d.txt")
    assert load_dataset(tmp_path / "d.txt").experiments["group"].tolist() == ["stroke", "healthy"]
    (tmp_path / "d.metadata.tsv").unlink()
    assert load_dataset(tmp_path / "d.txt").experiments["group"].isna().all()


def test_failed_save_leaves_existing_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "d.txt"
    target.write_text("old content\n")
    with pytest.raises(InputError, match="more than one space"):
        save_dataset(_mixed_space(), target)
    assert target.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.txt"]


def test_overwrite_and_existing_folder(tmp_path: Path, small_dataset: Dataset) -> None:
    save_dataset(_mixed_space(), tmp_path / "d.json")
    save_dataset(small_dataset, tmp_path / "d.json")
    assert load_dataset(tmp_path / "d.json").n_experiments == 2
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "notes.md").write_text("keep me")
    save_dataset(small_dataset, folder, "tsv")
    assert sorted(p.name for p in folder.iterdir()) == ["experiments.tsv", "foci.tsv", "notes.md"]


def test_missing_path_and_bad_targets(tmp_path: Path, small_dataset: Dataset) -> None:
    with pytest.raises(InputError, match="no such file or folder") as info:
        load_dataset(tmp_path / "nope.txt")
    assert str(tmp_path / "nope.txt") in str(info.value)
    with pytest.raises(InputError, match="does not exist"):
        save_dataset(small_dataset, tmp_path / "missing" / "d.txt")
    with pytest.raises(InputError, match="unknown format 'csv'"):
        save_dataset(small_dataset, tmp_path / "d.csv", "csv")  # type: ignore[arg-type]
    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="expected a folder"):
        save_dataset(small_dataset, tmp_path / "f", "tsv")
