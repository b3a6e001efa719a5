import numpy as np
import pytest

from gradstep import optimizers


@pytest.mark.parametrize("name", ["rmsprop_default", "rmsprop_centered", "rmsprop_momentum"])
def test_matches_keras_trajectory(keras_trajectory, name):
    ours, keras = keras_trajectory(name)
    np.testing.assert_allclose(ours, keras, rtol=1e-10, atol=1e-14)


def test_defaults():
    rmsprop = optimizers.get("rmsprop")
    assert (rmsprop.learning_rate, rmsprop.rho, rmsprop.epsilon) == (0.001, 0.9, 1e-7)


def _torch_rmsprop(gradients, rates, centered):
    """torch.optim.RMSprop(alpha=0.9, eps=1e-8, momentum=0.5, centered)'s rule."""
    size = gradients.shape[1]
    weights, square, average, buffer = np.ones(size), np.zeros(size), np.zeros(size), np.zeros(size)
    for gradient, rate in zip(gradients, rates, strict=True):
        square = 0.9 * square + 0.1 * gradient**2
        average = 0.9 * average + 0.1 * gradient
        variance = square - average**2 if centered else square
        buffer = 0.5 * buffer + gradient / (np.sqrt(variance) + 1e-8)
        weights -= rate * buffer
    return weights


def _gradstep_rmsprop(gradients, rates, centered, momentum_form):
    optimizer = optimizers.RMSprop(
        lambda step: rates[step],
        rho=0.9,
        momentum=0.5,
        epsilon=1e-8,
        centered=centered,
        epsilon_placement="pytorch",
        momentum_form=momentum_form,
    )
    weights = np.ones(gradients.shape[1])
    for gradient in gradients:
        optimizer.apply_gradients([(gradient, weights)])
    return weights


@pytest.mark.parametrize("centered", [False, True])
def test_pytorch_form_follows_pytorch_when_the_rate_changes(centered):
    gradients = np.random.default_rng(1).normal(size=(20, 3))
    rates = 0.01 * 0.8 ** np.arange(20)
    torch_weights = _torch_rmsprop(gradients, rates, centered)
    pytorch_form = _gradstep_rmsprop(gradients, rates, centered, "pytorch")
    keras_form = _gradstep_rmsprop(gradients, rates, centered, "keras")
    np.testing.assert_allclose(pytorch_form - 1, torch_weights - 1, rtol=1e-12)
    assert not np.allclose(keras_form - 1, torch_weights - 1, rtol=1e-3)


@pytest.mark.parametrize("centered", [False, True])
def test_forms_agree_at_a_constant_rate(centered):
    gradients = np.random.default_rng(2).normal(size=(20, 3))
    rates = np.full(20, 0.01)
    np.testing.assert_allclose(
        _gradstep_rmsprop(gradients, rates, centered, "keras") - 1,
        _gradstep_rmsprop(gradients, rates, centered, "pytorch") - 1,
        rtol=1e-12,
    )


def test_momentum_form_round_trips_and_names_its_slot():
    optimizer = optimizers.RMSprop(
        0.01, momentum=0.9, centered=True, epsilon_placement="pytorch", momentum_form="pytorch"
    )
    again = optimizers.deserialize(optimizers.serialize(optimizer))
    assert again.get_config() == optimizer.get_config()
    assert again.get_config()["momentum_form"] == "pytorch"
    assert optimizers.RMSprop().get_config()["momentum_form"] == "keras"
    weights = np.ones(2)
    again.apply_gradients([(np.ones(2), weights)])
    assert sorted(again.get_state()) == [
        "average_gradient/0",
        "iterations",
        "momentum_buffer/0",
        "velocity/0",
    ]


def test_bad_momentum_form():
    with pytest.raises(
        ValueError, match=r"momentum_form must be one of \('keras', 'pytorch'\), received 'lr'"
    ):
        optimizers.RMSprop(momentum_form="lr")
