import numpy as np
import pytest

from biomark.ale.montecarlo import MonteCarloSpec, corrected_p, run_chunk, run_montecarlo

from .conftest import REF


def _spec(synth, mask, n_iter, chunk=4):
    _, exp, n = synth
    return MonteCarloSpec(
        mask=mask,
        voxel_size_mm=(2.0, 2.0, 2.0),
        n_subjects=n,
        experiment_index=exp,
        ale_threshold=0.00986,
        n_iterations=n_iter,
        seed=7,
        chunk_size=chunk,
    )


def test_corrected_p_formula():
    null = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(corrected_p(np.array([0.5, 3.0, 9.0]), null), [5 / 5, 3 / 5, 1 / 5])


def test_same_numbers_whatever_the_workers(synth, mask):
    spec = _spec(synth, mask, 8)
    a = run_montecarlo(spec, jobs=1)
    b = run_montecarlo(spec, jobs=2)
    for x, y in zip(
        (a.max_ale, a.max_cluster_size, a.max_cluster_mass),
        (b.max_ale, b.max_cluster_size, b.max_cluster_mass),
        strict=True,
    ):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(run_chunk(spec, 1).max_ale, a.max_ale[4:8])


def test_null_max_ale_at_least_largest_kernel_peak(synth, mask):
    from biomark.ale.kernels import ale_kernel

    _, _, n = synth
    r = run_montecarlo(_spec(synth, mask, 4))
    assert (r.max_ale >= max(ale_kernel(v).max() for v in n) - 1e-15).all()


@pytest.mark.slow
def test_fwe_null_matches_nimare_1000_iterations(synth, mask):
    r = run_montecarlo(_spec(synth, mask, 1000, chunk=250), jobs=2)
    ref = np.load(REF / "ref_synth25_fwe_nulls_niter1000_ncores1.npz")
    q_size = np.quantile(ref["values_desc-size_level-cluster_corr-fwe_method-montecarlo"], 0.95)
    q_ale = np.quantile(ref["values_level-voxel_corr-fwe_method-montecarlo"], 0.95)
    assert np.quantile(r.max_cluster_size, 0.95) == pytest.approx(q_size, rel=0.10)
    assert np.quantile(r.max_ale, 0.95) == pytest.approx(q_ale, rel=0.05)
