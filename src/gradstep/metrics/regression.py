"""Regression metrics: running means of the per-sample errors (``MeanSquaredError``,
``MeanAbsoluteError``, ``MeanAbsolutePercentageError``, ``MeanSquaredLogarithmicError``,
``LogCoshError``, ``CosineSimilarity``), ``RootMeanSquaredError`` and ``R2Score``.
"""

from __future__ import annotations

import warnings

import numpy as np

from gradstep import losses
from gradstep.metrics.base import Metric, as_float, same_rank
from gradstep.metrics.reduction import STATE_DTYPE, Mean, MeanMetricWrapper


def cosine_similarity(y_true, y_pred, axis=-1):
    """``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` per sample."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class _PlainConfig:
    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_PlainConfig, MeanMetricWrapper):
    """The running mean of ``mean((y_true - y_pred) ** 2, axis=-1)``."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_PlainConfig, MeanMetricWrapper):
    """The running mean of ``mean(|y_true - y_pred|, axis=-1)``."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_PlainConfig, MeanMetricWrapper):
    """The running mean of ``100 * mean(|y_true - y_pred| / max(|y_true|, eps), axis=-1)``."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_PlainConfig, MeanMetricWrapper):
    """The running mean of ``mean((log(1 + y_true) - log(1 + y_pred)) ** 2, axis=-1)``."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(_PlainConfig, MeanMetricWrapper):
    """The running mean of ``mean(log(cosh(y_pred - y_true)), axis=-1)``."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


class CosineSimilarity(_PlainConfig, MeanMetricWrapper):
    """The running mean of the cosine similarity of ``y_true`` and ``y_pred``
    along ``axis`` (1: same direction, -1: opposite)."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the running (weighted) mean of ``(y_true - y_pred) ** 2``."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = as_float(y_true, self, "y_true")
        y_pred = as_float(y_pred, self, "y_pred")
        y_true, y_pred = same_rank(self, y_true, y_pred)
        super().update_state((y_pred - y_true) ** 2, sample_weight=sample_weight)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """The coefficient of determination ``1 - SS_res / SS_tot`` per output
    column, over every batch since the last reset, aggregated over columns.

    Args:
        class_aggregation: ``'uniform_average'`` (default), ``'variance_weighted_average'``
            or ``None`` (one score per column).
        num_regressors: with ``p > 0``, the adjusted score
            ``1 - (1 - R2) (n - 1) / (n - p - 1)`` (``n``: entries seen).
        name: as for every metric.
        dtype: as for every metric.
    """

    def __init__(
        self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None
    ):
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError(
                f"R2Score: invalid value for argument `class_aggregation`. Expected one of "
                f"{valid}. Received: class_aggregation={class_aggregation!r}"
            )
        if (
            isinstance(num_regressors, bool)
            or not isinstance(num_regressors, int)
            or num_regressors < 0
        ):
            raise ValueError(
                "R2Score: invalid value for argument `num_regressors`. Expected an integer >= 0. "
                f"Received: num_regressors={num_regressors!r}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), "zeros", STATE_DTYPE, name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape) -> None:
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"R2Score {self.name!r} expects 2D inputs with shape (batch_size, output_dim). "
                f"Received input shapes: y_pred.shape={y_pred_shape} and "
                f"y_true.shape={y_true_shape}."
            )
        columns = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(columns, "zeros", STATE_DTYPE, name="squared_sum")
        self.sum = self.add_variable(columns, "zeros", STATE_DTYPE, name="sum")
        self.total_mse = self.add_variable(columns, "zeros", STATE_DTYPE, name="residual")
        self.count = self.add_variable(columns, "zeros", STATE_DTYPE, name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = as_float(y_true, self, "y_true")
        y_pred = as_float(y_pred, self, "y_pred")
        y_true, y_pred = same_rank(self, y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_true.shape != y_pred.shape or y_pred.shape[-1] != self.sum.shape[0]:
            raise ValueError(
                f"R2Score {self.name!r}: y_true and y_pred must have the same shape "
                f"(batch_size, {self.sum.shape[0]}), received y_true {y_true.shape}, "
                f"y_pred {y_pred.shape}"
            )
        weights = (
            np.ones(()) if sample_weight is None else as_float(sample_weight, self, "sample_weight")
        )
        if weights.ndim == 1:
            weights = weights[:, None]
        weights = np.broadcast_to(weights, y_true.shape)
        weighted_y_true = y_true * weights
        self.sum.assign_add(weighted_y_true.sum(axis=0))
        self.squared_sum.assign_add((y_true * weighted_y_true).sum(axis=0))
        self.total_mse.assign_add(((y_true - y_pred) ** 2 * weights).sum(axis=0))
        self.count.assign_add(weights.sum(axis=0))
        self.num_samples.assign_add(y_true.size)

    def result(self):
        if not self._built:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.numpy() / self.count.numpy()
            total = self.squared_sum.numpy() - self.sum.numpy() * mean
            raw_scores = 1 - self.total_mse.numpy() / total
        raw_scores = np.where(np.isinf(raw_scores), 0.0, raw_scores)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw_scores)
        elif self.class_aggregation == "variance_weighted_average":
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.sum(total * raw_scores) / np.sum(total)
        else:
            score = raw_scores
        if self.num_regressors != 0:
            n, p = float(self.num_samples), float(self.num_regressors)
            if p > n - 1:
                warnings.warn(
                    "More independent predictors than datapoints in adjusted R2 score. "
                    "Falling back to standard R2 score.",
                    stacklevel=2,
                )
            elif p == n - 1:
                warnings.warn(
                    "Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                    stacklevel=2,
                )
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return float(score) if np.ndim(score) == 0 else score

    def get_config(self):
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }
