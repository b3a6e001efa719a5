"""A ``Model`` subclass builds its layers in ``__init__`` and wires them in
``call``; gradstep traces ``call`` on symbolic inputs, then trains it like any
graph."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, models

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 5)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


class Classifier(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(16, activation="relu")
        self.dropout = layers.Dropout(0.25)
        self.head = layers.Dense(2, activation="softmax")

    def call(self, inputs, training=None):
        hidden = self.hidden(inputs)
        if training:  # the training trace has the dropout, the inference trace not
            hidden = self.dropout(hidden)
        return self.head(hidden)


def _trained(seed=0, epochs=40):
    model = Classifier(seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, Y, epochs=epochs, batch_size=16, verbose=0)
    return model, history


def test_a_subclassed_model_trains():
    model, history = _trained()
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85
    assert [layer.name for layer in model.layers] == [
        model.hidden.name,
        model.dropout.name,
        model.head.name,
    ]
    assert model.name.startswith("classifier")
    assert [w.shape for w in model.get_weights()] == [(5, 16), (16,), (16, 2), (2,)]


def test_training_and_inference_are_traced_separately():
    model, _ = _trained(epochs=1)
    training_layers = {node.layer.name for node in model.graph(True).nodes}
    inference_layers = {node.layer.name for node in model.graph(False).nodes}
    assert model.dropout.name in training_layers - inference_layers
    np.testing.assert_array_equal(model.predict(X, verbose=0), model.predict(X, verbose=0))


def test_the_same_seed_gives_the_same_training():
    first, _ = _trained(seed=4, epochs=2)
    second, _ = _trained(seed=4, epochs=2)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_weights_round_trip_through_save_weights(tmp_path):
    model, _ = _trained(epochs=2)
    model.save_weights(tmp_path / "classifier.weights.safetensors")
    fresh = Classifier(seed=9)
    fresh.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fresh.build((None, 5))
    fresh.load_weights(tmp_path / "classifier.weights.safetensors")
    np.testing.assert_array_equal(fresh.predict(X, verbose=0), model.predict(X, verbose=0))


def test_an_unregistered_subclass_is_saved_only_where_its_class_resolves(tmp_path):
    model, _ = _trained(epochs=1)
    with pytest.raises(ValueError, match=r"cannot be saved.*register_keras_serializable"):
        model.save(tmp_path / "classifier.keras")
    with keras.saving.custom_object_scope({"Classifier": Classifier}):
        model.save(tmp_path / "classifier.keras")
    loaded = models.load_model(
        tmp_path / "classifier.keras", custom_objects={"Classifier": Classifier}
    )
    assert type(loaded) is Classifier
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


@keras.saving.register_keras_serializable(package="tests")
class Scaled(keras.Model):
    """Its constructor's arguments are its config, as Keras 3 records them."""

    def __init__(self, units=3, scale=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale
        self.dense = layers.Dense(units, activation="tanh")

    def call(self, inputs):
        return self.dense(inputs) * self.scale


def test_a_registered_subclass_saves_loads_and_trains_on(tmp_path):
    model = Scaled(units=4, scale=0.5, name="scaled", seed=3)
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, X[:, :4], epochs=2, verbose=0)
    assert model.get_config() == {
        "name": "scaled",
        "trainable": True,
        "units": 4,
        "scale": 0.5,
        "seed": 3,
    }
    model.save(tmp_path / "scaled.keras")
    loaded = models.load_model(tmp_path / "scaled.keras")
    assert type(loaded) is Scaled and (loaded.units, loaded.scale) == (4, 0.5)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    model.fit(X, X[:, :4], epochs=1, shuffle=False, verbose=0)
    loaded.fit(X, X[:, :4], epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_a_subclass_whose_arguments_are_not_data_writes_get_config(tmp_path):
    @keras.saving.register_keras_serializable(package="tests")
    class Wrapped(keras.Model):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, inputs):
            return self.inner(inputs)

    model = Wrapped(layers.Dense(2))
    model(X[:2])
    with pytest.raises(ValueError, match="cannot be saved.*write its get_config"):
        model.save(tmp_path / "wrapped.keras")


def test_a_subclass_without_call_says_what_to_write():
    with pytest.raises(NotImplementedError, match=r"must implement call\(inputs\)"):
        keras.Model().predict(X, verbose=0)


def test_summary_of_a_subclassed_model():
    model, _ = _trained(epochs=1)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == f'Model: "{model.name}"'
    assert any(
        line.startswith(f" {model.head.name} (Dense)") and "(None, 2)" in line for line in lines
    )
    assert "Total params: 130 (520.00 Byte)" in lines


def test_a_subclass_with_several_inputs_and_outputs():
    class TwoWay(models.Model):
        def __init__(self):
            super().__init__(seed=1)
            self.left = layers.Dense(3)
            self.right = layers.Dense(3)
            self.out = layers.Dense(1)

        def call(self, inputs):
            merged = layers.Add()([self.left(inputs["a"]), self.right(inputs["b"])])
            return {"sum": self.out(merged), "left": self.left(inputs["b"])}

    model = TwoWay()
    x = {"a": RNG.normal(size=(8, 2)), "b": RNG.normal(size=(8, 2))}
    outputs = model.predict(x, verbose=0)
    assert outputs["sum"].shape == (8, 1) and outputs["left"].shape == (8, 3)
    model.compile(optimizer="sgd", loss={"sum": "mse"})
    model.fit(x, {"sum": np.ones((8, 1))}, epochs=2, verbose=0)


class _TwoHeads(layers.Layer):
    """A layer whose ``call`` returns two tensors (keras.io's VAE encoder)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.mean = layers.Dense(2, dtype="float64")
        self.log_var = layers.Dense(2, dtype="float64")

    def call(self, inputs):
        return self.mean(inputs), keras.ops.tanh(self.log_var(inputs))


class _UsesTwoHeads(models.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.heads = _TwoHeads(dtype="float64")
        self.out = layers.Dense(1, dtype="float64")

    def call(self, inputs):
        mean, log_var = self.heads(inputs)
        self.add_loss(0.1 * keras.ops.mean(keras.ops.exp(log_var)))
        return self.out(mean * log_var)


def test_a_layer_with_two_outputs_inside_a_model_subclass_and_in_a_graph():
    from gradstep.testing import check_model_gradients

    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 1))
    model = _UsesTwoHeads(dtype="float64")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    check_model_gradients(model, x, y)

    inputs = keras.Input(shape=(3,), dtype="float64")
    heads = _TwoHeads(dtype="float64")
    mean, log_var = heads(inputs)
    assert (mean.shape, log_var.shape) == ((None, 2), (None, 2))
    graph_model = keras.Model(
        inputs, layers.Dense(1, dtype="float64")(layers.Concatenate()([mean, log_var]))
    )
    graph_model.compile(optimizer="sgd", loss="mse")
    check_model_gradients(graph_model, x, y)
    eager_mean, eager_log_var = heads(x)
    np.testing.assert_allclose(
        eager_log_var, np.tanh(x @ heads.log_var.kernel + heads.log_var.bias)
    )


def test_compiled_without_a_loss_and_nothing_added_is_refused():
    model = models.Sequential([keras.Input(shape=(3,)), layers.Dense(1)])
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="No loss to compute"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 1)), verbose=0)


@keras.saving.register_keras_serializable(package="tests")
class _SquarePenalty(layers.Layer):
    def call(self, inputs):
        self.add_loss(keras.ops.mean(keras.ops.square(inputs)))
        return inputs


def test_compiled_without_a_loss_trains_on_added_losses_and_round_trips(tmp_path):
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, _SquarePenalty()(layers.Dense(2)(inputs)))
    model.compile(optimizer="sgd")
    x = np.random.default_rng(6).normal(size=(8, 3)).astype("float32")
    losses = model.fit(x, epochs=3, verbose=0).history["loss"]
    assert losses[2] < losses[0]
    assert model.evaluate(x, verbose=0) == pytest.approx(
        float(np.mean(model.predict(x, verbose=0) ** 2)), rel=1e-5
    )
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.evaluate(x, verbose=0) == pytest.approx(model.evaluate(x, verbose=0), rel=1e-6)


class _Scaled(layers.Layer):
    def call(self, values, scales):
        return values * scales


def test_a_layer_called_on_two_positional_tensors_eagerly_and_in_a_graph(tmp_path):
    values, scales = np.arange(6.0).reshape(2, 3), np.full((2, 3), 2.0)
    np.testing.assert_allclose(_Scaled()(values, scales), values * scales)
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    layer = _Scaled()
    model = keras.Model([a, b], layer(a, b))
    assert layer.positional_tensors
    np.testing.assert_allclose(model.predict([values, scales], verbose=0), values * scales)
    node = next(e for e in model.get_config()["layers"] if e["name"] == layer.name)
    assert len(node["inbound_nodes"][0]["args"]) == 2  # as Keras writes them
