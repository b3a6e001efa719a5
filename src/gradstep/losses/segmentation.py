"""Overlap losses for segmentation: Dice and Tversky.

Both compare the predicted mask ``p`` (probabilities) with the true mask
``y`` through sums over ``axis``: with the default ``axis=None`` the whole
batch is one overlap and the loss is one number; ``axis=(1, 2)`` (for
example) gives one overlap per image.
"""

from __future__ import annotations

import numpy as np

from gradstep.losses._ops import EPSILON
from gradstep.losses.base import LOSSES, Loss, _per_sample


class _OverlapLoss(Loss):
    def __init__(self, axis, reduction, name):
        super().__init__(reduction, name)
        self.axis = tuple(axis) if isinstance(axis, list) else axis

    def prepare(self, y_true, y_pred, targets_checked=False):
        y_true, y_pred = super().prepare(y_true, y_pred, targets_checked)
        return np.broadcast_to(y_true, y_pred.shape), y_pred

    def call_gradient(self, y_true, y_pred):
        return self.call_vjp(y_true, y_pred, 1.0)

    def _sum(self, values):
        return np.sum(values, axis=self.axis, keepdims=True)

    def _per_overlap(self, values):
        """Drop the summed axes (kept as size 1 while computing the slope)."""
        return np.squeeze(values, axis=self.axis)

    def _spread(self, upstream, like):
        """``upstream`` (a number, or one per overlap) shaped to broadcast against ``like``."""
        return upstream if np.ndim(upstream) == 0 else np.reshape(upstream, self._sum(like).shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@LOSSES.register("dice")
class Dice(_OverlapLoss):
    """One minus the Dice coefficient (F1 score) of the masks.

    ``loss = 1 - 2 sum(y p) / (sum(y) + sum(p) + 1e-7)`` over ``axis``; slope
    ``-2 y / U + 2 I / U^2`` with ``I = sum(y p)``, ``U`` the denominator. Use
    for segmentation where the object is small against the background;
    last activation sigmoid (or softmax per pixel).

    Args:
        axis: the axes summed into one overlap (``None``: all of them).

    Example:

        >>> round(float(Dice()([[1.0, 0.0], [1.0, 1.0]], [[0.9, 0.1], [0.8, 0.7]])), 6)
        0.127273
    """

    name = "dice"

    def __init__(self, reduction="sum_over_batch_size", name=None, axis=None):
        super().__init__(axis, reduction, name)

    def call(self, y_true, y_pred):
        overlap, union = self._terms(y_true, y_pred)
        return self._per_overlap(1 - 2 * overlap / union)

    def call_vjp(self, y_true, y_pred, upstream):
        overlap, union = self._terms(y_true, y_pred)
        return self._spread(upstream, y_pred) * (-2 * y_true / union + 2 * overlap / union**2)

    def _terms(self, y_true, y_pred):
        overlap = self._sum(y_true * y_pred)
        return overlap, self._sum(y_true) + self._sum(y_pred) + EPSILON


@LOSSES.register("tversky")
class Tversky(_OverlapLoss):
    """One minus the Tversky index: Dice with separate weights on the two kinds
    of error.

    ``loss = 1 - I / (I + alpha sum((1 - p) y) + beta sum(p (1 - y)) + 1e-7)``
    with ``I = sum(y p)`` over ``axis``: ``alpha`` weighs missed positives,
    ``beta`` false alarms; ``alpha = beta = 0.5`` is Dice. Slope
    ``-(y V - I (y - alpha y + beta (1 - y))) / V^2`` with ``V`` the
    denominator. Use for imbalanced segmentation where one kind of error
    matters more; last activation sigmoid.

    Args:
        alpha: the weight of missed positives.
        beta: the weight of false positives.
        axis: the axes summed into one overlap (``None``: all of them).

    Example:

        >>> y_true, y_pred = [[1.0, 0.0], [1.0, 1.0]], [[0.9, 0.1], [0.8, 0.7]]
        >>> round(float(Tversky(alpha=0.7, beta=0.3)(y_true, y_pred)), 6)
        0.157895
    """

    name = "tversky"

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name=None, axis=None):
        super().__init__(axis, reduction, name)
        self.alpha = alpha
        self.beta = beta

    def call(self, y_true, y_pred):
        overlap, denominator = self._terms(y_true, y_pred)
        return self._per_overlap(1 - overlap / denominator)

    def call_vjp(self, y_true, y_pred, upstream):
        overlap, denominator = self._terms(y_true, y_pred)
        denominator_slope = y_true - self.alpha * y_true + self.beta * (1 - y_true)
        slope = -(y_true * denominator - overlap * denominator_slope) / denominator**2
        return self._spread(upstream, y_pred) * slope

    def _terms(self, y_true, y_pred):
        overlap = self._sum(y_true * y_pred)
        missed = self._sum((1 - y_pred) * y_true)
        false_alarms = self._sum(y_pred * (1 - y_true))
        return overlap, overlap + self.alpha * missed + self.beta * false_alarms + EPSILON

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}


def dice(y_true, y_pred, axis=None):
    """One minus the Dice coefficient, per overlap (see ``Dice``)."""
    return _per_sample(Dice(axis=axis), y_true, y_pred)


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """One minus the Tversky index, per overlap (see ``Tversky``)."""
    return _per_sample(Tversky(alpha, beta, axis=axis), y_true, y_pred)
