"""Metrics: running measures of how well the model does, reported per epoch.

A metric accumulates over batches (``update_state``) and reports a running
mean (``result``), so the number printed for an epoch is the mean over every
sample seen, not the mean of batch means.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradstep import losses
from gradstep.registry import Registry

METRICS = Registry("metric")


class Mean:
    """A weighted running mean."""

    def __init__(self, name: str = "mean"):
        self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        if isinstance(values, float) and isinstance(sample_weight, int | float):
            # One number and its weight (the model's loss and batch size, every
            # batch): Python floats add up exactly as float64 arrays would.
            self.total += float(values) * float(sample_weight)
            self.count += float(sample_weight)
            return
        values = np.asarray(values, dtype=np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += values.size
        else:
            weights = np.broadcast_to(np.asarray(sample_weight, dtype=np.float64), values.shape)
            self.total += float((values * weights).sum())
            self.count += float(weights.sum())

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """Running mean of ``fn(y_true, y_pred)`` (one value per sample)."""

    def __init__(self, fn, name: str | None = None, **fn_kwargs):
        super().__init__(name or fn.__name__)
        self.fn = fn
        self.fn_kwargs = fn_kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Share of entries where ``y_pred > threshold`` equals the 0/1 target."""
    y_pred = np.asarray(y_pred)
    y_true = losses.match_rank(np.asarray(y_true, dtype=y_pred.dtype), y_pred)
    return np.mean((y_pred > threshold) == (y_true > 0.5), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1 where the predicted class (argmax) is the one-hot target's class."""
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the predicted class (argmax) equals the integer label."""
    y_pred = np.asarray(y_pred)
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    return (y_pred.argmax(axis=-1) == labels).astype(np.float64)


METRICS.add("binary_accuracy", binary_accuracy)
METRICS.add("categorical_accuracy", categorical_accuracy)
METRICS.add("sparse_categorical_accuracy", sparse_categorical_accuracy)
for _names, _fn in (
    (("mae", "mean_absolute_error"), losses.mean_absolute_error),
    (("mse", "mean_squared_error"), losses.mean_squared_error),
):
    for _name in _names:
        METRICS.add(_name, _fn)


def accuracy_for(loss: losses.Loss | None, y_true_shape: tuple, y_pred_shape: tuple):
    """Keras's rule for ``'accuracy'``: binary when there is one output (or the
    loss is binary cross-entropy), sparse when labels are integers (one
    fewer dimension, or a last dimension of 1 against several outputs),
    categorical otherwise."""
    if y_pred_shape[-1] == 1 or isinstance(loss, losses.BinaryCrossentropy):
        return binary_accuracy
    sparse = len(y_true_shape) == len(y_pred_shape) - 1 or (
        len(y_true_shape) == len(y_pred_shape) and y_true_shape[-1] == 1
    )
    if sparse or isinstance(loss, losses.SparseCategoricalCrossentropy):
        return sparse_categorical_accuracy
    return categorical_accuracy


def get(identifier: Any, loss=None, y_true_shape=None, y_pred_shape=None) -> MeanMetricWrapper:
    """Resolve a metric name to a running-mean metric; ``'accuracy'`` (or
    ``'acc'``) picks its variant from the loss and shapes, named as given."""
    if isinstance(identifier, Mean):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return MeanMetricWrapper(accuracy_for(loss, y_true_shape, y_pred_shape), name=identifier)
    if isinstance(identifier, str):
        return MeanMetricWrapper(METRICS.lookup(identifier, "metrics"), name=identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(
        f"each metric must be a name such as 'accuracy' or a function, received {identifier!r}"
    )
