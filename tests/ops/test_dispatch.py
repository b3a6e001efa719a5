"""NumPy's functions on traced values run gradstep's ops, or raise a clear TypeError."""

from __future__ import annotations

import numpy as np
import pytest

from gradstep import ops
from gradstep.ops import value_and_gradients


def test_numpy_functions_on_traced_values_are_recorded():
    x = np.array([0.5, -1.0, 2.0])
    value, (slope,) = value_and_gradients(lambda t: np.mean(np.exp(t)) + np.sum(t**2), [x])
    assert value == pytest.approx(np.mean(np.exp(x)) + np.sum(x**2))
    np.testing.assert_allclose(slope, np.exp(x) / 3 + 2 * x)


def test_numpy_functions_gradstep_lacks_raise_type_error():
    with pytest.raises(TypeError, match="no differentiable op"):
        value_and_gradients(lambda t: np.fft.fftshift(t), [np.ones(3)])
    with pytest.raises(TypeError, match="cannot become a plain array"):
        value_and_gradients(lambda t: float(np.asarray(t).sum()), [np.ones(3)])


def test_np_shape_ndim_and_size_of_a_traced_value_are_facts_without_slope():
    def f(x):
        rows, cols = np.shape(x)
        assert (np.ndim(x), np.size(x)) == (2, rows * cols)
        return ops.sum(x) / rows

    _, (slope,) = value_and_gradients(f, [np.ones((2, 3))])
    np.testing.assert_allclose(slope, np.full((2, 3), 0.5))
