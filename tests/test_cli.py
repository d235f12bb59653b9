"""The CLI: exit code 2 and one clear line for every malformed input, nothing written."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biomark.cli import app
from tests.io.malformed_cases import CASES, MALFORMED_DIR

runner = CliRunner()
NIMARE = Path(__file__).parent / "data" / "nimare"


def _copy_case(name: str, tmp: Path) -> Path:
    src = MALFORMED_DIR / name
    dst = tmp / name
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy(src, dst)
        side = src.with_name(src.name.replace(src.suffix, ".metadata.tsv"))
        if side.exists():
            shutil.copy(side, tmp / side.name)
    return dst


@pytest.mark.parametrize(("name", "line", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_malformed_validate_exit_2_one_line(name, line, phrase, tmp_path):
    path = _copy_case(name, tmp_path)
    result = runner.invoke(app, ["data", "validate", str(path)])
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert phrase in err
    if line is not None:
        assert f":{line}:" in err


@pytest.mark.parametrize(("name", "line", "phrase"), CASES[::4], ids=[c[0] for c in CASES[::4]])
def test_malformed_convert_writes_nothing(name, line, phrase, tmp_path):
    path = _copy_case(name, tmp_path / "in") if (tmp_path / "in").mkdir() is None else None
    out = tmp_path / "out" / "converted.json"
    result = runner.invoke(app, ["data", "convert", str(path), str(out), "--to", "nimare"])
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_validate_and_convert_nimare_sample(tmp_path):
    src = NIMARE / "test_sleuth_file.txt"
    result = runner.invoke(app, ["data", "validate", str(src)])
    assert result.exit_code == 0, result.output
    assert "3 experiments, 7 foci" in result.stdout
    out = tmp_path / "d"
    result = runner.invoke(app, ["data", "convert", str(src), str(out), "--to", "tsv"])
    assert result.exit_code == 0, result.output
    assert (out / "experiments.tsv").is_file() and (out / "foci.tsv").is_file()


def test_unknown_format_and_missing_path(tmp_path):
    result = runner.invoke(app, ["data", "convert", "x.txt", str(tmp_path / "y"), "--to", "csv"])
    assert result.exit_code == 2 and "--to must be one of" in result.stderr
    result = runner.invoke(app, ["data", "validate", str(tmp_path / "nope.txt")])
    assert result.exit_code == 2 and "nope.txt" in result.stderr


def test_real_process_prints_no_traceback(tmp_path):
    path = _copy_case("focus_two_columns.txt", tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "biomark.cli", "data", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_report_takes_the_thresholds_ale_takes(monkeypatch, tmp_path):
    import biomark.pipeline.report as report_pipeline

    seen = {}

    def fake_run_report(family, data, out, formats, config, run, progress, sampler):
        seen["config"] = config
        return {"skipped": [], "formats": formats, "simulated": True, "out": str(out)}

    monkeypatch.setattr(report_pipeline, "run_report", fake_run_report)
    args = ["report", "--family", "time", "--quiet", "--out", str(tmp_path / "r"),
            "--cluster-forming-p", "0.005", "--cluster-p", "0.01", "--correction", "vfwe",
            "--connectivity", "26"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    c = seen["config"]
    assert (c.cluster_forming_p, c.cluster_p, c.correction, c.connectivity) == (
        0.005,
        0.01,
        "vfwe",
        26,
    )
    bad = CliRunner().invoke(app, [*args[:-1], "12"])
    assert bad.exit_code == 2 and "--connectivity must be 6, 18 or 26" in bad.output


def test_validate_lists_experiments_an_empty_field_leaves_out(tmp_path):
    sleuth = tmp_path / "two.txt"
    sleuth.write_text("// Reference=MNI\n// Smith 2010: tapping\n// Subjects=12\n-38 -22 56\n"
                      "\n// Jones 2012: grip\n// Subjects=10\n-36 -24 58\n")  # fmt: skip
    (tmp_path / "two.metadata.tsv").write_text(
        "experiment_id\tgroup\tdays_post_stroke\tlesion_side\tlesion_location\ttask\n"
        "Smith 2010: tapping\tstroke\t\tleft\tcortical\tactive\n"
        "Jones 2012: grip\tstroke\t200\t\tsubcortical\tactive\n"
    )
    result = CliRunner().invoke(app, ["data", "validate", str(sleuth)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    smith = [w for w in warnings if "'Smith 2010: tapping' has no days_post_stroke" in w]
    assert len(smith) == 1 and f"{sleuth}:" in smith[0]
    for title in ("Acute patients", "Chronic patients", "Good outcome", "Poor outcome"):
        assert title in smith[0]
    assert "Subcortical" not in smith[0]  # a cortical lesion: not left out of those by the field
    jones = [w for w in warnings if "'Jones 2012: grip'" in w]
    assert any("no outcome_scale and outcome_score; left out of: Good outcome" in w for w in jones)
    assert any("no lesion_side; not mirrored" in w for w in jones)
    assert len(warnings) == 3
    assert "valid" in result.output
