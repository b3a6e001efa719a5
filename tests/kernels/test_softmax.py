"""The softmax's and the sparse cross-entropy's fused passes (numba) and their
NumPy twins give the same bits: rows of every length the passes take (NumPy's
pairwise sums), NaN, infinities and signed zeros included; and a Dense softmax
layer trained with its loss gives the same numbers with either backend."""

import numpy as np
import pytest

from gradstep import kernels, layers
from gradstep.kernels import softmax
from gradstep.losses import SparseCategoricalCrossentropy

pytestmark = pytest.mark.requires("numba", extra="speed")

EPSILON = 1e-7
CLASSES = [1, 2, 7, 8, 9, 10, 15, 16, 17, 31, 64, 100, 127, 128]


@pytest.fixture(autouse=True)
def _numba():
    kernels.set_backend("numba")
    yield
    kernels.set_backend("auto")


def no_twin(monkeypatch):
    """The twins refuse to run: what is computed, the fused passes computed."""

    def refuse(*args, **kwargs):
        raise AssertionError("the twin ran where the fused passes should have")

    monkeypatch.setattr(softmax, "bias_softmax_numpy", refuse)
    monkeypatch.setattr(softmax, "sparse_crossentropy_mean_numpy", refuse)


def _bits(array):
    array = np.asarray(array)
    return array.view(f"u{array.itemsize}")


def _logits(rng, rows, classes, dtype):
    """Logits over several magnitudes, so that the order of a row's sum shows."""
    scale = 10.0 ** rng.uniform(-3, 2, size=(rows, classes))
    return (rng.normal(size=(rows, classes)) * scale).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", CLASSES)
def test_the_softmax_gives_the_twins_bits(classes, dtype, monkeypatch):
    rng = np.random.default_rng(classes)
    pre = _logits(rng, 33, classes, dtype)
    bias = rng.normal(size=classes).astype(dtype)
    fused_pre, twin_pre = pre.copy(), pre.copy()
    twin = softmax.bias_softmax_numpy(twin_pre, bias)
    twin_unbiased = softmax.softmax_numpy(pre)
    no_twin(monkeypatch)
    fused = softmax.bias_softmax(fused_pre, bias)
    np.testing.assert_array_equal(_bits(fused), _bits(twin))
    np.testing.assert_array_equal(_bits(fused_pre), _bits(twin_pre))  # the bias added in place
    unbiased = softmax.bias_softmax(pre, None)
    np.testing.assert_array_equal(_bits(unbiased), _bits(twin_unbiased))


def test_the_softmax_of_nan_infinities_and_zeros_is_numpys():
    pre = np.array(
        [
            [np.nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, np.nan],
            [np.inf, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            [np.inf, np.inf, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            [-np.inf, -0.0, 0.0, -0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            [-0.0] * 9,
            [-np.inf] * 9,
        ],
        np.float32,
    )
    with np.errstate(invalid="ignore"):
        fused, twin = softmax.bias_softmax(pre, None), softmax.softmax_numpy(pre)
    np.testing.assert_array_equal(_bits(fused), _bits(twin))


def test_read_only_rows_take_the_twins(recwarn):
    """numba cannot compile the shift for a read-only array (it may add a
    bias in place): such rows are the twins', with no warning."""
    rng = np.random.default_rng(6)
    pre = _logits(rng, 4, 5, np.float32)
    pre.flags.writeable = False
    assert not softmax.fusable(pre)
    np.testing.assert_array_equal(softmax.bias_softmax(pre, None), softmax.softmax_numpy(pre))
    output = softmax.softmax_numpy(pre)
    output.flags.writeable = False
    labels = np.arange(4)
    fused = softmax.sparse_crossentropy_mean(labels, output, EPSILON)
    twin = softmax.sparse_crossentropy_mean_numpy(labels, output, EPSILON)
    for ours, theirs in zip(fused, twin, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert not recwarn.list


def test_rows_of_more_than_128_classes_take_the_twin():
    rng = np.random.default_rng(3)
    pre = _logits(rng, 4, 300, np.float32)
    assert not softmax.fusable(pre)
    np.testing.assert_array_equal(softmax.bias_softmax(pre, None), softmax.softmax_numpy(pre))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", CLASSES)
def test_the_crossentropy_gives_the_twins_bits(classes, dtype, monkeypatch):
    rng = np.random.default_rng(classes + 1)
    output = softmax.softmax_numpy(_logits(rng, 32, classes, dtype))
    labels = rng.integers(0, classes, size=32)
    # probabilities outside [EPSILON, 1 - EPSILON], clipped (and their slopes dropped)
    output[0, labels[0]] = 0.0
    output[1, labels[1]] = 1.0
    output[2, labels[2]] = EPSILON / 2
    with np.errstate(invalid="ignore"):  # 0 / 0 in a row of one class
        twin = softmax.sparse_crossentropy_mean_numpy(labels, output, EPSILON)
        no_twin(monkeypatch)
        fused = softmax.sparse_crossentropy_mean(labels, output, EPSILON)
    assert fused[0].dtype == twin[0].dtype == dtype
    for ours, theirs in zip(fused, twin, strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))


def test_the_crossentropy_of_nan_and_zero_rows_is_numpys():
    output = np.full((4, 10), 0.1, np.float32)
    output[0, 3] = np.nan
    output[1] = 0.0
    output[2, 5] = np.inf
    output[3] = -0.0
    labels = np.array([3, 1, 5, 2])
    with np.errstate(invalid="ignore", divide="ignore"):
        fused = softmax.sparse_crossentropy_mean(labels, output, EPSILON)
        twin = softmax.sparse_crossentropy_mean_numpy(labels, output, EPSILON)
    for ours, theirs in zip(fused, twin, strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))


def test_a_label_out_of_range_gives_nan_not_a_stray_write():
    """Labels are checked before training; were one not, the pass writes
    nothing outside its row."""
    output = np.full((2, 3), 1 / 3, np.float32)
    value, slope = softmax.sparse_crossentropy_mean(np.array([0, 7]), output, EPSILON)
    assert np.isnan(value)
    assert np.isnan(slope[1]).all() and np.isfinite(slope[0]).all()


@pytest.mark.parametrize("labels_shape", [(12,), (12, 1)])
def test_a_dense_softmax_layer_and_its_loss_give_the_same_bits_with_either_backend(labels_shape):
    def run(backend):
        kernels.set_backend(backend)
        rng = np.random.default_rng(4)
        layer = layers.Dense(10, activation="softmax")
        layer.build((12, 6))
        layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
        x = rng.normal(size=(12, 6)).astype(np.float32)
        labels = rng.integers(0, 10, size=labels_shape)
        output, saved = layer.forward(x, training=True)
        loss = SparseCategoricalCrossentropy()
        value, slope = loss.value_and_gradient(labels, output, fused=True, targets_checked=True)
        input_grad, weight_grads = layer.backward_from_pre_activation(saved, slope)
        return [output, value, slope, input_grad, weight_grads["kernel"], weight_grads["bias"]]

    for fused, twin in zip(run("numba"), run("numpy"), strict=True):
        np.testing.assert_array_equal(_bits(fused), _bits(twin))
