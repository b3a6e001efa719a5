"""Intersection-over-union metrics for segmentation: ``IoU``, ``MeanIoU``,
``BinaryIoU``, ``OneHotIoU`` and ``OneHotMeanIoU``.

Over every batch since the last reset the metric adds up a confusion matrix
``cm[true class, predicted class]`` of weights. For class ``c``,
``IoU_c = cm[c, c] / (row_c + column_c - cm[c, c])``; the result is the mean
over the target classes whose denominator is not 0.
"""

from __future__ import annotations

import numpy as np

from gradstep.metrics.base import Metric, as_float

_EPSILON = 1e-7


class _IoUBase(Metric):
    def __init__(
        self,
        num_classes,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        super().__init__(name=name, dtype=dtype or "int")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                f"{type(self).__name__}: argument `num_classes` must be an integer >= 1. "
                f"Received: num_classes={num_classes!r}"
            )
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(
            (num_classes, num_classes), "zeros", dtype=self.dtype, name="total_confusion_matrix"
        )

    def _as_state(self, values) -> np.ndarray:
        """Values in the metric's dtype (an integer dtype truncates, as Keras casts)."""
        return np.asarray(values).astype(self.dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        y_true = self._as_state(y_true).reshape(-1)
        y_pred = self._as_state(y_pred).reshape(-1)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: y_true and y_pred must hold as many class "
                f"ids, received {y_true.size} and {y_pred.size}"
            )
        if sample_weight is None:
            weights = np.ones(y_true.shape, dtype=self.dtype)
        else:
            weights = self._as_state(as_float(sample_weight, self, "sample_weight")).reshape(-1)
            weights = np.broadcast_to(weights, y_true.shape)
        in_bounds = (y_true >= 0) & (y_true < self.num_classes)
        in_bounds &= (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            in_bounds &= y_true != self.ignore_class
        current = np.zeros((self.num_classes, self.num_classes), dtype=self.dtype)
        np.add.at(
            current,
            (y_true[in_bounds].astype(np.int64), y_pred[in_bounds].astype(np.int64)),
            weights[in_bounds],
        )
        self.total_cm.assign_add(current)


class IoU(_IoUBase):
    """The mean intersection-over-union of the classes in ``target_class_ids``.

    Args:
        num_classes: how many classes there are.
        target_class_ids: the classes to average over.
        name: the metric's name.
        dtype: the confusion matrix's dtype (default ``'int32'``, as Keras:
            float sample weights are truncated to integers).
        ignore_class: a class id whose pixels are left out.
        sparse_y_true: whether labels (predictions) are class ids
            (True) or scores to take the argmax of along ``axis``.
        sparse_y_pred: whether labels (predictions) are class ids
            (True) or scores to take the argmax of along ``axis``.
        axis: the class axis of non-sparse inputs.
    """

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        super().__init__(
            num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )
        target_class_ids = list(target_class_ids)
        if (
            not target_class_ids
            or max(target_class_ids) >= num_classes
            or min(target_class_ids) < 0
        ):
            raise ValueError(
                f"{type(self).__name__}: target_class_ids {target_class_ids} must be class ids "
                f"in the range [0, {num_classes})."
            )
        self.target_class_ids = target_class_ids

    def result(self) -> float:
        cm = np.asarray(self.total_cm, dtype=np.float64)
        true_positives = np.diag(cm)
        denominator = cm.sum(axis=0) + cm.sum(axis=1) - true_positives
        true_positives = true_positives[self.target_class_ids]
        denominator = denominator[self.target_class_ids]
        valid = denominator > 1e-9
        iou = np.where(valid, true_positives / (denominator + _EPSILON), 0.0)
        return float(np.sum(iou) / (np.sum(valid) + _EPSILON))

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class BinaryIoU(IoU):
    """IoU of a binary task: ``y_pred >= threshold`` is class 1.

    Args:
        target_class_ids: the classes to average over (default ``(0, 1)``).
        threshold: the score from which a prediction is class 1 (default 0.5).
        name: as ``IoU``.
        dtype: as ``IoU``.
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = (as_float(y_pred, self, "y_pred") >= self.threshold).astype(self.dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }


class MeanIoU(IoU):
    """The IoU averaged over all ``num_classes`` classes (the other arguments as ``IoU``)."""

    def __init__(
        self,
        num_classes,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_true=True,
        sparse_y_pred=True,
        axis=-1,
    ):
        super().__init__(
            num_classes,
            list(range(num_classes)) if isinstance(num_classes, int) else [0],
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=sparse_y_true,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "name": self.name,
            "dtype": self.dtype,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class OneHotIoU(IoU):
    """``IoU`` with one-hot labels (and, unless ``sparse_y_pred``, scores)."""

    def __init__(
        self,
        num_classes,
        target_class_ids,
        name=None,
        dtype=None,
        ignore_class=None,
        sparse_y_pred=False,
        axis=-1,
    ):
        super().__init__(
            num_classes,
            target_class_ids,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "name": self.name,
            "dtype": self.dtype,
            "ignore_class": self.ignore_class,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


class OneHotMeanIoU(MeanIoU):
    """``MeanIoU`` with one-hot labels (and, unless ``sparse_y_pred``, scores)."""

    def __init__(
        self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1
    ):
        super().__init__(
            num_classes,
            name=name,
            dtype=dtype,
            ignore_class=ignore_class,
            sparse_y_true=False,
            sparse_y_pred=sparse_y_pred,
            axis=axis,
        )

    def get_config(self):
        return {
            "num_classes": self.num_classes,
            "name": self.name,
            "dtype": self.dtype,
            "ignore_class": self.ignore_class,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }
