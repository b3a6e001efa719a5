"""The ``Loss`` base class: one value per sample, Keras's reductions, the slope.

A loss computes one value per sample (``call``), weights them
(``sample_weight``, and Keras's mask where a loss has one) and reduces them to
one number (``reduction``). Its slope with respect to ``y_pred`` reuses the
same weights: ``d reduced / d per_sample`` is handed to ``call_vjp`` as
``upstream``, and for the usual loss, where sample ``i``'s value depends on
row ``i`` of ``y_pred`` only, ``call_vjp`` is ``call_gradient * upstream``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradstep.losses._ops import _sum_to_shape
from gradstep.registry import Registry

LOSSES = Registry("loss")

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


class Loss:
    """Base class of every loss. A subclass writes ``call`` and its slope.

    ``call(y_true, y_pred)`` returns the loss of each sample (shape
    ``y_pred.shape[:-1]`` for most losses). Its slope comes from one of:

    - ``call_gradient(y_true, y_pred)``: the slope of each sample's loss with
      respect to its own row of ``y_pred`` (shape of ``y_pred``). Enough for
      every loss whose sample ``i`` depends on row ``i`` only.
    - ``call_vjp(y_true, y_pred, upstream)``: the slope of
      ``sum(upstream * call(y_true, y_pred))``, for losses that mix rows
      (``Circle``) or reduce over other axes (``Dice`` with ``axis=None``).
    - neither: the slope of ``call`` comes from automatic differentiation with
      the ``autograd`` package (``pip install "gradstep[autodiff]"``).

    A subclass may instead override ``gradient(y_true, y_pred,
    sample_weight=None)`` itself (the slope of the reduced loss); training
    then uses it as it is.

    Args:
        reduction: how per-sample losses become one number:
            ``'sum_over_batch_size'`` (default) and ``'mean'`` divide the
            weighted sum by the number of values, ``'mean_with_sample_weight'``
            by the sum of the weights, ``'sum'`` keeps the sum, ``'none'`` (or
            ``None``) returns the weighted per-sample losses.
        name: the name shown in logs.

    Example:

        >>> import numpy as np
        >>> from gradstep.losses import MeanSquaredError
        >>> loss = MeanSquaredError(reduction="sum")
        >>> float(loss([[0.0], [0.0]], [[1.0], [3.0]], sample_weight=[2.0, 1.0]))
        11.0
    """

    name = "loss"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None):
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"reduction must be one of {', '.join(repr(r) for r in REDUCTIONS)}, "
                f"received {reduction!r}"
            )
        self.reduction = reduction
        if name is not None:
            self.name = name

    # --- what a subclass writes -----------------------------------------------------
    def call(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """The loss of each sample, from the prepared ``y_true`` and ``y_pred``."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement call(y_true, y_pred), returning the "
            "loss of each sample"
        )

    def call_gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Slope of each sample's loss with respect to its row of ``y_pred``
        (the slope of the sum of the per-sample losses)."""
        return self.call_vjp(y_true, y_pred, 1.0)

    def call_vjp(self, y_true, y_pred, upstream: float | np.ndarray) -> np.ndarray:
        """Slope of ``sum(upstream * call(y_true, y_pred))`` with respect to ``y_pred``.

        ``upstream`` is the slope of the reduced loss with respect to each
        per-sample loss (weights over the divisor of the mean): an array
        shaped like ``call``'s result, or one number when it is the same for
        every sample.
        """
        if _overrides(self, "call_gradient"):
            return self.call_gradient(y_true, y_pred) * _per_row(upstream)
        from gradstep.losses.custom import autodiff_vjp

        return autodiff_vjp(self, y_true, y_pred, upstream)

    def fused_gradient(self, y_true, output, activation_name: str):
        """Slope of each sample's loss with respect to the pre-activation when
        ``activation_name`` pairs with this loss; ``None`` when it does not."""
        return None

    def mask(self, y_true: np.ndarray, per_sample: np.ndarray) -> np.ndarray | None:
        """Which per-sample losses count (Keras's loss mask); ``None``: all of them.

        Masked-out values are excluded from the sum and from the divisor of
        ``'sum_over_batch_size'``, as in Keras.
        """
        return None

    def prepare(self, y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
        """Bring ``y_true`` and ``y_pred`` to the form ``call`` expects (dtype, rank)."""
        y_pred = _as_predictions(y_pred)
        return _match_rank(_as_targets(y_true, y_pred.dtype), y_pred), y_pred

    # --- shared by every loss ---------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self.prepare(y_true, y_pred)
        per_sample = self.call(y_true, y_pred)
        return self._reduce(per_sample, self._weights(y_true, per_sample, sample_weight))

    def gradient(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        """Slope of ``self(y_true, y_pred, sample_weight)`` with respect to ``y_pred``
        (for ``reduction='none'``: of the sum of the weighted per-sample losses)."""
        y_true, y_pred = self.prepare(y_true, y_pred)
        per_sample = self.call(y_true, y_pred)
        upstream = self._upstream(per_sample, self._weights(y_true, per_sample, sample_weight))
        return self._finish(self.call_vjp(y_true, y_pred, upstream), y_pred)

    def value_and_gradient(self, y_true, y_pred, sample_weight=None, activation_name=None):
        """The reduced loss and its slope, preparing the targets once.

        Returns ``(value, slope, fused)``: when ``activation_name`` pairs with
        this loss, ``fused`` is True and ``slope`` is with respect to the
        activation's input; otherwise it is with respect to ``y_pred``.
        """
        if _overrides(self, "gradient"):
            value = self(y_true, y_pred, sample_weight)
            return value, self.gradient(y_true, y_pred, sample_weight), False
        y_true, y_pred = self.prepare(y_true, y_pred)
        return self._prepared_value_and_gradient(y_true, y_pred, sample_weight, activation_name)

    def _checked_value_and_gradient(self, y_true, y_pred, sample_weight, activation_name):
        """``value_and_gradient`` for targets that ``prepare`` has already accepted
        (the model's train step: ``fit`` and ``train_on_batch`` check all of ``y``
        before the first batch), preparing them with ``_prepare_checked``."""
        if _overrides(self, "value_and_gradient") or _overrides(self, "gradient"):
            return self.value_and_gradient(y_true, y_pred, sample_weight, activation_name)
        y_true, y_pred = self._prepare_checked(y_true, y_pred)
        return self._prepared_value_and_gradient(y_true, y_pred, sample_weight, activation_name)

    def _prepare_checked(self, y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
        """``prepare`` for targets it has already accepted against predictions of
        this shape: a loss whose target checks cost a pass over every batch
        (the label range of sparse cross-entropy) leaves them out here."""
        return self.prepare(y_true, y_pred)

    def _prepared_value_and_gradient(self, y_true, y_pred, sample_weight, activation_name):
        per_sample = self.call(y_true, y_pred)
        weights = self._weights(y_true, per_sample, sample_weight)
        value = self._reduce(per_sample, weights)
        upstream = self._upstream(per_sample, weights)
        slope = (
            None
            if activation_name is None
            else self.fused_gradient(y_true, y_pred, activation_name)
        )
        fused = slope is not None
        if fused:
            slope = slope * _per_row(upstream)
        else:
            slope = self.call_vjp(y_true, y_pred, upstream)
        return value, self._finish(slope, y_pred), fused

    def fused_gradient_reduced(self, y_true, output, activation_name, sample_weight=None):
        """Slope of the reduced loss with respect to the pre-activation, or ``None``."""
        y_true, output = self.prepare(y_true, output)
        per_sample_slope = self.fused_gradient(y_true, output, activation_name)
        if per_sample_slope is None:
            return None
        per_sample = self.call(y_true, output)
        upstream = self._upstream(per_sample, self._weights(y_true, per_sample, sample_weight))
        return self._finish(per_sample_slope * _per_row(upstream), output)

    # --- weights and reduction (Keras's reduce_weighted_values) ------------------------
    def _weights(self, y_true, per_sample, sample_weight) -> np.ndarray | None:
        """``sample_weight`` aligned with the per-sample losses, times the mask."""
        weights = None if sample_weight is None else _sample_weight(sample_weight, per_sample)
        mask = self.mask(y_true, per_sample)
        if mask is None:
            return weights
        mask = mask.astype(per_sample.dtype)
        if self.reduction in ("sum_over_batch_size", "mean"):
            # Keras scales kept entries by total / valid, so that the mean over
            # all entries becomes the mean over the kept ones.
            valid = np.count_nonzero(mask)
            mask *= mask.size / valid if valid else 0.0
        return mask if weights is None else weights * mask

    def _divisor(self, weighted: np.ndarray, weights) -> float:
        if self.reduction == "mean_with_sample_weight" and weights is not None:
            return float(np.sum(weights))
        return float(weighted.size)

    def _reduce(self, per_sample, weights):
        per_sample = np.asarray(per_sample)
        weighted = per_sample if weights is None else per_sample * weights
        if self.reduction in ("none", None):
            return weighted
        total = weighted.sum()
        if self.reduction == "sum":
            return total
        divisor = self._divisor(weighted, weights)
        # Keras's divide_no_nan: an all-masked batch has loss 0, not nan.
        return total / divisor if divisor else weighted.dtype.type(0)

    def _upstream(self, per_sample, weights):
        """Slope of the reduced loss with respect to each per-sample loss: one
        number when it is the same for all (no weights, no mask), else an array."""
        per_sample = np.asarray(per_sample)
        dtype = per_sample.dtype if per_sample.dtype.kind == "f" else np.float64
        shape = (
            per_sample.shape
            if weights is None
            else np.broadcast_shapes(per_sample.shape, np.shape(weights))
        )
        scale = 1.0
        if self.reduction in _MEAN_REDUCTIONS:
            divisor = (
                float(np.sum(weights))
                if self.reduction == "mean_with_sample_weight" and weights is not None
                else float(math.prod(shape))
            )
            scale = 1.0 / divisor if divisor else 0.0
        if weights is None:
            return scale
        spread = np.broadcast_to(np.asarray(weights, dtype) * scale, shape)
        return _sum_to_shape(spread, per_sample.shape)

    def _finish(self, slope: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """The slope in ``y_pred``'s shape, layout and dtype."""
        if slope.shape != y_pred.shape:
            slope = _sum_to_shape(slope, y_pred.shape)
        axis = getattr(self, "_class_axis", -1)
        if axis not in (-1, None):
            slope = np.moveaxis(slope, -1, axis)
        return slope.astype(y_pred.dtype, copy=False)

    def _to_last(self, array: np.ndarray) -> np.ndarray:
        """Move the class axis last (where ``call`` expects it)."""
        axis = getattr(self, "_class_axis", -1)
        return array if axis in (-1, None) else np.moveaxis(array, axis, -1)

    def _class_axis_is_last(self) -> bool:
        """Only then does the loss pair with an activation over the last axis."""
        return getattr(self, "_class_axis", -1) in (-1, None)

    # --- configuration ----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"


def _per_row(upstream):
    """``upstream`` (a number, or one per sample) against slopes with a class axis."""
    return upstream if np.ndim(upstream) == 0 else upstream[..., None]


def _overrides(loss: Loss, method: str) -> bool:
    return getattr(type(loss), method) is not getattr(Loss, method)


def _as_predictions(y_pred) -> np.ndarray:
    """``y_pred`` as a floating array (integers become floatx, as in Keras)."""
    y_pred = np.asarray(y_pred)
    if y_pred.dtype.kind == "f":
        return y_pred
    if y_pred.dtype.kind not in "biu":
        raise TypeError(f"y_pred must hold numbers, received an array of dtype {y_pred.dtype}")
    from gradstep import config

    return y_pred.astype(config.floatx())


def _as_targets(y_true, dtype) -> np.ndarray:
    """``y_true`` as a finite array of ``dtype``."""
    array = np.asarray(y_true)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"y_true must hold numbers, received an array of dtype {array.dtype}")
    array = array.astype(dtype, copy=False)
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"y_true must be finite, received {array[tuple(bad)].item()} "
            f"at index {tuple(int(i) for i in bad)}"
        )
    return array


def _match_rank(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Keras's squeeze-or-expand: (n,) targets against (n, 1) predictions."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        try:
            np.broadcast_shapes(y_true.shape, y_pred.shape)
        except ValueError:
            raise ValueError(
                f"y_true and y_pred have incompatible shapes: y_true {y_true.shape}, "
                f"y_pred {y_pred.shape}"
            ) from None
    return y_true


def _sample_weight(sample_weight, per_sample: np.ndarray):
    """``sample_weight`` as an array that broadcasts against ``per_sample``
    (Keras's squeeze-or-expand of a trailing axis of 1 first)."""
    if sample_weight is None:
        return None
    per_sample = np.asarray(per_sample)
    dtype = per_sample.dtype if per_sample.dtype.kind == "f" else np.float64
    weights = np.asarray(sample_weight, dtype=dtype)
    if weights.ndim == per_sample.ndim + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    elif per_sample.ndim == weights.ndim + 1 and per_sample.shape[-1] == 1:
        weights = weights[..., None]
    try:
        np.broadcast_shapes(weights.shape, per_sample.shape)
    except ValueError:
        raise ValueError(
            f"sample_weight of shape {weights.shape} does not match the per-sample losses of "
            f"shape {per_sample.shape}"
        ) from None
    return weights


def _per_sample(loss: Loss, y_true, y_pred) -> np.ndarray:
    """Keras's functional forms: the loss of each sample, unweighted and unreduced."""
    return loss.call(*loss.prepare(y_true, y_pred))
