"""The outcome report simulates its own design: the good/poor experiments it analysed."""

from types import SimpleNamespace

from biomark.config import AleConfig
from biomark.pipeline.report_power import REPORT_MAX_ITERATIONS, report_design
from biomark.studies import make_dataset


def _group(prefix: str, sizes: list[int], foci: list[int]):
    exps = [{"experiment_id": f"{prefix}{i}", "group": "stroke", "n": n, "space": "MNI"}
            for i, n in enumerate(sizes)]  # fmt: skip
    rows = [{"experiment_id": f"{prefix}{i}", "x": -38, "y": -22, "z": 50 + j}
            for i, k in enumerate(foci) for j in range(k)]  # fmt: skip
    return SimpleNamespace(dataset=make_dataset(exps, rows))


def test_design_takes_sizes_and_focus_counts_from_the_analysed_groups():
    fam = SimpleNamespace(analyses={"good": _group("g", [10, 12, 8], [5, 7, 6]),
                                    "poor": _group("p", [6, 9], [4, 3])})  # fmt: skip
    design = report_design(fam, AleConfig(iterations=10000))
    assert design is not None
    assert (design.n_a, design.n_b) == (3, 2)
    assert design.n_subjects_a == (10, 12, 8) and design.foci_a == (5, 7, 6)
    assert design.n_subjects_b == (6, 9) and design.foci_b == (4, 3)
    assert design.bayes_replicates == 0 and design.ale_iterations == REPORT_MAX_ITERATIONS
    assert design.shift_mm == 6.0 and design.shifted_group == "a"  # good outcome = more ventral


def test_no_design_without_both_outcome_groups():
    fam = SimpleNamespace(analyses={"good": _group("g", [10, 12], [5, 7])})
    assert report_design(fam, AleConfig()) is None
