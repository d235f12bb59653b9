"""Every family (and ``--family all``) renders a complete HTML + PDF report on the embedded data.

Sizes are tiny (50 Monte Carlo iterations; 2 chains × 50 draws after 50 tuning steps) because only
the rendering is checked here. What each PDF must show is read from the family registry
(:data:`biomark.families.FAMILIES`): the section headings, one heading per analysis and contrast
named by its selection's title, and the peak-displacement regions for families with shift tests.
Measured on 2 cores (shared machine): time ≈ 17–19 s, task ≈ 24 s, subcortical ≈ 24–60 s,
group ≈ 25–60 s, shift ≈ 105 s, all ≈ 155–190 s, outcome ≈ 130–210 s (PyMC compiles and samples the
main model plus the prior-sensitivity refits). Only ``time`` runs by default; the rest are ``slow``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biomark.cli import app
from biomark.families import FAMILIES, SELECTIONS, Family

BANNER = "SIMULATED DATA \u2014 not a clinical result"
ALWAYS = ("Summary for clinical readers", "Key findings", "Caveats", "Study flow",
          "Experiments per analysis", "Methods", "References", "Provenance")  # fmt: skip
REGIONS = {"mi": "Ipsilesional primary motor cortex", "medial-pmc": "Medial premotor cortex"}
TINY = ["--iterations", "50", "--draws", "50", "--tune", "50", "--chains", "2", "--seed", "7",
        "--quiet", "--format", "html,pdf"]  # fmt: skip
FAST = {"time"}


def _families(key: str) -> list[Family]:
    return list(FAMILIES.values()) if key == "all" else [FAMILIES[key]]


def expected_headings(key: str) -> list[str]:
    """Headings the PDF of family ``key`` must contain, from the family registry."""
    wanted = list(ALWAYS)
    for fam in _families(key):
        wanted.append(fam.title)  # in the subtitle
        if fam.analyses or fam.contrasts:
            wanted.append("ALE meta-analyses")
        wanted.extend(SELECTIONS[a].title for a in fam.analyses)
        for c in fam.contrasts:
            a, b = SELECTIONS[c.a].title, SELECTIONS[c.b].title
            wanted += [f"{a} > {b}", f"{b} > {a}", f"{a} and {b} (conjunction)"]
        if fam.shift_tests:
            wanted += ["Peak displacement", "Sampler diagnostics"]
            wanted += [REGIONS[t.roi] for t in fam.shift_tests]
        if any(t.outcome_association for t in fam.shift_tests):
            wanted += ["Association with recovery", "How much could this design detect?"]
    return list(dict.fromkeys(wanted))


def _pages(pdf: Path) -> list[str]:
    """The text of each page, whitespace collapsed (pdftotext separates pages by form feeds)."""
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    return [" ".join(page.split()) for page in text.split("\f") if page.strip()]


def _page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def _marks(key: str) -> list[pytest.MarkDecorator]:
    return [] if key in FAST else [pytest.mark.slow]


@pytest.mark.parametrize(
    "key",
    [pytest.param(k, marks=_marks(k)) for k in [*FAMILIES, "all"]],
)
def test_family_renders(key: str, tmp_path: Path) -> None:
    out = tmp_path / key
    result = CliRunner().invoke(app, ["report", "--family", key, *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<h2>Summary for clinical readers</h2>" in html
    pages = _pages(out / "report.pdf")
    assert len(pages) == _page_count(out / "report.pdf") >= 1
    assert [i for i, page in enumerate(pages, 1) if BANNER not in page] == []
    text = " ".join(pages)
    missing = [h for h in expected_headings(key) if h not in text]
    assert missing == []
