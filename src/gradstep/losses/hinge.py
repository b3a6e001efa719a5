"""Hinge losses: margin-based losses of support vector machines.

A prediction on the right side of the margin costs nothing; inside it or on
the wrong side, the cost grows linearly (or quadratically). Targets are -1 or
1; 0/1 targets are turned into -1/1 when the whole batch holds only 0 and 1,
as Keras does.
"""

from __future__ import annotations

import numpy as np

from gradstep.losses.base import LOSSES, Loss, _per_sample


class _BinaryHinge(Loss):
    def prepare(self, y_true, y_pred, targets_checked=False):
        y_true, y_pred = super().prepare(y_true, y_pred, targets_checked)
        if np.isin(y_true, (0, 1)).all():
            y_true = 2 * y_true - 1
        return y_true, y_pred


@LOSSES.register("hinge")
class Hinge(_BinaryHinge):
    """The SVM hinge loss, averaged over the last axis.

    ``loss = mean(max(1 - y p, 0))`` with ``y`` in {-1, 1}; slope ``-y / d``
    where ``y p < 1``, else 0. Use for binary classification with a margin
    (a linear SVM); last activation linear (tanh also works).

    Example:

        >>> float(Hinge()([[1.0, -1.0]], [[0.5, -2.0]]))
        0.25
    """

    name = "hinge"

    def call(self, y_true, y_pred):
        return np.mean(np.maximum(1 - y_true * y_pred, 0), axis=-1)

    def call_gradient(self, y_true, y_pred):
        inside = 1 - y_true * y_pred > 0
        return -y_true * inside / inside.shape[-1]


@LOSSES.register("squared_hinge")
class SquaredHinge(_BinaryHinge):
    """The squared hinge loss, averaged over the last axis.

    ``loss = mean(max(1 - y p, 0)^2)`` with ``y`` in {-1, 1}; slope
    ``-2 y max(1 - y p, 0) / d``. Use for margin-based binary
    classification with a smooth slope; last activation linear.

    Example:

        >>> float(SquaredHinge()([[1.0, -1.0]], [[0.5, -2.0]]))
        0.125
    """

    name = "squared_hinge"

    def call(self, y_true, y_pred):
        return np.mean(np.square(np.maximum(1 - y_true * y_pred, 0)), axis=-1)

    def call_gradient(self, y_true, y_pred):
        margin = np.maximum(1 - y_true * y_pred, 0)
        return -2 * y_true * margin / margin.shape[-1]


@LOSSES.register("categorical_hinge")
class CategoricalHinge(Loss):
    """Multi-class hinge: the best wrong class must trail the true class by 1.

    ``loss = max(max((1 - y) p) - sum(y p) + 1, 0)`` with one-hot ``y``;
    slope ``(1 - y) e - y`` where the loss is positive, ``e`` marking the best
    wrong class (shared equally among ties, as JAX's autodiff does). Use for
    multi-class classification with a margin (Crammer-Singer SVM); last
    activation linear.

    Example:

        >>> round(float(CategoricalHinge()([[0.0, 1.0, 0.0]], [[0.3, 0.6, 0.1]])), 6)
        0.7
    """

    name = "categorical_hinge"

    def call(self, y_true, y_pred):
        positive = np.sum(y_true * y_pred, axis=-1)
        negative = np.max((1 - y_true) * y_pred, axis=-1)
        return np.maximum(negative - positive + 1, 0)

    def call_gradient(self, y_true, y_pred):
        others = (1 - y_true) * y_pred
        best = others == np.max(others, axis=-1, keepdims=True)
        share = best / np.sum(best, axis=-1, keepdims=True)
        active = (self.call(y_true, y_pred) > 0)[..., None]
        return active * (share * (1 - y_true) - y_true)


def hinge(y_true, y_pred):
    """``mean(max(1 - y p, 0))`` over the last axis, per sample."""
    return _per_sample(Hinge(), y_true, y_pred)


def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y p, 0)^2)`` over the last axis, per sample."""
    return _per_sample(SquaredHinge(), y_true, y_pred)


def categorical_hinge(y_true, y_pred):
    """``max(max((1 - y) p) - sum(y p) + 1, 0)``, per sample."""
    return _per_sample(CategoricalHinge(), y_true, y_pred)
