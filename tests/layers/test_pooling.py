"""Pooling layers: slopes against central differences over a grid of windows,
the window arithmetic against a plain loop over windows, Keras's tie rule,
shapes, errors, configs and saving. Keras's numbers for whole models are in
tests/layer_cases/pooling.py (replayed by test_keras_layer_parity.py)."""

import itertools

import numpy as np
import pytest

import gradstep
from gradstep import layers, models
from gradstep.testing import check_layer_gradients, check_model_gradients

WINDOWS = [  # (pool_size, strides): tiling, overlapping, skipping, uneven
    (2, None),
    (3, 1),
    (2, 3),
    (3, 2),
    ((2, 3), (1, 2)),
]
FORMATS = ["channels_last", "channels_first"]


def _sample(rank, data_format, spatial=(5, 7), batch=2, channels=3, seed=0):
    spatial = spatial[:rank]
    shape = (
        (batch, *spatial, channels)
        if data_format == "channels_last"
        else (
            batch,
            channels,
            *spatial,
        )
    )
    return np.random.default_rng(seed).normal(size=shape)


def _window_cases(rank):
    for (pool, strides), padding, data_format in itertools.product(
        WINDOWS, ["valid", "same"], FORMATS
    ):
        if rank == 1 and isinstance(pool, tuple):
            continue
        yield pytest.param(
            pool, strides, padding, data_format, id=f"{pool}-{strides}-{padding}-{data_format}"
        )


# --- slopes ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["MaxPooling", "AveragePooling"])
@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize(("pool", "strides", "padding", "data_format"), list(_window_cases(2)))
def test_window_pooling_slopes_pass_central_differences(
    kind, rank, pool, strides, padding, data_format
):
    if rank == 1 and isinstance(pool, tuple):
        pool, strides = pool[0], strides[0]
    layer = getattr(layers, f"{kind}{rank}D")(pool, strides, padding, data_format, dtype="float64")
    check_layer_gradients(layer, _sample(rank, data_format))


@pytest.mark.parametrize("kind", ["GlobalAveragePooling", "GlobalMaxPooling"])
@pytest.mark.parametrize("rank", [1, 2])
@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_slopes_pass_central_differences(kind, rank, data_format, keepdims):
    layer = getattr(layers, f"{kind}{rank}D")(data_format, keepdims, dtype="float64")
    check_layer_gradients(layer, _sample(rank, data_format, spatial=(4, 3)))


def test_a_model_with_pooling_passes_central_differences():
    gradstep.utils.set_random_seed(0)
    model = gradstep.Sequential(
        [
            layers.Input(shape=(5, 4, 2), dtype="float64"),
            layers.Dense(3, activation="tanh", dtype="float64"),
            layers.MaxPooling2D(2, 1, padding="same"),
            layers.AveragePooling2D(2),
            layers.Flatten(),
            layers.Dense(2, dtype="float64"),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(1)
    check_model_gradients(model, rng.normal(size=(3, 5, 4, 2)), rng.normal(size=(3, 2)))


def test_a_pooling_node_called_in_inference_mode_still_passes_slopes_back():
    """``layer(x, training=False)`` inside a model: its forward keeps the input,
    and backward finds each window's maximum again."""
    gradstep.utils.set_random_seed(0)
    inputs = layers.Input(shape=(4, 6, 2), dtype="float64")
    hidden = layers.Dense(3, dtype="float64")(inputs)
    pooled = layers.MaxPooling2D(3, 2, "same")(hidden, training=False)
    outputs = layers.Dense(1, dtype="float64")(layers.Flatten()(pooled))
    model = gradstep.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(2)
    check_model_gradients(model, rng.normal(size=(3, 4, 6, 2)), rng.normal(size=(3, 1)))


# --- the window arithmetic against a plain loop over windows ----------------------------
def _loop_pooling(x, pool, strides, padding, mode):
    """One window at a time (channels_last, 2 spatial axes): the output, and
    the input slope for an upstream slope of ones. Keras's rules written out:
    'same' pads ``total // 2`` before; max pooling pads with -inf and routes
    the slope to the first largest entry; averages count real entries only."""
    n, h, w, c = x.shape
    if padding == "same":
        out = [-(-length // s) for length, s in zip((h, w), strides, strict=True)]
        total = [
            max((o - 1) * s + p - length, 0)
            for o, s, p, length in zip(out, strides, pool, (h, w), strict=True)
        ]
        before = [t // 2 for t in total]
    else:
        out = [(length - p) // s + 1 for length, p, s in zip((h, w), pool, strides, strict=True)]
        before = [0, 0]
    y = np.empty((n, out[0], out[1], c))
    dx = np.zeros_like(x)
    for b, i, j, ch in itertools.product(range(n), range(out[0]), range(out[1]), range(c)):
        rows = [i * strides[0] - before[0] + di for di in range(pool[0])]
        cols = [j * strides[1] - before[1] + dj for dj in range(pool[1])]
        entries = [(r, q) for r in rows for q in cols]  # row-major in the window
        values = [x[b, r, q, ch] if 0 <= r < h and 0 <= q < w else -np.inf for r, q in entries]
        if mode == "max":
            first = int(np.argmax(values))
            y[b, i, j, ch] = values[first]
            r, q = entries[first]
            if 0 <= r < h and 0 <= q < w:
                dx[b, r, q, ch] += 1
        else:
            real = [(r, q) for r, q in entries if 0 <= r < h and 0 <= q < w]
            y[b, i, j, ch] = sum(x[b, r, q, ch] for r, q in real) / len(real)
            for r, q in real:
                dx[b, r, q, ch] += 1 / len(real)
    return y, dx


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(("pool", "strides", "padding", "data_format"), list(_window_cases(2)))
def test_pooling_matches_a_loop_over_windows_with_ties(mode, pool, strides, padding, data_format):
    """Inputs of few distinct values, so that windows hold ties."""
    layer_class = layers.MaxPooling2D if mode == "max" else layers.AveragePooling2D
    layer = layer_class(pool, strides, padding, "channels_last", dtype="float64")
    x = np.round(_sample(2, "channels_last", spatial=(6, 7), seed=3))
    y, saved = layer.forward(x, training=True)
    dx, _ = layer.backward(saved, np.ones_like(y))
    want_y, want_dx = _loop_pooling(x, layer.pool_size, layer.strides, padding, mode)
    np.testing.assert_allclose(y, want_y, rtol=1e-12)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-12)


def test_max_pooling_ties_go_to_the_first_entry_as_in_keras_on_jax():
    """The slopes below are Keras 3.15.1's on JAX (``jax.grad`` of the sum of
    ``keras.ops.max_pool``): XLA's select-and-scatter picks the first largest
    entry of a window in row-major order."""
    x = np.array([[1, 3, 3, 0], [3, 2, 1, 3], [0, 0, 5, 5], [5, 5, 0, 0]], dtype=np.float32)
    x = x.reshape(1, 4, 4, 1)
    keras_slopes = {
        (2, 2, "valid"): [[0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]],
        (2, 1, "valid"): [[0, 2, 1, 0], [1, 0, 0, 0], [0, 0, 4, 0], [1, 0, 0, 0]],
        (3, 1, "same"): [[0, 4, 1, 0], [0, 0, 0, 0], [0, 0, 9, 0], [2, 0, 0, 0]],
    }
    for (pool, strides, padding), want in keras_slopes.items():
        layer = layers.MaxPooling2D(pool, strides, padding)
        y, saved = layer.forward(x, training=True)
        dx, _ = layer.backward(saved, np.ones_like(y))
        np.testing.assert_array_equal(dx[0, :, :, 0], want)


def test_max_pooling_keeps_nan_and_infinities():
    x = np.zeros((1, 4, 4, 1), dtype=np.float32)
    x[0, 0, 1, 0], x[0, 2, 2, 0], x[0, 3, 0, 0] = np.nan, -np.inf, np.inf
    y = layers.MaxPooling2D(2)(x)
    assert np.isnan(y[0, 0, 0, 0])
    assert y[0, 1, 1, 0] == 0 and y[0, 1, 0, 0] == np.inf


def test_same_padding_is_never_the_maximum():
    x = -np.ones((1, 3, 3, 1))
    np.testing.assert_array_equal(layers.MaxPooling2D(2, padding="same")(x), -np.ones((1, 2, 2, 1)))


def test_same_average_leaves_the_padding_out():
    x = np.ones((1, 3, 3, 1))
    np.testing.assert_array_equal(
        layers.AveragePooling2D(2, padding="same")(x), np.ones((1, 2, 2, 1))
    )
    y = layers.AveragePooling1D(3, 1, "same")(np.arange(1.0, 5.0).reshape(1, 4, 1))
    np.testing.assert_allclose(y.ravel(), [1.5, 2, 3, 3.5])


# --- what a pass keeps, dtypes ----------------------------------------------------------
def test_max_pooling_training_pass_keeps_one_byte_per_output():
    layer = layers.MaxPooling2D(2)
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 3)).astype(np.float32)
    y, saved = layer.forward(x, training=True)
    assert saved.argmax.dtype == np.uint8 and saved.argmax.shape == y.shape
    assert saved.inputs is None
    dx, grads = layer.backward(saved, np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32 and grads == {}


def test_a_large_window_gets_a_wider_index():
    layer = layers.MaxPooling1D(300, 1)
    _, saved = layer.forward(np.zeros((1, 301, 1), dtype=np.float32), training=True)
    assert saved.argmax.dtype == np.uint16


@pytest.mark.parametrize("layer_class", [layers.MaxPooling2D, layers.AveragePooling2D])
def test_backward_after_an_inference_pass_matches_training(layer_class):
    """A node called with training=False inside a trained model still passes slopes back."""
    layer = layer_class(3, 2, "same")
    x = np.random.default_rng(0).normal(size=(2, 5, 6, 2)).astype(np.float32)
    y, inference_saved = layer.forward(x, training=False)
    y_training, training_saved = layer.forward(x, training=True)
    np.testing.assert_array_equal(y, y_training)
    upstream = np.random.default_rng(1).normal(size=y.shape).astype(np.float32)
    np.testing.assert_array_equal(
        layer.backward(inference_saved, upstream)[0], layer.backward(training_saved, upstream)[0]
    )


@pytest.mark.parametrize(
    ("layer", "input_shape"),
    [
        (layers.MaxPooling2D(), (1, 4, 4, 2)),
        (layers.AveragePooling1D(2), (1, 4, 2)),
        (layers.GlobalMaxPooling2D(), (1, 4, 4, 2)),
        (layers.GlobalAveragePooling1D(), (1, 4, 2)),
    ],
    ids=["max", "average", "global-max", "global-average"],
)
def test_no_input_slope_when_none_is_asked(layer, input_shape):
    y, saved = layer.forward(np.ones(input_shape, dtype=np.float32), training=True)
    assert layer.backward(saved, np.ones_like(y), input_gradient=False) == (None, {})


def test_global_max_pooling_splits_the_slope_between_ties_as_jax():
    x = np.array([[[1.0], [3.0], [3.0], [2.0]]])
    layer = layers.GlobalMaxPooling1D()
    y, saved = layer.forward(x, training=True)
    np.testing.assert_array_equal(layer.backward(saved, np.array([[4.0]]))[0].ravel(), [0, 2, 2, 0])


# --- masks (Keras 3: only GlobalAveragePooling1D takes one) -----------------------------
def _steps_mask(batch, steps, seed=0):
    """A random mask with at least one kept step per sample."""
    mask = np.random.default_rng(seed).random((batch, steps)) > 0.5
    mask[:, seed % steps] = True
    return mask


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_global_average_slopes_pass_central_differences(data_format, keepdims, seed):
    layer = layers.GlobalAveragePooling1D(data_format, keepdims, dtype="float64")
    x = _sample(1, data_format, spatial=(6,), batch=3, seed=seed)
    steps = x.shape[1 if data_format == "channels_last" else 2]
    check_layer_gradients(layer, x, mask=_steps_mask(3, steps, seed))


@pytest.mark.parametrize("data_format", FORMATS)
def test_masked_global_average_is_the_mean_over_the_unmasked_steps(data_format):
    """``sum_s m x / sum_s m``; a masked step's value is never read (NaN there
    stays out, as Keras's ``where`` keeps it out); its slope is 0."""
    x = _sample(1, "channels_last", spatial=(5,), batch=3)
    mask = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 1, 0], [1, 1, 1, 1, 1]], dtype=bool)
    x[~mask] = np.nan
    expected = np.stack([row[kept].mean(axis=0) for row, kept in zip(x, mask, strict=True)])
    if data_format == "channels_first":
        x = x.transpose(0, 2, 1)
    layer = layers.GlobalAveragePooling1D(data_format)
    output, saved = layer.forward(x, mask=mask)
    np.testing.assert_allclose(output, expected, rtol=1e-15)
    slope = layer.backward(saved, np.ones_like(output))[0]
    if data_format == "channels_first":
        slope = slope.transpose(0, 2, 1)
    share = mask[..., None] / mask.sum(axis=1)[:, None, None]
    np.testing.assert_allclose(slope, np.broadcast_to(share, slope.shape), rtol=1e-15)
    np.testing.assert_allclose(layer(x, mask=mask), output, rtol=1e-6)  # float32 eager call


def test_a_sample_with_every_step_masked_is_refused_not_nan():
    """Keras returns NaN for it (0 / 0); gradstep names the sample."""
    layer = layers.GlobalAveragePooling1D(name="gap")
    mask = np.array([[True, False], [False, False], [False, False]])
    with pytest.raises(ValueError, match=r"'gap': every step of sample 1 is masked .* 2 have no"):
        layer(np.ones((3, 2, 4)), mask=mask)


def test_a_mask_of_the_wrong_shape_is_refused():
    layer = layers.GlobalAveragePooling1D("channels_first", name="gap")
    expected = r"'gap' needs a mask of shape \(batch, steps\) = \(2, 4\)"
    with pytest.raises(ValueError, match=expected):
        layer(np.ones((2, 3, 4)), mask=np.ones((2, 3), dtype=bool))


def test_a_mask_stops_at_global_average_pooling_and_reaches_it_in_a_model():
    """Embedding(mask_zero) -> GlobalAveragePooling1D -> Dense, in float64:
    the prediction is the mean of the kept tokens' vectors, and the padding
    row of the table gets no slope."""
    gradstep.utils.set_random_seed(0)
    embedding = layers.Embedding(6, 3, mask_zero=True, dtype="float64")
    dense = layers.Dense(2, dtype="float64")
    model = gradstep.Sequential(
        [layers.Input(shape=(5,), dtype="int32"), embedding, layers.GlobalAveragePooling1D(), dense]
    )
    model.compile(optimizer="sgd", loss="mse")
    tokens = np.array([[1, 2, 0, 0, 3], [0, 0, 4, 5, 0], [5, 5, 5, 5, 5]])
    vectors = embedding.embeddings[tokens]
    mean = np.stack([v[t != 0].mean(axis=0) for v, t in zip(vectors, tokens, strict=True)])
    np.testing.assert_allclose(model.predict(tokens, verbose=0), dense.forward(mean)[0])
    y = np.random.default_rng(0).normal(size=(3, 2))
    check_model_gradients(model, tokens, y)
    _, gradients = model.gradients(tokens, y)
    assert np.all(gradients[0][2][0] == 0)


# --- shapes -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "input_shape", "output_shape"),
    [
        (layers.MaxPooling2D(), (None, 26, 26, 32), (None, 13, 13, 32)),
        (layers.MaxPooling2D(), (None, 11, 11, 64), (None, 5, 5, 64)),
        (layers.MaxPooling2D(3, 2), (None, 7, 8, 1), (None, 3, 3, 1)),
        (layers.MaxPooling2D(3, 2, "same"), (None, 7, 8, 1), (None, 4, 4, 1)),
        (
            layers.AveragePooling2D((2, 3), 1, data_format="channels_first"),
            (4, 2, 5, 6),
            (4, 2, 4, 4),
        ),
        (layers.MaxPooling2D(2, padding="same"), (None, None, 5, 3), (None, None, 3, 3)),
        (layers.MaxPooling1D(), (None, 7, 3), (None, 3, 3)),
        (layers.AveragePooling1D(4, 3, "same", "channels_first"), (None, 2, 10), (None, 2, 4)),
        (layers.GlobalAveragePooling2D(), (None, 5, 6, 3), (None, 3)),
        (
            layers.GlobalMaxPooling2D("channels_first", keepdims=True),
            (None, 3, 5, 6),
            (None, 3, 1, 1),
        ),
        (layers.GlobalAveragePooling1D(keepdims=True), (None, None, 4), (None, 1, 4)),
        (layers.GlobalMaxPooling1D("channels_first"), (None, 4, 7), (None, 4)),
    ],
)
def test_output_shapes_follow_keras(layer, input_shape, output_shape):
    assert layer.compute_output_shape(input_shape) == output_shape
    if None not in input_shape[1:]:
        x = np.zeros((2, *input_shape[1:]), dtype=np.float32)
        assert layer(x).shape == (2, *output_shape[1:])


def test_aliases_are_the_same_classes():
    assert layers.MaxPool2D is layers.MaxPooling2D and layers.AvgPool1D is layers.AveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D


# --- errors -----------------------------------------------------------------------------
def test_wrong_rank_names_the_layer_and_the_layout():
    with pytest.raises(ValueError, match=r"MaxPooling2D layer 'pool' needs inputs of rank 4"):
        layers.MaxPooling2D(name="pool")(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"rank 3 \(batch, features, steps\)"):
        layers.GlobalMaxPooling1D("channels_first", name="g")(np.zeros((2, 4)))


def test_a_window_larger_than_the_input_is_refused():
    with pytest.raises(
        ValueError, match=r"'p': the pool window \(3\) is larger than the input's width \(2\)"
    ):
        layers.MaxPooling2D(3, name="p").compute_output_shape((None, 5, 2, 1))
    # 'same' pads: a window larger than the input still has one output
    assert layers.MaxPooling2D(3, padding="same").compute_output_shape((None, 2, 2, 1)) == (
        None,
        1,
        1,
        1,
    )


def test_channels_first_data_read_as_channels_last_is_named_in_the_message():
    inputs = layers.Input(shape=(28, 28, 1))
    with pytest.raises(ValueError, match=r"width \(1\).*data_format='channels_first'"):
        layers.MaxPooling2D(data_format="channels_first")(inputs)


def test_a_model_refuses_data_too_small_for_its_unknown_spatial_axes():
    model = gradstep.Sequential([layers.Input(shape=(None, 3)), layers.MaxPooling1D(4)])
    assert model.predict(np.zeros((1, 8, 3)), verbose=0).shape == (1, 2, 3)
    with pytest.raises(
        ValueError, match=r"pool window \(4\) is larger than the input's steps \(2\)"
    ):
        model.predict(np.zeros((1, 2, 3)), verbose=0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"pool_size": 0}, r"MaxPooling2D: pool_size must be a positive integer or a tuple of 2"),
        ({"pool_size": (2, 2, 2)}, r"pool_size must be .* received pool_size=\(2, 2, 2\)"),
        ({"pool_size": "2"}, r"pool_size must be"),
        ({"strides": (1, 0)}, r"strides must be a positive integer"),
        ({"padding": "full"}, r"padding must be 'valid' or 'same', received padding='full'"),
        ({"data_format": "NHWC"}, r"MaxPooling2D: data_format must be 'channels_last' or"),
    ],
)
def test_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        layers.MaxPooling2D(**arguments)


def test_average_pooling_needs_a_pool_size_as_in_keras():
    with pytest.raises(TypeError):
        layers.AveragePooling2D()


def test_bad_keepdims():
    with pytest.raises(ValueError, match="GlobalAveragePooling1D: keepdims must be True or False"):
        layers.GlobalAveragePooling1D(keepdims="yes")


def test_padding_is_read_in_any_case():
    assert layers.MaxPooling1D(padding="SAME").padding == "same"


# --- configs and files ------------------------------------------------------------------
KERAS_CONFIGS = {  # Keras 3.15.1's get_config() of the defaults, less name, trainable, dtype
    layers.MaxPooling1D: {
        "pool_size": (2,),
        "padding": "valid",
        "strides": (2,),
        "data_format": "channels_last",
    },
    layers.MaxPooling2D: {
        "pool_size": (2, 2),
        "padding": "valid",
        "strides": (2, 2),
        "data_format": "channels_last",
    },
    layers.GlobalAveragePooling1D: {"data_format": "channels_last", "keepdims": False},
    layers.GlobalMaxPooling2D: {"data_format": "channels_last", "keepdims": False},
}


@pytest.mark.parametrize("layer_class", list(KERAS_CONFIGS), ids=lambda c: c.__name__)
def test_default_configs_are_keras(layer_class):
    config = layer_class().get_config()
    for key in ("name", "trainable", "dtype"):
        config.pop(key)
    assert config == KERAS_CONFIGS[layer_class]


@pytest.mark.parametrize(
    "layer",
    [
        layers.AveragePooling2D((3, 2), (1, 2), "same", "channels_first"),
        layers.MaxPooling1D(3, 1, "same"),
        layers.GlobalMaxPooling1D("channels_first", keepdims=True),
    ],
    ids=["average2d", "max1d", "global"],
)
def test_config_round_trip(layer):
    again = type(layer).from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_a_saved_model_with_pooling_loads_and_predicts_the_same(tmp_path):
    gradstep.utils.set_random_seed(0)
    inputs = layers.Input(shape=(6, 5, 2))
    hidden = layers.Dense(4, activation="relu")(inputs)
    hidden = layers.MaxPooling2D(3, 2, "same")(hidden)
    hidden = layers.AveragePooling2D(2, padding="same", data_format="channels_first")(hidden)
    pooled = layers.GlobalAveragePooling2D(keepdims=True)(hidden)
    outputs = layers.Dense(2)(layers.Flatten()(pooled))
    model = gradstep.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 6, 5, 2)), rng.normal(size=(8, 2))
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "pooled.keras")
    loaded = models.load_model(tmp_path / "pooled.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()
