"""The convolution layers: slopes against central differences (float64) over
a grid of window arguments, against a direct convolution written with loops,
their shapes, configs, files, dtypes, and the errors bad inputs get. Keras's
own numbers for them are in test_keras_layer_parity.py (tests/layer_cases/
convolutional.py)."""

import itertools

import numpy as np
import pytest

import gradstep
from gradstep import config, kernels, layers, models
from gradstep.layers import convolutional, windows
from gradstep.testing import check_layer_gradients, check_model_gradients

BACKENDS = ["numpy", pytest.param("numba", marks=pytest.mark.requires("numba", extra="speed"))]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each test runs with the NumPy twins and with the fused kernels."""
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend("auto")


def _layer(cls, *args, **kwargs):
    layer = cls(*args, dtype="float64", bias_initializer="random_normal", **kwargs)
    layer.rng = np.random.default_rng(0)
    return layer


def _input(shape, seed=1):
    return np.random.default_rng(seed).normal(size=shape)


def _channels_first_shape(shape):
    return (shape[0], shape[-1], *shape[1:-1])


# --- slopes against central differences ------------------------------------------------
# With the default kernels backend; tests/kernels/test_windows.py shows that the
# fused kernels and their NumPy twins give the same bits.
# (input shape channels-last, kernel_size, strides, padding, dilation_rate, groups)
CONV2D_GRID = [
    ((2, 5, 5, 2), 3, 1, "valid", 1, 1),
    ((2, 6, 5, 4), (3, 2), 2, "same", 1, 2),
    ((1, 7, 6, 3), 2, 3, "valid", 1, 1),
    ((2, 7, 7, 2), 3, 1, "same", 2, 1),
    ((1, 8, 6, 4), (2, 3), 1, "valid", (2, 1), 2),
    ((2, 5, 7, 3), 4, (3, 2), "same", 1, 1),
    ((1, 9, 8, 4), (3, 3), 2, "valid", 1, 4),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    ("shape", "kernel", "strides", "padding", "dilation", "groups"), CONV2D_GRID
)
def test_conv2d_slopes(shape, kernel, strides, padding, dilation, groups, data_format):
    activation = "relu" if data_format == "channels_last" else "tanh"
    if data_format == "channels_first":
        shape = _channels_first_shape(shape)
    layer = _layer(
        layers.Conv2D,
        4,
        kernel,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        groups=groups,
        activation=activation,
        data_format=data_format,
    )
    check_layer_gradients(layer, _input(shape))


CONV1D_GRID = [
    ((2, 7, 2), 3, 1, "valid", 1, 1),
    ((2, 8, 4), 2, 2, "same", 1, 2),
    ((2, 9, 3), 3, 3, "causal", 1, 1),
    ((2, 8, 2), 3, 1, "causal", 2, 2),
    ((1, 10, 4), 4, 1, "same", 2, 4),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    ("shape", "kernel", "strides", "padding", "dilation", "groups"), CONV1D_GRID
)
def test_conv1d_slopes(shape, kernel, strides, padding, dilation, groups, data_format):
    if data_format == "channels_first":
        shape = _channels_first_shape(shape)
    layer = _layer(
        layers.Conv1D,
        4,
        kernel,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        groups=groups,
        activation="relu",
        data_format=data_format,
    )
    check_layer_gradients(layer, _input(shape))


# (input shape channels-last, kernel_size, strides, padding, dilation_rate, depth_multiplier)
DEPTHWISE_GRID = [
    ((2, 5, 5, 2), 3, 1, "valid", 1, 1),
    ((2, 6, 5, 3), (2, 3), 2, "same", 1, 2),
    ((1, 7, 7, 2), 3, 1, "same", 2, 3),
    ((1, 7, 6, 2), 2, 2, "valid", 2, 1),  # Keras allows strides and dilation together here
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    ("shape", "kernel", "strides", "padding", "dilation", "multiplier"), DEPTHWISE_GRID
)
def test_depthwise_and_separable_slopes(
    shape, kernel, strides, padding, dilation, multiplier, data_format
):
    if data_format == "channels_first":
        shape = _channels_first_shape(shape)
    window = {
        "strides": strides,
        "padding": padding,
        "dilation_rate": dilation,
        "depth_multiplier": multiplier,
        "data_format": data_format,
    }
    x = _input(shape)
    check_layer_gradients(_layer(layers.DepthwiseConv2D, kernel, activation="relu", **window), x)
    check_layer_gradients(_layer(layers.SeparableConv2D, 3, kernel, activation="tanh", **window), x)


# (input shape channels-last, kernel_size, strides, padding, output_padding, dilation_rate)
TRANSPOSE_GRID = [
    ((2, 3, 3, 2), 3, 1, "valid", None, 1),
    ((2, 3, 4, 2), 3, 2, "same", None, 1),
    ((1, 3, 3, 3), (2, 3), (3, 2), "valid", None, 1),
    ((1, 3, 2, 2), (3, 4), (2, 3), "same", (1, 2), 1),
    ((2, 2, 3, 2), 3, 2, "valid", 1, 1),
    ((1, 4, 3, 2), 3, 1, "same", None, 2),
    ((1, 3, 3, 2), 4, 2, "same", 0, 1),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    ("shape", "kernel", "strides", "padding", "extra", "dilation"), TRANSPOSE_GRID
)
def test_conv2d_transpose_slopes(shape, kernel, strides, padding, extra, dilation, data_format):
    if data_format == "channels_first":
        shape = _channels_first_shape(shape)
    layer = _layer(
        layers.Conv2DTranspose,
        3,
        kernel,
        strides=strides,
        padding=padding,
        output_padding=extra,
        dilation_rate=dilation,
        activation="relu",
        data_format=data_format,
    )
    check_layer_gradients(layer, _input(shape))


@pytest.mark.parametrize("cls", [layers.Conv1D, layers.Conv2D, layers.Conv2DTranspose])
def test_slopes_without_bias_and_linear(cls):
    shape = (2, 6, 3) if cls is layers.Conv1D else (2, 4, 5, 3)
    layer = cls(2, 3, padding="same", use_bias=False, dtype="float64")
    check_layer_gradients(layer, _input(shape))
    assert [name for name, _ in layer.named_weights()] == ["kernel"]


@pytest.mark.slow
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    ("kernel", "strides", "padding", "dilation", "groups"),
    [
        (k, s, p, d, g)
        for k, s, p, d, g in itertools.product(
            [1, 2, 3, (2, 3)], [1, 2, 3], ["valid", "same"], [1, 2], [1, 2]
        )
        if s == 1 or d == 1
    ],
)
def test_conv2d_slopes_over_the_whole_grid(kernel, strides, padding, dilation, groups, data_format):
    shape = (2, 7, 6, 4) if data_format == "channels_last" else (2, 4, 7, 6)
    layer = _layer(
        layers.Conv2D,
        4,
        kernel,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        groups=groups,
        activation="tanh",
        data_format=data_format,
    )
    check_layer_gradients(layer, _input(shape))


# --- values against a direct convolution ----------------------------------------------
def _direct_conv2d(x, kernel, strides, dilation, pads, groups):
    """The textbook sum, one output entry at a time (channels-last)."""
    x = np.pad(x, ((0, 0), *pads, (0, 0)))
    taps_h, taps_w, width, filters = kernel.shape
    per_group = filters // groups
    out_h = (x.shape[1] - (taps_h - 1) * dilation[0] - 1) // strides[0] + 1
    out_w = (x.shape[2] - (taps_w - 1) * dilation[1] - 1) // strides[1] + 1
    out = np.zeros((len(x), out_h, out_w, filters))
    for oh, ow, f, i, j in itertools.product(
        range(out_h), range(out_w), range(filters), range(taps_h), range(taps_w)
    ):
        g = f // per_group
        pixel = x[:, oh * strides[0] + i * dilation[0], ow * strides[1] + j * dilation[1]]
        out[:, oh, ow, f] += pixel[:, g * width : (g + 1) * width] @ kernel[i, j, :, f]
    return out


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    ("shape", "kernel", "strides", "padding", "dilation", "groups"), CONV2D_GRID
)
def test_conv2d_is_the_direct_sum(
    backend, shape, kernel, strides, padding, dilation, groups, data_format
):
    layer = _layer(
        layers.Conv2D,
        4,
        kernel,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        groups=groups,
        data_format=data_format,
    )
    x = _input(shape)
    given = np.moveaxis(x, -1, 1) if data_format == "channels_first" else x
    got = layer(given)
    geometry = windows.conv_windows(
        shape[1:-1], layer.kernel_size, layer.strides, layer.dilation_rate, padding
    )
    want = _direct_conv2d(
        x, layer.kernel, layer.strides, layer.dilation_rate, geometry.pads, groups
    )
    want = want + layer.bias
    if data_format == "channels_first":
        want = np.moveaxis(want, -1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", [layers.Conv1D, layers.Conv2D])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_windows_copied_a_few_samples_at_a_time_give_the_whole_batch_result(
    backend, monkeypatch, cls, padding
):
    """Forward and backward copy the windows for a few samples at a time; a
    batch of 5 in chunks of 2, 2 and 1 gives what one chunk gives, and passes
    the slope check."""
    rank = 1 if cls is layers.Conv1D else 2
    shape = (5, *(6,) * rank, 3)
    layer = _layer(cls, 4, 3, padding=padding)
    x = _input(shape)
    layer.build(shape)
    whole_output, whole_saved = layer.forward(x, training=True)
    grad = _input(whole_output.shape, seed=2)
    whole_slopes = layer.backward(whole_saved, grad)
    sample_bytes = np.prod(whole_output.shape[1:-1]) * 3**rank * 3 * 8
    monkeypatch.setattr(convolutional, "WINDOW_CHUNK_BYTES", int(2 * sample_bytes))
    output, saved = layer.forward(x, training=True)
    canvas, geometry, _ = saved[0]
    chunks = [samples for samples, _, _ in convolutional._window_chunks(canvas, geometry)]
    assert chunks == [slice(0, 2), slice(2, 4), slice(4, 5)]
    input_slope, weight_slopes = layer.backward(saved, grad)
    np.testing.assert_allclose(output, whole_output, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(input_slope, whole_slopes[0], rtol=1e-13, atol=1e-13)
    for name, slope in weight_slopes.items():
        np.testing.assert_allclose(slope, whole_slopes[1][name], rtol=1e-13, atol=1e-13)
    check_layer_gradients(layer, x)


def test_conv2d_transpose_is_the_adjoint_of_conv2d():
    """<conv(x), y> = <x, conv_transpose(y)> with the same kernel and windows."""
    rng = np.random.default_rng(5)
    conv = layers.Conv2D(3, (3, 2), strides=2, padding="same", use_bias=False, dtype="float64")
    x = rng.normal(size=(2, 6, 5, 4))
    convolved = conv(x)
    y = rng.normal(size=convolved.shape)
    transpose = layers.Conv2DTranspose(
        4, (3, 2), strides=2, padding="same", output_padding=1, use_bias=False, dtype="float64"
    )
    transpose.build((None, *y.shape[1:]))
    transpose.set_weights([conv.kernel])  # (3, 2, 4, 3): the same array, roles swapped
    assert transpose(y).shape == x.shape
    np.testing.assert_allclose(np.sum(convolved * y), np.sum(x * transpose(y)), rtol=1e-12)


# --- shapes ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer", "input_shape", "output_shape"),
    [
        (layers.Conv2D(8, 3), (None, 28, 28, 1), (None, 26, 26, 8)),
        (layers.Conv2D(8, 3, strides=2, padding="same"), (None, 7, 8, 3), (None, 4, 4, 8)),
        (layers.Conv2D(8, (2, 3), data_format="channels_first"), (4, 3, 9, 9), (4, 8, 8, 7)),
        (layers.Conv2D(2, 3, dilation_rate=2), (None, None, 9, 1), (None, None, 5, 2)),
        (layers.Conv1D(4, 3, padding="causal", strides=2), (None, 9, 2), (None, 5, 4)),
        (layers.DepthwiseConv2D(3, depth_multiplier=3), (None, 5, 5, 2), (None, 3, 3, 6)),
        (layers.SeparableConv2D(5, 3, padding="same"), (None, 5, 6, 2), (None, 5, 6, 5)),
        (layers.Conv2DTranspose(4, 3, strides=2), (None, 5, 6, 2), (None, 11, 13, 4)),
        (
            layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
            (None, 5, 6, 2),
            (None, 10, 12, 4),
        ),  # fmt: skip
        (layers.Conv2DTranspose(4, 2, strides=3), (None, 5, 6, 2), (None, 15, 18, 4)),
        (
            layers.Conv2DTranspose(4, 3, strides=2, output_padding=1, data_format="channels_first"),
            (None, 2, 5, 6),
            (None, 4, 12, 14),
        ),
    ],
)
def test_output_shapes(layer, input_shape, output_shape):
    assert layer.compute_output_shape(input_shape) == output_shape
    symbolic = layer(gradstep.Input(batch_shape=input_shape))
    assert symbolic.shape == output_shape
    concrete = tuple(9 if d is None else d for d in input_shape)
    eager = layer(np.zeros(concrete, dtype=np.float32))
    assert eager.shape == layer.compute_output_shape(concrete)


def test_weights_have_keras_names_shapes_and_order():
    def weights(layer, shape):
        layer.build(shape)
        return [(name, w.shape) for name, w in layer.named_weights()]

    assert weights(layers.Conv2D(8, (3, 2), groups=2), (None, 9, 9, 4)) == [
        ("kernel", (3, 2, 2, 8)),
        ("bias", (8,)),
    ]
    assert weights(layers.Conv1D(8, 5, data_format="channels_first"), (None, 3, 9)) == [
        ("kernel", (5, 3, 8)),
        ("bias", (8,)),
    ]
    assert weights(layers.DepthwiseConv2D(3, depth_multiplier=2), (None, 9, 9, 4)) == [
        ("kernel", (3, 3, 4, 2)),
        ("bias", (8,)),
    ]
    assert weights(layers.SeparableConv2D(5, 3, depth_multiplier=2), (None, 9, 9, 4)) == [
        ("depthwise_kernel", (3, 3, 4, 2)),
        ("pointwise_kernel", (1, 1, 8, 5)),
        ("bias", (5,)),
    ]
    assert weights(layers.Conv2DTranspose(5, (3, 2)), (None, 9, 9, 4)) == [
        ("kernel", (3, 2, 5, 4)),
        ("bias", (5,)),
    ]


def test_the_mnist_convnet_has_keras_parameter_count():
    model = gradstep.Sequential(
        [
            gradstep.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    assert model.count_params() == 320 + 18496 + 12 * 12 * 64 * 10 + 10


# --- dtypes -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [
        layers.Conv1D(3, 3, padding="causal", activation="relu"),
        layers.Conv2D(4, 3, padding="same", groups=2, activation="relu"),
        layers.Conv2D(4, 3, activation="tanh", data_format="channels_first"),
        layers.DepthwiseConv2D(3, depth_multiplier=2, activation="relu"),
        layers.SeparableConv2D(3, 2, activation="sigmoid"),
        layers.Conv2DTranspose(3, 3, strides=2, activation="relu"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_float32_stays_float32(backend, layer):
    shape = (2, 6, 4) if isinstance(layer, layers.Conv1D) else (2, 4, 6, 4)
    x = np.random.default_rng(0).normal(size=shape)  # float64 data: cast once, at the input
    output = layer(x)
    assert output.dtype == np.float32
    output, saved = layer.forward(layer._as_array(x), training=True)
    grad_input, grads = layer.backward(saved, np.ones_like(output))
    assert grad_input.dtype == np.float32 and grad_input.shape == x.shape
    assert {name: g.dtype for name, g in grads.items()} == {
        name: np.dtype("float32") for name, _ in layer.named_weights()
    }


def test_float16_stays_float16():
    """The fused kernels have no float16; the NumPy twins run instead."""
    layer = layers.Conv2D(8, 3, padding="same", groups=2, activation="relu", dtype="float16")
    layer.build((None, 5, 5, 8))
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 8)).astype(np.float16)
    output, saved = layer.forward(x, training=True)
    grad_input, grads = layer.backward(saved, np.ones_like(output))
    assert output.dtype == grad_input.dtype == np.float16
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float16)}


# --- in a model -----------------------------------------------------------------------
def test_softmax_fuses_with_cross_entropy_in_a_convolution():
    """A convolution with a softmax output hands the loss's p - y slope to
    its linear part (backward_from_pre_activation), checked in float64."""
    rng = np.random.default_rng(3)
    gradstep.utils.set_random_seed(0)
    model = gradstep.Sequential(
        [
            gradstep.Input(shape=(5, 4, 2), dtype="float64"),
            layers.Conv2D(3, 2, activation="relu", dtype="float64"),
            layers.Conv2D(4, 3, padding="same", activation="softmax", dtype="float64"),
        ]
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = rng.normal(size=(3, 5, 4, 2))
    y = np.eye(4)[rng.integers(0, 4, size=(3, 4, 3))]
    check_model_gradients(model, x, y)
    assert model._compiled[0].fused_steps  # the softmax did fuse with the loss


def test_a_convnet_trains_and_round_trips_through_a_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((16, 8, 8, 1), dtype=np.float32)
    y = rng.integers(0, 3, size=16)
    gradstep.utils.set_random_seed(0)
    model = gradstep.Sequential(
        [
            gradstep.Input(shape=(8, 8, 1)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.DepthwiseConv2D(2, strides=2, depth_multiplier=2),
            layers.SeparableConv2D(4, 3, activation="relu", data_format="channels_last"),
            layers.Conv2DTranspose(2, 2, strides=2, output_padding=(1, 0)),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "convnet.keras")
    loaded = models.load_model(tmp_path / "convnet.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()


@pytest.mark.parametrize(
    "layer",
    [
        layers.Conv1D(3, 2, strides=2, padding="causal", groups=3, kernel_regularizer="l2"),
        layers.Conv2D(4, (3, 2), dilation_rate=2, data_format="channels_first"),
        layers.DepthwiseConv2D(3, depth_multiplier=2, depthwise_constraint="non_neg"),
        layers.SeparableConv2D(3, 2, pointwise_regularizer="l1", activity_regularizer="l2"),
        layers.Conv2DTranspose(3, 3, strides=2, output_padding=1, activation="relu"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    assert gradstep.layers.LAYERS.lookup_class(type(layer).__name__) is type(layer)


def test_config_has_keras_keys():
    keys = {
        layers.Conv2D(2, 3): "filters kernel_size strides padding data_format dilation_rate groups "
        "activation use_bias kernel_initializer bias_initializer kernel_regularizer "
        "bias_regularizer activity_regularizer kernel_constraint bias_constraint",
        layers.DepthwiseConv2D(3): "depth_multiplier kernel_size strides padding data_format "
        "dilation_rate activation use_bias depthwise_initializer bias_initializer "
        "depthwise_regularizer bias_regularizer activity_regularizer depthwise_constraint "
        "bias_constraint",
        layers.SeparableConv2D(2, 3): "depth_multiplier filters kernel_size strides padding "
        "data_format dilation_rate activation use_bias depthwise_initializer "
        "pointwise_initializer bias_initializer depthwise_regularizer pointwise_regularizer "
        "bias_regularizer activity_regularizer depthwise_constraint pointwise_constraint "
        "bias_constraint",
        layers.Conv2DTranspose(2, 3): "filters kernel_size strides padding output_padding "
        "data_format dilation_rate activation use_bias kernel_initializer bias_initializer "
        "kernel_regularizer bias_regularizer activity_regularizer kernel_constraint "
        "bias_constraint",
    }
    for layer, names in keys.items():
        assert list(layer.get_config()) == ["name", "trainable", "dtype", *names.split()]
    config = layers.Conv2D(2, 3).get_config()
    assert config["kernel_size"] == (3, 3) and config["data_format"] == "channels_last"


# --- bad input --------------------------------------------------------------------------
def test_a_kernel_larger_than_the_input_is_refused_on_symbolic_and_eager_inputs():
    message = r"Conv2D layer 'big'.*larger than the input with padding='valid'"
    with pytest.raises(ValueError, match=message):
        layers.Conv2D(2, 5, name="big")(gradstep.Input(shape=(4, 6, 1)))
    layer = layers.Conv2D(2, 3, name="big")
    layer(np.zeros((1, 5, 5, 1)))
    with pytest.raises(ValueError, match=message):
        layer(np.zeros((1, 2, 5, 1)))
    with pytest.raises(ValueError, match=r"Conv1D layer 'wide'.*spanning 5 entries"):
        layers.Conv1D(2, 3, dilation_rate=2, name="wide")(np.zeros((1, 4, 1)))
    # padded, the same input is large enough
    assert layers.Conv2D(2, 5, padding="same")(np.zeros((1, 2, 2, 1))).shape == (1, 2, 2, 2)


def test_channels_in_the_wrong_place_are_refused_with_a_hint():
    layer = layers.Conv2D(4, 3, name="images")
    layer(np.zeros((1, 8, 8, 3)))
    with pytest.raises(
        ValueError,
        match=r"layer 'images'.*expected axis -1 \(the channels, data_format='channels_last'\)"
        r".*value 3, received input with shape \(1, 3, 8, 8\).*data_format='channels_first'",
    ):
        layer(np.zeros((1, 3, 8, 8)))
    first = layers.Conv2D(4, 3, data_format="channels_first", name="first")
    first(np.zeros((1, 3, 8, 8)))
    with pytest.raises(
        ValueError, match=r"'first'.*expected axis 1.*use data_format='channels_last'"
    ):
        first(np.zeros((1, 8, 8, 3)))


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (
            layers.Conv2D(4, 3, name="c"),
            (None, 8, 8),
            r"'c' needs inputs of rank 4 \(batch, height, width, channels\)",
        ),  # fmt: skip
        (
            layers.Conv1D(4, 3, name="c"),
            (None, 8, 8, 1),
            r"'c' needs inputs of rank 3 \(batch, steps, channels\)",
        ),  # fmt: skip
        (
            layers.Conv2D(4, 3, data_format="channels_first", name="c"),
            (None, 8, 8),
            r"rank 4 \(batch, channels, height, width\) for data_format='channels_first'",
        ),
        (
            layers.Conv2D(4, 3, groups=2, name="g"),
            (None, 8, 8, 3),
            r"'g'.*divisible by groups=2.*3 channels",
        ),  # fmt: skip
        (layers.Conv2D(4, 3, name="c"), (None, 8, 8, None), r"'c' needs the channel axis \(-1"),
        (layers.DepthwiseConv2D(3, name="d"), (8, 8, 1), r"'d' needs inputs of rank 4"),
        (layers.Conv2DTranspose(4, 3, name="t"), (None, 8, 8), r"'t' needs inputs of rank 4"),
    ],
)
def test_bad_input_shapes(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(gradstep.Input(batch_shape=shape))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.Conv2D(4, 3, groups=3), r"filters must be divisible by groups"),
        (lambda: layers.Conv2D(4, 3, groups=0), r"groups must be a positive integer"),
        (lambda: layers.Conv2D(0, 3), r"filters must be a positive integer, received 0"),
        (
            lambda: layers.Conv2D(4, (3, 0)),
            r"kernel_size must be a positive integer or a tuple of 2",
        ),  # fmt: skip
        (lambda: layers.Conv2D(4, (3, 3, 3)), r"kernel_size must be .* tuple of 2"),
        (lambda: layers.Conv1D(4, 3, strides=0), r"strides must be a positive integer"),
        (
            lambda: layers.Conv2D(4, 3, padding="causal"),
            r"padding must be one of \('valid', 'same'\)",
        ),  # fmt: skip
        (
            lambda: layers.Conv2D(4, 3, data_format="NHWC"),
            r"data_format must be .channels_last. or",
        ),
        (
            lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2),
            r"strides > 1 is not supported together with dilation_rate > 1",
        ),  # fmt: skip
        (lambda: layers.Conv1D(4, 3, strides=2, dilation_rate=2), r"strides > 1 is not supported"),
        (
            lambda: layers.Conv2DTranspose(4, 3, strides=2, dilation_rate=2),
            r"strides > 1 is not supported",
        ),  # fmt: skip
        (
            lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
            r"output_padding must be less than strides",
        ),  # fmt: skip
        (
            lambda: layers.DepthwiseConv2D(3, depth_multiplier=0),
            r"depth_multiplier must be a positive integer",
        ),  # fmt: skip
        (lambda: layers.Conv2D(4, 3, lora_rank=2), r"Unrecognized keyword arguments"),
    ],
)
def test_bad_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"^Conv2D layer 'named': filters must be divisible"):
        layers.Conv2D(4, 3, groups=3, name="named")


def test_depthwise_accepts_strides_with_dilation_as_keras_does():
    layer = layers.DepthwiseConv2D(2, strides=2, dilation_rate=2, padding="same")
    assert layer(np.zeros((1, 7, 7, 2))).shape == (1, 4, 4, 2)


# --- the padding arithmetic -----------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "padding", "pads", "length"),
    [
        (5, 3, 2, 1, "same", (1, 1), 3),
        (6, 3, 2, 1, "same", (0, 1), 3),
        (7, 4, 1, 1, "same", (1, 2), 7),
        (7, 3, 1, 2, "same", (2, 2), 7),
        (7, 3, 3, 1, "valid", (0, 0), 2),
        (9, 3, 2, 2, "causal", (4, 0), 5),
    ],
)
def test_padding_arithmetic(size, kernel, stride, dilation, padding, pads, length):
    assert windows.conv_padding(size, kernel, stride, dilation, padding) == pads
    assert windows.conv_output_length(size, kernel, stride, dilation, padding) == length


def test_data_format_none_follows_the_image_data_format():
    config.set_image_data_format("channels_first")
    try:
        layer = layers.Conv2D(2, 3)
    finally:
        config.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert layer(np.zeros((1, 3, 5, 5))).shape == (1, 2, 3, 3)
    assert layers.Conv2D(2, 3).data_format == "channels_last"


# --- Conv1DTranspose --------------------------------------------------------------------
# (input shape channels-last, kernel_size, strides, padding, output_padding, dilation_rate)
TRANSPOSE_1D_GRID = [
    ((2, 5, 2), 3, 1, "valid", None, 1),
    ((2, 4, 3), 3, 2, "same", None, 1),
    ((1, 3, 2), 2, 3, "valid", 1, 1),
    ((2, 4, 2), 4, 3, "same", 2, 1),
    ((2, 6, 2), 3, 1, "same", None, 2),
]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(
    ("shape", "kernel", "strides", "padding", "extra", "dilation"), TRANSPOSE_1D_GRID
)
def test_conv1d_transpose_slopes(shape, kernel, strides, padding, extra, dilation, data_format):
    if data_format == "channels_first":
        shape = _channels_first_shape(shape)
    layer = _layer(
        layers.Conv1DTranspose,
        3,
        kernel,
        strides=strides,
        padding=padding,
        output_padding=extra,
        dilation_rate=dilation,
        activation="tanh",
        data_format=data_format,
    )
    check_layer_gradients(layer, _input(shape))


def test_conv1d_transpose_is_conv2d_transpose_over_a_unit_axis():
    """The 1-D layer equals the 2-D one with a height-1 kernel over a height-1 input."""
    x = _input((2, 5, 3))
    one = _layer(layers.Conv1DTranspose, 4, 3, strides=2, padding="same", output_padding=1)
    two = _layer(
        layers.Conv2DTranspose, 4, (1, 3), strides=(1, 2), padding="same", output_padding=(0, 1)
    )
    one.build((None, 5, 3))
    two.build((None, 1, 5, 3))
    two.set_weights([w[None] for w in one.get_weights()[:1]] + one.get_weights()[1:])
    np.testing.assert_allclose(
        one.forward(x)[0], two.forward(x[:, None])[0][:, 0], rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize(
    ("layer", "input_shape", "output_shape", "weight_shapes"),
    [
        (layers.Conv1DTranspose(4, 3), (None, 5, 2), (None, 7, 4), [(3, 4, 2), (4,)]),
        (
            layers.Conv1DTranspose(4, 3, strides=2, padding="same"),
            (None, 5, 2),
            (None, 10, 4),
            None,
        ),
        (layers.Conv1DTranspose(4, 2, strides=3), (None, 5, 2), (None, 15, 4), None),
        (
            layers.Conv1DTranspose(4, 3, strides=2, output_padding=1, data_format="channels_first"),
            (None, 2, 5),
            (None, 4, 12),
            None,
        ),
    ],
)
def test_conv1d_transpose_shapes(layer, input_shape, output_shape, weight_shapes):
    assert layer.compute_output_shape(input_shape) == output_shape
    output = layer(gradstep.Input(batch_shape=input_shape))
    assert tuple(output.shape) == output_shape
    if weight_shapes is not None:
        assert [w.shape for w in layer.get_weights()] == weight_shapes


def test_conv1d_transpose_config_and_file_round_trip(tmp_path):
    layer = layers.Conv1DTranspose(
        3, 3, strides=2, output_padding=1, activation="relu", kernel_regularizer="l2"
    )
    config_ = layer.get_config()
    assert list(config_) == list(layers.Conv2DTranspose(2, 3).get_config())
    assert config_["kernel_size"] == (3,) and config_["strides"] == (2,)
    assert layers.Conv1DTranspose.from_config(config_).get_config() == config_
    assert gradstep.layers.LAYERS.lookup_class("Conv1DTranspose") is layers.Conv1DTranspose
    assert layers.Convolution1DTranspose is layers.Conv1DTranspose

    gradstep.utils.set_random_seed(0)
    model = gradstep.Sequential(
        [gradstep.Input(shape=(6, 2)), layer, layers.Flatten(), layers.Dense(2)]
    )
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).random((8, 6, 2), dtype=np.float32)
    model.fit(x, np.ones((8, 2), np.float32), epochs=2, verbose=0)
    model.save(tmp_path / "t.keras")
    loaded = models.load_model(tmp_path / "t.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.Conv1DTranspose(0, 3), r"filters must be a positive integer"),
        (lambda: layers.Conv1DTranspose(4, (3, 3)), r"kernel_size must be .* tuple of 1"),
        (
            lambda: layers.Conv1DTranspose(4, 3, strides=2, dilation_rate=2),
            r"strides > 1 is not supported",
        ),  # fmt: skip
        (
            lambda: layers.Conv1DTranspose(4, 3, strides=2, output_padding=2),
            r"output_padding must be less than strides",
        ),  # fmt: skip
        (lambda: layers.Conv1DTranspose(4, 3, padding="causal"), r"padding must be one of"),
    ],
)
def test_conv1d_transpose_bad_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_conv1d_transpose_bad_input_rank_names_the_layer():
    with pytest.raises(ValueError, match=r"'t' needs inputs of rank 3 \(batch, steps, channels\)"):
        layers.Conv1DTranspose(4, 3, name="t")(gradstep.Input(batch_shape=(None, 8, 8, 2)))
