"""The LSTM step's fused backward kernel (numba) and its NumPy pass give the
same bits: the input slope and every weight slope of LSTM layers with masks,
dropout, go_backwards, return_state, stacked cells and Bidirectional, in
float32 and float64."""

import numpy as np
import pytest

from gradstep import kernels, layers

pytestmark = pytest.mark.requires("numba", extra="speed")


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")


LAYERS = {
    "plain": lambda dtype: layers.LSTM(5, dtype=dtype, bias_initializer="random_normal"),
    "sequences": lambda dtype: layers.LSTM(5, return_sequences=True, dtype=dtype),
    "state": lambda dtype: layers.LSTM(
        5, return_sequences=True, return_state=True, go_backwards=True, dtype=dtype
    ),
    "dropout": lambda dtype: layers.LSTM(
        5, dropout=0.3, recurrent_dropout=0.4, seed=3, return_sequences=True, dtype=dtype
    ),
    "stacked": lambda dtype: layers.RNN(
        [layers.LSTMCell(4, dtype=dtype), layers.LSTMCell(5, dtype=dtype)],
        return_sequences=True,
        dtype=dtype,
    ),
    "bidirectional": lambda dtype: layers.Bidirectional(
        layers.LSTM(5, return_sequences=True, dtype=dtype), dtype=dtype
    ),
}


def _slopes(name, dtype, backend, masked):
    kernels.set_backend(backend)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 4)).astype(dtype)
    layer = LAYERS[name](dtype)
    layer.build(x.shape)
    weights = [rng.normal(size=w.shape).astype(dtype) for w in layer.get_weights()]
    layer.set_weights(weights)
    mask = rng.random((3, 7)) > 0.3 if masked else None
    if mask is not None:
        mask[:, 0] = True
    output, saved = layer.forward(x, training=True, mask=mask)
    outputs = output if isinstance(output, list) else [output]
    grads = [rng.normal(size=o.shape).astype(dtype) * 3 for o in outputs]
    grads[0].reshape(-1)[:2] = [1e4, -1e4]
    grad = grads if isinstance(output, list) else grads[0]
    input_slope, weight_slopes = layer.backward(saved, grad)
    return [o.copy() for o in outputs], input_slope, weight_slopes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_fused_lstm_backward_and_numpy_pass_agree_to_the_bit(name, dtype, masked):
    outputs, input_slope, weight_slopes = _slopes(name, dtype, "numpy", masked)
    fused_outputs, fused_input_slope, fused_weight_slopes = _slopes(name, dtype, "numba", masked)
    for a, b in zip(outputs, fused_outputs, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(input_slope, fused_input_slope)
    assert len(weight_slopes) == len(fused_weight_slopes)  # in the same order
    for (key, slope), fused_slope in zip(
        weight_slopes.items(), fused_weight_slopes.values(), strict=True
    ):
        np.testing.assert_array_equal(slope, fused_slope, err_msg=key)
        assert slope.dtype == fused_slope.dtype == dtype


def test_the_kernel_runs_only_for_sigmoid_and_tanh():
    kernels.set_backend("numba")
    x = np.zeros((1, 1, 4), np.float32)
    default = layers.LSTM(2)
    default.build(x.shape)
    other = layers.LSTM(2, activation="relu")
    other.build(x.shape)
    assert default.cell._fused(np.float32) and default.cell._fused(np.float64)
    assert not other.cell._fused(np.float32)
    assert not default.cell._fused(np.float16)
    kernels.set_backend("numpy")
    assert not default.cell._fused(np.float32)
