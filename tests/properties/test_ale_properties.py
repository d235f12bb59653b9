import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biomark.ale.kernels import ale_kernel
from biomark.ale.ma import compute_ma_maps
from biomark.ale.null import ale_from_ma
from biomark.space import Grid

pytestmark = pytest.mark.property
GRID = Grid(
    shape=(21, 21, 21),
    affine=((2.0, 0, 0, -20.0), (0, 2.0, 0, -20.0), (0, 0, 2.0, -20.0), (0, 0, 0, 1.0)),
)
MASK = np.ones(GRID.shape, dtype=bool)
coord = st.integers(-20, 20).map(float)
exps = st.lists(
    st.tuples(st.integers(5, 40), st.lists(st.tuples(coord, coord, coord), min_size=1, max_size=4)),
    min_size=1,
    max_size=4,
)


def _ale(experiments):
    xyz = np.array([f for _, foci in experiments for f in foci])
    idx = np.array([e for e, (_, foci) in enumerate(experiments) for _ in foci])
    n = np.array([float(n) for n, _ in experiments])
    return ale_from_ma(compute_ma_maps(xyz, idx, n, MASK, GRID))


@settings(max_examples=25, deadline=None)
@given(exps)
def test_ale_in_unit_interval_and_order_invariant(experiments):
    a = _ale(experiments)
    assert (a >= 0).all() and (a < 1).all()
    b = _ale([(n, foci[::-1]) for n, foci in experiments[::-1]])
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(exps, exps)
def test_adding_experiments_never_lowers_ale(a, b):
    assert (_ale(a + b) >= _ale(a) - 1e-15).all()


@settings(max_examples=25, deadline=None)
@given(exps)
def test_flipping_x_flips_map(experiments):
    flipped = [(n, [(-x, y, z) for x, y, z in foci]) for n, foci in experiments]
    a = np.zeros(GRID.shape)
    a[MASK] = _ale(experiments)
    b = np.zeros(GRID.shape)
    b[MASK] = _ale(flipped)
    np.testing.assert_allclose(a, b[::-1], atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(st.floats(1, 500), st.floats(0.5, 4), st.floats(0.5, 4), st.floats(0.5, 4))
def test_kernels_nonnegative_sum_one(n, vx, vy, vz):
    k = ale_kernel(n, (vx, vy, vz))
    assert (k >= 0).all()
    assert k.sum() == pytest.approx(1.0, abs=1e-12)
