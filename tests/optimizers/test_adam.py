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
