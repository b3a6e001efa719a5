"""Losses between distributions and counts: KL divergence and Poisson."""

from __future__ import annotations

import numpy as np

from gradstep.losses._ops import EPSILON, _unclipped
from gradstep.losses.base import LOSSES, Loss, _per_sample


@LOSSES.register("kl_divergence", "kld", "kullback_leibler_divergence")
class KLDivergence(Loss):
    """Kullback-Leibler divergence from the predicted to the true distribution.

    ``loss = sum(y log(y / p))`` over the last axis, with ``y`` and ``p``
    clipped to ``[1e-7, 1]``; slope ``-y / p`` where ``p`` is not clipped.
    Use to match a target distribution (distillation, soft labels); last
    activation softmax. PyTorch's ``KLDivLoss`` takes ``log p`` as its input
    and needs ``reduction='batchmean'`` for the same number.

    Example:

        >>> round(float(KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 6)
        0.143841
    """

    name = "kl_divergence"

    def call(self, y_true, y_pred):
        y_true = np.clip(y_true, EPSILON, 1)
        return np.sum(y_true * np.log(y_true / np.clip(y_pred, EPSILON, 1)), axis=-1)

    def call_gradient(self, y_true, y_pred):
        y_true = np.clip(y_true, EPSILON, 1)
        return np.where(_unclipped(y_pred, EPSILON, 1), -y_true / np.clip(y_pred, EPSILON, 1), 0)


@LOSSES.register("poisson")
class Poisson(Loss):
    """Poisson negative log-likelihood (without the constant ``log y!``).

    ``loss = mean(p - y log(p + 1e-7))``; slope ``(1 - y / (p + 1e-7)) / d``.
    Use for count targets (events per interval) with a predicted rate
    ``p >= 0``; last activation exponential or softplus. PyTorch's
    ``PoissonNLLLoss(log_input=False, eps=1e-7)`` is the same.

    Example:

        >>> round(float(Poisson()([[2.0]], [[1.0]])), 6)
        1.0
    """

    name = "poisson"

    def call(self, y_true, y_pred):
        return np.mean(y_pred - y_true * np.log(y_pred + EPSILON), axis=-1)

    def call_gradient(self, y_true, y_pred):
        slope = 1 - y_true / (y_pred + EPSILON)
        return slope / slope.shape[-1]


def kl_divergence(y_true, y_pred):
    """``sum(y log(y / p))`` over the last axis, per sample (see ``KLDivergence``)."""
    return _per_sample(KLDivergence(), y_true, y_pred)


def poisson(y_true, y_pred):
    """``mean(p - y log(p + 1e-7))`` over the last axis, per sample."""
    return _per_sample(Poisson(), y_true, y_pred)
