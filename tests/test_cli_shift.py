"""``biomark shift`` / ``biomark predict`` end to end on the embedded dataset (smoke-sized)."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from biomark.cli import app

runner = CliRunner()


@pytest.mark.sampling
def test_shift_writes_tables_and_predict_reads_posterior(tmp_path):
    out = tmp_path / "shift"
    args = ["shift", "--out", str(out), "--roi", "medial-pmc", "--draws", "60", "--tune", "60",
            "--chains", "2", "--seed", "3"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in ("shift_frequentist.tsv", "shift_bayes.tsv", "comparison.tsv", "posterior.nc",
                 "provenance.json", "roi_peaks.tsv", "diagnostics.tsv"):  # fmt: skip
        assert (out / name).is_file(), name
    comparison = pd.read_csv(out / "comparison.tsv", sep="\t")
    assert set(comparison["contrast"]) == {"acute", "chronic", "subcortical"}
    assert set(comparison["axis"]) >= {"x", "y", "z"}
    # a posterior without an MI fit cannot predict: one clear line, exit 2
    result = runner.invoke(app, ["predict", "--mi-peak", "-38,-22,50", "--posterior",
                                 str(out / "posterior.nc")])  # fmt: skip
    assert result.exit_code == 2 and "no MI fit" in result.stderr


def test_bad_roi_and_peak_are_one_line_errors(tmp_path):
    result = runner.invoke(app, ["shift", "--roi", "hand", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--roi must be" in result.stderr
    result = runner.invoke(app, ["predict", "--mi-peak", "a,b,c"])
    assert result.exit_code == 2 and "three numbers" in result.stderr


def test_shift_without_acute_experiments_is_one_line(tmp_path):
    from biomark.io.datasets import save_dataset
    from biomark.pipeline.data import load

    ds = load(None)
    e = ds.experiments
    acute = e["group"].eq("stroke") & (e["days_post_stroke"] < 35)
    save_dataset(ds.subset(e.loc[~acute, "experiment_id"].astype(str), "no-acute"), tmp_path / "d")
    result = runner.invoke(app, ["shift", str(tmp_path / "d"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "acute" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()
