"""Keras's windowed ops: ``conv``, ``depthwise_conv``, ``separable_conv``,
``conv_transpose``, ``max_pool``, ``average_pool`` and the adaptive pools.

Each is written with primitives (``pad``, ``getitem``, ``einsum``, ``max``,
``sum``), so that its slope follows from theirs. The windows of an input
``x`` (batch, spatial..., channels) are gathered by one integer index per
spatial axis, ``start[o] + k * dilation`` with ``start[o] = o * stride``:

    patches[b, o..., k..., c] = padded[b, o * stride + k * dilation, ..., c]

A convolution is then ``einsum(patches, kernel)`` over the window offsets
``k`` and the input channels; a pool is a max or mean over ``k``. The slope
of the gather is a scatter-add (``getitem``'s), so overlapping windows sum
their slopes as they should.
"""

from __future__ import annotations

import string

import numpy as np

from gradstep.ops import numpy as knp
from gradstep.ops.axes import axis_slice
from gradstep.ops.symbolic import op
from gradstep.ops.tape import lift, unwrap


def _value(x) -> np.ndarray:
    return np.asarray(unwrap(lift(x)))


def _per_axis(value, rank: int, name: str) -> tuple:
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank:
        raise ValueError(
            f"ops: {name} must be an int or {rank} ints for {rank} spatial axes, received {value!r}"
        )
    return values


def _padding_mode(padding) -> str:
    mode = str(padding).lower()
    if mode not in ("valid", "same"):
        raise ValueError(f"ops: padding must be 'valid' or 'same', received {padding!r}")
    return mode


def _channels_last(x, data_format):
    if data_format in (None, "channels_last"):
        return x
    if data_format != "channels_first":
        raise ValueError(
            "ops: data_format must be 'channels_last' or 'channels_first', "
            f"received {data_format!r}"
        )
    return knp.moveaxis(x, 1, -1)


def _restore(y, data_format):
    return y if data_format in (None, "channels_last") else knp.moveaxis(y, -1, 1)


def _pads(sizes, kernels, strides, dilations, mode):
    """(before, after) padding per spatial axis, as XLA's 'SAME' or 'VALID'."""
    pads = []
    for size, kernel, stride, dilation in zip(sizes, kernels, strides, dilations, strict=True):
        span = (kernel - 1) * dilation + 1
        if mode == "valid":
            pads.append((0, 0))
            continue
        out = -(-size // stride)
        total = max((out - 1) * stride + span - size, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def window_patches(x, kernels, strides, dilations, pads, fill=0.0):
    """``x`` (channels last) padded with ``fill`` and gathered into windows:
    shape (batch, out..., kernel..., channels)."""
    rank = len(kernels)
    padded = knp.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    sizes = _value(padded).shape[1:-1]
    index = [slice(None)]
    for axis in range(rank):
        span = (kernels[axis] - 1) * dilations[axis] + 1
        out = (sizes[axis] - span) // strides[axis] + 1
        if out <= 0:
            raise ValueError(
                f"ops: the window ({span} wide with dilation) is larger than spatial axis "
                f"{axis} of size {sizes[axis]}"
            )
        starts = np.arange(out) * strides[axis]
        offsets = np.arange(kernels[axis]) * dilations[axis]
        shape = [1] * (2 * rank)
        shape[axis] = out
        grid = starts.reshape(shape[:rank] + [1] * rank)
        shape_k = [1] * (2 * rank)
        shape_k[rank + axis] = kernels[axis]
        index.append(grid + offsets.reshape(shape_k))
    index.append(slice(None))
    return knp.getitem(padded, tuple(index))


def _geometry(x, kernels, strides, dilation_rate, padding):
    rank = _value(x).ndim - 2
    kernels = _per_axis(kernels, rank, "the kernel size")
    strides = _per_axis(strides, rank, "strides")
    dilations = _per_axis(dilation_rate, rank, "dilation_rate")
    pads = _pads(_value(x).shape[1:-1], kernels, strides, dilations, _padding_mode(padding))
    return kernels, strides, dilations, pads


@op
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (cross-correlation, as Keras's): ``kernel`` of shape
    (spatial..., in_channels / groups, out_channels).

    y[b, o, f] = sum over k, c of x_pad[b, o * s + k * d, c] * kernel[k, c, f]
    """
    x = _channels_last(inputs, data_format)
    kernel_shape = _value(kernel).shape
    rank = len(kernel_shape) - 2
    kernels, strides_, dilations, pads = _geometry(
        x, kernel_shape[:rank], strides, dilation_rate, padding
    )
    patches = window_patches(x, kernels, strides_, dilations, pads)
    channels = _value(x).shape[-1]
    groups = channels // kernel_shape[-2]
    if groups * kernel_shape[-2] != channels or kernel_shape[-1] % groups:
        raise ValueError(
            f"ops.conv: the input's {channels} channels must be a multiple of the kernel's "
            f"{kernel_shape[-2]} input channels (kernel shape {kernel_shape})"
        )
    out_letters = string.ascii_letters[:rank]
    kernel_letters = string.ascii_letters[rank : 2 * rank]
    if groups == 1:
        y = knp.einsum(
            f"z{out_letters}{kernel_letters}C,{kernel_letters}CF->z{out_letters}F",
            patches,
            kernel,
        )
    else:
        shape = _value(patches).shape
        grouped = knp.reshape(patches, (*shape[:-1], groups, kernel_shape[-2]))
        grouped_kernel = knp.reshape(
            kernel, (*kernel_shape[:-1], groups, kernel_shape[-1] // groups)
        )
        y = knp.einsum(
            f"z{out_letters}{kernel_letters}GC,{kernel_letters}CGF->z{out_letters}GF",
            grouped,
            grouped_kernel,
        )
        y = knp.reshape(y, (*_value(y).shape[:-2], kernel_shape[-1]))
    return _restore(y, data_format)


@op
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Each input channel convolved with its own ``multiplier`` filters:
    ``kernel`` of shape (spatial..., in_channels, multiplier); output channel
    ``c * multiplier + m``."""
    x = _channels_last(inputs, data_format)
    kernel_shape = _value(kernel).shape
    rank = len(kernel_shape) - 2
    kernels, strides_, dilations, pads = _geometry(
        x, kernel_shape[:rank], strides, dilation_rate, padding
    )
    patches = window_patches(x, kernels, strides_, dilations, pads)
    out_letters = string.ascii_letters[:rank]
    kernel_letters = string.ascii_letters[rank : 2 * rank]
    y = knp.einsum(
        f"z{out_letters}{kernel_letters}C,{kernel_letters}CM->z{out_letters}CM", patches, kernel
    )
    shape = _value(y).shape
    y = knp.reshape(y, (*shape[:-2], shape[-2] * shape[-1]))
    return _restore(y, data_format)


@op
def separable_conv(
    inputs,
    depthwise_kernel,
    pointwise_kernel,
    strides=1,
    padding="valid",
    data_format=None,
    dilation_rate=1,
):
    """``depthwise_conv`` followed by a 1x1 ``conv`` with ``pointwise_kernel``."""
    depthwise = depthwise_conv(
        inputs, depthwise_kernel, strides, padding, data_format, dilation_rate
    )
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


@op
def conv_transpose(
    inputs,
    kernel,
    strides=1,
    padding="valid",
    output_padding=None,
    data_format=None,
    dilation_rate=1,
):
    """The transpose of ``conv`` (its slope with respect to its input):
    ``kernel`` of shape (spatial..., out_channels, in_channels).

    The input is spread out by ``strides`` (zeros between entries), padded as
    Keras pads it for JAX, and convolved with the kernel flipped in space.
    """
    x = _channels_last(inputs, data_format)
    kernel_shape = _value(kernel).shape
    rank = len(kernel_shape) - 2
    strides_ = _per_axis(strides, rank, "strides")
    dilations = _per_axis(dilation_rate, rank, "dilation_rate")
    paddings = (
        (None,) * rank if output_padding is None else _per_axis(output_padding, rank, "padding")
    )
    mode = _padding_mode(padding)
    shape = _value(x).shape
    spread_shape = [(n - 1) * s + 1 for n, s in zip(shape[1:-1], strides_, strict=True)]
    spread = _spread(x, spread_shape, strides_)
    pads = [
        _transpose_pads(k, s, d, mode, p)
        for k, s, d, p in zip(kernel_shape[:rank], strides_, dilations, paddings, strict=True)
    ]
    flipped = knp.flip(knp.swapaxes(kernel, -1, -2), axis=tuple(range(rank)))
    patches = window_patches(spread, kernel_shape[:rank], (1,) * rank, dilations, pads)
    out_letters = string.ascii_letters[:rank]
    kernel_letters = string.ascii_letters[rank : 2 * rank]
    y = knp.einsum(
        f"z{out_letters}{kernel_letters}C,{kernel_letters}CF->z{out_letters}F", patches, flipped
    )
    return _restore(y, data_format)


def _spread(x, spread_shape, strides):
    """``x`` with ``stride - 1`` zeros between neighbours along each spatial
    axis: each entry padded with zeros after it, then flattened and cut."""
    rank = len(strides)
    y = x
    for axis in range(rank):
        stride = strides[axis]
        if stride == 1:
            continue
        # Interleave stride-1 zeros after each entry along this axis, then cut the tail.
        moved = knp.moveaxis(y, axis + 1, -1)
        expanded = knp.expand_dims(moved, -1)
        padded = knp.pad(expanded, [(0, 0)] * (np.ndim(_value(moved))) + [(0, stride - 1)])
        flat_shape = (*_value(moved).shape[:-1], _value(moved).shape[-1] * stride)
        flat = knp.reshape(padded, flat_shape)
        cut = knp.getitem(flat, (Ellipsis, slice(0, spread_shape[axis])))
        y = knp.moveaxis(cut, -1, axis + 1)
    return y


def _transpose_pads(kernel, stride, dilation, mode, output_padding):
    """Keras's padding of the spread input for ``conv_transpose`` (as for JAX)."""
    span = (kernel - 1) * dilation + 1
    if mode == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (span - 1, span - 1 + extra)
    if output_padding is None:
        total = stride + span - 2
    else:
        total = span + span % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, span - 1)
    return (left, total - left)


def _pool_geometry(x, pool_size, strides, padding):
    rank = _value(x).ndim - 2
    pool = _per_axis(pool_size, rank, "pool_size")
    strides_ = pool if strides is None else _per_axis(strides, rank, "strides")
    pads = _pads(_value(x).shape[1:-1], pool, strides_, (1,) * rank, _padding_mode(padding))
    return rank, pool, strides_, pads


@op
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The largest entry of each window (``strides`` default to ``pool_size``)."""
    x = _channels_last(inputs, data_format)
    rank, pool, strides_, pads = _pool_geometry(x, pool_size, strides, padding)
    patches = window_patches(x, pool, strides_, (1,) * rank, pads, fill=-np.inf)
    y = knp.max(patches, axis=tuple(range(rank + 1, 2 * rank + 1)))
    return _restore(y, data_format)


@op
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The mean of each window over its entries inside the input (padding
    is not counted, as in Keras)."""
    x = _channels_last(inputs, data_format)
    rank, pool, strides_, pads = _pool_geometry(x, pool_size, strides, padding)
    axes = tuple(range(rank + 1, 2 * rank + 1))
    total = knp.sum(window_patches(x, pool, strides_, (1,) * rank, pads), axis=axes)
    ones = np.ones((1, *_value(x).shape[1:-1], 1), dtype=_value(x).dtype)
    counts = np.asarray(
        unwrap(knp.sum(window_patches(ones, pool, strides_, (1,) * rank, pads), axis=axes))
    )
    return _restore(knp.divide(total, counts), data_format)


def _adaptive(inputs, output_size, data_format, reduce):
    """Windows as PyTorch's adaptive pools choose them: for output ``i`` of
    ``n`` over a length ``L``, ``[floor(i L / n), ceil((i + 1) L / n))``."""
    x = _channels_last(inputs, data_format)
    rank = _value(x).ndim - 2
    sizes = _per_axis(output_size, rank, "output_size")
    y = x
    for axis in range(rank):
        length = _value(y).shape[axis + 1]
        pieces = []
        for i in range(sizes[axis]):
            lo = (i * length) // sizes[axis]
            hi = -(-((i + 1) * length) // sizes[axis])
            window = knp.getitem(y, axis_slice(rank + 2, axis + 1, lo, hi))
            pieces.append(reduce(window, axis=axis + 1, keepdims=True))
        y = knp.concatenate(pieces, axis=axis + 1)
    return _restore(y, data_format)


@op
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed ``output_size`` (PyTorch's window rule)."""
    return _adaptive(inputs, output_size, data_format, knp.max)


@op
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed ``output_size`` (PyTorch's window rule)."""
    return _adaptive(inputs, output_size, data_format, knp.mean)
