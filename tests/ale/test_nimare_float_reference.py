"""ALE, threshold and p against NiMARE 0.22.1's float outputs (tests/data/nimare_generated).

The references were made by tests/regression/make_nimare_references.py in NiMARE's own venv:
the synthetic 25-experiment set with every N set to 5, 10, 20 and 30 (kernel sizes 21³…17³),
and 40 real healthy-movement experiments with N = 20.
"""

from pathlib import Path

import numpy as np
import pytest

from biomark.ale.ma import compute_ma_maps
from biomark.ale.null import BIN_STEP, ale_from_ma, ale_threshold, analytic_null, p_from_null
from biomark.io.images import load_mask

REF = Path(__file__).resolve().parents[1] / "data" / "nimare_generated"


def _inputs(npz):
    offsets = npz["exp_offsets"]
    exp = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    return npz["xyz_mm"], exp


def _fit(xyz, exp, n):
    mask, grid = load_mask()
    ref_mask = np.load(REF / "mask.npz")["mask"]
    assert np.array_equal(mask, ref_mask)
    ma = compute_ma_maps(xyz, exp, n, mask, grid)
    ale = ale_from_ma(ma)
    null = analytic_null(ma)
    return ale, null, p_from_null(ale, null)


def _check(ale, null, p, stat, p_ref, thr_ref):
    # NiMARE keeps parts of the computation in float32: agreement to 1e-6 absolute
    assert np.max(np.abs(ale - stat)) < 1e-6
    assert abs(ale_threshold(null, 0.001) - float(thr_ref)) < 1e-5
    # p within one null-histogram bin: compare against the tail at the neighbouring bins
    tail = null.upper_tail
    idx = np.clip(np.rint(ale / BIN_STEP).astype(int), 0, len(tail) - 1)
    lo = tail[np.clip(idx + 1, 0, len(tail) - 1)]
    hi = tail[np.clip(idx - 1, 0, len(tail) - 1)]
    pos = ale > 0
    ok = (p_ref[pos] >= lo[pos] * (1 - 1e-6)) & (p_ref[pos] <= hi[pos] * (1 + 1e-6))
    assert ok.all()


@pytest.mark.parametrize("n", [5, 10, 20, 30])
def test_synthetic_equal_n_matches_nimare(n):
    ref = np.load(REF / "ale_synth25_nequal.npz")
    xyz, exp = _inputs(ref)
    ale, null, p = _fit(xyz, exp, np.full(exp.max() + 1, float(n)))
    _check(ale, null, p, ref[f"n{n}_stat"], ref[f"n{n}_p"], ref[f"n{n}_ale_thresh_p001"])


def test_real_subset_matches_nimare():
    ref = np.load(REF / "ale_real40_n20.npz")
    xyz, exp = _inputs(ref)
    ale, null, p = _fit(xyz, exp, ref["sample_sizes"].astype(float))
    _check(ale, null, p, ref["stat"], ref["p"], ref["ale_thresh_p001"])
