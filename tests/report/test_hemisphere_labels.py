"""Cluster labels name hemispheres ipsi/contralesional for patients, left/right for controls."""

from __future__ import annotations

import numpy as np
import pytest

from biomark.report.sections import cluster_rows, hemisphere_words
from biomark.studies import make_dataset


@pytest.mark.parametrize(
    ("label", "patients", "controls"),
    [
        ("Primary motor cortex BA4p L", "Primary motor cortex BA4p (ipsilesional)",
         "Primary motor cortex BA4p (left)"),
        ("Premotor cortex BA6 R", "Premotor cortex BA6 (contralesional)",
         "Premotor cortex BA6 (right)"),
        ("Left Precentral Gyrus", "Precentral Gyrus (ipsilesional)", "Precentral Gyrus (left)"),
        ("Right Putamen", "Putamen (contralesional)", "Putamen (right)"),
        ("Cerebellum_6_R", "Cerebellum_6 (contralesional)", "Cerebellum_6 (right)"),
        ("Vermis_4_5", "Vermis_4_5", "Vermis_4_5"),
    ],
)  # fmt: skip
def test_hemisphere_words_for_each_atlas_style(label, patients, controls):
    assert hemisphere_words(label, True) == patients
    assert hemisphere_words(label, False) == controls


def test_a_right_lesion_cluster_is_labelled_ipsilesional_after_flipping():
    from biomark.ale.fit import fit_ale
    from biomark.io.atlases import load_atlases
    from biomark.io.images import load_mask
    from biomark.pipeline.ale import ale_tables
    from biomark.rules import prepare

    rng = np.random.default_rng(7)
    rows = [{"experiment_id": f"e{i}", "n": 12, "space": "MNI", "group": "stroke",
             "task": "active", "lesion_side": "right"} for i in range(10)]  # fmt: skip
    # every patient activates the right (lesioned) hand knob, as reported before flipping
    foci = [{"experiment_id": f"e{i}", "x": 38 + d[0], "y": -22 + d[1], "z": 56 + d[2]}
            for i in range(10) for d in [rng.normal(0, 2, 3)]]  # fmt: skip
    dataset = prepare(make_dataset(rows, foci, source="planted.tsv")).dataset
    assert (dataset.foci["x"] < 0).all()
    mask, grid = load_mask()
    xyz, idx, n = dataset.coordinates()
    result = fit_ale(xyz, idx, n.astype(float), mask, grid, correction="none")
    table, contrib = ale_tables(result, dataset, load_atlases())
    assert len(table) == 1
    patients = cluster_rows(table, contrib, lesioned=True)[0]["label"]
    controls = cluster_rows(table, contrib, lesioned=False)[0]["label"]
    assert patients.endswith("(ipsilesional)") and controls.endswith("(left)")
    assert patients.replace("(ipsilesional)", "") == controls.replace("(left)", "")
