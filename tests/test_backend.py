"""gradstep.backend: keras.backend's settings for the programs that call them."""

import pytest

import gradstep
from gradstep import backend, layers


def test_keras_backend_names():
    assert backend.backend() == "numpy"
    assert backend.epsilon() == 1e-7
    assert backend.floatx() == "float32"
    assert backend.image_data_format() == "channels_last"
    assert backend.is_float_dtype("float16") and not backend.is_float_dtype("int32")
    assert backend.is_int_dtype("uint8") and not backend.is_int_dtype("float64")


def test_set_epsilon_checks_and_sets(monkeypatch):
    monkeypatch.setattr(backend, "_EPSILON", [1e-7])
    backend.set_epsilon(1e-5)
    assert backend.epsilon() == 1e-5
    with pytest.raises(ValueError, match="set_epsilon: value"):
        backend.set_epsilon(0)


def test_clear_session_starts_layer_names_afresh():
    layers.Dense(1, name=None)
    backend.clear_session()
    assert layers.Dense(1).name == "dense"
    assert layers.Dense(1).name == "dense_1"
    assert gradstep.backend is backend
