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


def _regression_data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    return x, x @ np.array([1.0, -2.0, 0.5], dtype=np.float32) + 0.3


def _linear_model(optimizer):
    from gradstep import layers, models

    model = models.Sequential([layers.Dense(1, input_shape=(3,))], seed=7)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_gd_takes_one_full_batch_step_per_epoch():
    """GD is SGD on the whole data set: the same weights as SGD with
    batch_size=len(x), and the history's loss is the full-data loss before each step."""
    x, y = _regression_data()
    gd = _linear_model(optimizers.GD(0.1))
    history = gd.fit(x, y, epochs=5, verbose=0)
    sgd = _linear_model(optimizers.SGD(0.1))
    sgd.fit(x, y, epochs=5, batch_size=len(x), shuffle=False, verbose=0)
    for a, b in zip(gd.get_weights(), sgd.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert gd.optimizer.iterations == 5
    assert history.history["loss"][1] < history.history["loss"][0]


def test_gd_refuses_mini_batches_and_accepts_the_full_size():
    x, y = _regression_data()
    model = _linear_model("gd")
    with pytest.raises(ValueError, match=r"GD uses the whole data set \(40 samples\)"):
        model.fit(x, y, batch_size=32, verbose=0)
    model.fit(x, y, batch_size=40, verbose=0)
    assert model.optimizer.iterations == 1


def test_plain_and_momentum_kernels_give_keras_numbers_in_float32():
    """float32 weights stay float32 (the kernels compute in the weights' dtype)."""
    for momentum, nesterov in [(0.0, False), (0.9, False), (0.9, True)]:
        weights = np.ones(4, dtype=np.float32)
        optimizer = optimizers.SGD(0.1, momentum=momentum, nesterov=nesterov)
        optimizer.apply_gradients([(np.full(4, 0.5, dtype=np.float32), weights)])
        assert weights.dtype == np.float32
        expected = 1 - 0.05 * (1 + momentum if nesterov else 1)
        np.testing.assert_allclose(weights, expected, rtol=1e-6)
