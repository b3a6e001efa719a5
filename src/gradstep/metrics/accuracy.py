"""The accuracy family: the share of samples whose prediction is right.

Each function returns 1 or 0 per sample; each class is the running mean of
its function (a ``MeanMetricWrapper``) with Keras's arguments and config.
"""

from __future__ import annotations

import numpy as np

from gradstep import losses
from gradstep.metrics.reduction import MeanMetricWrapper


def _rank_matched(y_true, y_pred):
    y_pred = np.asarray(y_pred)
    y_true = losses.match_rank(np.asarray(y_true, dtype=np.float64), y_pred)
    return y_true, y_pred


def accuracy(y_true, y_pred):
    """1 where ``y_pred`` equals ``y_true`` exactly."""
    y_true, y_pred = _rank_matched(y_true, y_pred)
    return (y_true == y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Share of entries where ``y_pred > threshold`` equals the 0/1 target
    (the mean over the last axis)."""
    y_true, y_pred = _rank_matched(y_true, y_pred)
    return np.mean((y_pred > threshold) == (y_true > 0.5), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """1 where the predicted class (argmax) is the one-hot target's class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape[:-1] != y_pred.shape[:-1]:
        raise ValueError(
            f"y_true and y_pred have incompatible shapes: y_true {y_true.shape}, "
            f"y_pred {y_pred.shape}"
        )
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _labels(y_true, y_pred: np.ndarray) -> np.ndarray:
    """Integer labels with one fewer axis than ``y_pred`` (a trailing 1 dropped)."""
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != y_pred.shape[:-1]:
        raise ValueError(
            f"y_true and y_pred have incompatible shapes: y_true {np.shape(y_true)} "
            f"(integer labels), y_pred {y_pred.shape}"
        )
    return labels


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the predicted class (argmax) equals the integer label."""
    y_pred = np.asarray(y_pred)
    return (y_pred.argmax(axis=-1) == _labels(y_true, y_pred)).astype(np.float64)


def _in_top_k(labels: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """1 where the label's score is among the ``k`` highest (a tie counts as
    in, as Keras's ``ops.in_top_k``; a NaN score is never in)."""
    labels = labels.astype(np.int64)
    at_label = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    at_label = np.where(np.isnan(at_label), -np.inf, at_label)
    rank = 1 + np.sum(y_pred > at_label, axis=-1)
    return (rank <= k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the one-hot target's class is among the ``k`` highest scores."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape[:-1] != y_pred.shape[:-1]:
        raise ValueError(
            f"y_true and y_pred have incompatible shapes: y_true {y_true.shape}, "
            f"y_pred {y_pred.shape}"
        )
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1 where the integer label is among the ``k`` highest scores (or, with
    ``from_sorted_ids``, among the first ``k`` ids of ``y_pred``)."""
    y_pred = np.asarray(y_pred)
    labels = _labels(y_true, y_pred)
    if from_sorted_ids:
        return np.any(labels[..., None] == y_pred[..., :k], axis=-1).astype(np.float64)
    return _in_top_k(labels, y_pred, k)


def _check_k(k, metric_class: str) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"{metric_class}: argument `k` must be an integer >= 1. Received: k={k!r}")


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary label."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of ``y_pred`` is the one-hot label's class."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of ``y_pred`` is the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the ``k`` highest scores."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        _check_k(k, "TopKCategoricalAccuracy")
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores."""

    def __init__(
        self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False
    ):
        _check_k(k, "SparseTopKCategoricalAccuracy")
        super().__init__(
            sparse_top_k_categorical_accuracy,
            name=name,
            dtype=dtype,
            k=k,
            from_sorted_ids=from_sorted_ids,
        )
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
