"""Regression losses: how far real-valued predictions are from real-valued targets.

Each is averaged over the last axis, so a sample with several outputs gets
one loss; the reduction then averages over samples.
"""

from __future__ import annotations

import math

import numpy as np

from gradstep.losses._ops import EPSILON, _softplus
from gradstep.losses.base import LOSSES, Loss, _per_sample


@LOSSES.register("mean_squared_error", "mse")
class MeanSquaredError(Loss):
    """Mean of the squared errors over the last axis: the regression default.

    ``loss = mean((y_pred - y_true)^2)``; slope ``2 (y_pred - y_true) / d``
    (``d`` the size of the last axis). Use for regression with a linear last
    layer; large errors dominate, so outliers pull hard.

    Example:

        >>> import numpy as np
        >>> loss = MeanSquaredError()
        >>> float(loss(np.array([[20.0], [3.0], [1.0]]), np.array([[10.0], [8.0], [6.0]])))
        50.0
    """

    name = "mean_squared_error"

    def call(self, y_true, y_pred):
        return np.mean(np.square(y_pred - y_true), axis=-1)

    def call_gradient(self, y_true, y_pred):
        error = y_pred - y_true
        return 2 * error / error.shape[-1]


@LOSSES.register("mean_absolute_error", "mae")
class MeanAbsoluteError(Loss):
    """Mean of the absolute errors over the last axis.

    ``loss = mean(|y_pred - y_true|)``; slope ``sign(y_pred - y_true) / d``
    (0 where the error is exactly 0). Use for regression that should not be
    pulled by outliers (it estimates the median); linear last layer.

    Example:

        >>> float(MeanAbsoluteError()([[1.0, 2.0]], [[2.0, 0.0]]))
        1.5
    """

    name = "mean_absolute_error"

    def call(self, y_true, y_pred):
        return np.mean(np.abs(y_pred - y_true), axis=-1)

    def call_gradient(self, y_true, y_pred):
        error = y_pred - y_true
        return np.sign(error) / error.shape[-1]


@LOSSES.register("mean_absolute_percentage_error", "mape")
class MeanAbsolutePercentageError(Loss):
    """Mean absolute error relative to the target, in percent.

    ``loss = 100 mean(|y_true - y_pred| / max(|y_true|, 1e-7))``; slope
    ``100 sign(y_pred - y_true) / (d max(|y_true|, 1e-7))``. Use for
    regression where relative error matters (targets far from 0); a target
    of 0 makes the loss explode (divided by 1e-7, as in Keras).

    Example:

        >>> float(MeanAbsolutePercentageError()([[100.0, 50.0]], [[90.0, 55.0]]))
        10.0
    """

    name = "mean_absolute_percentage_error"

    def call(self, y_true, y_pred):
        return 100 * np.mean(np.abs((y_true - y_pred) / _scale_of(y_true)), axis=-1)

    def call_gradient(self, y_true, y_pred):
        error = y_pred - y_true
        return 100 * np.sign(error) / (_scale_of(y_true) * error.shape[-1])


def _scale_of(y_true):
    # Keras's guard against dividing by a zero target.
    return np.maximum(np.abs(y_true), EPSILON)


@LOSSES.register("mean_squared_logarithmic_error", "msle")
class MeanSquaredLogarithmicError(Loss):
    """Mean squared error between ``log(1 + y)`` of the prediction and the target.

    ``loss = mean((log(1 + max(y_pred, 1e-7)) - log(1 + max(y_true, 1e-7)))^2)``;
    slope ``2 (log ratio) / (d (1 + y_pred))`` where ``y_pred > 1e-7``, else 0.
    Use for non-negative targets spanning orders of magnitude (counts,
    prices), where being off by a factor matters more than by an amount.

    Example:

        >>> round(float(MeanSquaredLogarithmicError()([[1.0]], [[3.0]])), 6)
        0.480453
    """

    name = "mean_squared_logarithmic_error"

    def call(self, y_true, y_pred):
        return np.mean(np.square(_log_ratio(y_true, y_pred)), axis=-1)

    def call_gradient(self, y_true, y_pred):
        log_ratio = _log_ratio(y_true, y_pred)
        kept = y_pred >= EPSILON
        slope = 2 * log_ratio * kept / (np.maximum(y_pred, EPSILON) + 1)
        return slope / log_ratio.shape[-1]


def _log_ratio(y_true, y_pred):
    return np.log(np.maximum(y_pred, EPSILON) + 1) - np.log(np.maximum(y_true, EPSILON) + 1)


@LOSSES.register("huber", "huber_loss")
class Huber(Loss):
    """Squared error for small errors, absolute error beyond ``delta``.

    ``loss = mean(0.5 e^2 if |e| <= delta else delta (|e| - 0.5 delta))`` with
    ``e = y_pred - y_true``; slope ``e / d`` inside, ``delta sign(e) / d``
    outside. Use for regression with outliers: smooth near 0 like MSE, robust
    far away like MAE. PyTorch's ``HuberLoss(delta)`` is the same;
    ``SmoothL1Loss(beta)`` is ``Huber(delta=beta) / beta``.

    Args:
        delta: the error at which the loss turns from quadratic to linear.

    Example:

        >>> float(Huber(delta=1.0)([[0.0, 0.0]], [[0.5, 3.0]]))
        1.3125
    """

    name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.delta = delta

    def call(self, y_true, y_pred):
        error = y_pred - y_true
        quadratic = 0.5 * np.square(error)
        linear = self.delta * np.abs(error) - 0.5 * self.delta**2
        return np.mean(np.where(np.abs(error) <= self.delta, quadratic, linear), axis=-1)

    def call_gradient(self, y_true, y_pred):
        error = y_pred - y_true
        slope = np.where(np.abs(error) <= self.delta, error, self.delta * np.sign(error))
        return slope / error.shape[-1]

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


@LOSSES.register("log_cosh", "logcosh")
class LogCosh(Loss):
    """Mean of ``log(cosh(error))``: about ``e^2 / 2`` for small errors and
    ``|e| - log 2`` for large ones.

    ``loss = mean(e + softplus(-2 e) - log 2)`` (the overflow-free form of
    ``log cosh e``); slope ``tanh(e) / d``. Use for regression that is smooth
    everywhere yet robust to outliers; linear last layer.

    Example:

        >>> round(float(LogCosh()([[0.0]], [[1.0]])), 6)
        0.433781
    """

    name = "log_cosh"

    def call(self, y_true, y_pred):
        error = y_pred - y_true
        return np.mean(error + _softplus(-2 * error) - math.log(2.0), axis=-1)

    def call_gradient(self, y_true, y_pred):
        error = y_pred - y_true
        return np.tanh(error) / error.shape[-1]


@LOSSES.register("cosine_similarity")
class CosineSimilarity(Loss):
    """Negative cosine of the angle between target and prediction.

    ``loss = -sum(y_true / |y_true| * y_pred / |y_pred|)`` along ``axis``, in
    ``[-1, 1]`` (-1 when they point the same way); norms below 1e-7 count as
    1e-7, as in Keras. Slope ``-(t - (t . u) u) / |y_pred|`` with ``t, u`` the
    unit vectors. Use when direction matters and length does not
    (embeddings, ranking by similarity).

    Args:
        axis: the axis along which the vectors lie.

    Example:

        >>> float(CosineSimilarity()([[1.0, 0.0]], [[2.0, 0.0]]))
        -1.0
    """

    name = "cosine_similarity"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name=None):
        super().__init__(reduction, name)
        self.axis = axis
        self._class_axis = axis

    def prepare(self, y_true, y_pred, targets_checked=False):
        y_true, y_pred = super().prepare(y_true, y_pred, targets_checked)
        y_true = np.broadcast_to(y_true, np.broadcast_shapes(y_true.shape, y_pred.shape))
        return self._to_last(y_true), self._to_last(y_pred)

    def call(self, y_true, y_pred):
        return -np.sum(_l2_normalize(y_true)[0] * _l2_normalize(y_pred)[0], axis=-1)

    def call_gradient(self, y_true, y_pred):
        unit_true = _l2_normalize(y_true)[0]
        unit_pred, inverse_norm, capped = _l2_normalize(y_pred)
        along = np.sum(unit_true * y_pred, axis=-1, keepdims=True)
        # Where the norm is capped at 1e-7 the scale is a constant: no second term.
        through_norm = np.where(capped, 0.0, along * y_pred * inverse_norm**3)
        return -unit_true * inverse_norm + through_norm

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize(x):
    """``x / max(|x|, 1e-7)`` along the last axis (Keras's normalize), with
    ``1 / max(|x|, 1e-7)`` and where the floor applies."""
    square_sum = np.sum(np.square(x), axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        inverse_norm = 1 / np.sqrt(square_sum)
    capped = inverse_norm >= 1 / EPSILON
    inverse_norm = np.minimum(inverse_norm, 1 / EPSILON)
    return x * inverse_norm, inverse_norm, capped


# Keras's functional forms return the loss of each sample.
def mean_squared_error(y_true, y_pred):
    """``mean((y_pred - y_true)^2)`` over the last axis, per sample."""
    return _per_sample(MeanSquaredError(), y_true, y_pred)


def mean_absolute_error(y_true, y_pred):
    """``mean(|y_pred - y_true|)`` over the last axis, per sample."""
    return _per_sample(MeanAbsoluteError(), y_true, y_pred)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 mean(|y_true - y_pred| / max(|y_true|, 1e-7))``, per sample."""
    return _per_sample(MeanAbsolutePercentageError(), y_true, y_pred)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(1 + y_pred) - log(1 + y_true))^2)``, per sample."""
    return _per_sample(MeanSquaredLogarithmicError(), y_true, y_pred)


def huber(y_true, y_pred, delta=1.0):
    """The Huber loss of each sample (see ``Huber``)."""
    return _per_sample(Huber(delta), y_true, y_pred)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)))``, per sample."""
    return _per_sample(LogCosh(), y_true, y_pred)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity of each sample's vectors along ``axis``."""
    return _per_sample(CosineSimilarity(axis), y_true, y_pred)
