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


def _torch_sgd(gradients, rates, momenta, nesterov):
    """torch.optim.SGD's rule (dampening 0), with the group's lr and momentum
    set before each step."""
    weights, buffer = np.ones(gradients.shape[1]), np.zeros(gradients.shape[1])
    for gradient, rate, momentum in zip(gradients, rates, momenta, strict=True):
        buffer = momentum * buffer + gradient
        weights -= rate * (gradient + momentum * buffer if nesterov else buffer)
    return weights


def _gradstep_sgd(gradients, rates, momenta, nesterov, momentum_form):
    optimizer = optimizers.SGD(
        lambda step: rates[step], momentum=0.9, nesterov=nesterov, momentum_form=momentum_form
    )
    weights = np.ones(gradients.shape[1])
    for gradient, momentum in zip(gradients, momenta, strict=True):
        optimizer.momentum = momentum
        optimizer.apply_gradients([(gradient, weights)])
    return weights


@pytest.mark.parametrize("nesterov", [False, True])
def test_pytorch_form_follows_pytorch_when_the_rate_changes(nesterov):
    """A rate that halves every 5 steps: PyTorch's form is PyTorch's, Keras's is not."""
    gradients = np.random.default_rng(1).normal(size=(20, 3))
    rates, momenta = 0.1 * 0.5 ** (np.arange(20) // 5), np.full(20, 0.9)
    torch_weights = _torch_sgd(gradients, rates, momenta, nesterov)
    pytorch_form = _gradstep_sgd(gradients, rates, momenta, nesterov, "pytorch")
    keras_form = _gradstep_sgd(gradients, rates, momenta, nesterov, "keras")
    np.testing.assert_allclose(pytorch_form, torch_weights, rtol=1e-13)
    assert not np.allclose(keras_form, torch_weights, rtol=1e-3)


@pytest.mark.parametrize("nesterov", [False, True])
def test_forms_agree_at_a_constant_rate_even_with_a_cycled_momentum(nesterov):
    """v = -lr b holds step by step whatever mu is: only a changing rate parts them."""
    gradients = np.random.default_rng(2).normal(size=(20, 3))
    rates, momenta = np.full(20, 0.05), 0.85 + 0.1 * np.abs(np.sin(np.arange(20)))
    keras_form = _gradstep_sgd(gradients, rates, momenta, nesterov, "keras")
    pytorch_form = _gradstep_sgd(gradients, rates, momenta, nesterov, "pytorch")
    np.testing.assert_allclose(keras_form, pytorch_form, rtol=1e-12)
    np.testing.assert_allclose(keras_form, _torch_sgd(gradients, rates, momenta, nesterov))


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.GD])
def test_momentum_form_round_trips_through_the_config(cls):
    optimizer = cls(0.1, momentum=0.5, nesterov=True, momentum_form="pytorch")
    config = optimizer.get_config()
    assert config["momentum_form"] == "pytorch"
    again = optimizers.deserialize(optimizers.serialize(optimizer))
    assert type(again) is cls and again.get_config() == config
    assert cls().get_config()["momentum_form"] == "keras"


@pytest.mark.parametrize("value", ["torch", "Keras", None, 1])
def test_bad_momentum_form(value):
    message = rf"momentum_form must be one of \('keras', 'pytorch'\), received {value!r}"
    with pytest.raises(ValueError, match=message):
        optimizers.SGD(momentum=0.9, momentum_form=value)


def test_pytorch_buffer_is_its_own_slot_and_resumes_to_the_bit():
    """The buffer is saved as "momentum_buffer/<i>" (PyTorch's name): a Keras-form
    state, whose velocity is -lr times it, cannot be restored into it by mistake."""
    gradients = np.random.default_rng(4).normal(size=(6, 3))
    straight = np.ones(3)
    optimizer = optimizers.SGD(lambda step: 0.1 / (step + 1), momentum=0.9, momentum_form="pytorch")
    for gradient in gradients:
        optimizer.apply_gradients([(gradient, straight)])
    resumed = np.ones(3)
    first = optimizers.SGD(lambda step: 0.1 / (step + 1), momentum=0.9, momentum_form="pytorch")
    for gradient in gradients[:3]:
        first.apply_gradients([(gradient, resumed)])
    state = first.get_state()
    assert sorted(state) == ["iterations", "momentum_buffer/0"]
    second = optimizers.SGD(lambda step: 0.1 / (step + 1), momentum=0.9, momentum_form="pytorch")
    second.set_state(state, [resumed])
    for gradient in gradients[3:]:
        second.apply_gradients([(gradient, resumed)])
    np.testing.assert_array_equal(resumed, straight)
    with pytest.raises(ValueError, match=r"missing \['momentum/0'\], unexpected"):
        optimizers.SGD(0.1, momentum=0.9).set_state(state, [resumed])


def test_gd_with_pytorch_momentum_trains_as_sgd_with_the_whole_batch():
    x, y = _regression_data()
    gd = _linear_model(optimizers.GD(0.05, momentum=0.9, momentum_form="pytorch"))
    gd.fit(x, y, epochs=4, verbose=0)
    sgd = _linear_model(optimizers.SGD(0.05, momentum=0.9, momentum_form="pytorch"))
    sgd.fit(x, y, epochs=4, batch_size=len(x), shuffle=False, verbose=0)
    for a, b in zip(gd.get_weights(), sgd.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert sorted(gd.optimizer.get_state()) == [
        "iterations",
        "momentum_buffer/0",
        "momentum_buffer/1",
    ]


def test_pytorch_form_keeps_float32_weights_float32():
    weights = np.ones(4, dtype=np.float32)
    optimizer = optimizers.SGD(0.1, momentum=0.9, nesterov=True, momentum_form="pytorch")
    optimizer.apply_gradients([(np.full(4, 0.5, dtype=np.float32), weights)])
    assert weights.dtype == np.float32
    # b = 0.5; w = 1 - 0.1 * (0.5 + 0.9 * 0.5)
    np.testing.assert_allclose(weights, 1 - 0.1 * 0.95, rtol=1e-6)
