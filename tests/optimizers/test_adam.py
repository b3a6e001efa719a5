import math

import numpy as np
import pytest

from gradstep import optimizers


@pytest.mark.parametrize("name", ["adam_default", "adam_amsgrad"])
def test_matches_keras_trajectory(keras_trajectory, name):
    ours, keras = keras_trajectory(name)
    np.testing.assert_allclose(ours, keras, rtol=1e-10, atol=1e-14)


def test_first_step_moves_each_weight_by_the_learning_rate():
    """With m_hat / sqrt(v_hat) = sign(g) on step one, every weight moves by ~lr."""
    weights = np.array([1.0, -1.0, 5.0])
    optimizers.Adam(learning_rate=0.1).apply_gradients([(np.array([3.0, -0.2, 40.0]), weights)])
    # epsilon shifts it by eps / (sqrt(1 - beta_2) |g|), about 1.6e-5 relative for |g| = 0.2
    np.testing.assert_allclose(weights, [0.9, -0.9, 4.9], rtol=2e-5)


def test_pytorch_equivalent_epsilon():
    """PyTorch adds eps after bias correction; Keras's epsilon = eps * sqrt(1 - beta_2^t)."""
    rng = np.random.default_rng(0)
    gradient = rng.normal(size=4) * 1e-6
    eps, lr, beta_2 = 1e-8, 1e-3, 0.999
    ours = np.zeros(4)
    optimizers.Adam(learning_rate=lr, epsilon=eps * math.sqrt(1 - beta_2)).apply_gradients(
        [(gradient, ours)]
    )
    m_hat, v_hat = gradient, gradient**2
    torch_step = -lr * m_hat / (np.sqrt(v_hat) + eps)
    np.testing.assert_allclose(ours, torch_step, rtol=1e-9)


def test_defaults():
    adam = optimizers.get("adam")
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)


def test_float32_parameters_stay_float32():
    weights = np.ones(3, dtype=np.float32)
    optimizers.Adam().apply_gradients([(np.ones(3, dtype=np.float32), weights)])
    assert weights.dtype == np.float32


class _AdamStepByStep(optimizers.Adam):
    """Adam whose own ``update_step`` the base class runs once per parameter."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.updated = []

    def update_step(self, gradient, variable, learning_rate):
        self.updated.append(variable.shape)
        super().update_step(gradient, variable, learning_rate)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("epsilon_placement", ["keras", "pytorch"])
def test_a_step_over_all_parameters_gives_the_bits_of_one_update_step_each(
    amsgrad, epsilon_placement
):
    """Adam converts a step's scalars once per dtype for all its parameters; the
    weights must be those of ``update_step`` on each parameter in turn."""
    rng = np.random.default_rng(0)
    shapes = [((6, 4), np.float32), ((4,), np.float32), ((3, 2), np.float64)]
    settings = {"learning_rate": 0.01, "amsgrad": amsgrad, "epsilon_placement": epsilon_placement}
    together, one_by_one = optimizers.Adam(**settings), _AdamStepByStep(**settings)
    weights = [rng.normal(size=shape).astype(dtype) for shape, dtype in shapes]
    copies = [w.copy() for w in weights]
    for _ in range(5):
        grads = [(rng.normal(size=w.shape) * 1e-3).astype(w.dtype) for w in weights]
        together.apply(grads, weights)
        one_by_one.apply(grads, copies)
    for ours, reference in zip(weights, copies, strict=True):
        np.testing.assert_array_equal(ours, reference)
    assert one_by_one.updated == [shape for shape, _ in shapes] * 5
