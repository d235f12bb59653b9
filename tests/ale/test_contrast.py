import nibabel as nib
import numpy as np
import pytest

from biomark.ale import contrast
from biomark.ale.contrast import (
    PermutationSpec,
    chunk_labels,
    conjunction,
    quantised_log_complement,
    subtraction,
)
from biomark.ale.ma import MaMaps
from biomark.parallel import make_backend

from .conftest import REF

N_EXP = 25
IN_A = np.arange(N_EXP) < 13  # the 13 vs 12 split in file order NiMARE's reference used


def _labels(seed: int, n_perm: int, chunk: int, in_a: np.ndarray) -> np.ndarray:
    spec = PermutationSpec(np.zeros((in_a.size, 0)), 0, 0, np.zeros(0), in_a, n_perm, seed, chunk)
    return np.vstack([chunk_labels(spec, k) for k in range(spec.n_chunks)])


def _reference_counts(q: np.ndarray, in_a: np.ndarray, labels: np.ndarray):
    """Brute force: every permutation's S_A at every voxel, summed row by row in reverse order."""

    def s_of(row):
        total = np.zeros(q.shape[1])
        for e in np.flatnonzero(row)[::-1]:
            total = total + q[e]
        return total

    obs = s_of(in_a)
    s = np.stack([s_of(r) for r in labels])
    return (s <= obs).sum(0), (s >= obs).sum(0)


def _active_q(ma: MaMaps, voxels: np.ndarray):
    touched = np.zeros(ma.n_mask_voxels, bool)
    touched[ma.columns] = True
    w = touched[voxels]
    return w, quantised_log_complement(ma.dense(voxels[w]))


def test_quantised_sums_are_order_independent():
    rng = np.random.default_rng(0)
    lm = quantised_log_complement(rng.random((25, 50)) * 0.01)
    a = lm.sum(axis=0)
    b = lm[::-1].sum(axis=0)
    c = np.ones(25) @ lm
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("max_bits", [8, 0])  # pattern histograms / direct comparison only
def test_counts_equal_brute_force(synth_ma, monkeypatch, max_bits):
    monkeypatch.setattr(contrast, "MAX_PATTERN_BITS", max_bits)
    voxels = np.arange(0, synth_ma.n_mask_voxels, 53)
    r = subtraction(synth_ma, IN_A, n_permutations=300, seed=5, voxels=voxels, chunk_size=128)
    w, q = _active_q(synth_ma, voxels)
    le, ge = _reference_counts(q, IN_A, _labels(5, 300, 128, IN_A))
    np.testing.assert_array_equal(r.p_upper[w], (1 + le) / 301)
    np.testing.assert_array_equal(r.p_lower[w], (1 + ge) / 301)
    assert np.all(r.p_upper[~w] == 1) and np.all(r.diff[~w] == 0)


def test_observed_grouping_among_permutations_counts_as_tie(synth_ma, monkeypatch):
    # 6 experiments, 3 vs 3: 20 groupings, so the observed one recurs ~50 times in 1,000
    rows = np.arange(6)
    ma = MaMaps(
        synth_ma.indptr[:7], synth_ma.columns[: synth_ma.indptr[6]],
        synth_ma.values[: synth_ma.indptr[6]], synth_ma.n_mask_voxels, synth_ma.n_subjects[:6],
        synth_ma.ijk, synth_ma.experiment_index, synth_ma.focus_in_mask,
    )  # fmt: skip
    in_a = rows < 3
    labels = _labels(2, 1000, 1000, in_a)
    n_same = int((labels == in_a).all(axis=1).sum())
    assert n_same > 20
    voxels = np.unique(ma.columns)
    for bits in (8, 0):
        monkeypatch.setattr(contrast, "MAX_PATTERN_BITS", bits)
        r = subtraction(ma, in_a, n_permutations=1000, seed=2, voxels=voxels)
        # every permutation that repeats the observed grouping ties in both directions
        assert np.all(r.p_upper * 1001 - 1 >= n_same)
        assert np.all(r.p_lower * 1001 - 1 >= n_same)
    # one-experiment voxels: S_A ≤ observed exactly when that experiment is in A (MA values
    # below 2⁻⁴¹ quantise to log(1 − MA) = 0 and do not count as support)
    q = quantised_log_complement(ma.dense(voxels))
    single = (q != 0).sum(axis=0) == 1
    owner = np.argmax(q[:, single] != 0, axis=0)
    expected = np.where(in_a[owner], (1 + labels.sum(axis=0)[owner]) / 1001, 1.0)
    np.testing.assert_array_equal(r.p_upper[single], expected)


def test_same_counts_for_any_worker_count(synth_ma):
    voxels = np.arange(0, synth_ma.n_mask_voxels, 11)
    a = subtraction(synth_ma, IN_A, n_permutations=600, seed=9, voxels=voxels, chunk_size=200)
    b = subtraction(
        synth_ma, IN_A, n_permutations=600, seed=9, voxels=voxels, chunk_size=200,
        backend=make_backend(jobs=2),
    )  # fmt: skip
    np.testing.assert_array_equal(a.p_upper, b.p_upper)
    np.testing.assert_array_equal(a.p_lower, b.p_lower)


def test_diff_is_group_ale_difference(synth_ma):
    voxels = np.arange(0, synth_ma.n_mask_voxels, 29)
    r = subtraction(synth_ma, IN_A, n_permutations=10, seed=0, voxels=voxels)
    ma = synth_ma.dense(voxels)
    ale_a = 1 - np.prod(1 - ma[IN_A], axis=0)
    ale_b = 1 - np.prod(1 - ma[~IN_A], axis=0)
    np.testing.assert_allclose(r.diff, ale_a - ale_b, atol=1e-10)


def test_nimare_tie_defect_absent_on_same_split(synth_ma, mask):
    """NiMARE's p (same data, same 13 vs 12 split, 1,000 permutations) piles up at 1/n."""
    img = nib.load(str(REF / "ref_synth25_sub13v12_p_desc-group1MinusGroup2_niter1000.nii.gz"))
    nimare_p = np.asanyarray(img.dataobj)[mask]
    at_floor = 0.0015  # 1/1001 plus half an 8-bit quantisation step of the stored map
    assert (nimare_p <= at_floor).mean() > 0.10
    r = subtraction(synth_ma, IN_A, n_permutations=1000, seed=0)
    assert (r.p_upper <= at_floor).mean() < 0.005
    assert (r.p_lower <= at_floor).mean() < 0.005
    # a valid test: no more than the nominal share of the mask at p ≤ 0.05 on a null split
    assert (r.p_upper <= 0.05).mean() <= 0.065
    assert (r.p_lower <= 0.05).mean() <= 0.065


def test_group_labels_are_checked(synth_ma):
    with pytest.raises(ValueError):
        subtraction(synth_ma, np.ones(N_EXP, bool), n_permutations=10)


def test_conjunction_is_minimum():
    np.testing.assert_array_equal(
        conjunction(np.array([0.0, 2, 3]), np.array([1.0, 0, 4])), [0, 0, 3]
    )


def test_unequal_groups_are_warned_about():
    from types import SimpleNamespace

    from biomark.ale.fit_contrast import unequal_groups_warning

    def group(n_exp: int, n_foci: int, n: float) -> SimpleNamespace:
        return SimpleNamespace(n_experiments=n_exp, n_foci=n_foci, n_subjects=np.full(n_exp, n))

    # the paper's outcome groups: 59 foci / 9 experiments vs 48 / 5, 95 vs 35 subjects
    found = unequal_groups_warning(("good", "poor"), group(9, 59, 95 / 9), group(5, 48, 7.0))
    assert len(found) == 2 and "6.6 vs 9.6" in found[0] and "10.6 vs 7.0" in found[1]
    assert unequal_groups_warning(("a", "b"), group(9, 54, 10.0), group(5, 33, 11.0)) == []
