"""Max pooling's fused kernels (numba) and its NumPy passes give the same
bits: forward (maxima and the tap of each), backward (slopes written where
windows are disjoint, added where they overlap), over ranks 1 and 2,
'valid' and 'same', strides smaller and larger than the window, channels
last and first, ties, signed zeros, NaN and infinities, float32 and float64."""

import numpy as np
import pytest

from gradstep import kernels, layers

pytestmark = pytest.mark.requires("numba", extra="speed")


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")


# (layer class, input shape channels-last, pool size, strides, padding)
POOLS = [
    (layers.MaxPooling2D, (3, 8, 9, 5), (2, 2), None, "valid"),
    (layers.MaxPooling2D, (2, 7, 7, 4), (2, 2), None, "same"),
    (layers.MaxPooling2D, (2, 7, 8, 3), (3, 3), (1, 2), "valid"),  # overlapping windows
    (layers.MaxPooling2D, (2, 6, 7, 3), (3, 2), (2, 1), "same"),
    (layers.MaxPooling2D, (2, 9, 9, 2), (2, 2), (3, 3), "valid"),  # entries no window reads
    (layers.MaxPooling1D, (3, 11, 4), (3,), (2,), "valid"),
    (layers.MaxPooling1D, (2, 10, 3), (2,), None, "same"),
]


def _input(shape, dtype, channels_first):
    """Few distinct values (ties), signed zeros, NaN and infinities."""
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, size=shape).astype(dtype)
    x[x == 0] = rng.choice(np.array([0.0, -0.0], dtype), size=int((x == 0).sum()))
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, 6, replace=False)] = [np.nan, np.inf, -np.inf, np.nan, -np.inf, 7]
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if channels_first else x


def _run(layer, x, grad_seed=1):
    output, saved = layer.forward(x, training=True)
    grad = np.random.default_rng(grad_seed).normal(size=output.shape).astype(x.dtype)
    grad.reshape(-1)[:2] = [np.inf, -np.inf]
    input_grad, _ = layer.backward(saved, grad)
    inference = layer.forward(x, training=False)[0]
    return output.copy(), saved.argmax.copy(), input_grad.copy(), inference.copy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels_first", [False, True])
@pytest.mark.parametrize(("layer_class", "shape", "pool", "strides", "padding"), POOLS)
def test_max_pool_kernels_and_numpy_passes_agree_to_the_bit(
    layer_class, shape, pool, strides, padding, channels_first, dtype
):
    data_format = "channels_first" if channels_first else "channels_last"
    layer = layer_class(pool, strides=strides, padding=padding, data_format=data_format)
    x = _input(shape, dtype, channels_first)
    results = []
    for backend in ("numba", "numpy"):
        kernels.set_backend(backend)
        with np.errstate(invalid="ignore"):  # an infinite slope times 0 is NaN, in both
            results.append(_run(layer, x))
    for fused, twin in zip(*results, strict=True):
        assert fused.dtype == twin.dtype
        np.testing.assert_array_equal(fused, twin)
        assert (np.signbit(fused) == np.signbit(twin)).all()


def test_the_fused_backward_writes_zeros_where_no_window_reads():
    kernels.set_backend("numba")
    layer = layers.MaxPooling2D(2, strides=3)
    x = np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype(np.float32)
    output, saved = layer.forward(x, training=True)
    input_grad, _ = layer.backward(saved, np.ones_like(output))
    assert (input_grad[:, 2::3] == 0).all() and (input_grad[:, :, 2::3] == 0).all()
    assert input_grad.sum() == output.size


def test_threads_split_the_batch_without_changing_a_bit():
    layer = layers.MaxPooling2D(3, strides=2)  # overlapping windows: backward adds
    x = np.random.default_rng(3).normal(size=(9, 40, 40, 90)).astype(np.float32)
    assert x.size >= kernels.PARALLEL_MIN_SIZE
    results = []
    for threads in (3, 1):
        kernels.set_threads(threads)
        try:
            results.append(_run(layer, x))
        finally:
            kernels.set_threads("auto")
    for split, whole in zip(*results, strict=True):
        np.testing.assert_array_equal(split, whole)
