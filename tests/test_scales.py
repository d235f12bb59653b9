import pytest

from biomark.errors import InputError
from biomark.scales import OUTCOME_SCALES, canonical_scale, recode_outcome, validate_outcome

# (scale, last poor score, first good score) typed from SCIENCE.md §1's table, one step either
# side of each cut-off; "good" direction differs per scale.
CUTOFFS = [
    ("NIHSS", 3, 2),  # good < 3
    ("FM-UL", 40, 41),  # good > 40
    ("BI", 90, 95),  # good > 90
    ("ESS", 84, 85),  # good >= 85
    ("MI-UL", 80, 81),  # good > 80
    ("ASHWORTH", 3, 2),  # good <= 2
    ("UL-MAS", 13, 14),  # good > 13
    ("MRS", 3, 2),  # good <= 2
]


def test_eight_scales():
    assert sorted(OUTCOME_SCALES) == sorted(s for s, _, _ in CUTOFFS)


@pytest.mark.parametrize(("scale", "poor", "good"), CUTOFFS)
def test_cutoff_both_sides(scale, poor, good):
    assert recode_outcome(scale, poor) == "poor"
    assert recode_outcome(scale, good) == "good"


@pytest.mark.parametrize(
    ("alias", "key"),
    [
        ("nihss", "NIHSS"),
        ("Fugl-Meyer", "FM-UL"),
        ("Barthel Index", "BI"),
        ("mRS", "MRS"),
        ("Motricity Index", "MI-UL"),
        ("european stroke scale", "ESS"),
        ("Ashworth", "ASHWORTH"),
    ],
)
def test_aliases(alias, key):
    assert canonical_scale(alias) == key


def test_unknown_scale_is_an_error_not_poor():
    with pytest.raises(InputError, match="unknown outcome scale 'GOS'"):
        validate_outcome("GOS", 3, source="s.tsv", line=4)
    assert recode_outcome("GOS", 3) is None


@pytest.mark.parametrize(
    ("scale", "score"), [("NIHSS", 43), ("FM-UL", -1), ("MRS", 7), ("BI", 101)]
)
def test_out_of_range_score(scale, score):
    with pytest.raises(InputError, match="outside the scale's range"):
        validate_outcome(scale, score, source="s.tsv")


def test_score_without_scale():
    with pytest.raises(InputError, match="without outcome_scale"):
        validate_outcome(None, 3.0)


def test_missing_gives_no_outcome():
    assert recode_outcome(None, None) is None
    assert recode_outcome("NIHSS", None) is None
