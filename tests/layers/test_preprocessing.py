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


# --- Normalization ----------------------------------------------------------------------
DATA = (np.random.default_rng(3).normal(size=(20, 3, 4)) * [1, 2, 3, 4] + 5).astype(np.float32)


@pytest.mark.parametrize(
    ("arguments", "statistics_shape", "axes"),
    [
        ({}, (4,), (0, 1)),
        ({"axis": None}, (), (0, 1, 2)),
        ({"axis": (1, 2)}, (3, 4), (0,)),
        ({"axis": 1}, (3,), (0, 2)),
        ({"axis": -2, "invert": True}, (3,), (0, 2)),
    ],
)
def test_normalization_adapts_keras_weights_to_the_data_moments(arguments, statistics_shape, axes):
    layer = layers.Normalization(**arguments)
    layer.adapt(DATA)
    mean, variance, count = layer.get_weights()
    assert [name for name, _ in layer.named_weights()] == ["mean", "variance", "count"]
    assert mean.shape == variance.shape == statistics_shape and count.shape == ()
    assert count.dtype.kind == "i" and count == 0  # Keras's adapt leaves count at 0
    assert not layer.trainable_weights and layer.count_params() == 2 * mean.size + 1
    np.testing.assert_allclose(mean, DATA.mean(axis=axes), rtol=1e-6)
    np.testing.assert_allclose(variance, DATA.var(axis=axes), rtol=1e-5)
    keep = [a for a in range(3) if a not in axes]
    shape = [DATA.shape[a] if a in keep else 1 for a in range(3)]
    deviation = np.sqrt(variance).reshape(shape)
    want = (
        mean.reshape(shape) + DATA * deviation
        if layer.invert
        else (DATA - mean.reshape(shape)) / deviation
    )
    np.testing.assert_allclose(layer(DATA), want, rtol=1e-5, atol=1e-5)


def test_normalization_adapts_on_batches_as_on_the_whole_array():
    whole, batched = layers.Normalization(axis=1), layers.Normalization(axis=1)
    whole.adapt(DATA)
    batched.adapt([DATA[:7], DATA[7:15], (DATA[15:], None)])
    for got, want in zip(batched.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_normalization_with_given_statistics_has_no_weights_and_floors_the_deviation():
    layer = layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0])
    got = layer(np.array([[3.0, 2.5]], dtype=np.float32))
    np.testing.assert_allclose(got, [[1.0, 0.5 / 1e-7]], rtol=1e-6)
    assert layer.get_weights() == []
    per_row = layers.Normalization(axis=(1, 2), mean=[0.0, 1.0, 2.0], variance=[1.0, 4.0, 16.0])
    np.testing.assert_allclose(per_row(np.full((1, 2, 3), 2.0)), [[[2.0, 0.5, 0.0]] * 2])


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"axis": (1, 2), "invert": True},
        {"axis": None, "mean": 0.5, "variance": 2.0},
        {"mean": [1.0, 2.0, 3.0, 4.0], "variance": [1.0, 2.0, 0.5, 3.0], "invert": True},
    ],
)
def test_normalization_slopes(arguments):
    layer = layers.Normalization(dtype="float64", **arguments)
    if "mean" not in arguments:
        layer.adapt(DATA.astype(np.float64))
    check_layer_gradients(layer, RNG.normal(size=(2, 3, 4)))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"mean": [1.0]}, r"'n': when setting values directly, both `mean` and `variance`"),
        ({"mean": [1.0], "variance": [1.0, 2.0]}, r"'n': `mean` and `variance` must have the same"),
        ({"axis": None, "mean": [1.0], "variance": [1.0]}, r"rank of `mean` must be at most"),
        ({"mean": [1.0], "variance": [-1.0]}, r"'n': `variance` must be >= 0"),
        ({"axis": "last"}, r"axis of Normalization layer 'n' must be an int"),
    ],
)
def test_normalization_refuses_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        layers.Normalization(name="n", **arguments)


def test_normalization_refuses_axes_and_data_that_do_not_fit():
    with pytest.raises(ValueError, match=r"'n': all `axis` values must be in the range"):
        layers.Normalization(axis=3, name="n").adapt(DATA)
    with pytest.raises(ValueError, match=r"'m': all `axis` values to be kept must have a known"):
        layers.Normalization(axis=1, name="m")(gradstep.Input((None, 4)))
    layer = layers.Normalization(name="k")
    layer.adapt(DATA)
    with pytest.raises(
        ValueError, match=r"'k' was built with input_shape=.*data.shape=\(2, 3, 5\)"
    ):
        layer.adapt(np.ones((2, 3, 5)))
    with pytest.raises(ValueError, match=r"'k' was built for inputs of shape \(None, 3, 4\)"):
        layer(np.ones((2, 3, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"adapt\(\) received an empty iterable"):
        layers.Normalization(name="e").adapt([])
    with pytest.raises(ValueError, match=r"'g' was given its mean and variance; it cannot adapt"):
        layers.Normalization(mean=1.0, variance=1.0, name="g").adapt(DATA)


def test_normalization_config_round_trip():
    layer = layers.Normalization(axis=(1, 2), mean=[[1.0, 2.0]], variance=[[3.0, 4.0]], invert=True)
    config = layer.get_config()
    assert {k: config[k] for k in ("axis", "invert", "mean", "variance")} == {
        "axis": (1, 2),
        "invert": True,
        "mean": [[1.0, 2.0]],
        "variance": [[3.0, 4.0]],
    }
    assert layers.Normalization.from_config(config).get_config() == config
    assert layers.Normalization().get_config()["mean"] is None


def test_an_adapted_normalization_saves_and_loads_with_the_same_predictions(tmp_path):
    normalizer = layers.Normalization()
    normalizer.adapt(DATA.reshape(-1, 4))
    model = gradstep.Sequential([gradstep.Input((4,)), normalizer, layers.Dense(2)])
    model.compile("sgd", "mse")
    x = DATA.reshape(-1, 4)[:6]
    model.fit(x, np.ones((6, 2), dtype=np.float32), verbose=0)
    np.testing.assert_array_equal(normalizer.get_weights()[0], DATA.reshape(-1, 4).mean(axis=0))
    path = tmp_path / "normalization.keras"
    model.save(path)
    loaded = gradstep.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.layers[0].get_weights()[2].dtype.kind == "i"
