"""Realism check on real coordinates: healthy finger/hand movement (NeuroQuery v1 extract).

data/real/healthy_motor_coordinates.tsv (licences beside it) holds machine-extracted article
tables without sample sizes; every experiment is assumed to have N = 20 subjects. A cluster-FWE
ALE of 167 experiments / 3,182 foci must find the motor network: left and right sensorimotor
cortex, the supplementary motor area and the cerebellum, named by the offline atlases.
Slow: the Monte Carlo over 3,182 foci takes minutes (two local workers).
"""

import re
from pathlib import Path

import numpy as np
import pytest

from biomark.ale.fit import fit_ale
from biomark.ale.results import ale_cluster_table
from biomark.io.atlases import load_atlases
from biomark.io.coordinate_tables import read_coordinate_table
from biomark.io.images import load_mask
from biomark.parallel import make_backend
from biomark.rules import to_mni

TABLE = Path(__file__).resolve().parents[2] / "data" / "real" / "healthy_motor_coordinates.tsv"
ASSUMED_N = 20
SENSORIMOTOR = r"(?:Precentral|Postcentral|BA4a|BA4p|BA3a|BA3b|BA1|BA6)"


def _arrays(dataset):
    ids = dataset.experiments["experiment_id"].astype(str).tolist()
    row = {e: i for i, e in enumerate(ids)}
    exp = dataset.foci["experiment_id"].astype(str).map(row).to_numpy(dtype=np.int64)
    xyz = dataset.foci[["x", "y", "z"]].to_numpy(dtype=np.float64)
    return xyz, exp, dataset.experiments["n"].to_numpy(dtype=np.float64)


@pytest.mark.slow
def test_healthy_motor_network_is_found():
    dataset = to_mni(
        read_coordinate_table(TABLE, n_subjects=ASSUMED_N, source="neuroquery_v1", group="healthy")
    )
    assert (dataset.n_experiments, dataset.n_foci) == (167, 3182)
    xyz, exp, n = _arrays(dataset)
    mask, grid = load_mask()
    result = fit_ale(xyz, exp, n, mask, grid, n_iterations=1000, seed=0, backend=make_backend(2))
    # 167 experiments: no small-sample warning; only the note on foci outside the mask
    assert result.n_foci_outside_mask > 0
    assert result.warnings == (
        f"{result.n_foci_outside_mask} foci lie outside the brain mask; they contribute only "
        "the in-mask part of their kernels.",
    )
    table, _ = ale_cluster_table(result, load_atlases(grid))
    assert (table["cluster_p_fwe"] < 0.05).all()
    label_cols = [c for c in table if c.startswith(("peak_", "composition_"))]
    text = table[label_cols].astype(str).agg(" ; ".join, axis=1)

    def found(pattern: str) -> bool:
        return bool(text.str.contains(pattern, flags=re.IGNORECASE, regex=True).any())

    assert found(SENSORIMOTOR + r"[^;(]*\bL\b") or found(r"Left[ _](?:Pre|Post)central")
    assert found(SENSORIMOTOR + r"[^;(]*\bR\b") or found(r"Right[ _](?:Pre|Post)central")
    assert found(r"Supp Motor Area|Juxtapositional")
    assert found(r"Cerebel")
