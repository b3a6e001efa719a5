"""Reshaping layers: slopes against central differences, shapes, errors,
configs and saving. Keras's numbers for whole models are in
tests/layer_cases/reshaping.py (replayed by test_keras_layer_parity.py)."""

import numpy as np
import pytest

import gradstep
from gradstep import layers, models
from gradstep.layers.reshaping import resize_weights
from gradstep.testing import check_layer_gradients, check_model_gradients

CF = "channels_first"


def _normal(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# --- slopes ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "input_shape"),
    [
        (layers.Reshape((3, 4)), (2, 12)),
        (layers.Reshape((-1, 2)), (2, 3, 4)),
        (layers.Reshape((2, -1, 3)), (2, 12)),
        (layers.Permute((2, 1)), (2, 3, 4)),
        (layers.Permute((3, 1, 2)), (2, 3, 4, 2)),
        (layers.RepeatVector(3), (2, 4)),
        (layers.ZeroPadding1D(), (2, 3, 2)),
        (layers.ZeroPadding1D((0, 2), data_format=CF), (2, 2, 3)),
        (layers.ZeroPadding2D(), (2, 3, 4, 2)),
        (layers.ZeroPadding2D((1, 2)), (2, 3, 4, 2)),
        (layers.ZeroPadding2D(((1, 0), (0, 2)), data_format=CF), (2, 2, 3, 4)),
        (layers.Cropping1D(), (2, 5, 2)),
        (layers.Cropping1D((0, 2)), (2, 5, 2)),
        (layers.Cropping2D(1), (2, 4, 5, 2)),
        (layers.Cropping2D(((1, 0), (0, 2)), data_format=CF), (2, 2, 4, 5)),
        (layers.UpSampling1D(3), (2, 3, 2)),
        (layers.UpSampling2D(), (2, 2, 3, 2)),
        (layers.UpSampling2D((3, 2), data_format=CF), (2, 2, 2, 3)),
        (layers.UpSampling2D((2, 3), interpolation="bilinear"), (2, 3, 2, 2)),
        (layers.UpSampling2D(3, CF, interpolation="bilinear"), (2, 2, 3, 2)),
        (layers.UpSampling2D(2, interpolation="bicubic"), (2, 3, 3, 1)),
        (layers.UpSampling2D((2, 3), interpolation="lanczos3"), (2, 2, 3, 1)),
        (layers.UpSampling2D(2, CF, interpolation="lanczos5"), (2, 1, 3, 2)),
        (layers.Flatten(data_format=CF), (2, 3, 2, 4)),
        (layers.Flatten(data_format=CF), (2, 5)),
    ],
    ids=lambda value: value.name if isinstance(value, layers.Layer) else str(value),
)
def test_slopes_pass_central_differences(layer, input_shape):
    layer.dtype = "float64"
    check_layer_gradients(layer, _normal(*input_shape))


def test_a_model_of_reshaping_layers_passes_central_differences():
    gradstep.utils.set_random_seed(0)
    model = gradstep.Sequential(
        [
            layers.Input(shape=(6,), dtype="float64"),
            layers.Dense(6, activation="tanh", dtype="float64"),
            layers.Reshape((2, 3, 1)),
            layers.UpSampling2D((2, 1), interpolation="bilinear"),
            layers.ZeroPadding2D(((0, 1), (1, 0))),
            layers.Cropping2D(((1, 0), (0, 1))),
            layers.Permute((2, 1, 3)),
            layers.Flatten(data_format=CF),
            layers.RepeatVector(2),
            layers.Dense(1, dtype="float64"),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(1)
    check_model_gradients(model, rng.normal(size=(3, 6)), rng.normal(size=(3, 2, 1)))


# --- what each layer computes ---------------------------------------------------------
def test_permute_moves_axes_counted_from_one():
    x = _normal(2, 3, 4, 5).astype(np.float32)
    np.testing.assert_array_equal(layers.Permute((3, 1, 2))(x), np.transpose(x, (0, 3, 1, 2)))


def test_repeat_vector_copies_each_sample():
    y = layers.RepeatVector(2)(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(y, [[[1, 2], [1, 2]]])


def test_zero_padding_and_cropping_undo_each_other():
    x = _normal(2, 3, 4, 2).astype(np.float32)
    padding = ((1, 2), (0, 3))
    padded = layers.ZeroPadding2D(padding)(x)
    assert padded.shape == (2, 6, 7, 2) and padded[:, 0].sum() == 0
    np.testing.assert_array_equal(layers.Cropping2D(padding)(padded), x)


def test_up_sampling_nearest_repeats_rows_and_columns():
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    y = layers.UpSampling2D((1, 2))(x)
    np.testing.assert_array_equal(y[0, :, :, 0], [[1, 1, 2, 2], [3, 3, 4, 4]])


def test_bilinear_weights_are_jax_half_pixel_ones():
    """Output o samples the input at (o + 0.5) / 2 - 0.5; the edges repeat."""
    np.testing.assert_array_equal(
        resize_weights(3, 2, "bilinear"),
        [[1, 0, 0], [0.75, 0.25, 0], [0.25, 0.75, 0], [0, 0.75, 0.25], [0, 0.25, 0.75], [0, 0, 1]],
    )


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos3", "lanczos5"])
@pytest.mark.parametrize(("length", "factor"), [(1, 3), (4, 2), (5, 3)])
def test_resize_weights_of_each_output_sum_to_one(interpolation, length, factor):
    weights = resize_weights(length, factor, interpolation)
    assert weights.shape == (length * factor, length) and weights.dtype == np.float32
    np.testing.assert_allclose(weights.sum(axis=1), 1, rtol=1e-6)
    assert not weights.flags.writeable


def test_flatten_channels_first_flattens_in_channels_last_order():
    x = _normal(2, 3, 4, 5)
    np.testing.assert_array_equal(
        layers.Flatten(data_format=CF)(x), layers.Flatten()(np.transpose(x, (0, 2, 3, 1)))
    )


def test_float32_stays_float32():
    x = _normal(2, 3, 4, 2).astype(np.float32)
    for layer in [
        layers.UpSampling2D(interpolation="bilinear"),
        layers.ZeroPadding2D(),
        layers.Cropping2D(1),
        layers.Reshape((-1,)),
    ]:
        y, saved = layer.forward(x, training=True)
        dx, _ = layer.backward(saved, np.ones_like(y))
        assert y.dtype == dx.dtype == np.float32, layer.name


# --- shapes -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "input_shape", "output_shape"),
    [
        (layers.Reshape((3, 4)), (None, 12), (None, 3, 4)),
        (layers.Reshape((-1, 4)), (None, 2, 6), (None, 3, 4)),
        (layers.Reshape((-1, 4)), (None, None, 6), (None, None, 4)),
        (layers.Permute((2, 1)), (None, None, 5), (None, 5, None)),
        (layers.RepeatVector(4), (None, 3), (None, 4, 3)),
        (layers.ZeroPadding1D((1, 2)), (None, 5, 3), (None, 8, 3)),
        (layers.ZeroPadding1D(1, CF), (None, 3, None), (None, 3, None)),
        (layers.ZeroPadding2D(((1, 2), (3, 4))), (None, 5, 6, 1), (None, 8, 13, 1)),
        (layers.ZeroPadding2D(1, CF), (None, 3, 5, 6), (None, 3, 7, 8)),
        (layers.Cropping1D((1, 2)), (None, 5, 3), (None, 2, 3)),
        (layers.Cropping2D(((1, 2), (0, 1)), CF), (None, 3, 5, None), (None, 3, 2, None)),
        (layers.UpSampling1D(3), (None, None, 2), (None, None, 2)),
        (layers.UpSampling1D(3), (None, 4, 2), (None, 12, 2)),
        (layers.UpSampling2D((2, 3)), (None, 4, 5, 1), (None, 8, 15, 1)),
        (layers.UpSampling2D(2, CF), (None, 1, 4, None), (None, 1, 8, None)),
        (layers.Flatten(data_format=CF), (None, 3, 4, 5), (None, 60)),
    ],
)
def test_output_shapes_follow_keras(layer, input_shape, output_shape):
    assert layer.compute_output_shape(input_shape) == output_shape
    if None not in input_shape[1:]:
        assert layer(np.zeros((2, *input_shape[1:]))).shape == (2, *output_shape[1:])


# --- errors -----------------------------------------------------------------------------
def test_reshape_refuses_a_size_that_does_not_match():
    with pytest.raises(
        ValueError, match=r"Reshape layer 'r' cannot give samples of shape \(2, 6\)"
    ):
        layers.Reshape((5, 2), name="r")(layers.Input(shape=(2, 6)))
    with pytest.raises(ValueError, match=r"target_shape=\(-1, 5\)"):
        layers.Reshape((-1, 5), name="r2")(np.zeros((1, 12)))


@pytest.mark.parametrize(
    ("target_shape", "message"),
    [
        ((-1, -1), "at most one unknown dimension"),
        ((2, -2), "non-negative integer, or -1"),
        ((2.5,), "non-negative integer, or -1"),
        (3, "target_shape must be a tuple of integers"),
    ],
)
def test_bad_target_shape(target_shape, message):
    with pytest.raises(ValueError, match=message):
        layers.Reshape(target_shape)


def test_permute_refuses_bad_dims_and_other_ranks():
    for dims in [(0, 1), (1, 3), (1, 1)]:
        with pytest.raises(ValueError, match="permutation of 1, 2, ..., n"):
            layers.Permute(dims)
    with pytest.raises(ValueError, match=r"Permute layer 'p' needs inputs of rank 3"):
        layers.Permute((2, 1), name="p")(np.zeros((1, 2, 3, 4)))


def test_repeat_vector_arguments_and_rank():
    with pytest.raises(TypeError, match="n must be an integer"):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="n must be a positive integer, received n=0"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match=r"RepeatVector layer 'rv' needs inputs of rank 2"):
        layers.RepeatVector(2, name="rv")(np.zeros((1, 2, 3)))


def test_cropping_more_than_the_input_holds_is_refused():
    with pytest.raises(ValueError, match=r"Cropping2D layer 'crop' cannot crop 2 \+ 2 entries"):
        layers.Cropping2D(2, name="crop")(layers.Input(shape=(5, 4, 3)))
    with pytest.raises(ValueError, match=r"Cropping1D layer 'c1' cannot crop 1 \+ 1 entries"):
        layers.Cropping1D(name="c1")(np.zeros((1, 2, 3)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.ZeroPadding2D((1, 2, 3)), r"padding must be an integer, a tuple of 2"),
        (lambda: layers.ZeroPadding2D(((1, 2), (3,))), r"padding\[1\] must be a non-negative"),
        (lambda: layers.ZeroPadding2D(-1), r"padding must be a non-negative integer"),
        (lambda: layers.ZeroPadding1D((1, -1)), r"ZeroPadding1D: padding must be a non-negative"),
        (lambda: layers.Cropping2D(-1), r"cropping must be a non-negative integer"),
        (lambda: layers.Cropping1D((1, 2, 3)), r"Cropping1D: cropping must be"),
        (lambda: layers.UpSampling2D(0), r"size must be a positive integer"),
        (lambda: layers.UpSampling2D(interpolation="area"), r"interpolation must be one of"),
        (lambda: layers.UpSampling1D(0), r"size must be a positive integer, received size=0"),
        (lambda: layers.Flatten(data_format="NCHW"), r"Flatten: data_format must be"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_up_sampling1d_size_must_be_an_integer():
    with pytest.raises(TypeError, match="UpSampling1D: size must be an integer"):
        layers.UpSampling1D((2,))


def test_wrong_rank_names_the_layer_and_the_layout():
    with pytest.raises(ValueError, match=r"'zp' needs inputs of rank 4 \(batch, channels, height"):
        layers.ZeroPadding2D(data_format=CF, name="zp")(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match=r"'up' needs inputs of rank 3 \(batch, steps, features\)"):
        layers.UpSampling1D(name="up")(np.zeros((1, 2)))


# --- configs and files ------------------------------------------------------------------
KERAS_CONFIGS = [  # Keras 3.15.1's get_config(), less name, trainable and dtype
    (layers.Reshape((2, 3)), {"target_shape": (2, 3)}),
    (layers.Permute((2, 1)), {"dims": (2, 1)}),
    (layers.RepeatVector(2), {"n": 2}),
    (layers.ZeroPadding1D(), {"padding": (1, 1), "data_format": "channels_last"}),
    (layers.ZeroPadding2D(), {"padding": ((1, 1), (1, 1)), "data_format": "channels_last"}),
    (layers.Cropping1D(), {"cropping": (1, 1)}),
    (layers.Cropping2D(), {"cropping": ((0, 0), (0, 0)), "data_format": "channels_last"}),
    (layers.UpSampling1D(), {"size": 2}),
    (
        layers.UpSampling2D(),
        {"size": (2, 2), "data_format": "channels_last", "interpolation": "nearest"},
    ),
    (layers.Flatten(), {"data_format": "channels_last"}),
]


@pytest.mark.parametrize(
    ("layer", "keras_config"), KERAS_CONFIGS, ids=lambda v: getattr(v, "name", "")
)
def test_default_configs_are_keras(layer, keras_config):
    config = layer.get_config()
    for key in ("name", "trainable", "dtype"):
        config.pop(key)
    assert config == keras_config
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()


def test_a_saved_model_with_reshaping_layers_loads_and_predicts_the_same(tmp_path):
    gradstep.utils.set_random_seed(0)
    inputs = layers.Input(shape=(12,))
    hidden = layers.Reshape((3, 4))(layers.Dense(12)(inputs))
    hidden = layers.ZeroPadding1D((1, 2))(layers.Permute((2, 1))(hidden))
    hidden = layers.UpSampling1D(2)(layers.Cropping1D((0, 1))(hidden))
    hidden = layers.Reshape((2, -1, 3))(hidden)
    hidden = layers.ZeroPadding2D(((1, 0), (0, 1)), data_format=CF)(hidden)
    hidden = layers.UpSampling2D((1, 2), CF, interpolation="bilinear")(hidden)
    hidden = layers.Cropping2D(((0, 1), (1, 0)), data_format=CF)(hidden)
    hidden = layers.Flatten(data_format=CF)(hidden)
    outputs = layers.Dense(2)(layers.Flatten()(layers.RepeatVector(2)(hidden)))
    model = gradstep.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 12)), rng.normal(size=(8, 2))
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "reshaped.keras")
    loaded = models.load_model(tmp_path / "reshaped.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()
