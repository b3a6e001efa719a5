"""Focal losses: cross-entropies that down-weight the examples already right.

The factor ``(1 - p_t)^gamma`` (Lin et al., 2017) shrinks the loss of
confident, correct predictions, so that training concentrates on the hard
and the rare ones. ``gamma = 0`` gives back (alpha times) cross-entropy.
"""

from __future__ import annotations

import numpy as np

from gradstep.losses._ops import EPSILON, _power_slope, _sigmoid, _softmax, _unclipped
from gradstep.losses.base import LOSSES, _per_sample
from gradstep.losses.crossentropy import _CrossentropyBase


@LOSSES.register("binary_focal_crossentropy")
class BinaryFocalCrossentropy(_CrossentropyBase):
    """Binary cross-entropy that down-weights the easy examples (focal loss).

    ``loss = mean(w (1 - p_t)^gamma bce)`` with ``bce`` the clipped binary
    cross-entropy, ``p_t = y p + (1 - y)(1 - p)`` and, with
    ``apply_class_balancing``, ``w = y alpha + (1 - y)(1 - alpha)`` (else 1).
    Slope: ``w (-gamma (1 - p_t)^(gamma-1) (2y - 1) bce + (1 - p_t)^gamma bce')``
    over ``d``, times ``p (1 - p)`` from logits. Use for imbalanced binary
    problems (rare positives, object detection); last activation sigmoid.

    Args:
        apply_class_balancing: weigh positives by ``alpha``, negatives by ``1 - alpha``.
        alpha: the weight of the positive class when balancing.
        gamma: the focusing parameter (0 gives binary cross-entropy).
        from_logits: whether ``y_pred`` holds logits (sigmoid is applied first).
        label_smoothing: moves targets toward 0.5: ``y (1 - s) + s / 2``.
        axis: the axis that is averaged over (default the last).

    Example:

        >>> round(float(BinaryFocalCrossentropy(gamma=2.0)([[1.0, 0.0]], [[0.9, 0.2]])), 6)
        0.00499
    """

    name = "binary_focal_crossentropy"
    _activation = "sigmoid"

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name=None,
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma

    def _parts(self, y_true, y_pred):
        p = _sigmoid(y_pred) if self.from_logits else y_pred
        clipped = np.clip(p, EPSILON, 1 - EPSILON)
        bce = -(y_true * np.log(clipped) + (1 - y_true) * np.log(1 - clipped))
        # Keras takes p_t from the unclipped probability.
        miss = 1 - (y_true * p + (1 - y_true) * (1 - p))
        weight = (
            y_true * self.alpha + (1 - y_true) * (1 - self.alpha)
            if self.apply_class_balancing
            else 1.0
        )
        return p, clipped, bce, miss, weight

    def call(self, y_true, y_pred):
        _, _, bce, miss, weight = self._parts(y_true, y_pred)
        return np.mean(weight * miss**self.gamma * bce, axis=-1)

    def call_gradient(self, y_true, y_pred):
        p, clipped, bce, miss, weight = self._parts(y_true, y_pred)
        bce_slope = np.where(_unclipped(p), -(y_true / clipped - (1 - y_true) / (1 - clipped)), 0)
        factor_slope = -_power_slope(miss, self.gamma) * (2 * y_true - 1)
        slope = weight * (factor_slope * bce + miss**self.gamma * bce_slope)
        if self.from_logits:
            slope = slope * p * (1 - p)
        return slope / slope.shape[-1]

    @property
    def fused_activation(self):
        # No fused slope is written for the focal term: the slope goes through
        # the activation's own backward (a sigmoid or softmax output trained
        # otherwise raised NotImplementedError from fused_gradient).
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "apply_class_balancing": self.apply_class_balancing,
            "alpha": self.alpha,
            "gamma": self.gamma,
        }


@LOSSES.register("categorical_focal_crossentropy")
class CategoricalFocalCrossentropy(_CrossentropyBase):
    """Categorical cross-entropy that down-weights the easy examples (focal loss).

    ``loss = sum(alpha (1 - q)^gamma (-y log q))`` with
    ``q = clip(p / sum(p), 1e-7, 1 - 1e-7)`` (``p = softmax(x)`` from logits).
    Slope with respect to ``q``:
    ``alpha y (gamma (1 - q)^(gamma-1) log q - (1 - q)^gamma / q)`` where ``q``
    is not clipped, then through the normalisation (and the softmax). Use for
    imbalanced multi-class problems where most examples are easy; last
    activation softmax.

    Args:
        alpha: a weight on every class's term.
        gamma: the focusing parameter (0 gives ``alpha`` times cross-entropy).
        from_logits: whether ``y_pred`` holds logits (softmax is applied first).
        label_smoothing: moves targets toward uniform: ``y (1 - s) + s / k``.
        axis: the class axis (default the last).

    Example:

        >>> round(float(CategoricalFocalCrossentropy()([[0.0, 1.0]], [[0.25, 0.75]])), 6)
        0.004495
    """

    name = "categorical_focal_crossentropy"

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name=None,
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)
        self.alpha = alpha
        self.gamma = gamma

    def _parts(self, y_pred):
        p = _softmax(y_pred) if self.from_logits else y_pred
        total = np.sum(p, axis=-1, keepdims=True)
        q = p / total
        return p, total, q, np.clip(q, EPSILON, 1 - EPSILON)

    def call(self, y_true, y_pred):
        _, _, _, clipped = self._parts(y_pred)
        focal = self.alpha * (1 - clipped) ** self.gamma * -y_true * np.log(clipped)
        return np.sum(focal, axis=-1)

    def call_gradient(self, y_true, y_pred):
        p, total, q, clipped = self._parts(y_pred)
        miss = 1 - clipped
        slope_q = (
            self.alpha
            * y_true
            * (_power_slope(miss, self.gamma) * np.log(clipped) - miss**self.gamma / clipped)
            * _unclipped(q)
        )
        slope_p = (slope_q - np.sum(slope_q * q, axis=-1, keepdims=True)) / total
        if not self.from_logits:
            return slope_p
        return p * (slope_p - np.sum(slope_p * p, axis=-1, keepdims=True))

    @property
    def fused_activation(self):
        # No fused slope is written for the focal term: the slope goes through
        # the activation's own backward (a sigmoid or softmax output trained
        # otherwise raised NotImplementedError from fused_gradient).
        return None

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma}


# Keras's functional forms return the loss of each sample.
def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
):
    """Binary focal cross-entropy of each sample (see ``BinaryFocalCrossentropy``)."""
    loss = BinaryFocalCrossentropy(
        apply_class_balancing, alpha, gamma, from_logits, label_smoothing, axis
    )
    return _per_sample(loss, y_true, y_pred)


def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Categorical focal cross-entropy of each sample (see ``CategoricalFocalCrossentropy``)."""
    loss = CategoricalFocalCrossentropy(alpha, gamma, from_logits, label_smoothing, axis)
    return _per_sample(loss, y_true, y_pred)
