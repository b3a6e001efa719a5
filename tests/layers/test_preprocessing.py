"""Rescaling: the formula, per-channel arrays (and Keras's channels-first
reshape of ``scale``), integer images, slopes, errors, configs and saving.
Keras's numbers are compared in test_keras_layer_parity.py."""

import numpy as np
import pytest

import gradstep
from gradstep import config, layers
from gradstep.testing import check_layer_gradients

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("arguments", "shape"),
    [
        ({"scale": 0.5}, (3, 4)),
        ({"scale": 1.0 / 255, "offset": -1.0}, (2, 3, 4)),
        ({"scale": [0.5, 2.0, -1.0], "offset": [1.0, 0.0, 2.0]}, (2, 4, 3)),
        ({"scale": np.array([[0.5], [2.0]]), "offset": 0.1}, (3, 2, 1)),
    ],
)
def test_rescaling_slopes(arguments, shape):
    check_layer_gradients(layers.Rescaling(dtype="float64", **arguments), RNG.normal(size=shape))


def test_rescaling_maps_pixels_to_the_unit_interval_in_float32_even_from_integers():
    pixels = np.array([[0, 51, 255]], dtype=np.uint8)
    got = layers.Rescaling(1.0 / 255)(pixels)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [[0.0, 0.2, 1.0]], rtol=1e-6)
    shifted = layers.Rescaling(1.0 / 127.5, offset=-1)(pixels)
    np.testing.assert_allclose(shifted, [[-1.0, 51 / 127.5 - 1, 1.0]], rtol=1e-6)


def test_an_image_model_starts_with_rescaling_on_uint8_inputs():
    inputs = gradstep.Input((4, 4, 3), dtype="uint8")
    tensor = layers.Rescaling(1.0 / 255)(inputs)
    model = gradstep.Model(inputs, layers.Dense(2)(layers.Flatten()(tensor)))
    model.compile("sgd", "mse")
    images = RNG.integers(0, 256, size=(5, 4, 4, 3)).astype(np.uint8)
    history = model.fit(images, RNG.normal(size=(5, 2)), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_per_channel_scale_lies_along_the_channels_of_a_channels_first_image():
    x = np.ones((1, 3, 2, 2), dtype=np.float32)
    layer = layers.Rescaling([1.0, 2.0, 3.0])
    config.set_image_data_format("channels_first")
    try:
        got = layer(x)
    finally:
        config.set_image_data_format("channels_last")
    np.testing.assert_array_equal(got[0, :, 0, 0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(got[0, 1], 2.0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"scale": "big"}, r"scale of Rescaling layer 'r' must be a finite number"),
        ({"scale": float("inf")}, r"Received: scale=inf"),
        ({"scale": 1.0, "offset": [1.0, float("nan")]}, r"offset of Rescaling layer 'r'"),
        ({"scale": []}, r"Received: scale=\[\]"),
    ],
)
def test_bad_scale_or_offset_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        layers.Rescaling(name="r", **arguments)


def test_a_scale_that_does_not_broadcast_against_the_input_is_refused():
    with pytest.raises(ValueError, match=r"'r': scale of shape \(2,\) does not broadcast"):
        layers.Rescaling([1.0, 2.0], name="r")(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"'s': offset of shape \(4,\) does not broadcast"):
        layers.Rescaling(1.0, offset=np.zeros(4), name="s")(gradstep.Input((5, 3)))


def test_config_writes_arrays_as_keras_and_reads_them_back():
    layer = layers.Rescaling(np.array([0.5, 2.0], dtype="float32"), offset=[1.0, 2.0])
    written = layer.get_config()
    assert written["scale"] == {
        "class_name": "__numpy__",
        "config": {"value": [0.5, 2.0], "dtype": "float32"},
    }
    assert written["offset"] == [1.0, 2.0]
    again = layers.Rescaling.from_config(written)
    np.testing.assert_array_equal(again.scale, layer.scale)
    assert again.get_config() == written


def test_a_model_with_rescaling_saves_and_loads_with_the_same_predictions(tmp_path):
    model = gradstep.Sequential(
        [
            gradstep.Input((3,)),
            layers.Rescaling(np.array([0.5, 2.0, 3.0]), offset=-0.5),
            layers.Dense(2),
            layers.Rescaling(2.0),
        ]
    )
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    path = tmp_path / "rescaling.keras"
    model.save(path)
    loaded = gradstep.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
