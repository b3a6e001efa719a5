"""Checks at the boundaries: every message names the argument, what was expected
and what was received. Called by models, layers, losses, optimizers, schedules
and callbacks before any math; an argument check is written here once, not
again beside its argument."""

from __future__ import annotations

import difflib
import math
import numbers

import numpy as np


class NotCompiledError(ValueError, RuntimeError):
    """A model trained or evaluated before ``compile()``.

    A ``ValueError``, as Keras 3 raises; also a ``RuntimeError``, which is what
    gradstep raised before, so that existing ``except`` clauses keep working.
    """


def is_int(value) -> bool:
    """An integer, NumPy's included; a bool is not one (``True`` is not a batch size)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A real number, NumPy's included; a bool is not one."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(
    value, argument: str, *, minimum=None, allow_none: bool = False, expected: str | None = None
) -> int | None:
    """An integer (see ``is_int``), at least ``minimum`` when one is given.

    Returns it as a Python ``int`` (None passes through when ``allow_none``).
    The message says what was expected: "a positive integer" for a minimum
    of 1, "a non-negative integer" for 0, "an integer >= m" otherwise,
    "an integer" for no minimum, and " or None" after it when None is allowed;
    ``expected`` replaces that phrase where the caller takes more (``'auto'``).
    """
    if value is None and allow_none:
        return None
    if is_int(value) and (minimum is None or value >= minimum):
        return int(value)
    if expected is None:
        phrases = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}
        expected = phrases.get(minimum, f"an integer >= {minimum}")
        expected += " or None" if allow_none else ""
    raise ValueError(f"{argument} must be {expected}, received {value!r}")


def check_positive_int(value, argument: str) -> int:
    """An integer >= 1: "batch_size must be a positive integer, received 0"."""
    return check_int(value, argument, minimum=1)


def check_non_negative_int(value, argument: str) -> int:
    """An integer >= 0: "initial_epoch must be a non-negative integer, received -1"."""
    return check_int(value, argument, minimum=0)


def check_real(
    value,
    argument: str,
    *,
    low=None,
    high=None,
    include_low: bool = True,
    include_high: bool = True,
    finite: bool = True,
    allow_none: bool = False,
    expected: str | None = None,
):
    """A real number (see ``is_real``) between ``low`` and ``high`` when given,
    each bound included unless ``include_low``/``include_high`` is False.

    NaN is always refused; infinity too, unless ``finite`` is False (a
    ``clipnorm`` of infinity clips nothing). Returns the value as given, so an
    int stays an int in a ``get_config`` (as Keras keeps it); None passes
    through when ``allow_none``. The message says what was expected, "a float
    in [0, 1]", "a non-negative float", "a positive float", "a finite number",
    with " or None" after it when None is allowed; ``expected`` replaces that
    phrase where a caller's wording is established ("a number in [0, 1)").
    """
    if value is None and allow_none:
        return None
    if (
        is_real(value)
        and value == value  # not NaN
        and (abs(value) != math.inf or not finite)
        and (low is None or (value >= low if include_low else value > low))
        and (high is None or (value <= high if include_high else value < high))
    ):
        return value
    if expected is None:
        expected = _real_phrase(low, high, include_low, include_high, finite)
        expected += " or None" if allow_none else ""
    raise ValueError(f"{argument} must be {expected}, received {value!r}")


def _real_phrase(low, high, include_low, include_high, finite) -> str:
    if low is not None and high is not None:
        opening, closing = "[" if include_low else "(", "]" if include_high else ")"
        return f"a float in {opening}{low}, {high}{closing}"
    if low == 0:
        return "a non-negative float" if include_low else "a positive float"
    if low is not None:
        return f"a float {'>=' if include_low else '>'} {low}"
    if high is not None:
        return f"a float {'<=' if include_high else '<'} {high}"
    return "a finite number" if finite else "a number"


def check_fraction(value, argument: str, *, include_zero: bool = True) -> float:
    """A float in [0, 1) (or (0, 1) when ``include_zero`` is False)."""
    return float(
        check_real(value, argument, low=0, high=1, include_low=include_zero, include_high=False)
    )


def check_bool(value, argument: str) -> bool:
    """True or False (NumPy's bool too); anything else is a ``TypeError``."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{argument} must be True or False, received {value!r}")
    return bool(value)


def as_float_array(values, argument: str, dtype=None) -> np.ndarray:
    """Convert to a floating array, rejecting non-numeric, empty and non-finite input.

    Integer input becomes ``dtype`` (float32 by default); floating input keeps
    its precision unless ``dtype`` is given, so float64 data trains in float64.
    """
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{argument} must be array-like, received {type(values).__name__}"
        ) from error
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{argument} must hold numbers, received an array of dtype {array.dtype}")
    if dtype is None:
        dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.float32
    array = array.astype(dtype, copy=False)
    check_finite(array, argument)
    return array


def check_finite(array: np.ndarray, argument: str) -> None:
    if array.size == 0:
        raise ValueError(
            f"{argument} is empty: expected at least one sample, received shape {array.shape}"
        )
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"{argument} must be finite, received {array[tuple(bad)].item()} "
            f"at index {tuple(int(i) for i in bad)}"
        )


def check_same_length(x: np.ndarray, y: np.ndarray, x_name: str = "x", y_name: str = "y") -> None:
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of samples, received "
            f"{x_name} with {len(x)} (shape {x.shape}) and {y_name} with {len(y)} (shape {y.shape})"
        )


def check_sparse_labels(labels: np.ndarray, num_classes: int, argument: str = "y") -> np.ndarray:
    """Integer class indices in [0, num_classes); floats holding whole numbers pass."""
    labels = np.asarray(labels)
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        raise ValueError(
            f"{argument} must hold integer class labels, received dtype {labels.dtype}"
        )
    if np.issubdtype(labels.dtype, np.floating):
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not whole.all():
            bad = labels[~whole].flat[0].item()
            raise ValueError(
                f"{argument} must hold integer class labels in [0, {num_classes}), received {bad!r}"
            )
    outside = (labels < 0) | (labels >= num_classes)
    if outside.any():
        bad = labels[outside].flat[0].item()
        raise ValueError(
            f"{argument} holds class label {bad!r}, outside the range [0, {num_classes}) "
            f"of the model's {num_classes} outputs"
        )
    return labels.astype(np.int64, copy=False)


def check_name(name, known, argument: str, kind: str) -> None:
    """``name`` must be one of ``known`` (case-insensitive); the message
    suggests the closest names and lists them all."""
    known = sorted(known)
    if isinstance(name, str) and name.lower() in known:
        return
    close = difflib.get_close_matches(str(name).lower(), known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Unknown {kind} {name!r} for {argument}.{hint} Expected one of: {', '.join(known)}."
    )


def check_shape(shape, argument: str) -> tuple:
    """The shape of one sample: a tuple of positive integers (None for a size
    that varies), e.g. ``(64,)``."""
    if is_int(shape):
        shape = (shape,)
    if not isinstance(shape, tuple | list) or not all(
        d is None or (is_int(d) and d > 0) for d in shape
    ):
        raise ValueError(
            f"{argument} must be a tuple of positive integers (None for a size that varies), "
            f"e.g. (64,), received {shape!r}"
        )
    return tuple(None if d is None else int(d) for d in shape)
