"""fit names where a step's first NaN or infinity appeared: forward, loss or backward,
the layer, and the NumPy operation."""

import numpy as np

import gradstep as keras
from gradstep import layers
from gradstep.models import non_finite


def _data(scale=1.0, samples=16):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(samples, 4)) * scale).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _fit(model, x, y):
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return model.non_finite_origin


def test_a_forward_overflow_names_the_layer_and_the_operation(capsys):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(8, activation="relu", name="hidden"),
            layers.Dense(8, activation="exponential", name="growth"),
            layers.Dense(1, name="out"),
        ],
        seed=0,
    )
    model.compile(optimizer="sgd", loss="mse")
    origin = _fit(model, *_data(scale=1000))
    assert (origin.phase, origin.layer, origin.layer_class) == ("forward", "growth", "Dense")
    assert origin.what == "its output holds inf (its inputs were finite)"
    assert origin.operation.startswith("overflow in Exponential.__call__ (gradstep")
    assert "activations.py:" in origin.operation and "np.exp(x)" in origin.operation
    assert model.diverged_at == (0, 0)
    printed = capsys.readouterr().out
    assert (
        "Invalid loss, terminating training: the loss is nan; it first appeared in the forward "
        "pass, at layer 'growth' (Dense): its output holds inf (its inputs were finite); "
        "operation: overflow in Exponential.__call__ (gradstep"
    ) in printed
    assert "Epoch 1, batch 1: Invalid loss" in printed


def test_the_loss_itself_when_every_output_was_finite():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1, name="out")], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.set_weights([np.full((4, 1), 1e19, "float32"), np.zeros(1, "float32")])
    origin = _fit(model, *_data())  # outputs about 1e19: finite; their squares are not
    assert (origin.phase, origin.layer) == ("loss", None)
    assert origin.what == "the loss is inf"
    assert origin.operation.startswith("overflow in ")
    assert "losses" in origin.operation


class _BrokenSlope(layers.Layer):
    """The identity, with a backward pass that overflows."""

    def forward(self, inputs, training=False):
        return inputs, None

    def backward(self, saved, grad, input_gradient=True):
        return grad * np.float32(1e30) * np.float32(1e30), {}


def test_a_backward_overflow_names_the_layer_whose_slope_broke():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(3, name="first"),
            _BrokenSlope(name="broken"),
            layers.Dense(1, name="last"),
        ],
        seed=0,
    )
    model.compile(optimizer="sgd", loss="mse")
    origin = _fit(model, *_data())
    assert (origin.phase, origin.layer, origin.layer_class) == (
        "backward",
        "broken",
        "_BrokenSlope",
    )
    assert origin.what == "the slope at its input holds inf"
    assert origin.operation.startswith("overflow in _BrokenSlope.backward (")


def test_a_layer_inside_a_nested_model_is_named():
    inner = keras.Sequential(
        [keras.Input((4,)), layers.Dense(4, activation="exponential", name="inner_growth")],
        name="block",
    )
    model = keras.Sequential([keras.Input((4,)), inner, layers.Dense(1, name="out")], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    origin = _fit(model, *_data(scale=1000))
    assert (origin.phase, origin.layer) == ("forward", "inner_growth")


def test_weights_that_already_hold_nan_are_said_so():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, name="d"), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    kernel, bias = model.layers[0].get_weights()
    kernel[0, 0] = np.nan
    model.layers[0].set_weights([kernel, bias])
    origin = _fit(model, *_data())
    assert origin.layer == "d"
    assert origin.what == (
        "its output holds NaN (its inputs were finite); its weights already hold non-finite values"
    )


def test_locating_changes_nothing_and_finds_nothing_in_a_healthy_batch():
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(8, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(1),
        ],
        seed=0,
    )
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    weights, state = model.get_weights(), model.get_training_state()
    before = np.geterr(), np.geterrcall()
    inputs, targets = model._prepare_xy(x, y)
    assert (
        non_finite.locate(model, lambda: model._loss_and_gradients(inputs, targets, [None])) is None
    )
    for kept, now in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    assert repr(model.get_training_state()) == repr(state)
    assert (np.geterr(), np.geterrcall()) == before
    assert all("forward" not in layer.__dict__ for layer in model.layers)
    assert model.non_finite_origin is None


def test_training_on_regardless_does_not_locate():
    model = keras.Sequential(
        [keras.Input((4,)), layers.Dense(4, activation="exponential"), layers.Dense(1)], seed=0
    )
    model.compile(optimizer="sgd", loss="mse")
    model.terminate_on_nan = False
    with np.errstate(all="ignore"):
        assert _fit(model, *_data(scale=1000)) is None
