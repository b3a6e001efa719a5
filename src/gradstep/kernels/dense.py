"""A Dense layer's element-wise passes around its matrix products, fused
(numba) and as NumPy twins that give the same bits.

Forward, for ``pre = x @ kernel`` (rows of ``units``)::

    pre += bias                      (in place; pre is the layer's own product)
    out = max(pre, 0)                (ReLU; NaN stays NaN, -0 becomes +0, as np.maximum)

Backward, for the slope ``grad`` at ``out``::

    slope = grad * (pre > 0)         (a new array; NaN * 0 stays NaN, as NumPy)
    bias_slope = 0 + each row of slope, in row order

NumPy sums ``axis=0`` of a C-contiguous array row after row in that order,
so the fused passes, walking each array once, give NumPy's numbers
(tests/kernels/test_dense.py). The twins are the layer's former NumPy code.
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels

_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


def fusable(*arrays: np.ndarray) -> bool:
    """Whether the fused passes fit the arrays: every one of rank 2,
    C-contiguous, aligned and writeable (``flags.carray``: what the kernels
    compiled ahead of time take), in float32 or float64 (``kernels.ready``
    then says whether they run)."""
    for array in arrays:  # (a loop: a generator costs more than the checks here)
        if not (array.ndim == 2 and array.flags.carray and array.dtype in _FLOAT_TYPES):
            return False
    return True


def bias_relu(pre: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``pre += bias`` in place, and ``max(pre, 0)`` as a new array."""
    if fusable(pre) and bias_fits(bias, pre):
        out = np.empty_like(pre)
        arguments = (pre, bias, out)
        kernel = kernels.ready_if_used(
            "dense_bias_relu", _compile_bias_relu, arguments, pre.size, fitting=True
        )
        if kernel is not None:
            kernel(*arguments)
            return out
    return bias_relu_numpy(pre, bias)


def bias_fits(bias: np.ndarray, rows: np.ndarray) -> bool:
    """Whether ``bias`` is a vector the fused passes take beside ``rows``."""
    return (
        bias.ndim == 1
        and bias.shape[0] == rows.shape[1]
        and bias.dtype == rows.dtype
        and bias.flags.carray
    )


def bias_relu_numpy(pre: np.ndarray, bias: np.ndarray) -> np.ndarray:
    pre += bias
    return np.maximum(pre, 0, dtype=pre.dtype)


def relu_slope_and_bias_slope(
    grad: np.ndarray, pre: np.ndarray, bias: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``grad * (pre > 0)`` and, with ``bias``, its rows' sum (else None)."""
    if bias and grad.dtype == pre.dtype and grad.shape == pre.shape and fusable(grad, pre):
        arguments = (grad, pre, np.empty_like(grad), np.empty(grad.shape[1], grad.dtype))
        kernel = kernels.ready_if_used(
            "dense_relu_slopes", _compile_relu_slopes, arguments, grad.size, fitting=True
        )
        if kernel is not None:
            kernel(*arguments)
            return arguments[2], arguments[3]
    return relu_slope_and_bias_slope_numpy(grad, pre, bias)


def relu_slope_and_bias_slope_numpy(grad, pre, bias):
    slope = grad * (pre > 0)
    return slope, (slope.sum(axis=0) if bias else None)


def _compile_bias_relu():
    @kernels.jit()
    def bias_relu_fused(pre, bias, out):
        rows, units = pre.shape
        for i in range(rows):
            for j in range(units):
                value = pre[i, j] + bias[j]
                pre[i, j] = value
                # as np.maximum(value, 0): NaN passes, negatives and -0 give +0
                out[i, j] = value if value > 0 or value != value else 0.0

    return bias_relu_fused


def _compile_relu_slopes():
    @kernels.jit()
    def relu_slopes_fused(grad, pre, slope, bias_slope):
        rows, units = grad.shape
        for j in range(units):
            bias_slope[j] = 0.0  # NumPy's sum starts at 0 (so -0 sums to +0)
        for i in range(rows):
            for j in range(units):
                # grad * 1 or grad * 0, as NumPy multiplies by the boolean (NaN * 0 is NaN)
                slope[i, j] = grad[i, j] * (1.0 if pre[i, j] > 0 else 0.0)
            for j in range(units):
                bias_slope[j] += slope[i, j]

    return relu_slopes_fused
