import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.multivariate.manova import MANOVA

from biomark.errors import InputError
from biomark.shift.frequentist import (
    axis_tests,
    bootstrap_distance_ci,
    frequentist_shift,
    hedges_g,
    hotelling_t2,
    hotelling_tests,
    outcome_ancova,
)
from tests.shift.conftest import simulate_peaks


def test_hotelling_matches_hand_formula_and_manova():
    rng = np.random.default_rng(3)
    a = rng.normal([0, 0, -6], 3, size=(9, 3))
    b = rng.normal(0, 3, size=(11, 3))
    res = hotelling_t2(a, b)
    # hand computation with explicit sums
    d = a.mean(0) - b.mean(0)
    sa = sum(np.outer(r - a.mean(0), r - a.mean(0)) for r in a)
    sb = sum(np.outer(r - b.mean(0), r - b.mean(0)) for r in b)
    s = (sa + sb) / (9 + 11 - 2)
    t2 = 9 * 11 / 20 * d @ np.linalg.inv(s) @ d
    f = (20 - 3 - 1) / (3 * 18) * t2
    assert res.t2 == pytest.approx(t2, rel=1e-10)
    assert res.f == pytest.approx(f, rel=1e-10)
    assert (res.df1, res.df2) == (3, 16)
    assert res.p == pytest.approx(stats.f.sf(f, 3, 16), rel=1e-10)
    # independent oracle: two-group MANOVA (Hotelling-Lawley trace gives the exact same F test)
    df = pd.DataFrame(np.vstack([a, b]), columns=["x", "y", "z"])
    df["g"] = ["a"] * 9 + ["b"] * 11
    mv = MANOVA.from_formula("x + y + z ~ g", data=df).mv_test()
    row = mv.results["g"]["stat"].loc["Hotelling-Lawley trace"]
    assert float(row["Pr > F"]) == pytest.approx(res.p, rel=1e-6)


def test_hotelling_one_axis_is_student_t_squared():
    rng = np.random.default_rng(4)
    a, b = rng.normal(1, 2, (8, 1)), rng.normal(0, 2, (10, 1))
    res = hotelling_t2(a, b)
    t = stats.ttest_ind(a[:, 0], b[:, 0])
    assert res.t2 == pytest.approx(t.statistic**2)
    assert res.p == pytest.approx(t.pvalue)


def test_hotelling_too_few_rows():
    with pytest.raises(InputError, match="Hotelling"):
        hotelling_t2(np.zeros((2, 3)), np.ones((2, 3)))


def test_hedges_g_hand_values():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([3.0, 4.0, 5.0, 6.0, 7.0])
    # means 2.5 and 5; variances 5/3 and 2.5; pooled var (3*5/3 + 4*2.5)/7 = 15/7
    d = (2.5 - 5) / np.sqrt(15 / 7)
    j = 1 - 3 / (4 * 9 - 9)
    g, lo, hi = hedges_g(a, b)
    assert g == pytest.approx(j * d)
    se = np.sqrt(9 / 20 + g**2 / 18)
    assert lo == pytest.approx(g - 1.959964 * se, rel=1e-5)
    assert hi == pytest.approx(g + 1.959964 * se, rel=1e-5)


def _planted(seed=0, **kw):
    return simulate_peaks(
        np.random.default_rng(seed),
        shift_mm={"acute": (0, 0, -6), "chronic": (0, -6.5, 0), "intermediate": (0, 0, 0)},
        **kw,
    )[0]


def test_axis_tests_welch_against_hand_formula_and_direction():
    peaks = _planted(counts={"healthy": 30, "acute": 30, "chronic": 30, "intermediate": 2})
    table = axis_tests(peaks)
    assert len(table) == 3 * 3 * 2
    row = table.query("contrast == 'acute' and axis == 'z' and test == 'welch'").iloc[0]
    a = peaks.loc[peaks.group == "acute", "z"].to_numpy()
    b = peaks.loc[peaks.group == "healthy", "z"].to_numpy()
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    assert row.t == pytest.approx(t)
    assert row.df == pytest.approx(df)
    assert row.p == pytest.approx(2 * stats.t.sf(abs(t), df))
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert row.ci_low_mm == pytest.approx(a.mean() - b.mean() - half)
    assert row.direction == "ventral" and row.p < 0.001
    assert row.ci_high_mm < 0
    caudal = table.query("contrast == 'chronic' and axis == 'y' and test == 'student'").iloc[0]
    assert caudal.direction == "caudal" and caudal.ci_high_mm < 0
    assert caudal.hedges_g < 0 and caudal.g_ci_high < 0


def test_subcortical_contrast_pools_flagged_stroke_experiments():
    peaks = _planted()
    table = axis_tests(peaks)
    row = table.query("contrast == 'subcortical' and axis == 'x' and test == 'welch'").iloc[0]
    sub = peaks[(peaks.group != "healthy") & peaks.subcortical]
    assert row.n_group == len(sub)
    assert row.mean_group_mm == pytest.approx(sub.x.mean())


def test_direction_names_medial_lateral_rostral_dorsal():
    peaks = simulate_peaks(
        np.random.default_rng(1),
        counts={"healthy": 25, "acute": 25, "chronic": 25},
        shift_mm={"acute": (8, 8, 8), "chronic": (-8, 0, 0)},
        subcortical_fraction=1.0,
    )[0]
    t = axis_tests(peaks, contrasts=("acute", "chronic")).query("test == 'welch'")
    names = dict(zip(t.contrast + t.axis, t.direction, strict=True))
    assert names["acutex"] == "medial" and names["acutey"] == "rostral"
    assert names["acutez"] == "dorsal" and names["chronicx"] == "lateral"


def test_bootstrap_distance_ci_covers_planted_distance():
    rng = np.random.default_rng(5)
    a = rng.normal([0, -6.5, 0], 2, size=(60, 3))
    b = rng.normal(0, 2, size=(60, 3))
    lo, hi = bootstrap_distance_ci(a, b, np.random.default_rng(1))
    assert lo < 6.5 < hi
    assert (lo, hi) == bootstrap_distance_ci(a, b, np.random.default_rng(1))


def test_hotelling_tests_table():
    peaks = _planted()
    table = hotelling_tests(peaks, np.random.default_rng(0), n_boot=200)
    assert list(table.contrast) == ["acute", "chronic", "subcortical"]
    row = table.iloc[0]
    assert row.distance_ci_low_mm <= row.distance_mm <= row.distance_ci_high_mm
    assert 0 <= row.p <= 1


def test_ancova_matches_least_squares_by_hand():
    rng = np.random.default_rng(7)
    n = 24
    good = np.arange(n) % 3 != 0
    size = rng.uniform(200, 3000, n)
    nmax = rng.integers(1, 4, n)
    z = 56 - 4.0 * good + 0.5 * nmax + rng.normal(0, 2, n)
    peaks = pd.DataFrame(
        {
            "experiment_id": [f"e{i}" for i in range(n)] + ["h1", "h2"],
            "study_id": [f"s{i}" for i in range(n)] + ["s98", "s99"],
            "cohort_id": [f"c{i}" for i in range(n)] + ["c98", "c99"],
            "group": ["chronic"] * n + ["healthy"] * 2,
            "subcortical": [True] * n + [False] * 2,
            "n": 10,
            "x": np.r_[rng.normal(-38, 3, n), -38, -37],
            "y": np.r_[rng.normal(-22, 3, n), -22, -21],
            "z": np.r_[z, 56, 57],
            "n_maxima": np.r_[nmax, 1, 1],
            "cluster_size_mm3": np.r_[size, 500, 600],
            "outcome": [("good" if g else "poor") for g in good] + [None, None],
        }
    )
    table = outcome_ancova(peaks).set_index("axis")
    design = np.column_stack([np.ones(n), good, nmax])
    coef, rss, *_ = np.linalg.lstsq(design, z, rcond=None)
    sigma2 = rss[0] / (n - 3)
    se = np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[1, 1])
    assert table.loc["z", "effect_mm"] == pytest.approx(coef[1])
    assert table.loc["z", "p"] == pytest.approx(2 * stats.t.sf(abs(coef[1] / se), n - 3))
    assert table.loc["z", "ci_high_mm"] < 0  # planted: good outcome 4 mm more ventral
    assert table.loc["z", "n_good"] == good.sum()
    # coordinate tables carry no cluster extent, so the covariate is the count of maxima alone
    assert "n_maxima" in table.loc["z", "formula"]
    assert "cluster_size" not in table.loc["z", "formula"]


def test_ancova_drops_all_missing_cluster_size():
    peaks = _planted()
    peaks["cluster_size_mm3"] = np.nan
    table = outcome_ancova(peaks)
    assert "cluster_size_mm3" not in table.formula.iloc[0]
    assert "n_maxima" in table.formula.iloc[0]


def test_frequentist_shift_without_outcomes_says_why():
    peaks = _planted()
    peaks["outcome"] = None
    res = frequentist_shift(peaks, np.random.default_rng(0), n_boot=100)
    assert res.ancova.empty
    assert "not run" in res.methods
    assert not res.axis_tests.empty and not res.hotelling.empty


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.drop(columns="z"), "missing columns"),
        (lambda p: p.assign(z=np.where(np.arange(len(p)) == 3, np.nan, p.z)), "NaN"),
        (lambda p: p[p.group != "acute"], "acute"),
        (lambda p: p.assign(group=p.group.replace("acute", "subacute")), "group"),
        (lambda p: p.assign(outcome=p.outcome.where(p.group != "chronic", "fine")), "outcome"),
        (lambda p: p.assign(n=0), "n must be"),
    ],
)
def test_bad_input_raises_input_error(mutate, message):
    with pytest.raises(InputError, match=message):
        axis_tests(mutate(_planted()))
