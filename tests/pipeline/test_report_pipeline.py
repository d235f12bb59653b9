"""``biomark report`` end to end on the embedded dataset (ALE-only family, few iterations)."""

import json
import subprocess

import pandas as pd
import pytest
from typer.testing import CliRunner

from biomark.cli import app
from biomark.report.context import BANNER_TEXT

runner = CliRunner()


@pytest.fixture(scope="module")
def time_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "time"
    args = ["report", "--family", "time", "--iterations", "200", "--seed", "5", "--quiet",
            "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def _pdf_text(path, page=None):
    args = ["pdftotext", "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(path), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def test_outputs_and_banner_on_every_page(time_report):
    for name in ("report.html", "report.pdf", "context.json", "provenance.json"):
        assert (time_report / name).is_file(), name
    assert (time_report / "tables" / "audit.tsv").is_file()
    info = subprocess.run(["pdfinfo", str(time_report / "report.pdf")], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages")))
    assert pages >= 3
    for page in range(1, pages + 1):
        assert BANNER_TEXT in _pdf_text(time_report / "report.pdf", page)


def test_clinician_findings_match_the_cluster_tables(time_report):
    context = json.loads((time_report / "context.json").read_text())
    findings = context["summary"]["findings"]
    table_a = pd.read_csv(time_report / "tables" / "acute_vs_chronic_a_minus_b_clusters.tsv",
                          sep="\t")  # fmt: skip
    # seed 5: acute > chronic has clusters (planted: contralesional PMC, ipsilesional IPL)
    assert len(table_a) > 0
    vol = f"{table_a['volume_mm3'].iloc[0]:,.0f} mm³"
    assert any(vol in f["detail"] for f in findings)
    # the first page carries the findings' headlines
    first = " ".join(_pdf_text(time_report / "report.pdf", 1).split())
    assert " ".join(findings[0]["headline"].split())[:40] in first


def test_study_flow_counts_equal_the_audit(time_report):
    context = json.loads((time_report / "context.json").read_text())
    audit = pd.read_csv(time_report / "tables" / "audit.tsv", sep="\t")
    assert context["flow"]["n_found"] == len(audit)
    assert context["flow"]["n_included"] == int(audit["included"].sum())
    assert sum(e["n"] for e in context["flow"]["exclusions"]) == int((~audit["included"]).sum())


def test_unknown_family_is_one_line(tmp_path):
    result = runner.invoke(app, ["report", "--family", "mood", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown family 'mood'" in result.stderr


def test_provenance_records_each_stage_s_wall_time(time_report):
    stages = json.loads((time_report / "provenance.json").read_text())["stage_seconds"]
    names = [s["stage"] for s in stages]
    assert names[0] == "load and prepare" and names[-1] == "maps, tables and posterior files"
    assert {"ALE analyses and contrasts", "HTML", "PDF"} <= set(names)
    assert all(s["seconds"] >= 0 for s in stages)
