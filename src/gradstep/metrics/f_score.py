"""``FBetaScore`` and ``F1Score``: the F-score of each class (or their average)
over every batch since the last reset.

Per class, with ``P = TP / (TP + FP + eps)`` and ``R = TP / (TP + FN + eps)``:
``F = (1 + beta^2) P R / (beta^2 P + R + eps)``. A prediction is positive
above ``threshold``, or, without one, where it is its row's highest score.
"""

from __future__ import annotations

import numpy as np

from gradstep.metrics.base import Metric, as_float
from gradstep.metrics.reduction import STATE_DTYPE

_EPSILON = 1e-7


class FBetaScore(Metric):
    """The F-beta score, ``(1 + beta^2) P R / (beta^2 P + R)``.

    Args:
        average: ``None`` (one score per class, default), ``'micro'`` (from the
            counts summed over classes), ``'macro'`` (mean of the classes'
            scores) or ``'weighted'`` (mean weighted by each class's positives).
        beta: a float > 0; recall counts ``beta`` times as much as precision.
        threshold: a float in (0, 1]; without one, each row's highest score is
            its positive prediction.
        name: as for every metric.
        dtype: as for every metric.
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        metric_class = type(self).__name__
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                f"{metric_class}: invalid `average` argument value. Expected one of: "
                f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average!r}"
            )
        if not isinstance(beta, float):
            raise ValueError(
                f"{metric_class}: invalid `beta` argument value. It should be a Python float. "
                f"Received: beta={beta!r} of type '{type(beta)}'"
            )
        if beta <= 0.0:
            raise ValueError(
                f"{metric_class}: invalid `beta` argument value. It should be > 0. "
                f"Received: beta={beta}"
            )
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    f"{metric_class}: invalid `threshold` argument value. It should be a Python "
                    f"float. Received: threshold={threshold!r} of type '{type(threshold)}'"
                )
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(
                    f"{metric_class}: invalid `threshold` argument value. It should verify "
                    f"0 < threshold <= 1. Received: threshold={threshold}"
                )
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} expects 2D inputs with shape "
                f"(batch_size, output_dim). Received input shapes: y_pred.shape={y_pred_shape} "
                f"and y_true.shape={y_true_shape}."
            )
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for name in (
            "true_positives",
            "false_positives",
            "false_negatives",
            "intermediate_weights",
        ):
            setattr(self, name, self.add_variable(shape, "zeros", STATE_DTYPE, name=name))
        self._classes = y_pred_shape[-1]
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = as_float(y_true, self, "y_true")
        y_pred = as_float(y_pred, self, "y_pred")
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_true.shape != y_pred.shape or y_pred.shape[-1] != self._classes:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: y_true and y_pred must have the same shape "
                f"(batch_size, {self._classes}), received y_true {y_true.shape}, "
                f"y_pred {y_pred.shape}"
            )
        if self.threshold is None:
            highest = np.max(y_pred, axis=-1, keepdims=True)
            predicted = (y_pred >= highest) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weights = None if sample_weight is None else as_float(sample_weight, self, "sample_weight")

        def weighted_sum(values):
            if weights is not None:
                values = values * np.expand_dims(weights, 1)
            return np.sum(values, axis=self.axis)

        self.true_positives.assign_add(weighted_sum(predicted * y_true))
        self.false_positives.assign_add(weighted_sum(predicted * (1 - y_true)))
        self.false_negatives.assign_add(weighted_sum((1 - predicted) * y_true))
        self.intermediate_weights.assign_add(weighted_sum(y_true))

    def result(self):
        if not self._built:
            return 0.0
        tp, fp, fn = (
            self.true_positives.numpy(),
            self.false_positives.numpy(),
            self.false_negatives.numpy(),
        )
        precision = tp / (tp + fp + _EPSILON)
        recall = tp / (tp + fn + _EPSILON)
        beta2 = self.beta**2
        f_score = precision * recall / (beta2 * precision + recall + _EPSILON) * (1 + beta2)
        if self.average == "weighted":
            support = self.intermediate_weights.numpy()
            f_score = np.sum(f_score * support / (np.sum(support) + _EPSILON))
        elif self.average is not None:
            f_score = np.mean(f_score)
        return float(f_score) if np.ndim(f_score) == 0 else f_score

    def get_config(self):
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """The F1 score, ``2 P R / (P + R)`` (``FBetaScore`` with ``beta=1``)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
