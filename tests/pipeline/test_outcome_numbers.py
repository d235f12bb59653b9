"""The outcome report a new user gets, and the numbers its first page prints.

The data are what the outcome question needs and nothing more: healthy controls and chronic
experiments with a recovery scale (the embedded dataset without its acute experiments). The
report must run every comparison these data support and list the rest with a reason.

Every number a clinician reads on the first page — each shift, its interval, the probability of
its direction, the odds ratio with its interval and probability, and each evidence grade — is
read back from the PDF text and recomputed here from ``shift/posterior.nc`` with numpy and
ArviZ's HDI, and graded by the scale the report prints. The odds ratio must read the same on every
page that shows it. Tiny sampler (2 × 50 draws): only agreement is checked, not accuracy.
Measured ≈ 55 s on 2 cores.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from biomark.cli import app

TINY = ["--iterations", "50", "--draws", "50", "--tune", "50", "--chains", "2", "--seed", "7",
        "--quiet", "--format", "html,pdf"]  # fmt: skip
REGIONS = {"Ipsilesional primary motor cortex (MI)": ("mi", "z"),
           "Medial premotor cortex": ("medial_pmc", "y")}  # fmt: skip
GROUPS = {"chronic patients": "chronic", "patients with subcortical lesions": "subcortical",
          "acute patients": "acute"}  # fmt: skip
NEGATIVE = {"z": "ventral", "y": "caudal"}
GRADE = r"(STRONG|MODERATE|WEAK|INCONCLUSIVE) EVIDENCE"
FINDING = re.compile(rf"\d+\. {GRADE} (.*?)(?= \d+\. {GRADE} | How strong is the evidence\?)")
SHIFT = re.compile(
    r"(?P<region>.+?) activity peaks lie (?P<head>\S+) mm more (?P<dir>\w+) in (?P<group>.+?) "
    r"than in healthy controls\. Shift (?P<shift>\S+) mm \(95 % HDI (?P<lo>\S+) to (?P<hi>\S+)\) "
    r"(?P<dir2>\w+); probability that the shift is \w+: (?P<p>\S+) %\."
)
ODDS = re.compile(
    r"Odds ratio of good recovery per (?P<unit>\S+) mm more ventral: (?P<or>\S+) \(95 % HDI "
    r"(?P<lo>\S+) to (?P<hi>\S+)\); probability of this direction (?P<p>\S+) %"
)
ODDS_TABLE = re.compile(
    r"P\(better recovery with a more ventral peak\) (?P<or>\S+) (?P<lo>\S+) (?P<hi>\S+) "
    r"(?P<p>\S+) %"
)


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-").replace(",", ""))


def _shown(text: str, value: float) -> bool:
    """Whether ``text`` is ``value`` rounded to the digits it shows."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(_number(text) - value) <= 0.5 * 10**-decimals + 1e-9


def _grade(p_direction: float, excludes_no_effect: bool) -> str:
    # the scale printed on the first page
    if p_direction >= 0.99 and excludes_no_effect:
        return "STRONG"
    if p_direction >= 0.95 and excludes_no_effect:
        return "MODERATE"
    return "WEAK" if p_direction >= 0.80 else "INCONCLUSIVE"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from biomark.io.datasets import save_dataset
    from biomark.pipeline.data import load

    tmp = tmp_path_factory.mktemp("new-user")
    ds = load(None)
    e = ds.experiments
    chronic = e["group"].eq("stroke") & (e["days_post_stroke"] > 90) & e["outcome_scale"].notna()
    keep = e["group"].eq("healthy") | chronic
    save_dataset(ds.subset(e.loc[keep, "experiment_id"].astype(str), "new-user"), tmp / "d")
    out = tmp / "out"
    result = CliRunner().invoke(
        app, ["report", "--family", "outcome", "--data", str(tmp / "d"), *TINY, "--out", str(out)]
    )
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out / "report.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    pages = [" ".join(p.split()) for p in text.split("\f") if p.strip()]
    tree = xr.open_datatree(out / "shift" / "posterior.nc", engine="h5netcdf")
    return {"result": result, "out": out, "pages": pages, "tree": tree}


@pytest.mark.sampling
def test_runs_without_acute_experiments_and_says_what_it_left_out(report):
    result = report["result"]
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("not run:")]
    assert len(lines) == 2 and all("acute vs healthy" in ln for ln in lines)
    assert all("0 acute experiment(s)" in ln for ln in lines)
    whole = " ".join(report["pages"])
    assert "Analyses the data could not support" in whole
    assert whole.count("Not compared: acute patients against healthy controls") == 2
    context = json.loads((report["out"] / "context.json").read_text(encoding="utf-8"))
    assert {r["what"].rsplit(", ", 1)[-1] for r in context["flow"]["not_run"]} == {
        "acute vs healthy"
    }


@pytest.mark.sampling
def test_first_page_numbers_are_what_the_posterior_file_gives(report):
    assert report["result"].exit_code == 0, report["result"].output
    first = report["pages"][0]
    findings = FINDING.findall(first)
    shifts = [(g, SHIFT.search(t)) for g, t, *_ in findings if SHIFT.search(t)]
    assert len(shifts) == 4  # chronic and subcortical, in both regions
    for grade, m in shifts:
        roi, axis = REGIONS[m["region"]]
        draws = (
            report["tree"][roi]["posterior"]["shift"]
            .sel(contrast=GROUPS[m["group"]], axis=axis)
            .values.ravel()
        )
        mean = float(draws.mean())
        sign = -1.0 if mean < 0 else 1.0
        assert (m["dir"] == NEGATIVE[axis]) == (sign < 0) and m["dir"] == m["dir2"]
        lo, hi = sorted(sign * np.asarray(az.hdi(draws, prob=0.95)))
        assert _shown(m["head"], abs(mean)) and _shown(m["shift"], abs(mean))
        assert _shown(m["lo"], lo) and _shown(m["hi"], hi), (m.group(0), lo, hi)
        p_dir = float((np.sign(draws) == sign).mean())
        assert _shown(m["p"], 100 * p_dir)
        assert grade == _grade(p_dir, lo > 0), m.group(0)


@pytest.mark.sampling
def test_odds_ratio_interval_and_probability_agree_on_every_page(report):
    assert report["result"].exit_code == 0, report["result"].output
    mi = report["tree"]["mi"]
    beta = mi["posterior"]["beta"].values.ravel()
    unit = json.loads(mi.attrs["prior_config"])["beta_unit_mm"]
    lo, hi = np.exp(np.asarray(az.hdi(beta, prob=0.95)))
    odds = float(np.exp(np.median(beta)))
    p_pos = float((beta > 0).mean())
    seen = []
    for page in report["pages"]:
        seen += [(m, False) for m in ODDS.finditer(page)] + [
            (m, True) for m in ODDS_TABLE.finditer(page)
        ]
    assert len(seen) >= 2  # the first page's finding and the outcome section's table
    for m, in_table in seen:
        assert _shown(m["or"], odds) and _shown(m["lo"], lo) and _shown(m["hi"], hi), m.group(0)
        # the table gives P(better with more ventral), the finding the stated direction's
        p = p_pos if in_table or p_pos >= 0.5 else 1 - p_pos
        assert _shown(m["p"], 100 * p), m.group(0)
        if not in_table:
            assert _number(m["unit"]) == unit
    grade = FINDING.findall(report["pages"][0])
    odds_grade = [g for g, t, *_ in grade if ODDS.search(t)]
    assert odds_grade == [_grade(max(p_pos, 1 - p_pos), lo > 1 or hi < 1)]


@pytest.mark.sampling
def test_caveats_sit_beside_their_numbers(report):
    whole = " ".join(report["pages"])
    # the Euclidean distance comes with its no-shift reference in each region's notes
    assert whole.count("3-D (Euclidean) distance from the healthy peak") == 2
    assert whole.count("(no shift: median") >= 2
    # the ANCOVA the methods describe is the one in the tables: covariates named iff fitted
    ancova = pd.read_csv(report["out"] / "shift" / "shift_ancova.tsv", sep="\t")
    for roi, rows in ancova.groupby("roi"):
        with_maxima = rows["formula"].str.contains("n_maxima")
        assert with_maxima.nunique() == 1, roi
    fitted_any = ancova["formula"].str.contains("n_maxima").any()
    assert ("without nuisance covariates" in whole) != fitted_any or "n_maxima" in whole
    assert "cluster size" not in whole.lower().replace("cluster sizes are not", "")


@pytest.mark.sampling
def test_welch_is_given_where_a_bayesian_interval_reaches_zero(report):
    whole = " ".join(report["pages"])
    comparison = pd.read_csv(report["out"] / "shift" / "comparison.tsv", sep="\t")
    words = {v: k for k, v in GROUPS.items()}
    reaching = 0
    for roi, axis in REGIONS.values():
        rows = comparison[
            (comparison["roi"] == roi.replace("_", "-")) & (comparison["axis"] == axis)
        ]
        for r in rows.itertuples():
            said = (
                f"{words[r.contrast].capitalize()}: the 95 % HDI of the {axis} shift reaches 0 mm"
            )
            if r.hdi_low_mm <= 0 <= r.hdi_high_mm:
                reaching += 1
                assert said in whole and f"p = {r.p_value:.3f}" in whole, said
            else:
                assert said not in whole, said
    assert reaching >= 1  # the tiny fit's chronic MI interval reaches 0 on these data


def test_a_family_with_nothing_to_show_is_one_line(tmp_path):
    from biomark.io.datasets import save_dataset
    from biomark.pipeline.data import load

    ds = load(None)
    e = ds.experiments
    save_dataset(ds.subset(e.loc[e["group"].eq("healthy"), "experiment_id"].astype(str), "h"),
                 tmp_path / "d")  # fmt: skip
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["report", "--family", "time", "--data", str(tmp_path / "d"), *TINY, "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "none of the analyses of family 'time'" in line and "ALE needs at least 2" in line
    assert not out.exists()
