"""Primitives: the ops the tape differentiates directly.

A primitive is a NumPy function and, for each argument that can carry a
slope, its vector-Jacobian product ``vjp(slope, result, *arguments)``: the
slope of the argument given the slope of the result. Every other op is
written with primitives, so its slope follows from theirs.

Arguments broadcast as in NumPy; a slope that arrives broadcast is summed
back to its argument's shape here, once, rather than in each ``vjp``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradstep.ops import tape as tape_module
from gradstep.ops.tape import Traced


class Primitive:
    """``forward(*arrays, **options)`` with one ``vjp`` per positional
    argument (None for one that carries no slope: an index, a shape)."""

    def __init__(self, name: str, forward: Callable, *vjps: Callable | None):
        self.name = name
        self.forward = forward
        self.vjps = vjps

    def __call__(self, *args, **options):
        lifted = [tape_module.lift(a) for a in args]
        values = [tape_module.unwrap(a) for a in lifted]
        result = self.forward(*values, **options)
        tape = tape_module.active()
        sources = [
            i
            for i, a in enumerate(lifted)
            if isinstance(a, Traced) and i < len(self.vjps) and self.vjps[i] is not None
        ]
        if tape is None or not sources or not _differentiable(result):
            return result

        def backward(slope):
            return [
                _reduce_to(self.vjps[i](slope, result, *values, **options), values[i])
                for i in sources
            ]

        return tape.record(result, [lifted[i] for i in sources], backward)

    def __repr__(self) -> str:
        return f"<Primitive {self.name}>"


class ListPrimitive:
    """A primitive whose first argument is a list of arrays (``concatenate``,
    ``stack``): ``vjp(slope, result, arrays, **options)`` returns the slope of
    every array of the list."""

    def __init__(self, name: str, forward: Callable, vjp: Callable):
        self.name = name
        self.forward = forward
        self.vjp = vjp

    def __call__(self, arrays, **options):
        lifted = [tape_module.lift(a) for a in arrays]
        values = [np.asarray(tape_module.unwrap(a)) for a in lifted]
        result = self.forward(values, **options)
        tape = tape_module.active()
        sources = [i for i, a in enumerate(lifted) if isinstance(a, Traced)]
        if tape is None or not sources or not _differentiable(result):
            return result

        def backward(slope):
            slopes = self.vjp(slope, result, values, **options)
            return [_reduce_to(slopes[i], values[i]) for i in sources]

        return tape.record(result, [lifted[i] for i in sources], backward)


def _differentiable(result) -> bool:
    return np.asarray(result).dtype.kind in "fc"


def _reduce_to(slope, value) -> np.ndarray | None:
    """``slope`` summed over the axes along which ``value`` was broadcast."""
    if slope is None:
        return None
    value_shape = np.shape(value)
    slope = np.asarray(slope)
    if slope.shape == value_shape:
        return slope
    extra = slope.ndim - len(value_shape)
    if extra < 0:
        return np.broadcast_to(slope, value_shape)
    if extra > 0:
        slope = slope.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, size in enumerate(value_shape) if size == 1 and slope.shape[i] != 1)
    if stretched:
        slope = slope.sum(axis=stretched, keepdims=True)
    return np.broadcast_to(slope, value_shape)
