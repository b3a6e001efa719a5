"""Merge layers: combine a list of tensors into one.

``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum`` and ``Minimum``
work entry by entry on inputs of one shape (an axis of size 1 broadcasts, as
in Keras); ``Concatenate`` joins them along an axis. Each backward pass hands
every input its share of the slope: all of it for a sum, the other factors'
product for a product, the winner's for a maximum (half each on a tie, as
JAX and PyTorch split it).
"""

from __future__ import annotations

import numpy as np

from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_int


class Merge(Layer):
    """Base of the entry-by-entry merge layers: checks and broadcasting."""

    #: Exactly this many inputs (Subtract), or None for two or more.
    input_count: int | None = None

    def check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(
                f"A {type(self).__name__} layer ({self.name!r}) must be called on a list of at "
                f"least 2 inputs, received input shape {input_shape}"
            )
        if self.input_count is not None and len(input_shape) != self.input_count:
            raise ValueError(
                f"A {type(self).__name__} layer ({self.name!r}) must be called on exactly "
                f"{self.input_count} inputs, received {len(input_shape)}: {input_shape}"
            )
        self.compute_output_shape(input_shape)

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        ranks = {len(shape) for shape in input_shape}
        if len(ranks) > 1:
            raise ValueError(
                f"Inputs of layer {self.name!r} must have the same rank, received shapes "
                f"{input_shape}"
            )
        output = []
        for sizes in zip(*input_shape, strict=True):
            known = {size for size in sizes if size not in (None, 1)}
            if len(known) > 1:
                raise ValueError(
                    f"Inputs of layer {self.name!r} must have the same shape (or 1 where one "
                    f"broadcasts), received shapes {input_shape}"
                )
            output.append(known.pop() if known else (None if None in sizes else 1))
        return tuple(output)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        inputs = saved
        slopes = self.input_slopes(inputs, grad_wrt_output)
        return [_unbroadcast(s, x.shape) for s, x in zip(slopes, inputs, strict=True)], {}

    def input_slopes(self, inputs, grad_wrt_output) -> list[np.ndarray]:
        raise NotImplementedError


@LAYERS.register("Add")
class Add(Merge):
    """``y = x_1 + x_2 + ...``; each input's slope is ``g``."""

    def forward(self, inputs, training=False):
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output, inputs

    def input_slopes(self, inputs, grad_wrt_output):
        return [grad_wrt_output] * len(inputs)


@LAYERS.register("Subtract")
class Subtract(Merge):
    """``y = x_1 - x_2``; slopes ``g`` and ``-g``."""

    input_count = 2

    def forward(self, inputs, training=False):
        return inputs[0] - inputs[1], inputs

    def input_slopes(self, inputs, grad_wrt_output):
        return [grad_wrt_output, -grad_wrt_output]


@LAYERS.register("Multiply")
class Multiply(Merge):
    """``y = x_1 * x_2 * ...``; input ``i``'s slope is ``g`` times the product of the others."""

    def forward(self, inputs, training=False):
        output = inputs[0]
        for x in inputs[1:]:
            output = output * x
        return output, inputs

    def input_slopes(self, inputs, grad_wrt_output):
        slopes = []
        for i in range(len(inputs)):
            others = grad_wrt_output
            for j, x in enumerate(inputs):
                if j != i:
                    others = others * x
            slopes.append(others)
        return slopes


@LAYERS.register("Average")
class Average(Merge):
    """``y = (x_1 + ... + x_n) / n``; each input's slope is ``g / n``."""

    def forward(self, inputs, training=False):
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output / output.dtype.type(len(inputs)), inputs

    def input_slopes(self, inputs, grad_wrt_output):
        share = grad_wrt_output / grad_wrt_output.dtype.type(len(inputs))
        return [share] * len(inputs)


class _Extremum(Merge):
    """``Maximum``/``Minimum``: pairwise from the first input on, as Keras
    computes them; on a tie the slope is split in half, as JAX and PyTorch do."""

    _pick = staticmethod(np.maximum)

    def forward(self, inputs, training=False):
        running = [inputs[0]]
        for x in inputs[1:]:
            running.append(self._pick(running[-1], x))
        return running[-1], (inputs, running)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        inputs, running = saved
        slopes = [None] * len(inputs)
        grad = grad_wrt_output
        for i in range(len(inputs) - 1, 0, -1):
            previous, x = running[i - 1], inputs[i]
            won, tied = self._wins(x, previous), x == previous
            share = won + 0.5 * tied
            slopes[i] = grad * share.astype(grad.dtype)
            grad = grad * (1 - share).astype(grad.dtype)
        slopes[0] = grad
        return [_unbroadcast(s, x.shape) for s, x in zip(slopes, inputs, strict=True)], {}


@LAYERS.register("Maximum")
class Maximum(_Extremum):
    """``y = max(x_1, x_2, ...)`` entry by entry; the slope goes to the largest input."""

    _pick = staticmethod(np.maximum)

    @staticmethod
    def _wins(x, other):
        return x > other


@LAYERS.register("Minimum")
class Minimum(_Extremum):
    """``y = min(x_1, x_2, ...)`` entry by entry; the slope goes to the smallest input."""

    _pick = staticmethod(np.minimum)

    @staticmethod
    def _wins(x, other):
        return x < other


@LAYERS.register("Concatenate")
class Concatenate(Layer):
    """Joins the inputs along ``axis``; the slope is split back at the same places.

    Args:
        axis: the axis to join along. Defaults to -1 (the features).
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = check_int(axis, "axis")

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(
                f"A Concatenate layer ({self.name!r}) must be called on a list of at least 2 "
                f"inputs, received input shape {input_shape}"
            )
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        rank = len(input_shape[0])
        if any(len(shape) != rank for shape in input_shape) or not -rank <= self.axis < rank:
            raise ValueError(
                f"Concatenate layer {self.name!r} (axis={self.axis}) needs inputs of one rank "
                f"that has that axis, received shapes {input_shape}"
            )
        axis = self.axis % rank
        output = []
        for position, sizes in enumerate(zip(*input_shape, strict=True)):
            if position == axis:
                output.append(None if None in sizes else sum(sizes))
                continue
            known = {size for size in sizes if size is not None}
            if len(known) > 1:
                raise ValueError(
                    f"Concatenate layer {self.name!r} (axis={self.axis}) needs inputs whose "
                    f"shapes match except on that axis, received shapes {input_shape}"
                )
            output.append(known.pop() if known else None)
        return tuple(output)

    def forward(self, inputs, training=False):
        sizes = [x.shape[self.axis] for x in inputs]
        return np.concatenate(inputs, axis=self.axis), sizes

    def backward(self, sizes, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        return np.split(grad_wrt_output, np.cumsum(sizes)[:-1], axis=self.axis), {}

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _unbroadcast(slope: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``slope`` over the axes where an input of ``shape`` was broadcast."""
    if slope.shape == shape:
        return slope
    axes = tuple(i for i, (s, n) in enumerate(zip(slope.shape, shape, strict=True)) if n == 1 != s)
    return slope.sum(axis=axes, keepdims=True)


# Keras's functional forms: ``layers.add([a, b])`` is ``layers.Add()([a, b])``.
def add(inputs, **kwargs):
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)
