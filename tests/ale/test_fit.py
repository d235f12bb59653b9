import dataclasses

import nibabel as nib
import numpy as np
import pytest

from biomark.ale.fit import fit_ale
from biomark.ale.fit_contrast import fit_contrast
from biomark.ale.results import ale_cluster_table, contrast_cluster_table
from biomark.errors import InputError
from biomark.parallel import make_backend

from .conftest import REF, ref_map

IN_A = np.arange(25) < 13


@pytest.fixture(scope="module")
def cfwe(synth, mask):
    """Cluster-level FWE with 1,000 iterations, as NiMARE's reference (~20 s)."""
    xyz, exp, n = synth
    return fit_ale(xyz, exp, n, mask, n_iterations=1000, seed=0)


def test_maps_match_nimare(synth, mask, ref_summary):
    xyz, exp, n = synth
    r = fit_ale(xyz, exp, n, mask, correction="none")
    s = ref_summary["summary"]
    ref_ale, step = ref_map("ref_synth25_ale_stat.nii.gz", mask)
    assert np.abs(r.ale - ref_ale).max() <= step / 2 + 1e-6
    ref_p, step = ref_map("ref_synth25_ale_p.nii.gz", mask)
    assert np.abs(r.p - ref_p).max() <= step / 2 + 1e-6
    assert r.p.min() == pytest.approx(s["min_p"], rel=1e-6)
    assert r.z.max() == pytest.approx(s["max_z"], abs=1e-4)
    assert r.cluster_forming_threshold == pytest.approx(s["ale_thresh_p0.001"], abs=1e-5)
    assert abs(int(r.significant.sum()) - s["n_vox_p_lt_0.001"]) <= 2
    np.testing.assert_allclose(r.logp, -np.log10(r.p))
    assert r.montecarlo is None and np.isnan(r.cluster_p_fwe).all()
    assert "Results are thresholded without correction" in " ".join(r.warnings)


def test_cluster_fwe_matches_nimare(cfwe, mask):
    name = "ref_synth25_z_desc-size_level-cluster_corr-FWE_method-montecarlo_niter1000_ncores1"
    ref = nib.load(str(REF / f"{name}.nii.gz")).get_fdata()[mask] > 0
    ours = cfwe.z_thresholded > 0
    dice = 2 * (ours & ref).sum() / (ours.sum() + ref.sum())
    assert dice >= 0.9
    # the Monte Carlo null agrees with NiMARE's in distribution (medians within ~10 %)
    nulls = np.load(REF / "ref_synth25_fwe_nulls_niter1000_ncores1.npz")
    ref_size = nulls["values_desc-size_level-cluster_corr-fwe_method-montecarlo"]
    ref_max = nulls["values_level-voxel_corr-fwe_method-montecarlo"]
    assert np.median(cfwe.montecarlo.max_cluster_size) == pytest.approx(
        np.median(ref_size), rel=0.1
    )
    assert np.median(cfwe.montecarlo.max_ale) == pytest.approx(np.median(ref_max), rel=0.05)


def test_cfwe_result_is_consistent_and_frozen(cfwe):
    assert cfwe.montecarlo.max_ale.shape == (1000,)
    survivors = np.flatnonzero(cfwe.cluster_p_fwe < 0.05) + 1
    np.testing.assert_array_equal(cfwe.significant, np.isin(cfwe.cluster_labels, survivors))
    assert np.all(cfwe.ale[cfwe.significant] > cfwe.cluster_forming_threshold)
    assert np.all(cfwe.z_thresholded[~cfwe.significant] == 0)
    assert cfwe.p_voxel_fwe.min() >= 1 / 1001
    assert cfwe.n_foci_outside_mask == 0 and cfwe.n_experiments == 25 and cfwe.n_foci == 193
    assert cfwe.warnings == ()  # 25 experiments, cFWE: nothing to warn about
    for ref in ("Eickhoff", "Turkeltaub", "NiMARE", "halves to even", "more conservative"):
        assert ref in cfwe.methods or ref in " ".join(cfwe.references)
    with pytest.raises(ValueError):
        cfwe.ale[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfwe.correction = "none"  # type: ignore[misc]


def test_cluster_table_carries_fwe_p(cfwe):
    table, clusters = ale_cluster_table(cfwe)
    assert clusters.n_clusters == 3  # the three planted regions of the synthetic set
    assert (table["cluster_p_fwe"] < 0.05).all()
    assert table["n_voxels"].sum() == cfwe.significant.sum()


def test_same_numbers_with_one_and_two_workers(synth, mask):
    xyz, exp, n = synth
    kw = {"n_iterations": 300, "seed": 4}  # two Monte Carlo chunks (250 + 50)
    one = fit_ale(xyz, exp, n, mask, **kw)
    two = fit_ale(xyz, exp, n, mask, backend=make_backend(jobs=2), **kw)
    for field in ("max_ale", "max_cluster_size", "max_cluster_mass"):
        np.testing.assert_array_equal(
            getattr(one.montecarlo, field), getattr(two.montecarlo, field)
        )
    np.testing.assert_array_equal(one.z_thresholded, two.z_thresholded)
    kw_c = {"mode": "whole_mask", "n_permutations": 2000, "correction": "none", "seed": 3}
    c1 = fit_contrast(xyz, exp, n, IN_A, mask, **kw_c)
    c2 = fit_contrast(xyz, exp, n, IN_A, mask, backend=make_backend(jobs=2), **kw_c)
    np.testing.assert_array_equal(c1.p_a_minus_b, c2.p_a_minus_b)
    np.testing.assert_array_equal(c1.p_b_minus_a, c2.p_b_minus_a)


def test_fdr_warns_and_thresholds_like_benjamini_hochberg(synth, mask, ref_summary):
    xyz, exp, n = synth
    r = fit_ale(xyz, exp, n, mask, correction="fdr", fdr_q=0.05)
    assert any("Eickhoff et al., 2017" in w and "2016" in w for w in r.warnings)
    # NiMARE's FDRCorrector(method="indep") on the same data
    assert abs(int(r.significant.sum()) - ref_summary["summary"]["fdr_n_vox_q_lt_0.05"]) <= 2
    by = fit_ale(xyz, exp, n, mask, correction="fdr", fdr_method="by")
    assert by.significant.sum() < r.significant.sum()
    assert np.all(by.significant <= r.significant)


def test_few_experiments_warn_and_min_volume_removes_small_clusters(synth, mask):
    xyz, exp, n = synth
    keep = exp < 10
    r = fit_ale(xyz[keep], exp[keep], n[:10], mask, correction="none")
    assert any("fewer than the 17" in w for w in r.warnings)
    big = fit_ale(xyz[keep], exp[keep], n[:10], mask, correction="none", min_cluster_mm3=400)
    table, _ = ale_cluster_table(r)
    assert (table["volume_mm3"] < 400).any()
    kept = table.loc[table["volume_mm3"] >= 400, "n_voxels"].sum()
    assert big.significant.sum() == kept


def test_vfwe(cfwe, synth, mask):
    xyz, exp, n = synth
    calls = []
    r = fit_ale(
        xyz, exp, n, mask, correction="vfwe", n_iterations=300, seed=1,
        progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert calls[-1] == (300, 300) and len(calls) >= 2
    thr = np.quantile(r.montecarlo.max_ale, 0.95)
    assert np.all(r.ale[r.significant] > thr - 1e-12)
    assert r.significant.sum() < cfwe.significant.sum()


def test_contrast_gating_and_conjunction(synth, mask):
    xyz, exp, n = synth
    c = fit_contrast(
        xyz, exp, n, IN_A, mask, names=("early", "late"), n_permutations=1000,
        n_iterations=200, seed=2,
    )  # fmt: skip
    assert c.main_a.n_experiments == 13 and c.main_b.n_experiments == 12
    np.testing.assert_array_equal(c.tested_a_minus_b, c.main_a.significant)
    assert np.all(c.a_minus_b[~c.main_a.significant] == 0)
    assert np.all(c.b_minus_a[~c.main_b.significant] == 0)
    assert np.all(c.p_a_minus_b[~c.tested_a_minus_b] == 1)
    both = c.main_a.significant & c.main_b.significant
    np.testing.assert_array_equal(c.conjunction > 0, both)
    np.testing.assert_allclose(
        c.conjunction[both], np.minimum(c.main_a.ale, c.main_b.ale)[both], rtol=0
    )
    assert any(w.startswith("early: ") for w in c.warnings)
    assert "GingerALE" in c.methods and "early" in c.methods
    table, _ = contrast_cluster_table(c, "conjunction")
    assert len(table) >= 1
    table, _ = contrast_cluster_table(c, "b_minus_a")
    assert table.empty or (table["max_stat"] > 0).all()


def test_bad_inputs_raise_input_error(synth, mask):
    xyz, exp, n = synth
    with pytest.raises(InputError):
        fit_ale(xyz, exp, n, mask, correction="bonferroni")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        fit_ale(xyz, exp, n[:-1], mask)
    with pytest.raises(InputError):
        fit_ale(xyz[:, :2], exp, n, mask)
    with pytest.raises(InputError):
        fit_contrast(xyz, exp, n, np.zeros(25, bool), mask)
