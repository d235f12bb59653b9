"""``biomark shift`` / ``biomark predict`` end to end on the embedded dataset (smoke-sized)."""

import json
import re

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from biomark.cli import app
from tests.shift.quadrature import held, p_good_by_quadrature, shortest_interval

runner = CliRunner()
SMOKE_ARGS = ["--draws", "60", "--tune", "60", "--chains", "2", "--seed", "3"]
_PRINTED = re.compile(
    r"P\(good recovery\) = (\S+) \(95 % interval (\S+) to (\S+)\); peak ([-+.\d]+) mm"
)


@pytest.fixture(scope="module")
def mi_posterior(tmp_path_factory):
    out = tmp_path_factory.mktemp("mi") / "shift"
    result = runner.invoke(app, ["shift", "--out", str(out), "--roi", "mi", *SMOKE_ARGS])
    assert result.exit_code == 0, result.output
    return out / "posterior.nc"


@pytest.mark.sampling
@pytest.mark.parametrize(("z", "n"), [(50.0, 1), (44.0, 20)])
def test_predict_prints_what_numeric_integration_of_the_posterior_gives(mi_posterior, z, n):
    args = ["predict", "--mi-peak", f"-38,-22,{z:g}", "--posterior", str(mi_posterior),
            "--n", str(n), "--days", "200"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    printed = _PRINTED.search(result.stdout)
    assert printed, result.stdout
    p, lo, hi, shown_d = (float(v) for v in printed.groups())
    mi = xr.open_datatree(mi_posterior, engine="h5netcdf")["mi"]
    post = mi["posterior"].to_dataset()
    per_draw, weight = p_good_by_quadrature(post, mi.attrs["prior_config"], z, n)
    assert p == pytest.approx(weight @ per_draw, abs=0.0051)  # printed with 2 decimals
    # printed bounds are rounded to 0.005: widen by that before asking for ≈ 95 % of the weight
    assert held(per_draw, weight, lo - 0.005, hi + 0.005) >= 0.93
    want_lo, want_hi = shortest_interval(per_draw, weight, 0.97)
    assert hi - lo <= want_hi - want_lo + 0.01
    healthy_z = post["mu_mm"].sel(axis="z").values.ravel()
    assert shown_d == pytest.approx(float((healthy_z - z).mean()), abs=0.051)
    assert f"N = {n}" in result.stdout


@pytest.mark.sampling
def test_predict_bad_input_is_one_line(mi_posterior):
    cases = [
        (["--mi-peak", "-38,-22,95"], "outside the MNI brain mask"),
        (["--mi-peak", "-38,-22,50", "--n", "0"], "must be ≥ 1"),
    ]
    for extra, said in cases:
        result = runner.invoke(app, ["predict", *extra, "--posterior", str(mi_posterior)])
        assert result.exit_code == 2, result.output
        line = result.stderr.strip()
        assert said in line and "\n" not in line and "Traceback" not in line


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


def test_shift_without_acute_experiments_runs_the_other_comparisons(tmp_path):
    from biomark.io.datasets import save_dataset
    from biomark.pipeline.data import load

    ds = load(None)
    e = ds.experiments
    acute = e["group"].eq("stroke") & (e["days_post_stroke"] < 35)
    save_dataset(ds.subset(e.loc[~acute, "experiment_id"].astype(str), "no-acute"), tmp_path / "d")
    result = runner.invoke(app, ["shift", str(tmp_path / "d"), "--roi", "mi", "--out",
                                 str(tmp_path / "o"), *SMOKE_ARGS])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "acute vs healthy not compared: 0 acute experiment(s)" in result.stdout
    bayes = pd.read_csv(tmp_path / "o" / "shift_bayes.tsv", sep="\t")
    assert set(bayes["contrast"]) == {"chronic", "subcortical"}
    freq = pd.read_csv(tmp_path / "o" / "shift_frequentist.tsv", sep="\t")
    assert "acute" not in set(freq["contrast"])
    skipped = json.loads((tmp_path / "o" / "provenance.json").read_text())["skipped"]["mi"]
    assert set(skipped) == {"acute"}
