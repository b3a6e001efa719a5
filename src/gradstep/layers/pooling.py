"""Pooling layers: the largest or the mean entry of each window of steps
(``MaxPooling1D``, ``AveragePooling1D``) or pixels (``MaxPooling2D``,
``AveragePooling2D``), and of the whole sample (the ``Global*`` layers).

A window of ``pool_size`` moves by ``strides`` over the spatial axes (see
``gradstep.layers.spatial`` for the 'valid' and 'same' arithmetic). As in
Keras, 'same' pads max pooling with -inf and leaves the padding out of an
average: a window that holds ``m`` real entries divides their sum by ``m``.

How it runs: the windows are never materialized. For each offset ``(i, j)``
inside the window (``pool_h * pool_w`` of them) one strided slice of the
input holds the ``(i, j)``-th entry of every window that reaches a real
entry there, so a forward pass is ``pool_h * pool_w`` whole-array operations
and a backward pass as many strided writes; nothing loops over windows.
Where windows do not overlap (``pool_size <= strides``, the usual 2x2 with
stride 2) each input entry belongs to one window at most, and backward
writes the slopes instead of adding them. (Tiling windows could also be
reached by a reshape to ``(n, h / p, p, w / p, p, c)`` and a reduction over
the window axes; NumPy reduces such short strided axes slowly, and the
position of each maximum would need a transposed copy: measured at the
MNIST convnet's sizes, that is several times slower.)

Masks, as in Keras 3: ``GlobalAveragePooling1D`` averages over the unmasked
steps only and stops the mask; every other pooling layer does not support
masking, so a mask reaching it is dropped with Keras's warning.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from gradstep import scratch
from gradstep.kernels import pooling as pool_kernels
from gradstep.layers.base import LAYERS, Layer
from gradstep.layers.spatial import (
    data_format_of,
    same_padding,
    spatial_axes,
    standardize_padding,
    standardize_tuple,
    window_outputs,
)

_AXIS_NAMES = {1: ("steps",), 2: ("height", "width")}


def _layout(rank: int, data_format: str) -> str:
    """``(batch, height, width, channels)``: the expected input, in words."""
    axes = ("batch", *_AXIS_NAMES[rank])
    named = ("channels", "features")[rank == 1]
    axes = (*axes, named) if data_format == "channels_last" else (axes[0], named, *axes[1:])
    return f"({', '.join(axes)})"


class _Windows(NamedTuple):
    """Where the windows of a pooling layer fall on inputs of one spatial shape."""

    output_lengths: tuple[int, ...]
    #: ``(k, output index, input index)`` for each offset ``k`` (row-major in
    #: the window) that reaches real entries: the windows whose ``k``-th entry
    #: is real, and those entries, as index tuples of whole arrays.
    offsets: list[tuple[int, tuple, tuple]]
    #: how many real entries each window holds, along each spatial axis.
    counts: tuple[np.ndarray, ...]
    #: no input entry lies in two windows (``pool_size <= strides``).
    disjoint: bool
    #: the offset 0 is real in every window (no padding before the input).
    first_covers_all: bool
    #: every input entry lies in exactly one window (disjoint windows that
    #: leave nothing out): backward writes every entry of its slope.
    tiles_input: bool
    #: the padding before each spatial axis ('same'), for the fused kernels.
    before: tuple[int, ...]


@functools.lru_cache(maxsize=128)
def _windows(lengths, pool_size, strides, padding, axes, ndim) -> _Windows:
    output_lengths, per_axis, pads_before = [], [], []
    for length, size, stride in zip(lengths, pool_size, strides, strict=True):
        outputs = window_outputs(length, size, stride, padding)
        before = same_padding(length, size, stride)[0] if padding == "same" else 0
        output_lengths.append(outputs)
        pads_before.append(before)
        per_axis.append([_axis_offset(i, length, outputs, stride, before) for i in range(size)])
    offsets = []
    for k, pairs in enumerate(_row_major(per_axis)):
        if any(pair is None for pair in pairs):
            continue
        output_index, input_index = [slice(None)] * ndim, [slice(None)] * ndim
        for axis, (output_slice, input_slice) in zip(axes, pairs, strict=True):
            output_index[axis], input_index[axis] = output_slice, input_slice
        offsets.append((k, tuple(output_index), tuple(input_index)))
    counts = tuple(
        _counts(pairs, outputs) for pairs, outputs in zip(per_axis, output_lengths, strict=True)
    )
    first = [pairs[0] for pairs in per_axis]
    first_covers_all = all(
        pair is not None and pair[0] == slice(0, outputs)
        for pair, outputs in zip(first, output_lengths, strict=True)
    )
    disjoint = all(size <= stride for size, stride in zip(pool_size, strides, strict=True))
    covered = all(int(c.sum()) == length for c, length in zip(counts, lengths, strict=True))
    return _Windows(
        tuple(output_lengths),
        offsets,
        counts,
        disjoint,
        first_covers_all,
        disjoint and covered,
        tuple(pads_before),
    )


def _axis_offset(offset, length, outputs, stride, before):
    """``(output slice, input slice)``: the windows whose entry at ``offset``
    along one axis is real (not padding), and those entries; None for none."""
    first = max(0, -((offset - before) // stride))  # ceil((before - offset) / stride)
    stop = min(outputs, (length - 1 + before - offset) // stride + 1)
    if first >= stop:
        return None
    start = first * stride - before + offset
    return slice(first, stop), slice(start, start + (stop - first - 1) * stride + 1, stride)


def _row_major(per_axis):
    """Every combination of one offset per axis, the last axis fastest."""
    if len(per_axis) == 1:
        return [(pair,) for pair in per_axis[0]]
    return [(a, b) for a in per_axis[0] for b in per_axis[1]]


def _counts(pairs, outputs) -> np.ndarray:
    counts = np.zeros(outputs, dtype=np.int64)
    for pair in pairs:
        if pair is not None:
            counts[pair[0]] += 1
    return counts


def _slope_buffer(input_shape, dtype, windows: _Windows) -> np.ndarray:
    """The array backward writes the input's slope into: zeros, unless every
    entry will be written."""
    return (scratch.empty if windows.tiles_input else scratch.zeros)(input_shape, dtype)


class _Pooling(Layer):
    """Base of the window pooling layers: arguments, shapes and windows."""

    #: how many spatial axes (1 for steps, 2 for pixels).
    rank = 2

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size", owner)
        strides = pool_size if strides is None else strides
        self.strides = standardize_tuple(strides, self.rank, "strides", owner)
        self.padding = standardize_padding(padding, owner)
        self.data_format = data_format_of(data_format, owner)
        self._axes = spatial_axes(self.rank, self.data_format)

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        kind = type(self).__name__
        if isinstance(input_shape, list) or len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{kind} layer {self.name!r} needs inputs of rank {self.rank + 2} "
                f"{_layout(self.rank, self.data_format)}, received input with shape {input_shape}"
            )
        if self.padding == "same":
            return
        names = _AXIS_NAMES[self.rank]
        for axis, size, name in zip(self._axes, self.pool_size, names, strict=True):
            length = input_shape[axis]
            if length is not None and length < size:
                raise ValueError(
                    f"{kind} layer {self.name!r}: the pool window ({size}) is larger than the "
                    f"input's {name} ({length}) with padding='valid'; received input with shape "
                    f"{input_shape}, read as {_layout(self.rank, self.data_format)} "
                    f"(data_format={self.data_format!r})"
                )

    def compute_output_shape(self, input_shape):
        self.check_input_shape(input_shape)
        shape = list(input_shape)
        for axis, size, stride in zip(self._axes, self.pool_size, self.strides, strict=True):
            shape[axis] = window_outputs(input_shape[axis], size, stride, self.padding)
        return tuple(shape)

    def _windows(self, input_shape) -> _Windows:
        self.check_input_shape(input_shape)
        lengths = tuple(input_shape[axis] for axis in self._axes)
        return _windows(
            lengths, self.pool_size, self.strides, self.padding, self._axes, len(input_shape)
        )

    def _output_shape(self, input_shape, windows: _Windows) -> tuple:
        shape = list(input_shape)
        for axis, length in zip(self._axes, windows.output_lengths, strict=True):
            shape[axis] = length
        return tuple(shape)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "padding": self.padding,
            "strides": self.strides,
            "data_format": self.data_format,
        }


class _MaxSaved(NamedTuple):
    input_shape: tuple
    #: the position of each window's maximum within the window (training pass).
    argmax: np.ndarray | None
    #: the input itself (inference pass), for a backward that comes anyway
    #: (a node called with ``training=False`` inside a trained model).
    inputs: np.ndarray | None


class _MaxPooling(_Pooling):
    r"""Max pooling: ``y[w] = max_{e in window w} x[e]``, the padding of 'same'
    being -inf (never the maximum of a window that holds a real entry).

    Backward: each window's slope goes to its largest entry,
    ``dx[e] = sum_{w: e = argmax(w)} g[w]``; an entry that is the largest of
    several overlapping windows receives each one's slope. On a tie, the first
    largest entry in row-major order within the window takes it all, as in
    Keras on JAX (XLA's select-and-scatter). The training pass keeps only the
    position of each window's maximum within the window: one byte per output
    for windows of up to 256 entries.
    """

    def forward(self, x, training=False):
        windows = self._windows(x.shape)
        if not training:
            return self._max(x, windows), _MaxSaved(x.shape, None, x)
        output, argmax = self._max_and_argmax(x, windows)
        return output, _MaxSaved(x.shape, argmax, None)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        windows = self._windows(saved.input_shape)
        argmax = saved.argmax
        if argmax is None:
            argmax = self._max_and_argmax(saved.inputs, windows)[1]
        grad_input = _slope_buffer(saved.input_shape, grad_wrt_output.dtype, windows)
        if pool_kernels.fused(grad_wrt_output):
            pool_kernels.max_pool_backward(
                self._channels_last(grad_wrt_output),
                self._channels_last(argmax),
                self._channels_last(grad_input),
                self.pool_size,
                self.strides,
                windows.before,
                windows.disjoint,
            )
            return grad_input, {}
        for k, output_index, input_index in windows.offsets:
            routed = np.equal(argmax[output_index], k)
            if windows.disjoint:
                np.multiply(grad_wrt_output[output_index], routed, out=grad_input[input_index])
            else:
                grad_input[input_index] += grad_wrt_output[output_index] * routed
        return grad_input, {}

    def _max(self, x, windows):
        if pool_kernels.fused(x):
            return self._max_and_argmax(x, windows)[0]
        output = self._start(x, windows)
        for k, output_index, input_index in windows.offsets:
            if k or not windows.first_covers_all:
                best = output[output_index]
                np.maximum(best, x[input_index], out=best)
        return output

    def _max_and_argmax(self, x, windows):
        index_dtype = np.min_scalar_type(math.prod(self.pool_size) - 1)
        if pool_kernels.fused(x):
            output_shape = self._output_shape(x.shape, windows)
            output = scratch.empty(output_shape, x.dtype)
            argmax = scratch.empty(output_shape, index_dtype)
            last = self._channels_last
            pool_kernels.max_pool(
                last(x), last(output), last(argmax), self.pool_size, self.strides, windows.before
            )
            return output, argmax
        output = self._start(x, windows)
        argmax = np.zeros(output.shape, dtype=index_dtype)
        larger, spare = np.empty(output.shape, dtype=bool), np.empty_like(argmax)
        for k, output_index, input_index in windows.offsets:
            if k == 0 and windows.first_covers_all:
                continue
            candidate, best = x[input_index], output[output_index]
            is_larger = np.greater(candidate, best, out=larger[output_index])
            np.maximum(best, candidate, out=best)  # NaN propagates, as in Keras
            # The offsets come in increasing order, so where this one is larger
            # it is also the largest index so far: a masked write of k is
            # max(argmax, k * is_larger), which runs far faster than np.copyto(where=).
            at = argmax[output_index]
            marks = np.multiply(is_larger, argmax.dtype.type(k), out=spare[output_index])
            np.maximum(at, marks, out=at)
        return output, argmax

    def _channels_last(self, array):
        """``array`` seen channels-last, as the fused kernels read it."""
        return array if self.data_format == "channels_last" else np.moveaxis(array, 1, -1)

    def _start(self, x, windows):
        """The output before any offset is compared: the offset-0 entries when
        they are real in every window, otherwise -inf."""
        if windows.first_covers_all:
            return x[windows.offsets[0][2]].copy()
        return np.full(self._output_shape(x.shape, windows), -np.inf, dtype=x.dtype)


class _AveragePooling(_Pooling):
    r"""Average pooling: ``y[w] = sum_{e in window w} x[e] / m_w``, with ``m_w``
    the number of real entries in the window: ``prod(pool_size)`` with
    'valid', fewer at the edges with 'same' (the padding is left out, as in
    Keras).

    Backward: each window spreads its slope evenly over its real entries,
    ``dx[e] = sum_{w containing e} g[w] / m_w``.
    """

    def forward(self, x, training=False):
        windows = self._windows(x.shape)
        total = None
        for k, output_index, input_index in windows.offsets:
            if k == 0 and windows.first_covers_all:
                total = x[input_index].copy()
            else:
                if total is None:
                    total = np.zeros(self._output_shape(x.shape, windows), dtype=x.dtype)
                total[output_index] += x[input_index]
        return total / self._window_sizes(windows, x.dtype), x.shape

    def backward(self, input_shape, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        windows = self._windows(input_shape)
        share = grad_wrt_output / self._window_sizes(windows, grad_wrt_output.dtype)
        grad_input = _slope_buffer(input_shape, share.dtype, windows)
        for _, output_index, input_index in windows.offsets:
            if windows.disjoint:
                grad_input[input_index] = share[output_index]
            else:
                grad_input[input_index] += share[output_index]
        return grad_input, {}

    def _window_sizes(self, windows, dtype):
        """``m_w``: the number ``prod(pool_size)`` when every window is whole,
        otherwise an array that broadcasts against the output."""
        pairs = zip(windows.counts, self.pool_size, strict=True)
        if all((counts == size).all() for counts, size in pairs):
            return math.prod(self.pool_size)
        sizes = np.ones((1,) * (self.rank + 2), dtype=dtype)
        for axis, counts in zip(self._axes, windows.counts, strict=True):
            shape = [1] * (self.rank + 2)
            shape[axis] = counts.size
            sizes = sizes * counts.reshape(shape).astype(dtype)
        return sizes


@LAYERS.register("MaxPooling1D")
class MaxPooling1D(_MaxPooling):
    """The largest entry of each window of steps:
    ``(batch, steps, features) -> (batch, windows, features)``,
    ``y[w] = max_{e in w} x[e]``. Backward routes each window's slope to its
    largest entry (on a tie, the first, as Keras on JAX does).

    Args:
        pool_size: the window's length, an integer (or a tuple of 1). Defaults to 2.
        strides: how far the window moves; None (the default) means ``pool_size``.
        padding: ``'valid'`` (only whole windows, the default) or ``'same'``
            (pad with -inf so that ``ceil(steps / strides)`` windows fit).
        data_format: ``'channels_last'`` ``(batch, steps, features)`` or
            ``'channels_first'`` ``(batch, features, steps)``; None means
            ``config.image_data_format()`` (``'channels_last'``).
    """

    rank = 1

    def __init__(
        self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs
    ):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@LAYERS.register("MaxPooling2D")
class MaxPooling2D(_MaxPooling):
    """The largest entry of each window of pixels:
    ``(batch, height, width, channels) -> (batch, rows, columns, channels)``
    of windows, ``y[w] = max_{e in w} x[e]``. Backward routes each window's
    slope to its largest entry (on a tie, the first in row-major order within
    the window, as Keras on JAX does); the training pass keeps one byte per
    output for it.

    Args:
        pool_size: the window, an integer or ``(height, width)``. Defaults to ``(2, 2)``.
        strides: how far the window moves, an integer or a pair; None (the
            default) means ``pool_size``.
        padding: ``'valid'`` (only whole windows, the default) or ``'same'``
            (pad with -inf so that ``ceil(length / stride)`` windows fit on each axis).
        data_format: ``'channels_last'`` ``(batch, height, width, channels)``
            or ``'channels_first'`` ``(batch, channels, height, width)``; None
            means ``config.image_data_format()`` (``'channels_last'``).
    """

    rank = 2

    def __init__(
        self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, name=None, **kwargs
    ):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@LAYERS.register("AveragePooling1D")
class AveragePooling1D(_AveragePooling):
    """The mean of each window of steps:
    ``(batch, steps, features) -> (batch, windows, features)``,
    ``y[w] = sum_{e in w} x[e] / m_w`` with ``m_w`` the window's real (not
    padding) entries. Backward spreads each window's slope evenly over them.

    Args:
        pool_size: the window's length, an integer (or a tuple of 1); required,
            as in Keras 3.
        strides: how far the window moves; None (the default) means ``pool_size``.
        padding: ``'valid'`` (only whole windows, the default) or ``'same'``
            (``ceil(steps / strides)`` windows; the padding is left out of the means).
        data_format: ``'channels_last'`` ``(batch, steps, features)`` or
            ``'channels_first'`` ``(batch, features, steps)``; None means
            ``config.image_data_format()`` (``'channels_last'``).
    """

    rank = 1

    def __init__(
        self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs
    ):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


@LAYERS.register("AveragePooling2D")
class AveragePooling2D(_AveragePooling):
    """The mean of each window of pixels:
    ``(batch, height, width, channels) -> (batch, rows, columns, channels)``
    of windows, ``y[w] = sum_{e in w} x[e] / m_w`` with ``m_w`` the window's
    real (not padding) entries. Backward spreads each window's slope evenly
    over them.

    Args:
        pool_size: the window, an integer or ``(height, width)``; required, as
            in Keras 3.
        strides: how far the window moves, an integer or a pair; None (the
            default) means ``pool_size``.
        padding: ``'valid'`` (only whole windows, the default) or ``'same'``
            (``ceil(length / stride)`` windows on each axis; the padding is
            left out of the means).
        data_format: ``'channels_last'`` ``(batch, height, width, channels)``
            or ``'channels_first'`` ``(batch, channels, height, width)``; None
            means ``config.image_data_format()`` (``'channels_last'``).
    """

    rank = 2

    def __init__(
        self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs
    ):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D


class _GlobalPooling(Layer):
    """Base of the global pooling layers: one value per channel and sample."""

    rank = 2

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.data_format = data_format_of(data_format, owner)
        if not isinstance(keepdims, bool | np.bool_):
            raise ValueError(f"{owner}: keepdims must be True or False, received {keepdims!r}")
        self.keepdims = bool(keepdims)
        self._axes = spatial_axes(self.rank, self.data_format)

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} needs inputs of rank {self.rank + 2} "
                f"{_layout(self.rank, self.data_format)}, received input with shape {input_shape}"
            )

    def compute_output_shape(self, input_shape):
        self.check_input_shape(input_shape)
        if self.keepdims:
            return tuple(1 if axis in self._axes else d for axis, d in enumerate(input_shape))
        return tuple(d for axis, d in enumerate(input_shape) if axis not in self._axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class _GlobalAveragePooling(_GlobalPooling):
    r"""``y[b, c] = sum_s x[b, s, c] / S`` over the ``S`` spatial positions.
    Backward: ``dx[b, s, c] = g[b, c] / S``."""

    def forward(self, x, training=False):
        return np.mean(x, axis=self._axes, keepdims=self.keepdims), x.shape

    def backward(self, input_shape, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        positions = math.prod(input_shape[axis] for axis in self._axes)
        share = grad_wrt_output / grad_wrt_output.dtype.type(positions)
        if not self.keepdims:
            share = np.expand_dims(share, self._axes)
        return np.broadcast_to(share, input_shape).copy(), {}


class _GlobalMaxPooling(_GlobalPooling):
    r"""``y[b, c] = max_s x[b, s, c]``. Backward: the slope goes to the largest
    entry, split evenly between tied largest entries (as JAX's ``max``
    reduction does): ``dx[b, s, c] = g[b, c] [x[b, s, c] = y[b, c]] / t[b, c]``,
    ``t`` the number of ties."""

    def forward(self, x, training=False):
        output = np.max(x, axis=self._axes, keepdims=True)
        return (output if self.keepdims else np.squeeze(output, self._axes)), (x, output)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        x, largest = saved  # x by reference: the layer before usually keeps it anyway
        is_largest = x == largest
        ties = np.sum(is_largest, axis=self._axes, keepdims=True, dtype=grad_wrt_output.dtype)
        if not self.keepdims:
            grad_wrt_output = np.expand_dims(grad_wrt_output, self._axes)
        return is_largest * (grad_wrt_output / ties), {}


@LAYERS.register("GlobalAveragePooling1D")
class GlobalAveragePooling1D(_GlobalAveragePooling):
    """The mean of each feature over all steps:
    ``(batch, steps, features) -> (batch, features)``,
    ``y[b, c] = sum_s x[b, s, c] / S``. Backward: ``dx[b, s, c] = g[b, c] / S``.

    With a mask (an ``Embedding(mask_zero=True)`` before it, or
    ``layer(x, mask=...)``), the mean over the unmasked steps only, as in
    Keras 3: ``y[b, c] = sum_s m[b, s] x[b, s, c] / n[b]`` with ``n[b] =
    sum_s m[b, s]`` (the values at masked steps are never read, so even a
    NaN there does not count). Backward: ``dx[b, s, c] = g[b, c] m[b, s] /
    n[b]``, zero at the masked steps. The mask stops here (the output has
    none). A sample whose steps are all masked has no mean (Keras returns NaN
    for it): it raises a ValueError naming the sample.

    Args:
        data_format: ``'channels_last'`` ``(batch, steps, features)`` or
            ``'channels_first'`` ``(batch, features, steps)``; None means
            ``config.image_data_format()``.
        keepdims: keep the steps axis, with length 1. Defaults to False.
    """

    rank = 1
    supports_masking = True
    forward_takes_mask = True

    def compute_mask(self, inputs, mask=None):
        """None: the steps are averaged away, and the mask with them (Keras's)."""
        return None

    def forward(self, x, training=False, mask=None):
        if mask is None:
            return super().forward(x, training)
        kept = self._kept_steps(x, mask)
        counts = np.sum(kept, axis=self._axes, keepdims=True, dtype=x.dtype)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            raise ValueError(
                f"GlobalAveragePooling1D layer {self.name!r}: every step of sample "
                f"{int(empty[0])} is masked (of the batch's {len(x)} samples, {empty.size} "
                "have no unmasked step), so it has no mean over its unmasked steps (Keras "
                "would return NaN); give each sample at least one unmasked step (a token "
                "other than 0)"
            )
        totals = np.sum(np.where(kept, x, 0), axis=self._axes, keepdims=True)
        output = totals / counts
        if not self.keepdims:
            output = np.squeeze(output, self._axes)
        return output, _MaskedMean(x.shape, kept, counts)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not isinstance(saved, _MaskedMean):
            return super().backward(saved, grad_wrt_output, input_gradient)
        if not input_gradient:
            return None, {}
        if not self.keepdims:
            grad_wrt_output = np.expand_dims(grad_wrt_output, self._axes)
        return (grad_wrt_output / saved.counts) * saved.kept, {}

    def _kept_steps(self, x, mask) -> np.ndarray:
        """The mask as booleans shaped to broadcast against ``x``: ``(batch,
        steps, 1)``, or ``(batch, 1, steps)`` for channels_first."""
        mask = np.asarray(mask, dtype=bool)
        steps = x.shape[self._axes[0]]
        if mask.shape != (len(x), steps):
            raise ValueError(
                f"GlobalAveragePooling1D layer {self.name!r} needs a mask of shape "
                f"(batch, steps) = {(len(x), steps)} for inputs of shape {x.shape} "
                f"({self.data_format}), received a mask of shape {mask.shape}"
            )
        return np.expand_dims(mask, 2 if self.data_format == "channels_last" else 1)


class _MaskedMean(NamedTuple):
    """What a masked GlobalAveragePooling1D pass keeps for backward."""

    input_shape: tuple
    kept: np.ndarray  # the mask, broadcastable against the input
    counts: np.ndarray  # the unmasked steps of each sample, (batch, 1, 1)


@LAYERS.register("GlobalAveragePooling2D")
class GlobalAveragePooling2D(_GlobalAveragePooling):
    """The mean of each channel over all pixels:
    ``(batch, height, width, channels) -> (batch, channels)``,
    ``y[b, c] = sum_s x[b, s, c] / S``. Backward: ``dx[b, s, c] = g[b, c] / S``.

    Args:
        data_format: ``'channels_last'`` ``(batch, height, width, channels)``
            or ``'channels_first'`` ``(batch, channels, height, width)``; None
            means ``config.image_data_format()``.
        keepdims: keep the height and width axes, with length 1. Defaults to False.
    """

    rank = 2


@LAYERS.register("GlobalMaxPooling1D")
class GlobalMaxPooling1D(_GlobalMaxPooling):
    """The largest entry of each feature over all steps:
    ``(batch, steps, features) -> (batch, features)``. Backward gives the
    slope to the largest entry, split evenly between tied ones (as JAX does).

    Args:
        data_format: ``'channels_last'`` ``(batch, steps, features)`` or
            ``'channels_first'`` ``(batch, features, steps)``; None means
            ``config.image_data_format()``.
        keepdims: keep the steps axis, with length 1. Defaults to False.
    """

    rank = 1


@LAYERS.register("GlobalMaxPooling2D")
class GlobalMaxPooling2D(_GlobalMaxPooling):
    """The largest entry of each channel over all pixels:
    ``(batch, height, width, channels) -> (batch, channels)``. Backward gives
    the slope to the largest entry, split evenly between tied ones (as JAX does).

    Args:
        data_format: ``'channels_last'`` ``(batch, height, width, channels)``
            or ``'channels_first'`` ``(batch, channels, height, width)``; None
            means ``config.image_data_format()``.
        keepdims: keep the height and width axes, with length 1. Defaults to False.
    """

    rank = 2


GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
