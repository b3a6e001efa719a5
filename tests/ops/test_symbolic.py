"""Ops on symbolic tensors are graph nodes; a functional model of ops trains, saves and loads."""

from __future__ import annotations

import numpy as np

import gradstep as keras
from gradstep import ops


def _model():
    inputs = keras.Input(shape=(6, 6, 2))
    kernel = np.random.default_rng(0).normal(size=(3, 3, 2, 4)).astype("float32") * 0.3
    x = ops.conv(inputs, kernel, padding="same")
    x = ops.max_pool(ops.relu(x), 2, 2)
    x = ops.reshape(x, (-1, 36))
    x = keras.layers.Dense(3)(x)
    outputs = ops.softmax(x)
    return keras.Model(inputs, outputs)


def test_ops_on_symbolic_tensors_have_none_batch_and_keras_names():
    inputs = keras.Input(shape=(4,))
    y = ops.logsumexp(ops.square(inputs), axis=-1, keepdims=True)
    assert tuple(y.shape) == (None, 1)
    top_values, _ = ops.top_k(inputs, 2)
    assert tuple(top_values.shape) == (None, 2)
    model = keras.Model(inputs, y)
    names = [layer.class_name for layer in model.layers[1:] if hasattr(layer, "class_name")]
    assert "Square" in names and "Logsumexp" in names


def test_functional_model_of_ops_trains_saves_and_loads(tmp_path):
    model = _model()
    x = np.random.default_rng(1).normal(size=(8, 6, 6, 2)).astype("float32")
    y = np.eye(3)[np.arange(8) % 3].astype("float32")
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < before
    path = tmp_path / "ops_model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_alias_ops_load_from_a_saved_model(tmp_path):
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, ops.swish(ops.amax(ops.expand_dims(inputs, 1), axis=1)))
    path = tmp_path / "alias.keras"
    model.save(path)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(
        keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0)
    )
