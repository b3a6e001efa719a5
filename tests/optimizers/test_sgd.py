import numpy as np
import pytest

from gradstep import optimizers


@pytest.mark.parametrize("name", ["sgd_default", "sgd_momentum", "sgd_nesterov"])
def test_matches_keras_trajectory(keras_trajectory, name):
    ours, keras = keras_trajectory(name)
    np.testing.assert_allclose(ours, keras, rtol=1e-12, atol=1e-14)


def test_worked_example_one_weight():
    """SEED_FACTS 2: slope 2 * -4 * 3 = -24; weight 2 becomes 2 - 0.01 * (-24) = 2.24."""
    weight = np.array([2.0])
    slope = np.array([2 * -4 * 3.0])
    optimizers.SGD(learning_rate=0.01).apply_gradients([(slope, weight)])
    assert weight[0] == pytest.approx(2.24, abs=1e-15)


def test_momentum_equals_pytorch_formulation_at_constant_lr():
    """Keras keeps v = mu v - lr g; PyTorch b = mu b + g, w -= lr b: same weights."""
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(10, 3))
    ours = np.ones(3)
    optimizer = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    torch_weights, buffer = np.ones(3), np.zeros(3)
    for step, gradient in enumerate(gradients):
        optimizer.apply_gradients([(gradient, ours)])
        buffer = gradient if step == 0 else 0.9 * buffer + gradient
        torch_weights -= 0.1 * buffer
    np.testing.assert_allclose(ours, torch_weights, rtol=1e-12)


def test_defaults_and_config():
    optimizer = optimizers.get("sgd")
    assert optimizer.learning_rate == 0.01 and optimizer.momentum == 0.0
    again = optimizers.deserialize(
        optimizers.serialize(optimizers.SGD(0.1, momentum=0.5, nesterov=True))
    )
    assert (again.learning_rate, again.momentum, again.nesterov) == (0.1, 0.5, True)


def test_bad_momentum():
    with pytest.raises(ValueError, match="momentum must be a float in"):
        optimizers.SGD(momentum=1.5)
