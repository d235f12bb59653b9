import numpy as np
import pandas as pd
import pytest

from biomark.rules import (
    exclusion_reason,
    flip_x,
    prepare,
    resolve_duplicate_cohorts,
    time_group,
)
from biomark.studies import make_dataset


def _ds(rows, foci=None):
    base = {"n": 10, "space": "MNI", "group": "stroke", "task": "active"}
    exps = [{**base, **r} for r in rows]
    if foci is None:
        foci = [{"experiment_id": r["experiment_id"], "x": -38, "y": -22, "z": 56} for r in rows]
    return make_dataset(exps, foci, source="test.tsv")


@pytest.mark.parametrize(
    ("days", "group"),
    [
        (0, "acute"),
        (34.9, "acute"),
        (35, "intermediate"),
        (90, "intermediate"),
        (90.1, "chronic"),
        (400, "chronic"),
        (None, None),
    ],
)
def test_time_group_boundaries(days, group):
    assert time_group(days) == group


def test_flip_x_only_flagged_rows():
    xyz = np.array([[10.0, 1, 2], [-5.0, 3, 4]])
    out = flip_x(xyz, np.array([True, False]))
    assert out.tolist() == [[-10.0, 1, 2], [-5.0, 3, 4]]
    assert xyz[0, 0] == 10.0  # input untouched


def test_prepare_flips_right_lesions_and_audits():
    ds = _ds(
        [
            {"experiment_id": "r", "lesion_side": "right"},
            {"experiment_id": "l", "lesion_side": "left"},
        ],
        [
            {"experiment_id": "r", "x": 38, "y": -22, "z": 56},
            {"experiment_id": "l", "x": -38, "y": -22, "z": 56},
        ],
    )
    p = prepare(ds)
    foci = p.dataset.foci.set_index("experiment_id")
    assert foci.loc["r", "x"] == -38 and foci.loc["l", "x"] == -38
    assert p.audit.set_index("experiment_id")["flipped"].to_dict() == {"r": True, "l": False}


def test_unknown_lesion_side_is_never_mirrored():
    ds = _ds([{"experiment_id": "u", "lesion_side": None}],
             [{"experiment_id": "u", "x": 38, "y": -22, "z": 56}])  # fmt: skip
    p = prepare(ds)
    assert p.dataset.foci["x"].tolist() == [38]
    assert not p.audit["flipped"].iloc[0]


def test_prepare_converts_talairach_and_records_transform():
    ds = _ds(
        [{"experiment_id": "t", "space": "TAL"}],
        [{"experiment_id": "t", "x": -37.0659, "y": -25.8838, "z": 51.8169}],
    )
    p = prepare(ds)
    np.testing.assert_allclose(
        p.dataset.foci[["x", "y", "z"]].to_numpy()[0], [-38, -22, 56], atol=1e-3
    )
    assert p.audit["tal_transform"].iloc[0] == "lancaster_pooled"
    assert p.dataset.experiments["space"].iloc[0] == "MNI"


@pytest.mark.parametrize(
    ("row", "phrase"),
    [
        ({"n": 5}, "≤ 5 subjects"),
        ({"task": "cognitive"}, "cognitive"),
        ({"whole_brain": False}, "whole-brain"),
    ],
)
def test_exclusion_reasons(row, phrase):
    ds = _ds([{"experiment_id": "e", **row}])
    p = prepare(ds)
    assert not p.audit["included"].iloc[0]
    assert phrase in p.audit["reason"].iloc[0]
    assert "e" not in set(p.dataset.experiments["experiment_id"])


def test_n_six_is_included():
    row = pd.Series({"n": 6, "task": "passive", "whole_brain": True})
    assert exclusion_reason(row) is None


def test_outcome_and_time_columns():
    ds = _ds(
        [
            {
                "experiment_id": "g",
                "days_post_stroke": 200,
                "outcome_scale": "NIHSS",
                "outcome_score": 1,
            },
            {
                "experiment_id": "p",
                "days_post_stroke": 10,
                "outcome_scale": "FM-UL",
                "outcome_score": 20,
            },
            {"experiment_id": "h", "group": "healthy", "days_post_stroke": None},
        ]
    )
    ex = prepare(ds).dataset.experiments.set_index("experiment_id")
    assert ex.loc["g", "outcome"] == "good" and ex.loc["g", "time_group"] == "chronic"
    assert ex.loc["p", "outcome"] == "poor" and ex.loc["p", "time_group"] == "acute"
    assert pd.isna(ex.loc["h", "time_group"]) and pd.isna(ex.loc["h", "outcome"])


def _dup_ds():
    rows = [
        {"experiment_id": "a1", "cohort_id": "A", "n": 12},
        {"experiment_id": "a2", "cohort_id": "A", "n": 15},
        {"experiment_id": "b", "cohort_id": "B", "n": 9},
    ]
    foci = [
        {"experiment_id": e, "x": -38 + i, "y": -22, "z": 56}
        for i, e in enumerate(["a1", "a1", "a2", "b"])
    ]
    return _ds(rows, foci)


def test_duplicates_largest_keeps_most_subjects():
    ds, table = resolve_duplicate_cohorts(_dup_ds(), "largest")
    assert list(ds.experiments["experiment_id"]) == ["a2", "b"]
    assert table.set_index("experiment_id")["kept"].to_dict() == {"a1": False, "a2": True}


def test_duplicates_tie_broken_by_foci_then_order():
    rows = [
        {"experiment_id": "x1", "cohort_id": "X", "n": 12},
        {"experiment_id": "x2", "cohort_id": "X", "n": 12},
    ]
    foci = [
        {"experiment_id": "x1", "x": 0, "y": 0, "z": 0},
        {"experiment_id": "x2", "x": 0, "y": 0, "z": 0},
        {"experiment_id": "x2", "x": 2, "y": 0, "z": 0},
    ]
    ds, _ = resolve_duplicate_cohorts(_ds(rows, foci))
    assert list(ds.experiments["experiment_id"]) == ["x2"]
    ds, _ = resolve_duplicate_cohorts(_ds(rows, [foci[0], foci[1]]))
    assert list(ds.experiments["experiment_id"]) == ["x1"]


def test_duplicates_pool_merges_foci():
    ds, table = resolve_duplicate_cohorts(_dup_ds(), "pool")
    assert ds.n_experiments == 2 and ds.n_foci == 4
    pooled = ds.experiments.set_index("experiment_id").loc["A (pooled)"]
    assert pooled["n"] == 15
    assert table["kept"].all()


def test_no_duplicates_is_a_no_op():
    ds = _ds([{"experiment_id": "a"}, {"experiment_id": "b"}])
    out, table = resolve_duplicate_cohorts(ds)
    assert out is ds and table.empty
