import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from biomark.ale.fwe import corrected_p
from biomark.ale.kernels import ale_kernel
from biomark.ale.ma import compute_ma_maps
from biomark.ale.montecarlo import (
    MonteCarloSpec,
    resolve_engine,
    run_chunk,
    run_montecarlo,
)
from biomark.ale.null import ale_from_ma
from biomark.parallel import chunk_rng, make_backend
from biomark.space import MNI152_2MM, ijk_to_mm

from .conftest import REF

THR_P001 = 0.00986  # NiMARE 0.22.1's ALE threshold for p < 0.001 on the synthetic set


def _spec(synth, mask, n_iter, chunk=4, **kw):
    _, exp, n = synth
    return MonteCarloSpec(
        mask=mask,
        voxel_size_mm=(2.0, 2.0, 2.0),
        n_subjects=n,
        experiment_index=exp,
        ale_threshold=kw.pop("thr", THR_P001),
        n_iterations=n_iter,
        seed=kw.pop("seed", 7),
        chunk_size=chunk,
        **kw,
    )


def _maxima(r):
    return r.max_ale, r.max_cluster_size, r.max_cluster_mass


def _assert_same(a, b):
    np.testing.assert_allclose(a.max_ale, b.max_ale, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(a.max_cluster_size, b.max_cluster_size)
    np.testing.assert_allclose(a.max_cluster_mass, b.max_cluster_mass, rtol=1e-12, atol=0)


def test_corrected_p_formula():
    null = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(corrected_p(np.array([0.5, 3.0, 9.0]), null), [5 / 5, 3 / 5, 1 / 5])


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine"):
        resolve_engine("fortran")  # type: ignore[arg-type]
    assert resolve_engine("auto") == "numba"  # numba is installed in the dev environment


def test_same_numbers_whatever_the_workers(synth, mask):
    spec = _spec(synth, mask, 8)
    a = run_montecarlo(spec, jobs=1)
    b = run_montecarlo(spec, make_backend(jobs=2))
    for x, y in zip(_maxima(a), _maxima(b), strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(run_chunk(spec, 1).max_ale, a.max_ale[4:8])


@pytest.mark.parametrize(("connectivity", "seed"), [(6, 1), (18, 2), (26, 3), (6, 4)])
def test_numba_engine_equals_numpy_reference(synth, mask, connectivity, seed):
    spec = _spec(synth, mask, 5, chunk=5, connectivity=connectivity, seed=seed)
    fast = run_chunk(dataclasses.replace(spec, engine="numba"), 0)
    ref = run_chunk(dataclasses.replace(spec, engine="numpy"), 0)
    _assert_same(fast, ref)
    assert (ref.max_cluster_size > 0).all()  # the comparison covers clusters, not only zeros


@pytest.mark.parametrize("connectivity", [6, 26])
def test_engines_agree_with_few_foci(synth, mask, connectivity):
    """Few foci: the compiled engine scans kernel boxes instead of the whole volume."""
    _, exp, n = synth
    spec = MonteCarloSpec(
        mask=mask,
        voxel_size_mm=(2.0, 2.0, 2.0),
        n_subjects=n[:5],
        experiment_index=exp[exp < 5],
        ale_threshold=0.004,
        connectivity=connectivity,
        n_iterations=6,
        chunk_size=6,
        seed=13,
    )
    fast = run_chunk(dataclasses.replace(spec, engine="numba"), 0)
    ref = run_chunk(dataclasses.replace(spec, engine="numpy"), 0)
    _assert_same(fast, ref)
    assert (ref.max_cluster_size > 0).all()


def _ball_mask(shape=(40, 44, 38), radius=15.0):
    ijk = np.indices(shape).reshape(3, -1).T
    centre = (np.asarray(shape) - 1) / 2
    return (np.linalg.norm(ijk - centre, axis=1) <= radius).reshape(shape)


@pytest.mark.parametrize("connectivity", [6, 26])
def test_engines_agree_with_crowded_foci_and_edges(connectivity):
    """Many overlapping foci per experiment, kernels of several sizes, mask touching the box."""
    mask = _ball_mask()
    spec = MonteCarloSpec(
        mask=mask,
        voxel_size_mm=(2.0, 2.0, 2.0),
        n_subjects=np.array([5.0, 12.0, 30.0, 7.0]),
        experiment_index=np.repeat(np.arange(4), [12, 9, 15, 1]),
        ale_threshold=0.008,
        connectivity=connectivity,
        n_iterations=6,
        chunk_size=6,
        seed=11,
    )
    fast = run_chunk(dataclasses.replace(spec, engine="numba"), 0)
    ref = run_chunk(dataclasses.replace(spec, engine="numpy"), 0)
    _assert_same(fast, ref)
    assert (ref.max_cluster_size > 0).all()


def test_no_suprathreshold_voxels_gives_zero_clusters(synth, mask):
    spec = _spec(synth, mask, 3, chunk=3, thr=0.5)
    for engine in ("numba", "numpy"):
        r = run_chunk(dataclasses.replace(spec, engine=engine), 0)
        assert (r.max_cluster_size == 0).all() and (r.max_cluster_mass == 0).all()
        assert (r.max_ale > 0).all()


def _dense_maxima(spec, iteration):
    """Brute force for one iteration: redraw its foci, dense MA maps, scipy labelling."""
    n_mask = int(spec.mask.sum())
    draws = chunk_rng(spec.seed, 0).integers(
        0, n_mask, size=(spec.chunk_size, spec.experiment_index.shape[0])
    )
    ijk = np.argwhere(spec.mask)[draws[iteration]]
    ma = compute_ma_maps(
        ijk_to_mm(ijk, MNI152_2MM), spec.experiment_index, spec.n_subjects, spec.mask
    )
    ale = np.zeros(spec.mask.shape)
    ale[spec.mask] = ale_from_ma(ma)
    struct = ndimage.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[spec.connectivity])
    labels, n = ndimage.label(ale > spec.ale_threshold, struct)
    idx = np.arange(1, n + 1)
    sizes = ndimage.sum(np.ones_like(ale), labels, idx)
    mass = ndimage.sum(ale - spec.ale_threshold, labels, idx)
    return ale.max(), sizes.max(initial=0.0), mass.max(initial=0.0)


@pytest.mark.parametrize("connectivity", [6, 18])
def test_null_maxima_match_brute_force_dense_ale(synth, mask, connectivity):
    spec = _spec(synth, mask, 3, chunk=3, connectivity=connectivity, engine="numba", seed=5)
    r = run_chunk(spec, 0)
    for it in range(3):
        ale_max, size, mass = _dense_maxima(spec, it)
        assert r.max_ale[it] == pytest.approx(ale_max, rel=1e-12)
        assert r.max_cluster_size[it] == size
        assert r.max_cluster_mass[it] == pytest.approx(mass, rel=1e-10)


def test_null_max_ale_at_least_largest_kernel_peak(synth, mask):
    _, _, n = synth
    r = run_montecarlo(_spec(synth, mask, 4))
    assert (r.max_ale >= max(ale_kernel(v).max() for v in n) - 1e-15).all()


def test_fwe_null_matches_nimare_1000_iterations(synth, mask):
    """95th percentiles of NiMARE 0.22.1's 1,000-iteration nulls (different random draws)."""
    r = run_montecarlo(_spec(synth, mask, 1000, chunk=250), jobs=2)
    ref = np.load(REF / "ref_synth25_fwe_nulls_niter1000_ncores1.npz")
    q_size = np.quantile(ref["values_desc-size_level-cluster_corr-fwe_method-montecarlo"], 0.95)
    q_mass = np.quantile(ref["values_desc-mass_level-cluster_corr-fwe_method-montecarlo"], 0.95)
    q_ale = np.quantile(ref["values_level-voxel_corr-fwe_method-montecarlo"], 0.95)
    assert np.quantile(r.max_cluster_size, 0.95) == pytest.approx(q_size, rel=0.10)
    assert np.quantile(r.max_cluster_mass, 0.95) == pytest.approx(q_mass, rel=0.15)
    assert np.quantile(r.max_ale, 0.95) == pytest.approx(q_ale, rel=0.05)


def test_engines_agree_when_most_foci_share_boxes():
    """One experiment of 60 foci in a small ball: big overlap groups, chains of neighbours
    and kernel rows shared by several members (the scratch-volume route of the numba engine).
    """
    mask = _ball_mask(shape=(30, 32, 28), radius=11.0)
    spec = MonteCarloSpec(
        mask=mask,
        voxel_size_mm=(2.0, 2.0, 2.0),
        n_subjects=np.array([9.0, 25.0, 14.0]),
        experiment_index=np.repeat(np.arange(3), [60, 2, 25]),
        ale_threshold=0.006,
        connectivity=18,
        n_iterations=4,
        chunk_size=4,
        seed=23,
    )
    fast = run_chunk(dataclasses.replace(spec, engine="numba"), 0)
    ref = run_chunk(dataclasses.replace(spec, engine="numpy"), 0)
    _assert_same(fast, ref)
    np.testing.assert_array_equal(fast.max_ale, ref.max_ale)  # bit for bit, not only 1e-12
    assert (ref.max_cluster_size > 0).all()
