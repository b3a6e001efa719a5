"""The Dense layer's fused passes (numba) and their NumPy twins give the same
bits, NaN, infinities and signed zeros included, and the layer gives the same
numbers with either backend."""

import numpy as np
import pytest

from gradstep import kernels, layers
from gradstep.kernels.dense import (
    bias_relu,
    bias_relu_numpy,
    relu_slope_and_bias_slope,
    relu_slope_and_bias_slope_numpy,
)

pytestmark = pytest.mark.requires("numba", extra="speed")

SHAPES = [(32, 512), (7, 3), (1, 5), (0, 4), (33, 129)]


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")


def _bits(array):
    return array.view(f"u{array.itemsize}")


def _awkward(rng, shape, dtype):
    """Normal numbers with a column of -0, and NaN and infinities where they fit."""
    values = rng.normal(size=shape).astype(dtype)
    if shape[0] and shape[1] > 3:
        values[:, 0] = -0.0
        values[0, 1:4] = [np.nan, np.inf, -np.inf]
    return values


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_numba_and_numpy_twins_agree_to_the_bit(shape, dtype):
    kernels.set_backend("numba")
    rng = np.random.default_rng(0)
    pre, bias = _awkward(rng, shape, dtype), rng.normal(size=shape[1]).astype(dtype)
    bias[:1] = 0.0
    fused_pre, twin_pre = pre.copy(), pre.copy()
    fused_out, twin_out = bias_relu(fused_pre, bias), bias_relu_numpy(twin_pre, bias)
    for fused, twin in [(fused_pre, twin_pre), (fused_out, twin_out)]:
        np.testing.assert_array_equal(_bits(fused), _bits(twin))
    grad = _awkward(rng, shape, dtype)
    fused = relu_slope_and_bias_slope(grad, fused_pre, True)
    twin = relu_slope_and_bias_slope_numpy(grad, twin_pre, True)
    for a, b in zip(fused, twin, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(_bits(a), _bits(b))


def test_a_slope_of_minus_zero_sums_to_plus_zero_as_numpy():
    kernels.set_backend("numba")
    grad = np.full((3, 2), -0.0, np.float32)
    _, bias_slope = relu_slope_and_bias_slope(grad, np.ones((3, 2), np.float32), True)
    assert not np.signbit(bias_slope).any()


@pytest.mark.parametrize("input_shape", [(6, 5), (2, 3, 5)])
def test_dense_relu_gives_the_same_bits_with_either_backend(input_shape):
    def run(backend):
        kernels.set_backend(backend)
        rng = np.random.default_rng(2)
        layer = layers.Dense(7, activation="relu")
        layer.build(input_shape)
        layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
        x = rng.normal(size=input_shape).astype(np.float32)
        output, saved = layer.forward(x, training=True)
        grad = rng.normal(size=output.shape).astype(np.float32)
        input_grad, weight_grads = layer.backward(saved, grad)
        return [output, input_grad, weight_grads["kernel"], weight_grads["bias"]]

    for fused, twin in zip(run("numba"), run("numpy"), strict=True):
        np.testing.assert_array_equal(_bits(fused), _bits(twin))


def _model(kind):
    from gradstep import Sequential, optimizers, regularizers

    if kind == "reference":
        stack = [layers.Input((6,)), layers.Dense(16, activation="relu")]
        optimizer = optimizers.Adam(1e-2)
    elif kind == "regularized":
        stack = [
            layers.Input((6,)),
            layers.Dense(16, activation="relu", kernel_regularizer=regularizers.L2(1e-3)),
            layers.Dropout(0.25),
            layers.BatchNormalization(),
            layers.Dense(8, activation="relu", activity_regularizer="l1"),
        ]
        optimizer = optimizers.SGD(0.05, momentum=0.9)
    else:  # a Dense layer on each step of a sequence
        stack = [layers.Input((3, 6)), layers.Dense(8, activation="relu"), layers.Flatten()]
        optimizer = optimizers.RMSprop(1e-2)
    model = Sequential([*stack, layers.Dense(4, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("kind", ["reference", "regularized", "sequence"])
def test_a_fit_gives_the_same_bits_on_the_fused_passes_and_the_general_path(kind, monkeypatch):
    """The fused Dense passes and the sparse cross-entropy's training lane
    against the NumPy twins and the loss's general path, over a whole fit."""
    from gradstep import losses, utils

    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3, 6) if kind == "sequence" else (40, 6)).astype(np.float32)
    y = rng.integers(0, 4, size=(40, 1))
    weights = rng.uniform(0.5, 2, size=40) if kind == "regularized" else None

    def fit():
        utils.set_random_seed(7)
        model = _model(kind)
        model.fit(x, y, sample_weight=weights, epochs=3, batch_size=8, verbose=0)
        return model.get_weights()

    kernels.set_backend("numba")
    fast = fit()
    kernels.set_backend("numpy")
    monkeypatch.setattr(losses.SparseCategoricalCrossentropy, "_plain_mean", lambda *a: False)
    general = fit()
    for a, b in zip(fast, general, strict=True):
        np.testing.assert_array_equal(_bits(a), _bits(b))
