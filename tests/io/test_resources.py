"""data/ and templates/ resolve the same way from a checkout and from an installed wheel."""

from pathlib import Path

import pytest

from biomark.io import resources


def test_checkout_layout_finds_repository_folders():
    root = Path(__file__).resolve().parents[2]
    assert resources.data_dir() == root / "data"
    assert resources.templates_dir() == root / "templates"
    assert (resources.embedded_dataset_dir() / "experiments.tsv").is_file()


def test_installed_layout_is_preferred(tmp_path, monkeypatch):
    # a wheel places data/ and templates/ inside the package (hatch force-include)
    pkg = tmp_path / "site-packages" / "biomark"
    (pkg / "data" / "embedded").mkdir(parents=True)
    (pkg / "templates").mkdir()
    monkeypatch.setattr(resources, "_PACKAGE_DIR", pkg)
    assert resources.data_dir() == pkg / "data"
    assert resources.templates_dir() == pkg / "templates"
    with pytest.raises(FileNotFoundError, match="packaged data file missing"):
        resources.data_path("masks", "none.nii.gz")


def test_pyproject_ships_both_folders_in_the_wheel():
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"templates" = "biomark/templates"' in text
    assert '"data" = "biomark/data"' in text
