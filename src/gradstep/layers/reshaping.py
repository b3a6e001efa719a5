"""Layers that move entries without weights: ``Reshape``, ``Permute``,
``RepeatVector``, ``ZeroPadding1D``/``2D``, ``Cropping1D``/``2D`` and
``UpSampling1D``/``2D``. (``Flatten`` is in ``gradstep.layers.core``.)

Each is linear, so each backward pass is the transposed move: a reshape
back, the inverse permutation, a sum over the copies of a repeat, the slice
that drops the padding, zeros put back around a crop.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from gradstep.layers.base import LAYERS, Layer
from gradstep.layers.spatial import data_format_of, spatial_axes, standardize_tuple
from gradstep.validation import is_int


def _check_rank(layer: Layer, input_shape, rank: int, layout: str) -> None:
    if isinstance(input_shape, list) or len(input_shape) != rank:
        raise ValueError(
            f"{type(layer).__name__} layer {layer.name!r} needs inputs of rank {rank} {layout}, "
            f"received input with shape {input_shape}"
        )


def _image_layout(data_format: str) -> str:
    if data_format == "channels_last":
        return "(batch, height, width, channels)"
    return "(batch, channels, height, width)"


def _steps_layout(data_format: str = "channels_last") -> str:
    if data_format == "channels_last":
        return "(batch, steps, features)"
    return "(batch, features, steps)"


class _ShapeLayer(Layer):
    """A layer whose checks run when it is built too (before any shape arithmetic)."""

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        super().build(input_shape)


# --- Reshape, Permute, RepeatVector ---------------------------------------------------


@LAYERS.register("Reshape")
class Reshape(_ShapeLayer):
    """Gives each sample the shape ``target_shape``, entries in the same
    (row-major) order: ``(n, 2, 6) -> Reshape((3, 4)) -> (n, 3, 4)``. One
    entry may be -1: the size that keeps the number of entries.
    Backward reshapes the slope back to the input's shape.

    Args:
        target_shape: the shape of one sample (the batch axis left out).
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(target_shape)
        except TypeError:
            raise ValueError(
                f"Reshape: target_shape must be a tuple of integers, received {target_shape!r}"
            ) from None
        if not all(is_int(d) and d >= -1 for d in target_shape):
            raise ValueError(
                "Reshape: each dimension in target_shape must be a non-negative integer, or -1 "
                f"for a single unknown dimension, received target_shape={target_shape}"
            )
        if target_shape.count(-1) > 1:
            raise ValueError(
                "Reshape: there must be at most one unknown dimension (-1) in target_shape, "
                f"received target_shape={target_shape}"
            )
        self.target_shape = tuple(int(d) for d in target_shape)

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 1:
            raise ValueError(
                f"Reshape layer {self.name!r} needs one input with a batch axis, received "
                f"input with shape {input_shape}"
            )
        self._sample_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._sample_shape(input_shape))

    def _sample_shape(self, input_shape) -> tuple:
        """``target_shape`` with its -1 resolved (None when the input has an unknown size)."""
        sample = tuple(input_shape[1:])
        if None in sample:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(sample)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 not in self.target_shape and known == size:
            return self.target_shape
        if -1 in self.target_shape and known and size % known == 0:
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        raise ValueError(
            f"Reshape layer {self.name!r} cannot give samples of shape {sample} ({size} entries) "
            f"the shape target_shape={self.target_shape}: the total size must be unchanged; "
            f"received input with shape {tuple(input_shape)}"
        )

    def forward(self, x, training=False):
        return x.reshape((x.shape[0], *self._sample_shape(x.shape))), x.shape

    def backward(self, input_shape, grad_wrt_output, input_gradient=True):
        return grad_wrt_output.reshape(input_shape), {}

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


@LAYERS.register("Permute")
class Permute(_ShapeLayer):
    """Reorders the axes of each sample: ``dims`` lists the input axes in
    their new order, counted from 1 (the batch axis, 0, stays first):
    ``(n, 10, 64) -> Permute((2, 1)) -> (n, 64, 10)``. Backward applies the
    inverse permutation to the slope.

    Args:
        dims: a permutation of ``1, ..., rank - 1``.
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            dims = None
        if dims is None or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "Permute: the indices in dims must be a permutation of 1, 2, ..., n (the batch "
                f"axis, 0, stays first), received dims={dims!r}"
            )
        self.dims = tuple(int(d) for d in dims)
        self._inverse = tuple(int(a) for a in np.argsort((0, *self.dims)))

    def check_input_shape(self, input_shape):
        _check_rank(self, input_shape, len(self.dims) + 1, f"(for dims={self.dims})")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def forward(self, x, training=False):
        return np.transpose(x, (0, *self.dims)), None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        return np.transpose(grad_wrt_output, self._inverse), {}

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


@LAYERS.register("RepeatVector")
class RepeatVector(_ShapeLayer):
    """Repeats each sample ``n`` times along a new axis:
    ``(batch, features) -> (batch, n, features)``. Backward sums the slopes
    of the ``n`` copies: ``dx = sum_i g[:, i, :]``.

    Args:
        n: how many copies, a positive integer.
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not is_int(n):
            raise TypeError(f"RepeatVector: n must be an integer, received {n!r}")
        if n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive integer, received n={n}")
        self.n = int(n)

    def check_input_shape(self, input_shape):
        _check_rank(self, input_shape, 2, "(batch, features)")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, x, training=False):
        return np.repeat(x[:, np.newaxis, :], self.n, axis=1), None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        return grad_wrt_output.sum(axis=1), {}

    def get_config(self):
        return {**super().get_config(), "n": self.n}


# --- padding and cropping -------------------------------------------------------------


def _pairs(value, argument: str, owner: str) -> tuple:
    """``((before, after), (before, after))`` for the two axes of an image,
    from an integer, a pair of integers (each used on both sides of one axis)
    or a pair of pairs."""
    if is_int(value):
        pair = standardize_tuple(value, 2, argument, owner, allow_zero=True)
        return (pair, pair)
    try:
        entries = tuple(value)
    except TypeError:
        entries = ()
    if len(entries) != 2:
        raise ValueError(
            f"{owner}: {argument} must be an integer, a tuple of 2 integers (height, width) or "
            f"a tuple of 2 tuples of 2 integers ((top, bottom), (left, right)), "
            f"received {argument}={value!r}"
        )
    return tuple(
        standardize_tuple(entry, 2, f"{argument}[{i}]", owner, allow_zero=True)
        for i, entry in enumerate(entries)
    )


class _Padding(_ShapeLayer):
    """Zeros around the spatial axes: ``self.padding`` holds a
    ``(before, after)`` pair per axis. Backward keeps the slope of the real
    entries (the slice that drops the padding)."""

    rank = 1

    def check_input_shape(self, input_shape):
        _check_rank(self, input_shape, self.rank + 2, self._layout())

    def _layout(self):
        if self.rank == 2:
            return _image_layout(self.data_format)
        return _steps_layout(self.data_format)

    def _pads(self) -> list[tuple[int, int]]:
        pads = [(0, 0)] * (self.rank + 2)
        for axis, pair in zip(spatial_axes(self.rank, self.data_format), self.padding, strict=True):
            pads[axis] = pair
        return pads

    def compute_output_shape(self, input_shape):
        return tuple(
            None if d is None else d + before + after
            for d, (before, after) in zip(input_shape, self._pads(), strict=True)
        )

    def forward(self, x, training=False):
        return np.pad(x, self._pads()), None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        index = tuple(
            slice(before, size - after)
            for size, (before, after) in zip(grad_wrt_output.shape, self._pads(), strict=True)
        )
        return grad_wrt_output[index], {}

    def get_config(self):
        padding = self.padding[0] if self.rank == 1 else self.padding
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


@LAYERS.register("ZeroPadding1D")
class ZeroPadding1D(_Padding):
    """Adds zeros at the start and end of the steps axis:
    ``(batch, steps, features) -> (batch, before + steps + after, features)``.
    Backward drops the padding's slopes.

    Args:
        padding: an integer (both ends) or ``(before, after)``. Defaults to 1.
        data_format: ``'channels_last'`` ``(batch, steps, features)`` or
            ``'channels_first'`` ``(batch, features, steps)``; None means
            ``config.image_data_format()``.
    """

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = (standardize_tuple(padding, 2, "padding", "ZeroPadding1D", allow_zero=True),)
        self.data_format = data_format_of(data_format, "ZeroPadding1D")


@LAYERS.register("ZeroPadding2D")
class ZeroPadding2D(_Padding):
    """Adds rows and columns of zeros around each image. Backward drops the
    padding's slopes.

    Args:
        padding: an integer (the same on every side), ``(rows, columns)``
            (each on both sides of its axis), or
            ``((top, bottom), (left, right))``. Defaults to ``(1, 1)``.
        data_format: ``'channels_last'`` ``(batch, height, width, channels)``
            or ``'channels_first'`` ``(batch, channels, height, width)``; None
            means ``config.image_data_format()``.
    """

    rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "padding", "ZeroPadding2D")
        self.data_format = data_format_of(data_format, "ZeroPadding2D")


class _Cropping(_ShapeLayer):
    """Drops entries at the ends of the spatial axes: ``self.cropping`` holds
    a ``(before, after)`` pair per axis. Backward puts the slope back in
    place, with zeros for the dropped entries."""

    rank = 1
    data_format = "channels_last"

    def check_input_shape(self, input_shape):
        layout = _image_layout(self.data_format) if self.rank == 2 else _steps_layout()
        _check_rank(self, input_shape, self.rank + 2, layout)
        for axis, (before, after) in self._crops():
            length = input_shape[axis]
            if length is not None and before + after >= length:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r} cannot crop {before} + {after} "
                    f"entries from an axis of length {length}: cropping must leave at least one; "
                    f"received input with shape {tuple(input_shape)}, read as {layout}, "
                    f"cropping={self.cropping}"
                )

    def _crops(self):
        return zip(spatial_axes(self.rank, self.data_format), self.cropping, strict=True)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (before, after) in self._crops():
            if shape[axis] is not None:
                shape[axis] -= before + after
        return tuple(shape)

    def _index(self, shape) -> tuple:
        index = [slice(None)] * len(shape)
        for axis, (before, after) in self._crops():
            index[axis] = slice(before, shape[axis] - after)
        return tuple(index)

    def forward(self, x, training=False):
        self.check_input_shape(x.shape)
        return x[self._index(x.shape)], x.shape

    def backward(self, input_shape, grad_wrt_output, input_gradient=True):
        grad_input = np.zeros(input_shape, dtype=grad_wrt_output.dtype)
        grad_input[self._index(input_shape)] = grad_wrt_output
        return grad_input, {}


@LAYERS.register("Cropping1D")
class Cropping1D(_Cropping):
    """Drops steps at the start and end of each sequence:
    ``(batch, steps, features) -> (batch, steps - before - after, features)``.
    Backward gives the dropped steps a zero slope.

    Args:
        cropping: an integer (both ends) or ``(before, after)``. Defaults to
            ``(1, 1)``.
    """

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = (standardize_tuple(cropping, 2, "cropping", "Cropping1D", allow_zero=True),)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping[0]}


@LAYERS.register("Cropping2D")
class Cropping2D(_Cropping):
    """Drops rows and columns at the edges of each image. Backward gives the
    dropped entries a zero slope.

    Args:
        cropping: an integer (the same on every side), ``(rows, columns)``
            (each on both sides of its axis), or
            ``((top, bottom), (left, right))``. Defaults to ``((0, 0), (0, 0))``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means
            ``config.image_data_format()``.
    """

    rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "cropping", "Cropping2D")
        self.data_format = data_format_of(data_format, "Cropping2D")

    def get_config(self):
        return {
            **super().get_config(),
            "cropping": self.cropping,
            "data_format": self.data_format,
        }


# --- up-sampling ----------------------------------------------------------------------


def _repeat_slope(grad, axis: int, factor: int):
    """The slope at the input of ``np.repeat(x, factor, axis)``: the sum over
    each entry's ``factor`` copies."""
    shape = grad.shape
    split = (*shape[:axis], shape[axis] // factor, factor, *shape[axis + 1 :])
    return grad.reshape(split).sum(axis=axis + 1)


@LAYERS.register("UpSampling1D")
class UpSampling1D(_ShapeLayer):
    """Repeats each step ``size`` times:
    ``(batch, steps, features) -> (batch, steps * size, features)``.
    Backward sums the slopes of each step's copies.

    Args:
        size: the factor, a positive integer. Defaults to 2.
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not is_int(size):
            raise TypeError(f"UpSampling1D: size must be an integer, received {size!r}")
        if size <= 0:
            raise ValueError(f"UpSampling1D: size must be a positive integer, received size={size}")
        self.size = int(size)

    def check_input_shape(self, input_shape):
        _check_rank(self, input_shape, 3, _steps_layout())

    def compute_output_shape(self, input_shape):
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def forward(self, x, training=False):
        return np.repeat(x, self.size, axis=1), None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        return _repeat_slope(grad_wrt_output, 1, self.size), {}

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _triangle(distance):
    return np.maximum(0, 1 - distance)


def _keys_cubic(distance):
    """Keys's cubic kernel with a = -0.5 (JAX's 'bicubic')."""
    near = ((1.5 * distance - 2.5) * distance) * distance + 1.0
    far = ((-0.5 * distance + 2.5) * distance - 4.0) * distance + 2.0
    return np.where(distance >= 2.0, 0.0, np.where(distance >= 1.0, far, near)).astype(
        distance.dtype
    )


def _lanczos(radius):
    def kernel(distance):
        with np.errstate(invalid="ignore", divide="ignore"):
            wave = radius * np.sin(np.pi * distance) * np.sin(np.pi * distance / radius)
            value = np.where(
                distance > 1e-3,
                wave / np.where(distance != 0, np.pi**2 * distance**2, 1),
                1,
            )
        return np.where(distance > radius, 0.0, value).astype(distance.dtype)

    return kernel


#: Interpolations other than 'nearest': the kernel of JAX's ``image.resize``.
_KERNELS = {
    "bilinear": _triangle,
    "bicubic": _keys_cubic,
    "lanczos3": _lanczos(3.0),
    "lanczos5": _lanczos(5.0),
}
INTERPOLATIONS = ("nearest", *_KERNELS)


@functools.lru_cache(maxsize=64)
def resize_weights(length: int, factor: int, interpolation: str) -> np.ndarray:
    """The ``(length * factor, length)`` float32 matrix that up-samples one
    axis as Keras on JAX does (``jax.image.resize`` without antialiasing):
    output ``o`` samples the input at ``(o + 0.5) / factor - 0.5``, each
    input entry ``j`` weighs ``kernel(|sample - j|)``, and each output's
    weights are divided by their sum (so the edges repeat their entry)."""
    outputs = length * factor
    sample = (np.arange(outputs, dtype=np.float32) + 0.5) * (1.0 / factor) - 0.5
    distance = np.abs(sample[np.newaxis, :] - np.arange(length, dtype=np.float32)[:, np.newaxis])
    weights = _KERNELS[interpolation](distance).astype(np.float32)
    total = weights.sum(axis=0, keepdims=True)
    usable = np.abs(total) > 1000.0 * float(np.finfo(np.float32).eps)
    weights = np.where(usable, weights / np.where(total != 0, total, 1), 0).astype(np.float32)
    weights = np.ascontiguousarray(weights.T)
    weights.flags.writeable = False  # shared by every call (cached)
    return weights


def _along_axis(matrix: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """``matrix`` applied to every vector of ``x`` along ``axis``."""
    before, length = math.prod(x.shape[:axis]), x.shape[axis]
    stacked = x.reshape(before, length, -1)
    result = np.matmul(matrix, stacked)
    return result.reshape((*x.shape[:axis], matrix.shape[0], *x.shape[axis + 1 :]))


@LAYERS.register("UpSampling2D")
class UpSampling2D(_ShapeLayer):
    r"""Enlarges each image by ``size`` = ``(rows, columns)``.

    ``'nearest'`` repeats each row ``rows`` times and each column ``columns``
    times; backward sums the slopes of each entry's copies. The other
    interpolations are linear maps along each axis, ``Y = W_h X W_w^T`` (the
    weights of ``resize_weights``, as Keras on JAX computes them); backward
    is ``dX = W_h^T G W_w``.

    Args:
        size: the factors, an integer or a tuple of 2. Defaults to ``(2, 2)``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None means
            ``config.image_data_format()``.
        interpolation: ``'nearest'`` (the default), ``'bilinear'``,
            ``'bicubic'``, ``'lanczos3'`` or ``'lanczos5'``, the ones Keras
            on JAX accepts.
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format_of(data_format, "UpSampling2D")
        self.size = standardize_tuple(size, 2, "size", "UpSampling2D")
        name = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if name not in INTERPOLATIONS:
            raise ValueError(
                f"UpSampling2D: interpolation must be one of {INTERPOLATIONS}, "
                f"received interpolation={interpolation!r}"
            )
        self.interpolation = name
        self._axes = spatial_axes(2, self.data_format)

    def check_input_shape(self, input_shape):
        _check_rank(self, input_shape, 4, _image_layout(self.data_format))

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, factor in zip(self._axes, self.size, strict=True):
            shape[axis] = None if shape[axis] is None else shape[axis] * factor
        return tuple(shape)

    def forward(self, x, training=False):
        for axis, factor in zip(self._axes, self.size, strict=True):
            if self.interpolation == "nearest":
                x = np.repeat(x, factor, axis=axis)
            else:
                matrix = resize_weights(x.shape[axis], factor, self.interpolation)
                x = _along_axis(matrix.astype(x.dtype, copy=False), x, axis)
        return x, None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        grad = grad_wrt_output
        for axis, factor in zip(self._axes, self.size, strict=True):
            if self.interpolation == "nearest":
                grad = _repeat_slope(grad, axis, factor)
            else:
                matrix = resize_weights(grad.shape[axis] // factor, factor, self.interpolation)
                grad = _along_axis(matrix.T.astype(grad.dtype), grad, axis)
        return grad, {}

    def get_config(self):
        return {
            **super().get_config(),
            "size": self.size,
            "data_format": self.data_format,
            "interpolation": self.interpolation,
        }
