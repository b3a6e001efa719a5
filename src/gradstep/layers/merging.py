"""Merge layers: combine a list of tensors into one.

``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum`` and ``Minimum``
work entry by entry on inputs of one shape (an axis of size 1 broadcasts, as
in Keras); ``Concatenate`` joins them along an axis. Each backward pass hands
every input its share of the slope: all of it for a sum, the other factors'
product for a product, the winner's for a maximum (half each on a tie, as
JAX and PyTorch split it).

Masks (Keras's): the output of a merge is masked where any input is
unmasked, when every input carries a mask (``Concatenate``: when any does,
joining the masks along its axis). ``Multiply``, ``Maximum`` and ``Minimum``
also change values under masks, as Keras does: a masked entry counts as 1
in a product and as the other inputs' value in a maximum or minimum.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_int


class Merge(Layer):
    """Base of the entry-by-entry merge layers: checks and broadcasting."""

    #: Exactly this many inputs (Subtract), or None for two or more.
    input_count: int | None = None
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Keras's: the entries unmasked in any input, when every input is masked."""
        if mask is None or any(m is None for m in mask):
            return None
        output = mask[0]
        for m in mask[1:]:
            output = np.logical_or(output, m)
        return output

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
    """``y = x_1 * x_2 * ...``; input ``i``'s slope is ``g`` times the product of the others.

    Under masks (Keras's): a masked entry of an input counts as 1 (its slope
    is then 0), and when every input is masked the output is 0 where all of
    them are masked (no slope flows there).
    """

    forward_takes_mask = True

    def forward(self, inputs, training=False, mask=None):
        if mask is not None and any(m is not None for m in mask):
            return self._forward_masked(inputs, mask)
        output = inputs[0]
        for x in inputs[1:]:
            output = output * x
        return output, inputs

    def _forward_masked(self, inputs, mask):
        kept = [None if m is None else _spread(m, x) for x, m in zip(inputs, mask, strict=True)]
        filled = [x if k is None else np.where(k, x, 1) for x, k in zip(inputs, kept, strict=True)]
        output = filled[0]
        for x in filled[1:]:
            output = output * x
        output_kept = None
        if all(k is not None for k in kept):
            output_kept = kept[0]
            for k in kept[1:]:
                output_kept = np.logical_or(output_kept, k)
            output = np.where(output_kept, output, 0)
        return output, _MaskedProduct(inputs, filled, kept, output_kept)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not isinstance(saved, _MaskedProduct):
            return super().backward(saved, grad_wrt_output, input_gradient)
        if not input_gradient:
            return None, {}
        if saved.output_kept is not None:
            grad_wrt_output = grad_wrt_output * saved.output_kept
        slopes = self.input_slopes(saved.filled, grad_wrt_output)
        slopes = [s if k is None else s * k for s, k in zip(slopes, saved.kept, strict=True)]
        return [_unbroadcast(s, x.shape) for s, x in zip(slopes, saved.inputs, strict=True)], {}

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
    computes them; on a tie the slope is split in half, as JAX and PyTorch do.

    Under masks (Keras's ``_apply_merge_op_and_or_mask``), at each pair a
    masked entry of the new input takes the running value, then a masked
    entry of the running value (while every input so far is masked) takes
    the new input's (as just chosen); the slope follows those choices back.
    """

    _pick = staticmethod(np.maximum)
    forward_takes_mask = True

    def forward(self, inputs, training=False, mask=None):
        if mask is not None and any(m is not None for m in mask):
            return self._forward_masked(inputs, mask)
        running = [inputs[0]]
        for x in inputs[1:]:
            running.append(self._pick(running[-1], x))
        return running[-1], (inputs, running)

    def _forward_masked(self, inputs, mask):
        output, output_kept = inputs[0], _spread_or_none(mask[0], inputs[0])
        stages = []
        for x, m in zip(inputs[1:], mask[1:], strict=True):
            kept = _spread_or_none(m, x)
            chosen_x = x if kept is None else np.where(kept, x, output)
            chosen_running = (
                output if output_kept is None else np.where(output_kept, output, chosen_x)
            )
            stages.append((kept, output_kept, chosen_x, chosen_running))
            both = kept is not None and output_kept is not None
            output_kept = np.logical_or(output_kept, kept) if both else None
            output = self._pick(chosen_running, chosen_x)
        return output, _MaskedExtremum(inputs, stages)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        if isinstance(saved, _MaskedExtremum):
            return self._backward_masked(saved, grad_wrt_output), {}
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

    def _backward_masked(self, saved, grad):
        """Back through each pair: the pick (ties split in half), then the two
        ``where`` choices, from the last input to the first."""
        inputs, stages = saved
        slopes = [None] * len(inputs)
        for i in range(len(stages), 0, -1):
            kept, running_kept, chosen_x, chosen_running = stages[i - 1]
            won, tied = self._wins(chosen_x, chosen_running), chosen_x == chosen_running
            share = (won + 0.5 * tied).astype(grad.dtype)
            grad_x, grad_running = grad * share, grad * (1 - share)
            if running_kept is not None:  # chosen_running = where(running_kept, running, x)
                grad_x = grad_x + grad_running * ~running_kept
                grad_running = grad_running * running_kept
            if kept is not None:  # chosen_x = where(kept, x, running)
                grad_running = grad_running + grad_x * ~kept
                grad_x = grad_x * kept
            slopes[i] = _unbroadcast(grad_x, inputs[i].shape)
            grad = grad_running
        slopes[0] = _unbroadcast(grad, inputs[0].shape)
        return slopes


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

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Keras's: when some input is masked, the masks (all True for an
        unmasked input), spread over each input's last axis, joined along
        ``axis``, then any entry of the last axis."""
        if mask is None or all(m is None for m in mask):
            return None
        spread = [
            np.ones(np.shape(x), dtype=bool)
            if m is None
            else np.logical_or(np.expand_dims(m, -1), np.zeros(np.shape(x), dtype=bool))
            if np.ndim(m) < np.ndim(x)
            else m
            for x, m in zip(inputs, mask, strict=True)
        ]
        return np.concatenate(spread, axis=self.axis).any(axis=-1)

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


class _MaskedProduct(NamedTuple):
    inputs: list  # as given
    filled: list  # with masked entries set to 1
    kept: list  # each input's mask over its shape, None if unmasked
    output_kept: np.ndarray | None  # where the output is not zeroed


class _MaskedExtremum(NamedTuple):
    inputs: list
    stages: list  # per pair: (input's mask, running mask, chosen input, chosen running value)


def _spread(mask, x) -> np.ndarray:
    """A mask over ``x``'s leading axes, spread over its last axis (Keras's
    ``broadcast_to(expand_dims(mask, -1), shape(x))``)."""
    return np.broadcast_to(np.expand_dims(np.asarray(mask, dtype=bool), -1), x.shape)


def _spread_or_none(mask, x):
    return None if mask is None else _spread(mask, x)


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
