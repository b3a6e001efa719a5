"""How a model uses regularizers, constraints and moving statistics: the
penalties join the loss that fit and evaluate log and the slopes the
optimizer gets; constraints and state updates land after each step."""

import numpy as np
import pytest

import gradstep
from gradstep import Model, Sequential, constraints, layers, regularizers
from gradstep.layers.base import Layer
from gradstep.testing import check_model_gradients

RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 4))
Y = RNG.normal(size=(12, 2))


def regularized_model(dtype="float64"):
    inputs = layers.Input((4,), dtype=dtype)
    hidden = layers.Dense(
        3,
        activation="tanh",
        kernel_regularizer=regularizers.L2(0.3),
        bias_regularizer=regularizers.L1(0.2),
        bias_initializer="ones",
        activity_regularizer=regularizers.L1L2(0.1, 0.2),
        dtype=dtype,
    )(inputs)
    outputs = layers.Dense(
        2, kernel_regularizer=regularizers.OrthogonalRegularizer(0.5, "columns"), dtype=dtype
    )(hidden)
    model = Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_penalties_and_their_slopes_pass_central_differences():
    assert check_model_gradients(regularized_model(), X, Y) < 1e-6


def test_the_logged_loss_is_the_loss_plus_every_penalty():
    model = regularized_model()
    plain_loss = float(np.mean((model.predict(X, verbose=0) - Y) ** 2))
    hidden_layer = model.layers[1]
    hidden = np.tanh(X @ hidden_layer.kernel + hidden_layer.bias)
    activity = (0.1 * np.abs(hidden).sum() + 0.2 * (hidden**2).sum()) / len(X)
    weights = (
        0.3 * (hidden_layer.kernel**2).sum()
        + 0.2 * np.abs(hidden_layer.bias).sum()
        + float(regularizers.OrthogonalRegularizer(0.5, "columns")(model.layers[2].kernel))
    )
    expected = plain_loss + activity + weights
    assert model.evaluate(X, Y, batch_size=12, verbose=0) == pytest.approx(expected, rel=1e-12)
    assert model.gradients(X, Y)[0] == pytest.approx(expected, rel=1e-12)
    history = model.fit(X, Y, batch_size=12, epochs=1, verbose=0, shuffle=False)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)


def test_a_frozen_layers_penalty_is_left_out_as_in_keras():
    model = regularized_model()
    before = model.evaluate(X, Y, verbose=0)
    model.layers[1].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    hidden_layer = model.layers[1]
    weight_penalty = 0.3 * (hidden_layer.kernel**2).sum() + 0.2 * np.abs(hidden_layer.bias).sum()
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(before - weight_penalty, rel=1e-12)


def test_an_activity_regularized_softmax_is_not_fused_with_the_loss():
    inputs = layers.Input((4,), dtype="float64")
    outputs = layers.Dense(3, activation="softmax", activity_regularizer="l2", dtype="float64")(
        inputs
    )
    model = Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert check_model_gradients(model, X, np.arange(12) % 3) < 1e-6


def test_a_nested_models_activity_penalty_counts():
    inner_in = layers.Input((4,), dtype="float64")
    inner = Model(
        inner_in,
        layers.Dense(3, activity_regularizer=regularizers.L2(1.0), dtype="float64")(inner_in),
    )
    inputs = layers.Input((4,), dtype="float64")
    model = Model(inputs, layers.Dense(2, dtype="float64")(inner(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    hidden = inner.predict(X, verbose=0)
    plain = float(np.mean((model.predict(X, verbose=0) - Y) ** 2))
    assert model.evaluate(X, Y, batch_size=12, verbose=0) == pytest.approx(
        plain + (hidden**2).sum() / 12, rel=1e-12
    )
    assert check_model_gradients(model, X, Y) < 1e-6


def test_constraints_apply_after_each_step():
    model = Sequential(
        [
            layers.Dense(
                3,
                kernel_constraint=constraints.MaxNorm(0.1),
                bias_constraint=constraints.NonNeg(),
                bias_initializer="ones",
                input_shape=(4,),
            )
        ],
        seed=0,
    )
    model.compile(optimizer=gradstep.optimizers.SGD(1.0), loss="mse")
    model.fit(X, -10 * np.ones((12, 3)), epochs=2, batch_size=4, verbose=0)
    kernel, bias = model.get_weights()
    assert np.all(np.sqrt((kernel**2).sum(axis=0)) <= 0.1 + 1e-6)
    assert np.all(bias >= 0) and np.any(bias == 0)  # pushed below 0, held at 0


def test_constraints_are_not_applied_by_gradients_or_before_training():
    layer = layers.Dense(3, kernel_constraint=constraints.NonNeg(), input_shape=(4,))
    model = Sequential([layer], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.gradients(X, np.zeros((12, 3)))
    assert np.any(layer.kernel < 0)  # glorot draws negative weights; nothing projected them


class MovingMean(Layer):
    """A test layer whose training pass computes a new moving mean."""

    updates_state = True

    def build(self, input_shape):
        self.moving_mean = self.add_weight(
            (input_shape[-1],), "zeros", name="moving_mean", trainable=False
        )
        super().build(input_shape)

    def forward(self, x, training=False):
        new_mean = 0.5 * self.moving_mean + 0.5 * x.mean(axis=0) if training else None
        return x, new_mean

    def backward(self, saved, grad, input_gradient=True):
        return grad, {}

    def state_updates(self, saved):
        return [(self.moving_mean, saved)]


def moving_mean_model():
    state = MovingMean()
    model = Sequential([layers.Dense(2, input_shape=(4,)), state], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    return model, state


def test_state_updates_land_after_a_training_step_and_only_then():
    model, state = moving_mean_model()
    outputs = model.predict(X, verbose=0)
    model.gradients(X, Y)
    model.evaluate(X, Y, verbose=0)
    np.testing.assert_array_equal(state.moving_mean, 0)
    model.train_on_batch(X, Y)
    np.testing.assert_allclose(state.moving_mean, 0.5 * outputs.mean(axis=0), rtol=1e-6)


def test_an_eager_training_call_updates_state_as_keras_does():
    model, state = moving_mean_model()
    outputs = model(X, training=True)
    np.testing.assert_allclose(state.moving_mean, 0.5 * outputs.mean(axis=0), rtol=1e-6)
    state(np.ones((3, 2)), training=True)
    np.testing.assert_allclose(state.moving_mean, 0.25 * outputs.mean(axis=0) + 0.5, rtol=1e-6)
    state(np.zeros((3, 2)))
    np.testing.assert_allclose(state.moving_mean, 0.25 * outputs.mean(axis=0) + 0.5, rtol=1e-6)


def test_a_step_skipped_for_non_finite_values_updates_no_state():
    model, state = moving_mean_model()
    with np.errstate(over="ignore"):
        model.fit(X, np.full((12, 2), 1e30), batch_size=12, epochs=1, verbose=0)  # inf in float32
    assert model.diverged_at == (0, 0)
    np.testing.assert_array_equal(state.moving_mean, 0)


def test_integer_inputs_out_of_the_inputs_range_are_refused():
    inputs = layers.Input((3,), dtype="int32")
    model = Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match=r"x holds values from 0 to 4294967296.*int32"):
        model.predict(np.array([[0, 1, 2**32]]), verbose=0)
    with pytest.raises(ValueError, match="whole numbers"):
        model.predict(np.array([[0, 1.5, 2]]), verbose=0)


def test_regularizers_and_constraints_survive_save_and_load(tmp_path):
    inputs = layers.Input((4,), dtype="float64")
    outputs = layers.Dense(
        2,
        kernel_regularizer="l2",
        kernel_constraint=constraints.MinMaxNorm(0.1, 0.9, rate=0.5),
        activity_regularizer=regularizers.L1(0.05),
        dtype="float64",
    )(layers.ActivityRegularization(l1=0.01, l2=0.02)(inputs))
    model = Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "regularized.gradstep"
    model.save(path)
    loaded = gradstep.models.load_model(path)
    assert loaded.evaluate(X, Y, verbose=0) == model.evaluate(X, Y, verbose=0)
    dense = loaded.layers[-1]
    assert dense.get_config() == model.layers[-1].get_config()
    assert isinstance(dense.kernel_constraint, constraints.MinMaxNorm)
    assert loaded.layers[1].get_config()["l2"] == 0.02
