"""The check for NaN and infinities before each update (gradstep.kernels.finite):
the fused pass and the NumPy twin give the same answer for every position and
kind of non-finite value, dtype and layout; huge finite values whose squares
overflow are finite."""

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels import finite

pytestmark = pytest.mark.requires("numba", extra="speed")


@pytest.fixture(params=["numba", "numpy"])
def backend(request):
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend("auto")


def _arrays(dtype):
    rng = np.random.default_rng(0)
    return [
        rng.normal(size=(64, 33)).astype(dtype),
        rng.normal(size=33).astype(dtype),
        rng.normal(size=(5, 3, 2)).astype(dtype),
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_the_first_array_with_a_non_finite_entry_is_found_wherever_it_is(backend, dtype, bad):
    assert finite.first_non_finite(_arrays(dtype)) is None
    for which in range(3):
        for position in (0, 1, 15, 16, 17, -1):  # (either side of a vector's width)
            arrays = _arrays(dtype)
            arrays[which].reshape(-1)[position] = bad
            assert finite.first_non_finite(arrays) == which
            assert finite.first_non_finite([None, *arrays]) == which + 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_finite_values_are_finite(backend, dtype):
    huge = np.full(40, np.finfo(dtype).max / 2, dtype)
    with np.errstate(over="ignore"):
        assert finite.first_non_finite([huge, -huge]) is None


def test_other_layouts_and_dtypes_take_the_twin(backend):
    rng = np.random.default_rng(1)
    strided = rng.normal(size=(8, 6)).astype(np.float32)[:, ::2]
    read_only = rng.normal(size=10)
    read_only.flags.writeable = False
    integers = np.arange(6)
    half = np.ones(4, np.float16)
    assert finite.first_non_finite([strided, read_only, integers, half, np.empty(0)]) is None
    strided[3, 1] = np.inf
    assert finite.first_non_finite([integers, strided]) == 1
    half[2] = np.nan
    assert finite.first_non_finite([half]) == 0


def test_the_fused_pass_runs_under_numba(monkeypatch):
    kernels.set_backend("numba")
    try:
        monkeypatch.setattr(finite, "all_finite_numpy", lambda array: pytest.fail("the twin ran"))
        arrays = _arrays(np.float32)
        arrays[2][1, 1, 1] = np.nan
        assert finite.first_non_finite(arrays) == 2
    finally:
        kernels.set_backend("auto")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_arrays_that_are_views_into_one_are_read_as_one(backend, bad, monkeypatch):
    """``whole``: the gradients of fit's planned step are views into one array;
    it is read once, and the arrays only when it holds a non-finite entry."""
    whole = np.zeros(64 + 16, np.float32)
    arrays = [whole[:60].reshape(6, 10), whole[64:77]]
    assert finite.first_non_finite(arrays, whole) is None
    arrays[1][12] = bad
    assert finite.first_non_finite(arrays, whole) == 1
    reads = []
    real = finite._finite
    monkeypatch.setattr(
        finite, "_finite", lambda array, passes: reads.append(array.size) or real(array, passes)
    )
    arrays[1][12] = 0
    assert finite.first_non_finite(arrays, whole) is None and reads == [whole.size]
