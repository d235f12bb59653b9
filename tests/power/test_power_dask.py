"""Power-study chunks on a real distributed.LocalCluster give the serial numbers."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from biomark.parallel import make_backend, map_chunks
from biomark.power.ale_power import AleSpec, power_chunk
from biomark.power.design import preset
from biomark.power.study import run_power_study

pytest.importorskip("distributed")

TINY = replace(
    preset("outcome"), replicates=4, block_size=2, bayes_replicates=0, ale_iterations=250,
    curve_replicates=100,
)  # fmt: skip


def test_dask_local_cluster_replicates_identical_to_serial(mask_grid):
    mask, grid = mask_grid
    spec = AleSpec(TINY, mask, grid, 0.00706, np.array([10.0, 40.0, 80.0]), 99)
    serial = map_chunks(power_chunk, spec, spec.n_chunks, make_backend(1))
    dask = map_chunks(power_chunk, spec, spec.n_chunks, make_backend(1, dask_local=2))
    for a, b in zip(serial, dask, strict=True):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.slow
def test_dask_local_cluster_study_identical_to_serial(mask_grid, mi_mask):
    mask, grid = mask_grid
    serial = run_power_study(TINY, mask, mi_mask, grid, 99, make_backend(1))
    dask = run_power_study(TINY, mask, mi_mask, grid, 99, make_backend(1, dask_local=2))
    pd.testing.assert_frame_equal(serial.estimates, dask.estimates)
    pd.testing.assert_frame_equal(serial.curve, dask.curve)
    assert dask.details["backend"].startswith("dask")
