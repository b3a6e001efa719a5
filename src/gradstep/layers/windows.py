"""Sliding windows over the spatial axes of a batch: the padding arithmetic of
Keras 3's convolutions, and the two data movements every convolution is made
of, ``im2col`` (copy each window into a row) and ``col2im`` (add each row back
where its window lies).

Arrays here are channels-last, ``(batch, *spatial, channels)``; a layer with
``data_format='channels_first'`` hands a transposed view. Along one spatial
axis, a kernel of ``k`` taps dilated by ``d`` spans ``(k - 1) d + 1`` entries;
window ``o`` starts at ``o * stride`` on the padded axis (the *canvas*), and
its tap ``t`` reads entry ``o * stride + t * d``.

    >>> geometry = conv_windows((5,), (3,), (2,), (1,), "same")
    >>> geometry.pads, geometry.output_size
    (((1, 1),), (3,))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradstep import scratch
from gradstep.kernels import windows as window_kernels
from gradstep.layers import spatial

#: The paddings of Keras 3's convolutions ('causal' only for Conv1D).
PADDINGS = ("valid", "same", "causal")


def span(kernel: int, dilation: int) -> int:
    """Entries one window covers along an axis: ``(kernel - 1) * dilation + 1``."""
    return (kernel - 1) * dilation + 1


def conv_output_length(size, kernel: int, stride: int, dilation: int, padding: str):
    """Windows along an axis of ``size`` entries (None for an unknown size).

    ``'valid'``: ``floor((size - span) / stride) + 1``, which is zero or less
    when the window does not fit; ``'same'`` and ``'causal'``:
    ``ceil(size / stride)`` (``spatial.window_outputs`` with the window's span).
    """
    return spatial.window_outputs(
        size, span(kernel, dilation), stride, "valid" if padding == "valid" else "same"
    )


def conv_padding(size: int, kernel: int, stride: int, dilation: int, padding: str):
    """``(before, after)``: the zeros a convolution adds around an axis.

    ``'same'`` adds what the last window needs beyond the input,
    ``max((out - 1) * stride + span - size, 0)``, half before (rounded down)
    and the rest after, as XLA and TensorFlow do (``spatial.same_padding``);
    ``'causal'`` adds ``span - 1`` before, so that output ``t`` sees inputs up
    to ``t`` only.
    """
    if padding == "valid":
        return (0, 0)
    if padding == "causal":
        return (span(kernel, dilation) - 1, 0)
    return spatial.same_padding(size, span(kernel, dilation), stride)


def transpose_output_length(
    size, kernel: int, stride: int, dilation: int, padding: str, output_padding
):
    """The length of a transposed convolution's output (Keras 3's arithmetic).

    ``'valid'``: ``(size - 1) * stride + span + output_padding``, with
    ``output_padding`` ``max(span, stride) - span`` by default; ``'same'``:
    ``size * stride`` by default, else
    ``(size - 1) * stride + span % 2 + output_padding``.
    """
    if size is None:
        return None
    extent = span(kernel, dilation)
    if padding == "valid":
        extra = max(extent, stride) - extent if output_padding is None else output_padding
        return (size - 1) * stride + extent + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + extent % 2 + output_padding


def transpose_crop(kernel: int, stride: int, dilation: int, padding: str, output_padding) -> int:
    """Where a transposed convolution's output starts on its canvas: the
    scattered windows cover ``(size - 1) * stride + span`` entries, and the
    output leaves out the first ``span - 1 - left`` of them, with ``left`` the
    padding JAX's ``conv_transpose`` receives from Keras 3."""
    extent = span(kernel, dilation)
    if padding == "valid":
        return 0
    if output_padding is None:
        total = stride + extent - 2
    else:
        total = extent + extent % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, extent - 1)
    return extent - 1 - left


@dataclass(frozen=True)
class Windows:
    """Where a convolution's windows lie along each spatial axis.

    Attributes:
        kernel: taps per axis.
        strides: steps between windows per axis.
        dilations: steps between taps per axis.
        pads: ``(before, after)`` zeros per axis: the canvas is the input
            with these added.
        input_size: the input's spatial shape.
        output_size: windows per axis.
    """

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    input_size: tuple[int, ...]
    output_size: tuple[int, ...]

    @property
    def canvas_size(self) -> tuple[int, ...]:
        return tuple(n + a + b for n, (a, b) in zip(self.input_size, self.pads, strict=True))

    @property
    def taps(self) -> int:
        return math.prod(self.kernel)


def conv_windows(input_size, kernel, strides, dilations, padding: str) -> Windows:
    """The windows of a convolution over an input of spatial shape ``input_size``."""
    args = list(zip(input_size, kernel, strides, dilations, strict=True))
    return Windows(
        tuple(kernel),
        tuple(strides),
        tuple(dilations),
        tuple(conv_padding(n, k, s, d, padding) for n, k, s, d in args),
        tuple(input_size),
        tuple(conv_output_length(n, k, s, d, padding) for n, k, s, d in args),
    )


def transpose_windows(
    input_size, kernel, strides, dilations, padding: str, output_padding
) -> Windows:
    """The windows of a transposed convolution whose input has spatial shape
    ``input_size``: one window per input entry, scattered onto a canvas of
    which the output is a slice. A transposed convolution is the adjoint of
    the convolution with these windows (its output being that convolution's
    input), so the two share ``im2col`` and ``col2im`` with roles swapped."""
    pads, output_size = [], []
    for i, (n, k, s, d) in enumerate(zip(input_size, kernel, strides, dilations, strict=True)):
        extra = None if output_padding is None else output_padding[i]
        length = transpose_output_length(n, k, s, d, padding, extra)
        before = transpose_crop(k, s, d, padding, extra)
        covered = (n - 1) * s + span(k, d)
        pads.append((before, max(covered - before - length, 0)))
        output_size.append(length)
    return Windows(
        kernel=tuple(kernel),
        strides=tuple(strides),
        dilations=tuple(dilations),
        pads=tuple(pads),
        input_size=tuple(output_size),  # the convolution's input is this layer's output
        output_size=tuple(input_size),  # one window per entry of this layer's input
    )


def pad(x: np.ndarray, pads) -> np.ndarray:
    """``x`` (channels-last) with zeros around its spatial axes: a new
    C-contiguous array, or ``x`` itself when there is nothing to add."""
    if not any(a or b for a, b in pads):
        return x
    canvas_shape = (
        x.shape[0],
        *(n + a + b for n, (a, b) in zip(x.shape[1:-1], pads, strict=True)),
        x.shape[-1],
    )
    canvas = scratch.zeros(canvas_shape, x.dtype)
    canvas[_interior(pads, x.shape[1:-1])] = x
    return canvas


def crop(canvas: np.ndarray, pads) -> np.ndarray:
    """The inverse of ``pad``: a view of the canvas without the padding."""
    if not any(a or b for a, b in pads):
        return canvas
    return canvas[_interior(pads, np.subtract(canvas.shape[1:-1], [a + b for a, b in pads]))]


def _interior(pads, size):
    return (slice(None), *(slice(a, a + n) for (a, _), n in zip(pads, size, strict=True)))


def im2col(canvas: np.ndarray, geometry: Windows, groups: int = 1) -> np.ndarray:
    """Every window of the (padded) canvas as a row: ``(groups, batch *
    windows, taps * channels / groups)``, C-contiguous, rows in (batch,
    window) order and columns in (tap, channel) order, the kernel's own
    order, so that one matrix product per group convolves. (The copy is
    ``gradstep.kernels.windows.im2col``: fused, or one tap at a time.)"""
    batch, channels = canvas.shape[0], canvas.shape[-1]
    width = channels // groups
    cols = scratch.empty(
        (groups, batch, *geometry.output_size, *geometry.kernel, width), canvas.dtype
    )
    window_kernels.im2col(canvas, cols, geometry.strides, geometry.dilations)
    return cols.reshape(groups, batch * math.prod(geometry.output_size), -1)


def col2im(cols: np.ndarray, geometry: Windows, batch: int, canvas=None) -> np.ndarray:
    """The adjoint of ``im2col``: a zero canvas ``(batch, *canvas, channels)``
    to which each row of ``cols`` (as ``im2col`` laid them out) is added back
    where its window lies. Overlapping windows add up, tap after tap. Given a
    ``canvas`` (the samples' part of a larger one), the rows are added to it."""
    groups = cols.shape[0]
    width = cols.shape[-1] // geometry.taps
    blocks = cols.reshape(groups, batch, *geometry.output_size, *geometry.kernel, width)
    if canvas is None:
        canvas = zero_canvas(geometry, batch, groups * width, cols.dtype)
    window_kernels.col2im(blocks, canvas, geometry.strides, geometry.dilations)
    return canvas


def zero_canvas(geometry: Windows, batch: int, channels: int, dtype) -> np.ndarray:
    """A zero (padded) canvas ``(batch, *canvas, channels)`` for ``col2im``."""
    return scratch.zeros((batch, *geometry.canvas_size, channels), dtype)
