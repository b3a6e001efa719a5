"""Max pooling's two passes as fused kernels (numba), twins of the NumPy
passes in ``gradstep.layers.pooling``.

The NumPy passes take one whole-array operation per offset of the window
(four for a 2x2 window, each a pass over memory); the kernels visit each
window once, channels-last, and do for every window ``w`` (``k`` its taps in
row-major order, those on the 'same' padding left out)::

    forward:   best = -inf;  arg = 0
               for each tap k, entry e:  if x[e] > best: arg = k
                                         best = max(best, x[e])   (NaN stays)
               y[w] = best;  argmax[w] = arg
    backward:  for each tap k, entry e:  dx[e] (+)= g[w] * (1 if argmax[w] == k else 0)

``max`` is NumPy's ``np.maximum``: NaN wins, and of two equal values
(``0.0`` and ``-0.0``) the new one. Backward writes each slope where
windows do not overlap, and adds otherwise, the windows taken from the last
to the first, so that each input entry receives its windows' slopes in the
order of their taps, as the NumPy pass adds them offset after offset; both
give the same bits (tests/kernels/test_pooling.py). The product by 0 or 1
keeps what NumPy's ``g * routed`` gives for an infinite slope (NaN).

Inputs of rank 1 are seen as rank 2 with a height of one entry. The
kernels run on float32 and float64 (numba has no float16); a large batch is
split between ``kernels.threads()`` threads (one inside ``fit`` unless
``kernels.set_threads`` says otherwise).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels

#: The dtypes the kernels are compiled for.
FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def fused(x: np.ndarray) -> bool:
    """Whether the kernels run on ``x`` (numba allowed and installed, a float
    dtype it is compiled for)."""
    return x.dtype in FUSED_DTYPES and kernels.use_numba()


def _as_2d(array):
    """A channels-last array of rank 3 as rank 4 (a height of one entry)."""
    return array if array.ndim == 4 else array[:, None]


def _geometry_2d(pool, strides, before) -> tuple:
    """``(pool_h, pool_w, stride_h, stride_w, top, left)``, rank 1 as rank 2."""
    if len(pool) == 1:
        pool, strides, before = (1, *pool), (1, *strides), (0, *before)
    return (*pool, *strides, *before)


def max_pool(x, output, argmax, pool, strides, before) -> None:
    """Fill ``output`` and ``argmax`` (channels-last, one entry per window)
    with each window's largest entry of ``x`` (channels-last) and its tap."""
    arrays = (_as_2d(x), _as_2d(output), _as_2d(argmax))
    scalars = _geometry_2d(pool, strides, before)
    kernel = kernels.compiled("max_pool", _compile_forward, (*arrays, *scalars))
    kernels.split_batch(kernel, arrays, scalars)


def max_pool_backward(grad, argmax, grad_input, pool, strides, before, disjoint) -> None:
    """Route each window's slope in ``grad`` to its largest entry in
    ``grad_input`` (written where windows do not overlap, else added to it)."""
    one, zero = grad.dtype.type(1), grad.dtype.type(0)
    arrays = (_as_2d(grad), _as_2d(argmax), _as_2d(grad_input))
    scalars = (*_geometry_2d(pool, strides, before), bool(disjoint), one, zero)
    kernel = kernels.compiled("max_pool_backward", _compile_backward, (*arrays, *scalars))
    kernels.split_batch(kernel, arrays, scalars)


def _compile_forward():
    @kernels.jit()
    def max_pool(x, output, argmax, pool_h, pool_w, stride_h, stride_w, top, left):
        batch, height, width, channels = x.shape
        _, out_h, out_w, _ = output.shape
        # One window's running maxima and taps, channel by channel, in arrays
        # of the kernel's own (an int32 tap, not argmax's byte, so that LLVM
        # vectorizes the loop over channels).
        best = np.empty(channels, x.dtype)
        arg = np.empty(channels, np.int32)
        for n in range(batch):
            for oh in range(out_h):
                for ow in range(out_w):
                    for c in range(channels):
                        best[c] = -np.inf
                        arg[c] = 0
                    for i in range(pool_h):
                        row = oh * stride_h - top + i
                        if row < 0 or row >= height:
                            continue
                        for j in range(pool_w):
                            column = ow * stride_w - left + j
                            if column < 0 or column >= width:
                                continue
                            tap = i * pool_w + j
                            entries = x[n, row, column]
                            for c in range(channels):
                                value, largest = entries[c], best[c]
                                arg[c] = tap if value > largest else arg[c]
                                # np.maximum(largest, value): NaN wins, a tie takes value
                                keep = largest > value or largest != largest
                                best[c] = largest if keep else value
                    for c in range(channels):
                        output[n, oh, ow, c] = best[c]
                        argmax[n, oh, ow, c] = arg[c]

    return max_pool


def _compile_backward():
    @kernels.jit()
    def max_pool_backward(
        grad, argmax, grad_input, pool_h, pool_w, stride_h, stride_w, top, left, disjoint, one, zero
    ):
        batch, height, width, channels = grad_input.shape
        _, out_h, out_w, _ = grad.shape
        slope = np.empty(channels, grad.dtype)
        arg = np.empty(channels, np.int32)  # as in the forward kernel
        for n in range(batch):
            for oh in range(out_h - 1, -1, -1):
                for ow in range(out_w - 1, -1, -1):
                    for c in range(channels):
                        slope[c] = grad[n, oh, ow, c]
                        arg[c] = argmax[n, oh, ow, c]
                    for i in range(pool_h):
                        row = oh * stride_h - top + i
                        if row < 0 or row >= height:
                            continue
                        for j in range(pool_w):
                            column = ow * stride_w - left + j
                            if column < 0 or column >= width:
                                continue
                            tap = i * pool_w + j
                            target = grad_input[n, row, column]
                            if disjoint:
                                for c in range(channels):
                                    target[c] = slope[c] * (one if arg[c] == tap else zero)
                            else:
                                for c in range(channels):
                                    target[c] += slope[c] * (one if arg[c] == tap else zero)

    return max_pool_backward
