"""Bias of the Bayesian MI shift through the candidate mixture: prints the markdown table.

    PYTHONPATH=. python benchmarks/candidate_study.py [--replicates 80] [--seed 20261204]

Every scenario of :data:`biomark.power.peak_rule.SCENARIOS` at planted ventral shifts 0 and 6 mm,
each replicate one whole simulated meta-analysis through the users' extraction and model
(:mod:`biomark.power.candidate_study`); the cells run in two processes (the machine's cores).
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from biomark.io.atlases import load_atlases
from biomark.power.candidate_study import CandidateCell, run_cell, summarise_cell
from biomark.power.peak_rule import SCENARIOS
from biomark.shift.rois import roi_mask

SHIFTS_MM = (6.0, 0.0)


def _cell(args: tuple[CandidateCell, np.ndarray]) -> dict[str, float | str]:
    cell, mask = args
    return summarise_cell(cell, run_cell(cell, mask))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicates", type=int, default=80)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    mask = roi_mask(load_atlases(), "mi")
    pairs = [(s, p) for s in args.scenarios for p in SHIFTS_MM]
    cells = [CandidateCell(s, p, args.replicates, args.seed, k) for k, (s, p) in enumerate(pairs)]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = []
        for row in pool.map(_cell, [(c, mask) for c in cells]):
            rows.append(row)
            print(row, flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    seconds = time.perf_counter() - start
    print(f"{len(cells)} cells × {args.replicates} replicates in {seconds:.0f} s")


if __name__ == "__main__":
    main()
