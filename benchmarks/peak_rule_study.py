"""Bias of the ROI peak rules on whole simulated experiments: prints the markdown table.

    PYTHONPATH=. python benchmarks/peak_rule_study.py [--replicates 600] [--seed 20261203]
    PYTHONPATH=. python benchmarks/peak_rule_study.py --estimate-neighbours

The table (scenario × planted ventral shift × rule: mean recovered shift, bias, Monte Carlo SE,
Welch 95 % CI coverage) comes from :func:`biomark.power.peak_rule.bias_study` with the pipeline's
MI ROI and 6 mm tolerance. ``--estimate-neighbours`` recomputes the PMd and SI rates and
positions of :mod:`biomark.power.experiments` from data/real/healthy_motor_coordinates.tsv.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from biomark.ale.labels import maximum_probability_map
from biomark.io.atlases import load_atlases
from biomark.power.peak_rule import bias_study
from biomark.shift.peaks import distance_to_mask_mm
from biomark.shift.rois import roi_mask
from biomark.space import in_grid, mm_to_ijk, tal_to_mni

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def estimate_neighbours(table: str = "healthy") -> None:
    """Rates and positions of left PMd and SI foci in real tables with a focus near MI."""
    atlases = load_atlases()
    mask = roi_mask(atlases, "mi")
    juelich = atlases["juelich"]
    names = list(juelich.label_names)
    mpm = maximum_probability_map(juelich)
    df = pd.read_csv(REAL / f"{table}_motor_coordinates.tsv", sep="\t")
    # one source per paper (Neurosynth where it has it): the two databases overlap
    ns = set(df.loc[df["source"] == "neurosynth_v7", "pmid"])
    df = df[(df["source"] == "neurosynth_v7") | ~df["pmid"].isin(ns)].copy()
    xyz = df[["x", "y", "z"]].to_numpy(float).copy()
    tal = df["space"].eq("TAL").to_numpy()
    xyz[tal] = tal_to_mni(xyz[tal])
    df[["x", "y", "z"]] = xyz
    ijk = mm_to_ijk(xyz)
    ok = in_grid(ijk)
    label = np.zeros(len(df), int)
    label[ok] = mpm[ijk[ok, 0], ijk[ok, 1], ijk[ok, 2]]
    si_labels = [names.index(f"GM_Primary_somatosensory_cortex_{b}_L") + 1
                 for b in ("BA1", "BA2", "BA3a", "BA3b")]  # fmt: skip
    df["near_mi"] = distance_to_mask_mm(xyz, mask) <= 6.0
    df["PMd"] = (label == names.index("GM_Premotor_cortex_BA6_L") + 1) & (df.x < -16) & (df.z >= 44)
    df["SI"] = np.isin(label, si_labels) & (df.z >= 40)
    per = df.groupby(["source", "pmid", "table_id"])[["near_mi", "PMd", "SI"]].sum()
    mi_tables = per[per["near_mi"] > 0]
    print(f"{table}: {len(per)} tables, {len(mi_tables)} with a focus within 6 mm of the MI ROI")
    keys = set(mi_tables.index)
    sel = df[[k in keys for k in zip(df.source, df.pmid, df.table_id, strict=True)]]
    for region in ("PMd", "SI"):
        has = mi_tables[region] > 0
        foci = sel[sel[region]]
        print(f"  {region}: rate {has.mean():.2f}, foci when reported "
              f"{mi_tables.loc[has, region].mean():.2f}, n = {len(foci)}, mean "
              f"{foci[['x', 'y', 'z']].mean().round(1).tolist()}, SD "
              f"{foci[['x', 'y', 'z']].std().round(1).tolist()}")  # fmt: skip
    both = ((mi_tables["PMd"] > 0) & (mi_tables["SI"] > 0)).mean()
    print(f"  both: {both:.2f}")


def markdown(table: pd.DataFrame) -> str:
    lines = ["| scenario | planted (mm) | rule | mean recovered (mm) | bias | MC SE (mm) | "
             "95 % CI coverage | replicates |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in table.itertuples():
        bias = f"{r.bias_mm:+.2f} mm" if r.planted_mm == 0 else f"{r.bias_pct:+.1f} %"
        lines.append(f"| {r.scenario} | {r.planted_mm:g} | {r.rule} | {r.mean_mm:.2f} | {bias} | "
                     f"{r.mc_se_mm:.3f} | {r.coverage:.3f} | {int(r.replicates)} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=600)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--estimate-neighbours", action="store_true")
    args = parser.parse_args()
    if args.estimate_neighbours:
        estimate_neighbours("healthy")
        estimate_neighbours("stroke")
        return
    mask = roi_mask(load_atlases(), "mi")
    start = time.perf_counter()
    table = bias_study(mask, np.random.default_rng(args.seed), args.replicates)
    print(markdown(table))
    print(f"\n{args.replicates} replicates per row, seed {args.seed}, "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
