"""``Lambda``: a function of ``ops`` as a layer, its slope from the tape."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, models, ops
from gradstep.testing import check_layer_gradients


def test_a_lambda_differentiates_its_function():
    layer = layers.Lambda(lambda x: ops.tanh(x) * ops.sum(x, axis=-1, keepdims=True))
    layer.dtype = "float64"
    assert check_layer_gradients(layer, np.random.default_rng(0).normal(size=(3, 4))) < 1e-7


def test_a_lambda_on_two_inputs_in_a_functional_model_trains():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    distance = layers.Lambda(
        lambda pair: ops.sqrt(ops.sum(ops.square(pair[0] - pair[1]), axis=1, keepdims=True) + 1e-7)
    )([layers.Dense(4)(a), layers.Dense(4)(b)])
    model = keras.Model([a, b], layers.Dense(1, activation="sigmoid")(distance))
    assert model.output.shape == (None, 1)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(1)
    x = [rng.normal(size=(32, 3)), rng.normal(size=(32, 3))]
    history = model.fit(x, rng.integers(0, 2, (32, 1)), epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_output_shape_and_arguments_as_keras():
    layer = layers.Lambda(lambda x, k: x[:, :k], output_shape=(2,), arguments={"k": 2})
    assert layer.compute_output_shape((None, 5)) == (None, 2)
    np.testing.assert_array_equal(layer(np.arange(10.0).reshape(2, 5)), [[0, 1], [5, 6]])


@keras.saving.register_keras_serializable(package="tests")
def doubled(x):
    return x * 2.0


def test_a_registered_function_saves_by_name_and_an_unregistered_one_is_refused(tmp_path):
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, layers.Lambda(doubled)(layers.Dense(2)(inputs)))
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    unregistered = keras.Model(inputs, layers.Lambda(lambda x: x * 3.0)(inputs))
    with pytest.raises(ValueError, match="never saves code.*register_keras_serializable"):
        unregistered.save(tmp_path / "n.keras")
