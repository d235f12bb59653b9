"""Slow: cluster-level FWE ALE with the shared per-design null keeps its nominal level."""

import math
from dataclasses import replace

import numpy as np
import pytest

from biomark.parallel import make_backend, map_chunks
from biomark.power.ale_power import design_threshold, shared_null
from biomark.power.calibrate import NullAleSpec, null_ale_chunk
from biomark.power.design import preset

R = 400


@pytest.mark.slow
def test_shared_null_false_positive_rate_is_nominal(mask_grid):
    mask, grid = mask_grid
    d = replace(preset("outcome"), replicates=R, block_size=50, ale_iterations=2000)
    backend = make_backend(2)
    thr = design_threshold(d, "a", mask, grid, np.random.default_rng(4))
    null = shared_null(d, "a", mask, grid, thr, 17, backend)
    spec = NullAleSpec(d, "a", mask, grid, thr, null, 18)
    p_min = np.concatenate(map_chunks(null_ale_chunk, spec, spec.n_chunks, backend))
    rate = float((p_min <= 0.05).mean())
    se = math.sqrt(0.05 * 0.95 / R)
    assert abs(rate - 0.05) <= 2.5 * se, rate
    assert 0.35 <= float(np.median(p_min)) <= 0.65  # corrected p are uniform under the null
