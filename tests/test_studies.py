import numpy as np
import pytest

from biomark.errors import InputError
from biomark.studies import make_dataset


def _exp(**kw):
    return {"experiment_id": "e1", "n": 10, "space": "MNI", **kw}


FOCUS = {"experiment_id": "e1", "x": -38.0, "y": -22.0, "z": 56.0}


def test_normalises_spellings():
    ds = make_dataset(
        [_exp(space="Talairach", lesion_side="R", modality="fmri", group="patients")], [FOCUS]
    )
    row = ds.experiments.iloc[0]
    assert (row["space"], row["lesion_side"], row["modality"], row["group"]) == (
        "TAL",
        "right",
        "fMRI",
        "stroke",
    )
    assert row["cohort_id"] == "e1" and row["study_id"] == "e1" and bool(row["whole_brain"])


@pytest.mark.parametrize(
    ("exp", "focus", "phrase"),
    [
        (_exp(n=0), FOCUS, "must be > 0"),
        (_exp(n=None), FOCUS, "missing number of subjects"),
        (_exp(n=2.5), FOCUS, "whole number"),
        (_exp(space="ICBM"), FOCUS, "space must be one of MNI, TAL"),
        (_exp(task="dance"), FOCUS, "task must be one of"),
        (_exp(outcome_scale="GOS", outcome_score=3), FOCUS, "unknown outcome scale"),
        (_exp(outcome_scale="NIHSS", outcome_score=50), FOCUS, "outside the scale's range"),
        (_exp(days_post_stroke=-3), FOCUS, "days_post_stroke must be ≥ 0"),
        (_exp(), {**FOCUS, "x": np.nan}, "finite"),
        (_exp(), {**FOCUS, "z": 400.0}, "outside any brain"),
        (_exp(), {**FOCUS, "experiment_id": "other"}, "unknown experiment"),
    ],
)
def test_validation_errors_name_the_record(exp, focus, phrase):
    with pytest.raises(InputError, match=phrase) as info:
        make_dataset([{**exp, "source_file": "in.txt", "source_line": 4}], [focus], source="in.txt")
    assert "\n" not in str(info.value)


def test_error_names_file_line_and_experiment():
    with pytest.raises(InputError) as info:
        make_dataset([{**_exp(n=0), "source_file": "in.txt", "source_line": 7}], [FOCUS])
    assert str(info.value).startswith("in.txt:7: experiment e1: ")


def test_duplicate_names_and_experiment_without_foci():
    with pytest.raises(InputError, match="duplicate experiment name"):
        make_dataset([_exp(), _exp()], [FOCUS])
    with pytest.raises(InputError, match="has no foci"):
        make_dataset([_exp(), _exp(experiment_id="e2")], [FOCUS])


def test_coordinates_arrays():
    ds = make_dataset(
        [_exp(), _exp(experiment_id="e2", n=20)],
        [FOCUS, {**FOCUS, "experiment_id": "e2"}, {**FOCUS, "experiment_id": "e2", "x": 38.0}],
    )
    xyz, idx, n = ds.coordinates()
    assert xyz.shape == (3, 3) and idx.tolist() == [0, 1, 1] and n.tolist() == [10, 20]
    assert ds.n_subjects == 30 and len(ds.checksum()) == 64
