"""Stable numeric building blocks shared by the losses (private).

Each helper states why it is written the way it is: these are the places
where a naive formula overflows, loses precision or divides by zero.
"""

from __future__ import annotations

import numpy as np

# Keras's fuzz factor: probabilities are kept in [EPSILON, 1 - EPSILON] before
# log(), so that log(0) never produces -inf.
EPSILON = 1e-7


def _sigmoid(x: np.ndarray) -> np.ndarray:
    from gradstep.activations import _sigmoid as sigmoid

    return sigmoid(x)


def _softmax(x: np.ndarray) -> np.ndarray:
    from gradstep.activations import _softmax as softmax

    return softmax(x)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    # log-sum-exp with the row max subtracted: finite even for logits of +-1000.
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def _softplus(x: np.ndarray) -> np.ndarray:
    # log(1 + exp(x)) without overflow: logaddexp subtracts the larger term.
    return np.logaddexp(x, 0)


def _unclipped(p: np.ndarray, low: float = EPSILON, high: float = 1 - EPSILON) -> np.ndarray:
    """Where ``clip(p, low, high)`` passes ``p`` through, so its slope is 1.

    The bounds themselves count as inside (TensorFlow's and PyTorch's
    convention; JAX's autodiff gives half the slope exactly on a bound).
    """
    return (p >= low) & (p <= high)


def _power_slope(base: np.ndarray, exponent: float) -> np.ndarray:
    """``d/db b**exponent``, taken as 0 for exponent 0 (where ``0 * b**-1`` would be nan)."""
    if exponent == 0:
        return np.zeros_like(base)
    with np.errstate(divide="ignore", invalid="ignore"):
        return exponent * base ** (exponent - 1)


def _label_index(labels: np.ndarray) -> tuple:
    """Index of ``values[..., label]`` for every sample: ``(rows..., labels)``."""
    if labels.ndim == 1:  # the usual batch of labels: the cheap index
        return np.arange(labels.shape[0]), labels
    return (*np.indices(labels.shape, sparse=True), labels)


def _pick(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``values[..., label]`` for each sample."""
    return values[_label_index(labels)]


def _add_at_label(values: np.ndarray, labels: np.ndarray, amount) -> np.ndarray:
    """Add ``amount`` (a number, or one per sample) to ``values[..., label]`` in place."""
    values[_label_index(labels)] += amount
    return values


def _sum_to_shape(values: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``values`` over the axes that broadcasting added or stretched to reach it
    from ``shape``: the adjoint of ``np.broadcast_to(x, values.shape)``."""
    values = np.asarray(values)
    if values.shape == tuple(shape):
        return values
    extra = values.ndim - len(shape)
    values = np.sum(values, axis=tuple(range(extra))) if extra else values
    stretched = tuple(i for i, size in enumerate(shape) if size == 1 and values.shape[i] != 1)
    if stretched:
        values = np.sum(values, axis=stretched, keepdims=True)
    return values.reshape(shape)
