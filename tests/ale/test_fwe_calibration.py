"""Cluster-level FWE is calibrated: under the null, ≈5 % of meta-analyses show a cluster.

Design (each meta-analysis k is one chunk of :func:`biomark.parallel.map_chunks`, seeded by
``chunk_rng(SEED, k)``): 20 experiments × 8 foci, N drawn from 10–30, every focus at a uniformly
drawn GingerALE-mask voxel — exactly the null the Monte Carlo simulates. Per meta-analysis:
MA maps → ALE → analytic null → cluster-forming threshold at p < 0.001 → largest observed
cluster (size and mass, 6-connectivity) → its own 1,000-iteration Monte Carlo null →
corrected p = (1 + #null ≥ obs) / 1,001. A meta-analysis is a false positive when that p ≤ 0.05.
The false-positive rate over N_META = 300 meta-analyses must lie within 0.05 ± 2.5 SE,
SE = sqrt(0.05 · 0.95 / N_META) = 0.0126, i.e. at most 24 of 300 (window fixed before the run).
Exact binomial: a calibrated method fails with probability 0.012; a doubled false-positive rate
(0.10) fails with probability 0.86, the smallest defect detected with ≥ 80 % power (a rate of
0.09 is caught with probability 0.68). The earlier 100 meta-analyses at ± 2 SE passed a true 9 %
rate more often than not.
"""

import numpy as np
import pytest

from biomark.ale.fwe import corrected_p
from biomark.ale.ma import compute_ma_maps
from biomark.ale.montecarlo import MonteCarloSpec, label_clusters, run_montecarlo
from biomark.ale.null import ale_from_ma, ale_threshold, analytic_null
from biomark.io.images import load_mask
from biomark.parallel import chunk_rng, make_backend, map_chunks
from biomark.space import MNI152_2MM, ijk_to_mm

SEED = 2026
N_META = 300
N_ITER = 1000
N_EXP, N_FOCI_PER_EXP = 20, 8
ALPHA = 0.05


def one_null_meta_analysis(n_iter: int, k: int) -> tuple[float, float]:
    """Corrected p (size, mass) of the largest cluster of null meta-analysis ``k``."""
    mask = load_mask()[0]
    rng = chunk_rng(SEED, k)
    n_subjects = rng.integers(10, 31, size=N_EXP).astype(float)
    exp = np.repeat(np.arange(N_EXP), N_FOCI_PER_EXP)
    in_mask = np.argwhere(mask)
    ijk = in_mask[rng.integers(0, in_mask.shape[0], size=exp.shape[0])]
    ma = compute_ma_maps(ijk_to_mm(ijk, MNI152_2MM), exp, n_subjects, mask)
    thr = ale_threshold(analytic_null(ma), 0.001)
    ale = np.zeros(mask.shape)
    ale[mask] = ale_from_ma(ma)
    _, sizes, masses = label_clusters(ale, thr, connectivity=6)
    spec = MonteCarloSpec(
        mask=mask,
        voxel_size_mm=(2.0, 2.0, 2.0),
        n_subjects=n_subjects,
        experiment_index=exp,
        ale_threshold=thr,
        n_iterations=n_iter,
        chunk_size=n_iter,
        seed=10_000 + k,
    )
    null = run_montecarlo(spec, make_backend(1))
    p_size = corrected_p(np.array([sizes.max(initial=0.0)]), null.max_cluster_size)[0]
    p_mass = corrected_p(np.array([masses.max(initial=0.0)]), null.max_cluster_mass)[0]
    return float(p_size), float(p_mass)


@pytest.mark.slow
def test_cluster_fwe_false_positive_rate_is_nominal():
    results = np.array(map_chunks(one_null_meta_analysis, N_ITER, N_META, make_backend(2)))
    se = np.sqrt(ALPHA * (1 - ALPHA) / N_META)
    rate_size, rate_mass = (results <= ALPHA).mean(axis=0)
    msg = f"FWE false-positive rate size={rate_size:.3f} mass={rate_mass:.3f}, SE={se:.4f}"
    assert abs(rate_size - ALPHA) <= 2.5 * se, msg
    assert abs(rate_mass - ALPHA) <= 2.5 * se, msg
    # Under the null corrected p-values are (discretely) uniform: check the median too.
    assert 0.35 <= np.median(results[:, 0]) <= 0.65, msg
