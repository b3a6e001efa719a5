"""gradstep.interop.to_keras and from_keras: live models across, in one
process, with their weights, compile settings and optimizer state."""

import importlib
import os
import warnings

import numpy as np
import pytest

import gradstep
from gradstep.interop import from_keras, to_keras

# Keras picks its backend when first imported (by the requires marker's check too).
os.environ.setdefault("KERAS_BACKEND", "jax")

pytestmark = pytest.mark.requires("keras", extra="interop")


@pytest.fixture(scope="module")
def keras():
    return importlib.import_module("keras")


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 6)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")


def _functional(library, optimizer):
    inputs = library.Input((6,))
    left = library.layers.Dense(4, activation="relu")(inputs)
    right = library.layers.Dense(4, activation="tanh")(inputs)
    merged = library.layers.Concatenate()([left, right])
    outputs = library.layers.Dense(2)(library.layers.BatchNormalization()(merged))
    model = library.Model(inputs, outputs)
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def test_to_keras_predicts_and_trains_on_as_gradstep_does(keras):
    x, y = _data()
    model = _functional(gradstep, gradstep.optimizers.Adam(0.01))
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = to_keras(model)
    np.testing.assert_allclose(np.asarray(theirs(x)), model.predict(x, verbose=0), atol=1e-6)
    assert int(theirs.optimizer.iterations.numpy()) == 2
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for ours, other in zip(model.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(np.asarray(other), ours, rtol=1e-5, atol=1e-6)


def test_from_keras_predicts_and_trains_on_as_keras_does(keras):
    x, y = _data()
    keras.utils.set_random_seed(0)
    theirs = _functional(keras, keras.optimizers.RMSprop(0.01, momentum=0.5))
    theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model = from_keras(theirs)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.asarray(theirs(x)), atol=1e-6)
    assert model.optimizer.iterations == 2
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for ours, other in zip(model.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(ours, np.asarray(other), rtol=1e-5, atol=1e-6)


def test_from_keras_refuses_a_lambda_layer_naming_it(keras):
    inputs = keras.Input((3,))
    theirs = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    with pytest.raises(ValueError, match="Lambda"):
        from_keras(theirs)
