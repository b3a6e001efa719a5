"""The accessors a Keras program reads on models, layers and symbolic tensors:
``Input(batch_shape=...)``, ``.shape``/``.dtype``, ``get_layer`` (with Keras's
errors), ``model.inputs``/``outputs`` and ``layer.input``/``output``."""

import pytest

import gradstep as keras
from gradstep import layers


def functional():
    pixels = keras.Input((4,), name="pixels")
    tokens = keras.Input(batch_shape=(8, 3), dtype="int32", name="tokens")
    hidden = layers.Dense(5, name="hidden")(pixels)
    embedded = layers.Flatten(name="flat")(layers.Embedding(10, 2, name="embed")(tokens))
    joined = layers.Concatenate(name="join")([hidden, embedded])
    out = layers.Dense(2, name="out")(joined)
    return keras.Model([pixels, tokens], [out, hidden]), pixels, tokens, out, hidden


def test_input_batch_shape_shape_and_dtype():
    fixed = keras.Input(batch_shape=(8, 3, 2), dtype="int32")
    assert fixed.shape == (8, 3, 2) and fixed.dtype == "int32"
    assert keras.Input(batch_shape=(None, 5)).shape == (None, 5)
    assert keras.Input((5,), batch_size=4).shape == (4, 5)
    assert keras.Input((5,)).dtype == "float32"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"shape": (3,), "batch_shape": (None, 3)}, "both `shape` and `batch_shape`"),
        ({"batch_size": 2, "batch_shape": (2, 3)}, "both `batch_size` and `batch_shape`"),
    ],
)
def test_input_refuses_two_shapes_as_keras_does(arguments, message):
    with pytest.raises(ValueError, match=message):
        keras.Input(**arguments)


def test_symbolic_tensors_have_shape_and_dtype_through_layers():
    model, pixels, tokens, out, hidden = functional()
    assert out.shape[1:] == (2,) and out.dtype == "float32"
    assert hidden.shape == (None, 5)
    assert model.get_layer("embed").output.shape == (8, 3, 2)


def test_model_inputs_outputs_and_layer_input_output():
    model, pixels, tokens, out, hidden = functional()
    assert model.inputs == [pixels, tokens] and model.outputs == [out, hidden]
    assert model.get_layer("hidden").input is pixels
    assert model.get_layer("hidden").output is hidden
    assert model.get_layer("out").output is out
    assert model.get_layer("join").input == [hidden, model.get_layer("flat").output]


def test_sequential_inputs_outputs():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="a"), layers.Dense(2)])
    assert [tensor.shape for tensor in model.inputs] == [(None, 4)]
    assert [tensor.shape for tensor in model.outputs] == [(None, 2)]
    assert model.get_layer("a").input is model.inputs[0]
    assert model.layers[-1].output is model.outputs[0]


def test_get_layer_by_name_or_index():
    model, *_ = functional()
    names = [layer.name for layer in model.layers]
    assert model.get_layer(name="out") is model.layers[names.index("out")]
    assert model.get_layer(index=2) is model.layers[2]
    assert model.get_layer("hidden").name == "hidden"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "nope"}, r"No such layer: nope. Existing layers are: \['tokens', 'pixels'"),
        ({"index": 99}, "Was asked to retrieve layer at index 99 but model only has 7 layers."),
        ({"name": "out", "index": 1}, "Provide only a layer name or a layer index"),
        ({}, "Provide either a layer name or layer index at `get_layer`."),
    ],
)
def test_get_layer_errors_are_keras(arguments, message):
    model, *_ = functional()
    with pytest.raises(ValueError, match=message):
        model.get_layer(**arguments)
