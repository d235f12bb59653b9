"""``biomark ale`` / ``biomark contrast`` end to end on the synthetic 25-experiment set."""

import filecmp
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biomark.cli import app

runner = CliRunner()
SYNTH = Path(__file__).parent / "data" / "nimare_reference" / "synthetic_ale25.txt"
OUTPUTS = ("ale.nii.gz", "p.nii.gz", "z.nii.gz", "z_thresholded.nii.gz", "clusters.tsv",
           "contributions.tsv", "methods.txt", "provenance.json")  # fmt: skip


def _ale(out: Path, *extra: str) -> None:
    args = ["ale", str(SYNTH), "--out", str(out), "--iterations", "100", "--seed", "7", "--quiet"]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output


def test_same_seed_same_bytes_with_one_or_two_jobs(tmp_path):
    _ale(tmp_path / "j1", "--jobs", "1")
    _ale(tmp_path / "j2", "--jobs", "2")
    for name in OUTPUTS:
        assert (tmp_path / "j1" / name).is_file(), name
    _match, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "j1", tmp_path / "j2", OUTPUTS, shallow=False
    )
    assert mismatch == [] and errors == []
    prov = json.loads((tmp_path / "j1" / "provenance.json").read_text())
    assert prov["seed"] == 7 and prov["parameters"]["iterations"] == 100
    assert prov["inputs"][0]["experiments"] == 25 and prov["inputs"][0]["foci"] == 193


def test_failed_run_leaves_previous_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "previous.txt").write_text("keep me")
    bad = tmp_path / "bad.txt"
    bad.write_text("// Reference=MNI\n// A\n// Subjects=10\n1 2\n")
    result = runner.invoke(app, ["ale", str(bad), "--out", str(out), "--quiet"])
    assert result.exit_code == 2 and "bad.txt:4" in result.stderr
    assert (out / "previous.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("option", "value", "phrase"),
    [
        ("--correction", "bonferroni", "--correction must be"),
        ("--connectivity", "8", "6, 18 or 26"),
        ("--cluster-forming-p", "2", "between 0 and 1"),
        ("--tal-transform", "mni2tal", "--tal-transform must be one of"),
    ],
)
def test_bad_options_exit_2(tmp_path, option, value, phrase):
    result = runner.invoke(app, ["ale", str(SYNTH), "--out", str(tmp_path / "o"), option, value])
    assert result.exit_code == 2 and phrase in result.stderr


def test_contrast_writes_both_directions_and_conjunction(tmp_path):
    text = SYNTH.read_text()
    blocks = text.split("\n\n")
    header, first = blocks[0].split("\n", 1)
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text(header + "\n" + "\n\n".join([first, *blocks[1:13]]) + "\n")
    b.write_text(header + "\n" + "\n\n".join(blocks[13:]) + "\n")
    out = tmp_path / "c"
    result = runner.invoke(app, ["contrast", str(a), str(b), "--out", str(out),
                                 "--iterations", "100", "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for d in ("a_minus_b", "b_minus_a", "conjunction"):
        assert (out / d / "clusters.tsv").is_file() and (out / d / "z_thresholded.nii.gz").is_file()
    assert (out / "provenance.json").is_file()
    shutil.rmtree(out)
