"""Keras's serialization API: register_keras_serializable, custom_object_scope,
serialize/deserialize_keras_object, get_registered_object/name; and what uses
it: model.to_json / models.model_from_json, models.clone_model, and a layer
class of yours that round-trips through model.save / load_model without
custom_objects."""

import json

import numpy as np
import pytest

import gradstep as keras
from gradstep import initializers, layers, models, saving
from gradstep.layers.base import Layer


@saving.register_keras_serializable(package="gradstep_tests")
class Shift(Layer):
    """``y = x + offset * shift``: a layer of the user's own, with an argument."""

    def __init__(self, offset=1.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def build(self, input_shape):
        self.shift = self.add_weight((input_shape[-1],), "random_normal", name="shift")
        super().build(input_shape)

    def forward(self, x, training=False):
        return x + self.offset * self.shift, None

    def backward(self, saved, grad, input_gradient=True):
        return (grad if input_gradient else None), {"shift": self.offset * grad.sum(axis=0)}

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


class Unregistered(Shift):
    """The same layer, not registered: it needs custom_objects or a scope."""


@saving.register_keras_serializable(package="gradstep_tests", name="twice")
def twice(x):
    return 2 * x


def sequential(layer_class=Shift, seed=0):
    return models.Sequential(
        [
            keras.Input((3,)),
            layers.Dense(4, activation="tanh", name="dense"),
            layer_class(offset=0.5, name="shift"),
            layers.Dense(2, name="out"),
        ],
        seed=seed,
    )


def test_register_keras_serializable_names_are_keras():
    assert saving.get_registered_name(Shift) == "gradstep_tests>Shift"
    assert saving.get_registered_name(twice) == "gradstep_tests>twice"
    assert saving.get_registered_name(Unregistered) == "Unregistered"
    assert saving.get_registered_object("gradstep_tests>Shift") is Shift
    assert saving.get_custom_objects()["gradstep_tests>Shift"] is Shift
    assert saving.get_registered_object("Missing") is None
    assert saving.get_registered_object("Mine", custom_objects={"Mine": Unregistered}) is (
        Unregistered
    )


def test_a_class_without_get_config_cannot_be_registered():
    with pytest.raises(ValueError, match="does not have a get_config"):
        saving.register_keras_serializable()(type("Plain", (), {}))


def test_custom_object_scope_is_entered_and_left():
    with saving.custom_object_scope({"Unregistered": Unregistered}):
        assert saving.get_registered_object("Unregistered") is Unregistered
        with saving.CustomObjectScope({"Other": Shift}):  # replaces, as Keras's
            assert saving.get_registered_object("Unregistered") is None
        assert saving.get_registered_object("Unregistered") is Unregistered
    assert saving.get_registered_object("Unregistered") is None


def test_serialize_keras_object_is_keras_form_and_round_trips():
    initializer = initializers.HeNormal(seed=3)
    config = saving.serialize_keras_object(initializer)
    assert config == {
        "module": "keras.initializers",
        "class_name": "HeNormal",
        "config": {"seed": 3, "input_axes": None, "output_axes": None},
        "registered_name": None,
    }
    again = saving.deserialize_keras_object(config)
    assert type(again) is initializers.HeNormal and again.seed == 3
    layer = Shift(offset=2.0, name="mine")
    config = saving.serialize_keras_object(layer)
    assert config["registered_name"] == "gradstep_tests>Shift"
    assert config["module"] == __name__
    again = saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert type(again) is Shift and again.offset == 2.0 and again.name == "mine"
    dense = saving.deserialize_keras_object(saving.serialize_keras_object(layers.Dense(3)))
    assert type(dense) is layers.Dense and dense.units == 3


def test_serialize_plain_values_tuples_arrays_and_functions():
    value = {"a": (1, 2), "b": np.array([[1.5, 2.0]], dtype=np.float32), "c": [None, "x"]}
    config = saving.serialize_keras_object(value)
    assert config["a"] == {"class_name": "__tuple__", "config": {"value": [1, 2]}}
    again = saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert again["a"] == (1, 2) and again["c"] == [None, "x"]
    assert again["b"].dtype == np.float32 and again["b"].tolist() == [[1.5, 2.0]]
    assert saving.deserialize_keras_object(saving.serialize_keras_object(twice)) is twice


def test_deserialize_refuses_unknown_classes():
    config = saving.serialize_keras_object(Unregistered())
    with pytest.raises(ValueError, match="Unknown class 'Unregistered'"):
        saving.deserialize_keras_object(config)
    again = saving.deserialize_keras_object(config, custom_objects={"Unregistered": Unregistered})
    assert type(again) is Unregistered
    with pytest.raises(ValueError, match="Unknown function"):
        saving.deserialize_keras_object({"class_name": "function", "config": "os.system"})


def test_a_registered_layer_round_trips_through_save_and_load_model(tmp_path):
    model = sequential()
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    model.fit(x, np.ones((8, 2), "float32"), epochs=2, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = models.load_model(tmp_path / "model.keras")  # no custom_objects
    assert type(loaded.get_layer("shift")) is Shift and loaded.get_layer("shift").offset == 0.5
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_an_unregistered_layer_loads_with_custom_objects_or_a_scope(tmp_path):
    model = sequential(Unregistered)
    with saving.custom_object_scope({"Unregistered": Unregistered}):
        model.save(tmp_path / "model.keras")
    with pytest.raises(ValueError, match="Unregistered"):
        models.load_model(tmp_path / "model.keras")
    x = np.ones((2, 3), "float32")
    loaded = models.load_model(
        tmp_path / "model.keras", custom_objects={"Unregistered": Unregistered}
    )
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with saving.custom_object_scope({"Unregistered": Unregistered}):
        loaded = models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def functional():
    inputs = keras.Input((3,), name="x")
    hidden = layers.Dense(4, activation="relu", name="hidden")(inputs)
    shifted = Shift(offset=2.0, name="shift")(hidden)
    outputs = layers.Dense(2, name="out")(layers.Concatenate()([hidden, shifted]))
    return keras.Model(inputs, outputs, name="graph")


@pytest.mark.parametrize("build", [sequential, functional])
def test_to_json_and_model_from_json_give_the_architecture(build):
    model = build()
    text = model.to_json()
    config = json.loads(text)
    assert config["class_name"] == type(model).__name__ and config["module"] == "keras.models"
    again = models.model_from_json(text)
    assert type(again) is type(model)
    assert again.get_config() == model.get_config()
    assert [w.shape for w in again.get_weights()] == [w.shape for w in model.get_weights()]
    assert json.loads(model.to_json(indent=2)) == config


def test_model_from_json_refuses_what_is_not_a_model():
    with pytest.raises(ValueError, match="not valid JSON"):
        models.model_from_json("{")
    with pytest.raises(ValueError, match="expected the JSON of a model"):
        models.model_from_json("[1, 2]")
    text = sequential(Unregistered).to_json()
    with pytest.raises(ValueError, match="Unregistered"):
        models.model_from_json(text)
    assert models.model_from_json(text, custom_objects={"Unregistered": Unregistered}).built


@pytest.mark.parametrize("build", [sequential, functional])
def test_clone_model_has_the_architecture_and_new_weights(build):
    model = build()
    clone = models.clone_model(model)
    assert type(clone) is type(model) and clone is not model
    assert clone.get_config() == model.get_config()
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    for mine, theirs in zip(clone.get_weights(), model.get_weights(), strict=True):
        assert mine.shape == theirs.shape
    kernels = [(w, v) for w, v in zip(clone.get_weights(), model.get_weights(), strict=True)]
    assert not all(np.array_equal(w, v) for w, v in kernels)  # drawn again
    assert all(a is not b for a, b in zip(clone.layers, model.layers, strict=True))
    assert clone.optimizer is None


def test_clone_model_names_what_it_does_not_support():
    with pytest.raises(ValueError, match="clone_function"):
        models.clone_model(sequential(), clone_function=lambda layer: layer)
    with pytest.raises(TypeError, match="expects a gradstep Model"):
        models.clone_model(layers.Dense(2))


@saving.register_keras_serializable(package="tests", name="halved_relu")
def halved_relu(x):
    return keras.ops.relu(x) * 0.5


@saving.register_keras_serializable(package="tests", name="mean_fourth_power")
def mean_fourth_power(y_true, y_pred):
    return keras.ops.mean((y_true - y_pred) ** 4, axis=-1)


def test_registered_functions_as_activation_and_loss_load_without_custom_objects(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(2, activation=halved_relu)(inputs))
    model.compile(optimizer="sgd", loss=mean_fourth_power)
    x = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
    model.fit(x, np.zeros((4, 2)), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.evaluate(x, np.zeros((4, 2)), verbose=0) == model.evaluate(
        x, np.zeros((4, 2)), verbose=0
    )


def test_model_from_config_of_a_functional_config_is_the_functional_model():
    model = functional()
    rebuilt = keras.Model.from_config(model.get_config())
    assert type(rebuilt).__name__ == "Functional"
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
