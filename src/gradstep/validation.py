"""Checks at the boundaries: every message names the argument, what was expected
and what was received. Called by models, layers and losses before any math."""

from __future__ import annotations

import difflib
import numbers

import numpy as np


class NotCompiledError(ValueError, RuntimeError):
    """A model trained or evaluated before ``compile()``.

    A ``ValueError``, as Keras 3 raises; also a ``RuntimeError``, which is what
    gradstep raised before, so that existing ``except`` clauses keep working.
    """


def check_positive_int(value, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{argument} must be a positive integer, received {value!r}")
    return int(value)


def check_non_negative_int(value, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{argument} must be a non-negative integer, received {value!r}")
    return int(value)


def check_fraction(value, argument: str, *, include_zero: bool = True) -> float:
    """A float in [0, 1) (or (0, 1) when ``include_zero`` is False)."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    low_ok = is_number and (value >= 0 if include_zero else value > 0)
    if not (low_ok and value < 1):
        interval = "[0, 1)" if include_zero else "(0, 1)"
        raise ValueError(f"{argument} must be a float in {interval}, received {value!r}")
    return float(value)


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
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, tuple | list) or not all(
        d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0)
        for d in shape
    ):
        raise ValueError(
            f"{argument} must be a tuple of positive integers (None for a size that varies), "
            f"e.g. (64,), received {shape!r}"
        )
    return tuple(None if d is None else int(d) for d in shape)
