from __future__ import annotations

from pathlib import Path

import pytest

from biomark.studies import Dataset, make_dataset

NIMARE_DIR = Path(__file__).resolve().parents[1] / "data" / "nimare"


@pytest.fixture
def small_dataset() -> Dataset:
    """Two MNI experiments, three foci, a mix of filled and missing fields."""
    experiments = [
        {
            "experiment_id": "Smith 2010: tapping",
            "n": 12,
            "space": "MNI",
            "group": "stroke",
            "days_post_stroke": 20.5,
            "lesion_side": "right",
            "outcome_scale": "NIHSS",
            "outcome_score": 2.0,
            "task": "active",
            "cohort_id": "smith-cohort",
            "study_id": "Smith 2010",
        },
        {
            "experiment_id": "Jones 2012",
            "n": 9,
            "space": "MNI",
            "group": "healthy",
            "whole_brain": False,
            "label": "Jones et al. (2012), controls",
        },
    ]
    foci = [
        {"experiment_id": "Smith 2010: tapping", "x": -38.0, "y": -22.0, "z": 56.0},
        {"experiment_id": "Smith 2010: tapping", "x": 40.25, "y": 1 / 3, "z": -0.5},
        {"experiment_id": "Jones 2012", "x": 2.0, "y": -4.0, "z": 60.0},
    ]
    return make_dataset(experiments, foci, name="small")
