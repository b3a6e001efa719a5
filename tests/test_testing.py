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


def test_check_layer_gradients_checks_only_the_weights_of_an_integer_input_layer():
    from gradstep.layers.base import Layer

    class Lookup(Layer):
        integer_inputs = True

        def __init__(self, wrong=False, **kwargs):
            super().__init__(dtype="float64", **kwargs)
            self.wrong = wrong

        def build(self, input_shape):
            self.table = self.add_weight((4, 2), "random_normal", name="table")
            super().build(input_shape)

        def forward(self, x, training=False):
            assert x.dtype.kind == "i"  # the tokens are passed as they are
            return self.table[x] ** 2, x

        def backward(self, x, grad, input_gradient=True):
            assert not input_gradient  # no slope is asked at the tokens
            slope = np.zeros_like(self.table)
            np.add.at(slope, x, grad * 2 * self.table[x] * (3 if self.wrong else 1))
            return "no slope at tokens", {"table": slope}

    tokens = np.array([[0, 3, 3], [1, 0, 2]])
    assert testing.check_layer_gradients(Lookup(), tokens) < 1e-6
    with pytest.raises(AssertionError, match="table disagrees with central differences"):
        testing.check_layer_gradients(Lookup(wrong=True), tokens)
