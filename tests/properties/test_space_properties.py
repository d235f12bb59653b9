import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from biomark.space import ijk_to_mm, mm_to_ijk

pytestmark = pytest.mark.property

ijks = st.tuples(st.integers(0, 90), st.integers(0, 108), st.integers(0, 90))


@given(st.lists(ijks, min_size=1, max_size=20))
def test_voxel_mm_round_trip_is_exact(points):
    ijk = np.asarray(points, dtype=np.int64)
    assert np.array_equal(mm_to_ijk(ijk_to_mm(ijk)), ijk)


@given(st.lists(ijks, min_size=1, max_size=20), st.floats(-0.49, 0.49))
def test_nearest_voxel_within_half_voxel(points, offset):
    ijk = np.asarray(points, dtype=np.int64)
    xyz = ijk_to_mm(ijk) + 2.0 * offset
    assert np.array_equal(mm_to_ijk(xyz), ijk)
