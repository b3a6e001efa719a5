import numpy as np
import pytest

from gradstep import testing


def test_numerical_gradient_of_a_cube():
    np.testing.assert_allclose(
        testing.numerical_gradient(lambda x: np.sum(x**3), np.array([1.0, -2.0])),
        [3, 12],
        rtol=1e-8,
    )


def test_check_gradients_catches_a_wrong_derivative():
    with pytest.raises(AssertionError, match="disagrees with central differences at index"):
        testing.check_gradients(lambda x: np.sum(x**2), lambda x: 3 * x, np.array([1.0, 2.0]))


def test_check_gradients_passes_a_right_one():
    assert (
        testing.check_gradients(lambda x: np.sum(np.sin(x)), np.cos, np.linspace(-1, 1, 5)) < 1e-8
    )
