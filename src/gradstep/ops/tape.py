"""Reverse-mode automatic differentiation: a tape of the ops a function ran.

A layer written Keras's way has a ``call`` made of ``gradstep.ops`` and no
``backward``. Its slope comes from a tape:

1. ``Tape.watch(array)`` wraps an input (or a weight) as a ``Traced`` value;
2. every op given a ``Traced`` argument computes its result as usual, and the
   tape records one entry: the result, the ``Traced`` values it came from, and
   how to pass a slope back to each (its vector-Jacobian product, ``vjp``);
3. ``Tape.gradients(output, slope)`` walks the entries backwards, from last to
   first, sending each result's slope to its arguments and summing what
   arrives at a value from several uses (the chain rule's sum over paths).

The entries are recorded in the order the ops ran, so walking them backwards
visits each value after every value computed from it: no sort is needed.

A layer's weights are plain arrays held by the layer (its optimizer updates
them in place). While a tape records, an op that receives a weight array the
tape watches treats it as that weight's ``Traced`` value, so ``call`` can use
``self.kernel`` as Keras code does.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_ACTIVE: contextvars.ContextVar[Tape | None] = contextvars.ContextVar("tape", default=None)


class Traced:
    """A value computed while a tape records: the array (``value``) and, for
    the tape, the identity by which slopes reach it.

    It behaves as an array in ``call``: ``shape``, ``dtype``, ``ndim``,
    indexing, arithmetic operators, ``.T``; and NumPy's own functions given a
    ``Traced`` (``np.exp``, ``np.mean``, ...) run the ``gradstep.ops`` op of
    the same name, so they are recorded too.
    """

    __slots__ = ("value",)
    # NumPy defers binary operators to us (array + traced runs our __radd__).
    __array_priority__ = 1000

    def __init__(self, value: np.ndarray):
        self.value = value

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)

    def __len__(self) -> int:
        return len(self.value)

    def __repr__(self) -> str:
        return f"<Traced shape={self.shape} dtype={self.dtype}>"

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a traced value cannot become a plain array while its slope is being recorded "
            "(np.asarray, float(), or a NumPy function gradstep.ops lacks): write the "
            "computation with gradstep.ops, or use ops.stop_gradient(x) where no slope is needed"
        )

    def __bool__(self) -> bool:
        raise TypeError(
            "a traced value has no truth value while its slope is being recorded: branch with "
            "ops.where or ops.cond rather than Python's if"
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _NUMPY_HANDLERS["ufunc"](ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _NUMPY_HANDLERS["function"](func, args, kwargs)


def _no_handler(*args):
    raise TypeError("NumPy functions on traced values need gradstep.ops imported")


#: Where NumPy's functions given a traced value go: ``gradstep.ops.dispatch``
#: installs itself here (``handle_numpy_with``), so that the tape, at the
#: bottom of the ops, imports none of them.
_NUMPY_HANDLERS = {"ufunc": _no_handler, "function": _no_handler}


def handle_numpy_with(ufunc_handler, function_handler) -> None:
    """Send NumPy's ufuncs and functions on traced values to these handlers."""
    _NUMPY_HANDLERS["ufunc"] = ufunc_handler
    _NUMPY_HANDLERS["function"] = function_handler


class _Entry:
    """One recorded op: its result, the traced values it came from, and the
    function that turns the result's slope into one slope per such value."""

    __slots__ = ("result", "sources", "backward")

    def __init__(self, result: Traced, sources: list[Traced], backward: Callable):
        self.result = result
        self.sources = sources
        self.backward = backward


class Tape:
    """Records the ops run on ``Traced`` values while it is the active tape
    (``with tape:``), and gives the slope of an output with respect to any of
    them (``gradients``)."""

    def __init__(self):
        self.entries: list[_Entry] = []
        self._leaves: dict[int, tuple[Any, Traced]] = {}
        self._token = None

    def __enter__(self) -> Tape:
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.reset(self._token)

    def watch(self, array) -> Traced:
        """The traced value of ``array``: an input, or a weight that ops given
        ``array`` itself will then treat as traced (looked up by identity)."""
        found = self._leaves.get(id(array))
        if found is not None and found[0] is array:
            return found[1]
        traced = Traced(array)
        self._leaves[id(array)] = (array, traced)  # holding array keeps its id unique
        return traced

    def leaf(self, array) -> Traced | None:
        """The traced value of a watched array, or None."""
        found = self._leaves.get(id(array))
        return found[1] if found is not None and found[0] is array else None

    def record(self, value, sources: Sequence[Traced], backward: Callable) -> Traced:
        """A new traced ``value`` computed from ``sources``; ``backward(slope)``
        returns the slope of each source (None where none flows)."""
        result = Traced(value)
        self.entries.append(_Entry(result, list(sources), backward))
        return result

    def gradients(self, outputs, output_slopes, sources) -> list:
        """The slope of ``sum(output_slope * output)`` over ``outputs`` with
        respect to each of ``sources`` (zeros where no path leads)."""
        slopes: dict[int, Any] = {}
        for output, slope in zip(outputs, output_slopes, strict=True):
            if isinstance(output, Traced) and slope is not None:
                _add(slopes, output, slope)
        for entry in reversed(self.entries):
            slope = slopes.pop(id(entry.result), None)
            if slope is None:
                continue
            for source, source_slope in zip(entry.sources, entry.backward(slope), strict=True):
                if source_slope is not None:
                    _add(slopes, source, source_slope)
        return [
            _cast_like(slopes.get(id(source)), source.value)
            if id(source) in slopes
            else np.zeros_like(source.value)
            for source in sources
        ]


def _add(slopes: dict, traced: Traced, slope) -> None:
    key = id(traced)
    slopes[key] = slope if key not in slopes else slopes[key] + slope


def _cast_like(slope, value: np.ndarray) -> np.ndarray:
    slope = np.asarray(slope)
    if slope.shape != value.shape:
        slope = np.broadcast_to(slope, value.shape)
    return slope.astype(value.dtype, copy=False) if value.dtype.kind == "f" else slope


def active() -> Tape | None:
    """The tape recording now, or None."""
    return _ACTIVE.get()


def operand(x):
    """An op's argument as NumPy sees it: a traced value (or a watched weight)
    stays traced; anything else becomes an array, except Python numbers,
    which keep NumPy's weak typing (``x * 2.0`` stays float32)."""
    x = lift(x)
    return x if isinstance(x, Traced | np.ndarray | float | int | bool) else np.asarray(x)


def lift(value):
    """``value`` as the op machinery sees it: a ``Traced`` for a traced value or
    a weight the active tape watches, else ``value`` unchanged."""
    if isinstance(value, Traced):
        return value
    tape = _ACTIVE.get()
    if tape is not None and isinstance(value, np.ndarray):
        leaf = tape.leaf(value)
        if leaf is not None:
            return leaf
    return value


def unwrap(value):
    """The array inside a traced value (anything else unchanged)."""
    return value.value if isinstance(value, Traced) else value


@contextlib.contextmanager
def paused():
    """Within it, nothing is recorded (``stop_gradient``, a metric's state)."""
    token = _ACTIVE.set(None)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def value_and_gradients(function, arguments: Sequence, slope=None):
    """``function(*arguments)`` and its slope with respect to each argument
    (the slope of ``sum(slope * output)``; ``slope`` defaults to ones)."""
    with Tape() as tape:
        traced = [tape.watch(np.asarray(a)) for a in arguments]
        output = function(*traced)
    value = unwrap(output)
    upstream = np.ones_like(value) if slope is None else slope
    return value, tape.gradients([output], [upstream], traced)
