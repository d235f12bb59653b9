import pytest

from biomark.families import FAMILIES, SELECTIONS, family_counts, select
from biomark.rules import prepare
from biomark.studies import make_dataset


def _prepared():
    rows = [
        # id, group, days, task, outcome scale/score, location, cohort, n
        ("h1", "healthy", None, "active", None, None, None, "H1", 12),
        ("h2", "healthy", None, "passive", None, None, None, "H2", 10),
        ("a1", "stroke", 10, "active", None, None, "subcortical", "A", 8),
        ("a1p", "stroke", 10, "passive", None, None, "subcortical", "A", 8),
        ("c1", "stroke", 200, "active", "NIHSS", 1, "subcortical", "C1", 9),
        ("c2", "stroke", 150, "active", "FM-UL", 20, "cortico-subcortical", "C2", 11),
        ("i1", "stroke", 60, "active", None, None, "subcortical", "I", 7),
    ]
    exps = [
        {
            "experiment_id": e,
            "group": g,
            "days_post_stroke": d,
            "task": t,
            "outcome_scale": sc,
            "outcome_score": so,
            "lesion_location": loc,
            "cohort_id": coh,
            "n": n,
            "space": "MNI",
        }
        for e, g, d, t, sc, so, loc, coh, n in rows
    ]
    foci = [{"experiment_id": r[0], "x": -38, "y": -22, "z": 56} for r in rows]
    return prepare(make_dataset(exps, foci)).dataset


def _ids(ds):
    return sorted(ds.experiments["experiment_id"])


def test_every_family_refers_to_known_selections():
    for fam in FAMILIES.values():
        for key in fam.analyses:
            assert key in SELECTIONS
        for c in fam.contrasts:
            assert c.a in fam.analyses and c.b in fam.analyses
    assert set(FAMILIES) == {"group", "time", "outcome", "shift", "subcortical", "task"}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        # patients: a1 and a1p share cohort A -> one kept (equal n and foci: first listed)
        ("patients", ["a1", "c1", "c2", "i1"]),
        ("healthy", ["h1", "h2"]),
        ("acute", ["a1"]),
        ("chronic", ["c1", "c2"]),
        ("good", ["c1"]),
        ("poor", ["c2"]),
        ("subcortical", ["a1", "c1", "i1"]),
        ("patients_passive", ["a1p"]),
        ("healthy_active", ["h1"]),
    ],
)
def test_selections(key, expected):
    ds, _ = select(_prepared(), key)
    assert _ids(ds) == expected


def test_duplicate_resolution_is_reported():
    _, dups = select(_prepared(), "patients")
    assert set(dups["experiment_id"]) == {"a1", "a1p"}
    assert dups.set_index("experiment_id")["kept"].to_dict() == {"a1": True, "a1p": False}


def test_family_counts_table():
    table = family_counts(_prepared())
    row = table[(table.family == "group") & (table.analysis == "patients")].iloc[0]
    assert (row.experiments, row.subjects, row.foci, row.duplicates_resolved) == (4, 35, 4, 1)
