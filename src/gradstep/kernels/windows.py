"""The data movements of the convolutions, in NumPy and fused (numba).

``im2col`` copies every window of a (padded, channels-last) canvas into a
row; ``col2im`` adds rows back onto a canvas; ``bias_relu`` and
``relu_slope`` are the passes around a convolution with a ReLU::

    im2col:      cols[g, n, o, t, c] = canvas[n, o * stride + t * dilation, g * width + c]
    col2im:      canvas[n, o * stride + t * dilation, g * width + c] += cols[g, n, o, t, c],
                 the taps t in reverse order (the last tap's rows first)
    bias_relu:   z = max(z + bias, 0), in place
    relu_slope:  dz = g * (y > 0);  dbias = sum of dz over rows, row after row

The NumPy twins move one tap at a time (a block of whole windows per tap);
the kernels (spatial rank 1 or 2) walk ``cols`` once, in its memory order.
Walking it so, each canvas entry receives its windows' rows in the order of
the windows, which is the reverse order of the taps (the later the window,
the earlier its tap that reaches a given entry); the twin of ``col2im``
therefore adds the taps in reverse, and both give the same bits
(tests/kernels/test_windows.py). ``cols`` is laid out ``(groups, batch,
*windows, *taps, channels / groups)``.

The kernels run when a group has at least ``MIN_FUSED_WIDTH`` channels: with
fewer (a first layer on grey images, a depthwise convolution), a tap's block
of whole windows is a long strided copy that NumPy moves faster than the
kernel's short innermost loop.
"""

from __future__ import annotations

import itertools

import numpy as np

from gradstep import kernels, scratch

#: Channels per group from which the window kernels run (see above).
MIN_FUSED_WIDTH = 3


def _tap_slices(tap, strides, dilations, windows):
    return tuple(
        slice(t * d, t * d + (o - 1) * s + 1, s)
        for t, d, s, o in zip(tap, dilations, strides, windows, strict=True)
    )


def _taps(cols, rank):
    return itertools.product(*(range(k) for k in cols.shape[2 + rank : 2 + 2 * rank]))


#: The dtypes the kernels are compiled for (numba has no float16).
FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _fused(cols, strides) -> bool:
    return (
        kernels.use_numba()
        and len(strides) <= 2
        and cols.shape[-1] >= MIN_FUSED_WIDTH
        and cols.dtype in FUSED_DTYPES
    )


def _as_2d(canvas, cols, strides, dilations):
    """Rank-1 arrays as rank-2 ones with a spatial axis of one entry."""
    if len(strides) == 2:
        return canvas, cols, strides, dilations
    groups, batch, windows, taps, width = cols.shape
    return (
        canvas[:, None],
        cols.reshape(groups, batch, 1, windows, 1, taps, width),
        (1, *strides),
        (1, *dilations),
    )


def _flat_arguments(canvas, cols, strides, dilations) -> tuple:
    return (canvas, cols, *strides, *dilations)


def im2col(canvas: np.ndarray, cols: np.ndarray, strides, dilations) -> None:
    """Fill ``cols`` with the windows of ``canvas`` (see the module's description)."""
    if _fused(cols, strides):
        arguments = _flat_arguments(*_as_2d(canvas, cols, strides, dilations))
        kernel = kernels.ready("im2col", _compile_im2col, arguments, cols.size)
        if kernel is not None:
            kernel(*arguments)
            return
    im2col_numpy(canvas, cols, strides, dilations)


def im2col_numpy(canvas, cols, strides, dilations) -> None:
    rank = len(strides)
    groups, width = cols.shape[0], cols.shape[-1]
    windows = cols.shape[2 : 2 + rank]
    for tap in _taps(cols, rank):
        block = canvas[(slice(None), *_tap_slices(tap, strides, dilations, windows))]
        target = cols[(slice(None), slice(None), *(slice(None),) * rank, *tap)]
        if groups == 1:
            target[0] = block
        else:
            grouped = block.reshape(*block.shape[:-1], groups, width)
            target[...] = np.moveaxis(grouped, -2, 0)


def col2im(cols: np.ndarray, canvas: np.ndarray, strides, dilations) -> None:
    """Add every row of ``cols`` onto its window of ``canvas``."""
    if _fused(cols, strides):
        canvas_2d, cols_2d, *geometry = _flat_arguments(*_as_2d(canvas, cols, strides, dilations))
        arguments = (cols_2d, canvas_2d, *geometry)
        kernel = kernels.ready("col2im", _compile_col2im, arguments, cols.size)
        if kernel is not None:
            kernel(*arguments)
            return
    col2im_numpy(cols, canvas, strides, dilations)


def col2im_numpy(cols, canvas, strides, dilations) -> None:
    rank = len(strides)
    groups, width = cols.shape[0], cols.shape[-1]
    windows = cols.shape[2 : 2 + rank]
    for tap in reversed(list(_taps(cols, rank))):
        target = canvas[(slice(None), *_tap_slices(tap, strides, dilations, windows))]
        block = cols[(slice(None), slice(None), *(slice(None),) * rank, *tap)]
        if groups == 1:
            target += block[0]
        else:
            grouped = target.reshape(*target.shape[:-1], groups, width)
            grouped += np.moveaxis(block, 0, -2)


def bias_relu(z: np.ndarray, bias: np.ndarray) -> None:
    """``z = max(z + bias, 0)`` in place, ``z`` a C-contiguous ``(rows, channels)``."""
    if z.dtype in FUSED_DTYPES and kernels.fusable(z, bias):
        arguments = (z, bias, z.dtype.type(0))
        kernel = kernels.ready("bias_relu", _compile_bias_relu, arguments, z.size)
        if kernel is not None:
            kernel(*arguments)
            return
    bias_relu_numpy(z, bias)


def bias_relu_numpy(z, bias) -> None:
    z += bias
    np.maximum(z, 0, out=z)


def relu_slope(grad: np.ndarray, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(dz, dbias)``: the slope at a ReLU's input, ``grad * (output > 0)``,
    and its sum over rows; C-contiguous ``(rows, channels)`` arrays."""
    if grad.dtype in FUSED_DTYPES and kernels.fusable(grad, output):
        one, zero = grad.dtype.type(1), grad.dtype.type(0)
        arguments = (grad, output, grad, grad[0], one, zero)  # the kernel's argument types
        kernel = kernels.ready("relu_slope", _compile_relu_slope, arguments, grad.size)
        if kernel is not None:
            slope = scratch.empty(grad.shape, grad.dtype)
            bias_slope = np.empty(grad.shape[-1], grad.dtype)
            kernel(grad, output, slope, bias_slope, one, zero)
            return slope, bias_slope
    return relu_slope_numpy(grad, output)


def relu_slope_numpy(grad, output):
    slope = np.multiply(grad, output > 0, out=scratch.empty(grad.shape, grad.dtype))
    return slope, slope.sum(axis=0)


# --- the kernels ----------------------------------------------------------------------
def _compile_im2col():
    @kernels.jit()
    def im2col(canvas, cols, stride_h, stride_w, dilation_h, dilation_w):
        groups, batch, out_h, out_w, taps_h, taps_w, width = cols.shape
        for g in range(groups):
            for n in range(batch):
                for oh in range(out_h):
                    for ow in range(out_w):
                        for i in range(taps_h):
                            row = oh * stride_h + i * dilation_h
                            for j in range(taps_w):
                                column = ow * stride_w + j * dilation_w
                                for c in range(width):
                                    cols[g, n, oh, ow, i, j, c] = canvas[
                                        n, row, column, g * width + c
                                    ]

    return im2col


def _compile_col2im():
    @kernels.jit()
    def col2im(cols, canvas, stride_h, stride_w, dilation_h, dilation_w):
        groups, batch, out_h, out_w, taps_h, taps_w, width = cols.shape
        for g in range(groups):
            for n in range(batch):
                for oh in range(out_h):
                    for ow in range(out_w):
                        for i in range(taps_h):
                            row = oh * stride_h + i * dilation_h
                            for j in range(taps_w):
                                column = ow * stride_w + j * dilation_w
                                for c in range(width):
                                    canvas[n, row, column, g * width + c] += cols[
                                        g, n, oh, ow, i, j, c
                                    ]

    return col2im


def _compile_bias_relu():
    @kernels.jit()
    def bias_relu(z, bias, zero):
        rows, channels = z.shape
        for r in range(rows):
            for c in range(channels):
                value = z[r, c] + bias[c]
                z[r, c] = zero if value <= 0 else value  # NaN stays, as np.maximum keeps it

    return bias_relu


def _compile_relu_slope():
    @kernels.jit()
    def relu_slope(grad, output, slope, bias_slope, one, zero):
        rows, channels = grad.shape
        for c in range(channels):
            bias_slope[c] = zero
        for r in range(rows):
            for c in range(channels):
                value = grad[r, c] * (one if output[r, c] > 0 else zero)
                slope[r, c] = value
                bias_slope[c] += value

    return relu_slope
