"""Round trips: random valid datasets → each format → back give the same foci and fields.

Precision: every writer puts numbers as the shortest decimal text that reads back to the same
float64 (``repr``), so foci and float fields are compared for exact equality.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biomark.io.datasets import load_dataset, save_dataset
from biomark.scales import OUTCOME_SCALES
from biomark.studies import EXPERIMENT_COLUMNS, Dataset, make_dataset

pytestmark = pytest.mark.property

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=12
).filter(lambda s: s == s.strip() and s != "")
_IDS = _TEXT.filter(lambda s: not s.lower().startswith(("reference", "subjects")))
_COORD = st.floats(min_value=-149.0, max_value=149.0, allow_nan=False, allow_infinity=False)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def _outcome(draw: st.DrawFn) -> tuple[str | None, float | None]:
    key = draw(_maybe(st.sampled_from(sorted(OUTCOME_SCALES))))
    if key is None:
        return None, None
    scale = OUTCOME_SCALES[key]
    score = draw(_maybe(st.floats(min_value=scale.low, max_value=scale.high)))
    return key, score


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    ids = draw(st.lists(_IDS, min_size=1, max_size=4, unique=True))
    space = draw(st.sampled_from(["MNI", "TAL"]))
    rows, foci = [], []
    for eid in ids:
        scale, score = draw(_outcome())
        rows.append(
            {
                "experiment_id": eid,
                "study_id": draw(_maybe(_TEXT)),
                "cohort_id": draw(_maybe(_TEXT)),
                "n": draw(st.integers(1, 500)),
                "space": space,
                "group": draw(_maybe(st.sampled_from(["stroke", "healthy"]))),
                "days_post_stroke": draw(_maybe(st.floats(0, 5000))),
                "lesion_side": draw(_maybe(st.sampled_from(["left", "right"]))),
                "lesion_location": draw(
                    _maybe(st.sampled_from(["subcortical", "cortico-subcortical"]))
                ),
                "task": draw(_maybe(st.sampled_from(["active", "passive", "cognitive"]))),
                "outcome_scale": scale,
                "outcome_score": score,
                "modality": draw(_maybe(st.sampled_from(["fMRI", "PET"]))),
                "whole_brain": draw(st.booleans()),
                "label": draw(_maybe(_TEXT)),
            }
        )
        for _ in range(draw(st.integers(1, 5))):
            x, y, z = draw(_COORD), draw(_COORD), draw(_COORD)
            foci.append({"experiment_id": eid, "x": x, "y": y, "z": z})
    return make_dataset(rows, foci, name="random")


def _fields(dataset: Dataset) -> pd.DataFrame:
    cols = [c for c in EXPERIMENT_COLUMNS if c not in ("source_file", "source_line")]
    return dataset.experiments[cols].sort_values("experiment_id").reset_index(drop=True)


def _foci(dataset: Dataset) -> dict[str, list[tuple[float, float, float]]]:
    out: dict[str, list[tuple[float, float, float]]] = {}
    for eid, x, y, z in dataset.foci[["experiment_id", "x", "y", "z"]].itertuples(index=False):
        out.setdefault(str(eid), []).append((x, y, z))
    return out


@pytest.mark.parametrize("target", ["data.txt", "data.json", "data_tsv"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset=datasets())
def test_every_format_round_trips_exactly(dataset: Dataset, target: str) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / target
        save_dataset(dataset, path)
        back = load_dataset(path)
    pd.testing.assert_frame_equal(_fields(back), _fields(dataset))
    assert _foci(back) == _foci(dataset)  # exact float equality, order kept per experiment
