"""Monte Carlo FWE through a real ``distributed.LocalCluster`` on 127.0.0.1 equals the local run.

25 synthetic experiments / 193 foci; the null maxima and every FWE map must be identical byte
for byte between local processes (``--jobs 2``) and a two-worker Dask cluster, because chunk
``k`` draws only from ``(seed, k)`` whatever runs it.
"""

import numpy as np
import pytest

from biomark.ale import montecarlo
from biomark.ale.fit import fit_ale
from biomark.ale.ma import compute_ma_maps
from biomark.ale.null import ale_threshold, analytic_null
from biomark.io.images import load_mask
from biomark.parallel import make_backend
from tests.ale.conftest import REF, read_sleuth

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def synth():
    xyz, exp, n = read_sleuth(REF / "synthetic_ale25.txt")
    mask, grid = load_mask()
    return xyz, exp, n, mask, grid


def _bytes(null: montecarlo.MonteCarloNull) -> tuple[bytes, bytes, bytes]:
    return (null.max_ale.tobytes(), null.max_cluster_size.tobytes(),
            null.max_cluster_mass.tobytes())  # fmt: skip


def test_montecarlo_null_identical_on_local_processes_and_dask(synth):
    xyz, exp, n, mask, grid = synth
    threshold = ale_threshold(analytic_null(compute_ma_maps(xyz, exp, n, mask)), 0.001)
    spec = montecarlo.MonteCarloSpec(
        mask=mask, voxel_size_mm=montecarlo.grid_voxel_size(grid), n_subjects=n,
        experiment_index=exp, ale_threshold=threshold, n_iterations=120, seed=11, chunk_size=30,
    )  # fmt: skip
    local = montecarlo.run_montecarlo(spec, make_backend(2))
    dask = montecarlo.run_montecarlo(spec, make_backend(1, dask_local=2))
    assert local.max_ale.shape == (120,)
    assert _bytes(dask) == _bytes(local)
    # the chunks really are independent of who runs them: chunk 3 alone, in this process
    alone = montecarlo.run_chunk(spec, 3)
    assert alone.max_ale.tobytes() == local.max_ale[90:120].tobytes()


def test_fit_ale_fwe_maps_identical_on_local_processes_and_dask(synth):
    xyz, exp, n, mask, grid = synth
    # 300 iterations = 2 chunks (250 + 50), one per worker
    kw = {"n_iterations": 300, "seed": 5}
    local = fit_ale(xyz, exp, n, mask, grid, backend=make_backend(2), **kw)
    dask = fit_ale(xyz, exp, n, mask, grid, backend=make_backend(1, dask_local=2), **kw)
    assert local.p_voxel_fwe is not None and dask.p_voxel_fwe is not None
    assert local.montecarlo is not None and dask.montecarlo is not None
    assert _bytes(dask.montecarlo) == _bytes(local.montecarlo)
    for name in ("p_voxel_fwe", "cluster_labels", "cluster_p_fwe", "cluster_mass_p_fwe",
                 "significant", "z_thresholded"):  # fmt: skip
        a, b = np.asarray(getattr(local, name)), np.asarray(getattr(dask, name))
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    assert local.significant.any()  # the synthetic set has real clusters to compare
