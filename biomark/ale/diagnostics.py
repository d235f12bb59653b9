"""Per-cluster experiment diagnostics: contributions, focus counts and leave-one-out jackknife.

Definitions (for a cluster ``C`` of the ALE analysis of experiments ``1..n``):

* **jackknife contribution** of experiment ``e`` (NiMARE's ``Jackknife``): the mean over the
  cluster's voxels of the proportional loss of ALE when ``e`` is left out,
  ``c_e = mean_{v ∈ C} [1 − ALE_{−e}(v) / ALE(v)]``, where
  ``ALE_{−e} = 1 − Π_{j ≠ e} (1 − MA_j)`` is computed exactly from the MA maps (no refit).
* **share** (GingerALE-style relative contribution, percent): ``100 · c_e / Σ_j c_j`` — the
  contributions rescaled to sum to 100 % over experiments.
* **foci in cluster** (NiMARE's ``FocusCounter``): the experiment's foci lying less than one
  voxel (Euclidean, in voxel units, from the focus's unrounded voxel position) from some voxel
  of the cluster.
* **survives without** ``e``: some connected part of the cluster, recomputed from ALE_{−e},
  still passes the full analysis's own test (:func:`jackknife_threshold`): for cluster-level
  FWE, a part above the cluster-forming threshold at least as large as the critical cluster
  size of the same Monte Carlo null; for voxel-level FWE or FDR, a voxel above the corrected
  ALE threshold; uncorrected, a voxel above the cluster-forming threshold — each with the
  minimum cluster volume. Leaving an experiment out never raises ALE, so only the cluster's
  own voxels can survive, and checking them is exact. The critical values stay those of the
  full analysis (a refit would recompute its null for one experiment fewer).

  Counting any supra-threshold voxel as survival cannot fail at these sizes: the centre of a
  single remaining focus's kernel exceeds a typical cluster-forming threshold on its own
  (measured: peak MA 0.0066 for N = 10 against a threshold of 0.0062 for 9 experiments).

A cluster is flagged **single-experiment driven** when one experiment's share exceeds
``dominance_pct`` (default 50 %) or leaving one experiment out removes it; GingerALE's "at least
two experiments contribute" holds when ≥ 2 experiments have a share ≥ ``min_share_pct``
(default 5 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import ndimage

from biomark.ale.clusters import neighbourhood
from biomark.ale.fdr import fdr_threshold, min_volume_voxels
from biomark.ale.fwe import critical_value
from biomark.ale.results import AleResult
from biomark.errors import InputError
from biomark.space import MNI152_2MM, FloatArray, Grid

#: How the cluster tables' jackknife column is decided (:func:`jackknife_threshold`).
JACKKNIFE_METHODS: Final = (
    "In the cluster tables, a cluster survives the omission of an experiment when, with ALE "
    "recomputed without that experiment, part of the cluster still passes the analysis's own "
    "test with its critical values: for cluster-level FWE, a connected part above the "
    "cluster-forming threshold that reaches the critical cluster extent of the same Monte "
    "Carlo null; for voxel-level FWE or FDR, a voxel above the corrected threshold."
)

#: Eickhoff et al. (2016) NeuroImage 137:70-85: ALE needs about 17-20 experiments.
MIN_RECOMMENDED_EXPERIMENTS: Final = 17


def experiment_count_warning(
    n_experiments: int, minimum: int = MIN_RECOMMENDED_EXPERIMENTS
) -> str | None:
    """A warning sentence when an ALE analysis has fewer than ``minimum`` experiments."""
    if n_experiments >= minimum:
        return None
    return (
        f"This analysis includes {n_experiments} experiments, fewer than the {minimum} that ALE "
        "needs for stable results (Eickhoff et al., 2016); its clusters may be driven by one or "
        "two experiments and should be read with caution."
    )


def jackknife_threshold(result: AleResult) -> tuple[float, int]:
    """``(ALE to exceed, connected voxels to reach)`` for part of a cluster to pass the test.

    The critical values of the correction ``result`` used (module notes), with its minimum
    cluster volume; an FWE result without its Monte Carlo null is an error.
    """
    params = result.parameters
    min_voxels = max(min_volume_voxels(float(params["min_cluster_mm3"]), result.grid), 1)
    threshold = result.cluster_forming_threshold
    if result.correction in ("cfwe", "vfwe"):
        if result.montecarlo is None:
            raise InputError("a cluster-level or voxel-level FWE result needs its Monte Carlo null")
        if result.correction == "cfwe":
            size = critical_value(result.montecarlo.max_cluster_size, float(params["cluster_p"]))
            if not np.isfinite(size):  # too few iterations: no cluster can pass
                return (np.inf, min_voxels) if size > 0 else (threshold, min_voxels)
            min_voxels = max(min_voxels, int(np.floor(size)) + 1)
        else:
            threshold = critical_value(result.montecarlo.max_ale, float(params["voxel_fwe_p"]))
    elif result.correction == "fdr":
        cut = fdr_threshold(result.p, float(params["fdr_q"]), str(params["fdr_method"]))
        failing = result.ale[(result.p > cut) | (cut <= 0)]
        # p falls as ALE rises, so exceeding every failing voxel's ALE is passing the cut
        threshold = float(failing.max()) if failing.size else -np.inf
    return threshold, min_voxels


def leave_one_out_ale(ma_values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """ALE with all experiments and with each one left out, from MA values.

    Parameters
    ----------
    ma_values
        MA values, shape ``(n_experiments, n_voxels)``, each in [0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        ``ale`` shape ``(n_voxels,)`` and ``ale_without`` shape ``(n_experiments, n_voxels)``.
    """
    log_keep = np.log1p(-np.asarray(ma_values, dtype=np.float64))
    total = log_keep.sum(axis=0)
    ale = -np.expm1(total)
    ale_without = -np.expm1(total[None, :] - log_keep)
    return ale, np.clip(ale_without, 0.0, None)


def count_foci_in_cluster(
    foci_xyz_mm: FloatArray, cluster_3d: NDArray[np.bool_], grid: Grid = MNI152_2MM
) -> int:
    """Number of foci within less than one voxel of some voxel of ``cluster_3d``."""
    xyz = np.atleast_2d(np.asarray(foci_xyz_mm, dtype=np.float64)).reshape(-1, 3)
    if not len(xyz):
        return 0
    inv = np.linalg.inv(grid.affine_array)
    ijk = xyz @ inv[:3, :3].T + inv[:3, 3]
    # A voxel centre closer than 1 differs from the position by < 1 on each axis: floor or +1.
    offsets = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), -1).reshape(-1, 3)
    candidates = np.floor(ijk)[:, None, :].astype(np.int64) + offsets[None]
    near = ((candidates - ijk[:, None, :]) ** 2).sum(-1) < 1.0
    inside = np.all((candidates >= 0) & (candidates < np.asarray(grid.shape)), axis=-1)
    ok = near & inside
    hit = np.zeros(ok.shape, dtype=bool)
    c = candidates[ok]
    hit[ok] = cluster_3d[c[:, 0], c[:, 1], c[:, 2]]
    return int(hit.any(axis=1).sum())


def _survives(
    ale_without: FloatArray,
    cluster_ijk: NDArray[np.int64],
    ale_threshold: float,
    min_cluster_voxels: int,
    connectivity: int,
) -> NDArray[np.bool_]:
    lo = cluster_ijk.min(axis=0)
    shape = tuple(cluster_ijk.max(axis=0) - lo + 1)
    local = cluster_ijk - lo
    out = np.zeros(len(ale_without), dtype=bool)
    structure = neighbourhood(connectivity)
    for e, values in enumerate(ale_without):
        supra = np.zeros(shape, dtype=bool)
        above = values > ale_threshold
        supra[local[above, 0], local[above, 1], local[above, 2]] = True
        labelled, n = ndimage.label(supra, structure=structure)
        biggest = np.bincount(labelled.ravel())[1:].max() if n else 0
        out[e] = biggest >= max(min_cluster_voxels, 1)
    return out


def cluster_contributions(
    ma_in_mask: FloatArray,
    mask_3d: NDArray[np.bool_],
    cluster_labels_3d: NDArray[np.integer],
    *,
    experiment_ids: Sequence[str],
    foci_xyz_mm: Sequence[FloatArray] | None = None,
    ale_threshold: float | None = None,
    min_cluster_voxels: int = 1,
    connectivity: int = 6,
    grid: Grid = MNI152_2MM,
) -> pd.DataFrame:
    """Each experiment's contribution to each cluster (long table).

    Parameters
    ----------
    ma_in_mask
        MA values of each experiment in the mask's voxels (C order of ``mask_3d``), shape
        ``(n_experiments, n_mask_voxels)``.
    mask_3d
        The analysis mask on ``grid``.
    cluster_labels_3d
        Cluster ids on ``grid`` (0 = none), e.g. :attr:`biomark.ale.clusters.Clusters.labels_3d`.
    experiment_ids
        One name per row of ``ma_in_mask``.
    foci_xyz_mm
        Per experiment its foci (mm, ``(k, 3)``), for the ``n_foci`` column.
    ale_threshold, min_cluster_voxels, connectivity
        What a part of a cluster must pass to survive an omission — the ALE to exceed and the
        connected voxels to reach (:func:`jackknife_threshold`) — and the connectivity; without
        ``ale_threshold`` the ``survives_without`` column is left empty.
    grid
        The maps' grid.

    Returns
    -------
    pandas.DataFrame
        Columns ``cluster_id, experiment, contribution, share_pct, n_foci, survives_without``.
    """
    ma = np.asarray(ma_in_mask, dtype=np.float64)
    if ma.shape != (len(experiment_ids), int(mask_3d.sum())):
        raise InputError(
            f"MA matrix shape {ma.shape} does not match {len(experiment_ids)} experiments × "
            f"{int(mask_3d.sum())} mask voxels"
        )
    column = np.full(mask_3d.shape, -1, dtype=np.int64)
    column[mask_3d] = np.arange(int(mask_3d.sum()))
    frames = []
    for cid in np.unique(cluster_labels_3d[cluster_labels_3d > 0]):
        in_cluster = cluster_labels_3d == cid
        cols = column[in_cluster]
        if (cols < 0).any():
            raise InputError(f"cluster {cid} has voxels outside the analysis mask")
        ale, ale_without = leave_one_out_ale(ma[:, cols])
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.where(ale > 0, 1.0 - ale_without / ale, 0.0)
        contribution = loss.mean(axis=1)
        total = contribution.sum()
        frame = pd.DataFrame(
            {
                "cluster_id": int(cid),
                "experiment": list(experiment_ids),
                "contribution": contribution,
                "share_pct": 100.0 * contribution / total if total > 0 else 0.0,
                "n_foci": [count_foci_in_cluster(f, in_cluster, grid) for f in foci_xyz_mm]
                if foci_xyz_mm is not None
                else pd.NA,
            }
        )
        if ale_threshold is not None:
            ijk = np.argwhere(in_cluster)
            frame["survives_without"] = _survives(
                ale_without, ijk, ale_threshold, min_cluster_voxels, connectivity
            )
        else:
            frame["survives_without"] = pd.NA
        frames.append(frame)
    columns = [
        "cluster_id",
        "experiment",
        "contribution",
        "share_pct",
        "n_foci",
        "survives_without",
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def cluster_robustness(
    contributions: pd.DataFrame, *, min_share_pct: float = 5.0, dominance_pct: float = 50.0
) -> pd.DataFrame:
    """Per-cluster summary of :func:`cluster_contributions`.

    Returns
    -------
    pandas.DataFrame
        One row per cluster: ``n_contributing`` (share ≥ ``min_share_pct``), ``n_with_foci``,
        ``top_experiment``, ``top_share_pct``, ``n_critical`` (experiments whose removal kills
        the cluster), ``single_experiment_driven`` and ``at_least_two_contribute``.
    """
    rows = []
    for cid, group in contributions.groupby("cluster_id", sort=True):
        top = group.loc[group["share_pct"].idxmax()]
        survives = group["survives_without"]
        critical = int((survives == False).sum()) if survives.notna().all() else 0  # noqa: E712
        n_contributing = int((group["share_pct"] >= min_share_pct).sum())
        with_foci = group["n_foci"]
        rows.append(
            {
                "cluster_id": cid,
                "n_contributing": n_contributing,
                "n_with_foci": int((with_foci > 0).sum()) if with_foci.notna().all() else pd.NA,
                "top_experiment": top["experiment"],
                "top_share_pct": float(top["share_pct"]),
                "n_critical": critical,
                "single_experiment_driven": bool(top["share_pct"] > dominance_pct or critical > 0),
                "at_least_two_contribute": n_contributing >= 2,
            }
        )
    return pd.DataFrame(rows)
