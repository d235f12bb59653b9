"""``biomark power`` / ``biomark calibrate``: files written; bad options are one line, exit 2."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from biomark.cli import app

runner = CliRunner()


def _one_line_exit_2(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.slow
@pytest.mark.sampling
def test_power_cli_writes_files(tmp_path):
    out = tmp_path / "power"
    args = ["power", "--design", "outcome", "--replicates", "20", "--bayes-replicates", "4",
            "--iterations", "100", "--out", str(out), "--quiet"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "power.tsv", "power_curve.tsv", "power_curve.png", "summary.txt", "provenance.json"
    }  # fmt: skip
    table = pd.read_csv(out / "power.tsv", sep="\t")
    assert {"welch_power", "bayes_power", "bayes_coverage", "ale_target_power"} <= set(table["key"])
    assert table.loc[table["key"] == "bayes_power", "replicates"].item() == 4
    assert "SIMULATION" in result.stdout


def test_power_cli_fast(tmp_path):
    out = tmp_path / "power"
    args = ["power", "--replicates", "4", "--bayes-replicates", "0", "--iterations", "50",
            "--n-a", "6", "--shift-mm", "4", "--out", str(out), "--seed", "3",
            "--quiet"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["simulated"] is True and prov["seed"] == 3
    assert prov["design"]["shift_mm"] == 4.0 and len(prov["design"]["n_subjects_a"]) == 6
    assert (out / "power_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "With 6 good-outcome vs 5 poor-outcome experiments" in result.stdout


def test_calibrate_cli_fast(tmp_path):
    out = tmp_path / "cal"
    args = ["calibrate", "--replicates", "3", "--iterations", "50", "--splits", "2",
            "--out", str(out), "--quiet"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "calibration.tsv", sep="\t")
    assert {"ale_fpr_a", "ale_fpr_b"} <= set(table["key"])


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["power", "--design", "nope"], "unknown design"),
        (["power", "--n-a", "1"], "≥ 2 experiments"),
        (["power", "--shift-mm", "-2"], "--shift-mm must be >= 0"),
        (["power", "--replicates", "1"], "replicates must be ≥ 2"),
        (["power", "--jobs", "0"], "jobs must be >= 1"),
        (["power", "--jobs", "2", "--dask-local", "2", "--dask-scheduler", "tcp://x:1"], "either"),
        (["calibrate", "--splits", "1"], "contrast_splits"),
    ],
)
def test_bad_options_one_line_exit_2(args, phrase, tmp_path):
    err = _one_line_exit_2([*args, "--out", str(tmp_path / "o")])
    assert phrase in err
    assert not (tmp_path / "o").exists()
