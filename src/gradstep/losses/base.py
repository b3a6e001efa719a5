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
from gradstep.losses.autodiff import autodiff_vjp
from gradstep.registry import Registry

LOSSES = Registry("loss")

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


class Loss:
    """Base class of every loss. A subclass writes ``call`` and its slope.

    ``call(y_true, y_pred)`` returns the loss of each sample (shape
    ``y_pred.shape[:-1]`` for most losses). Training gets the slope through
    one method, ``call_vjp(y_true, y_pred, upstream)``: the slope of
    ``sum(upstream * call(y_true, y_pred))`` with respect to ``y_pred``, where
    ``upstream`` is the slope of the reduced loss with respect to each
    per-sample loss (the weights over the divisor of the mean). A loss
    supplies it in one of three ways, by the methods it writes:

    - ``call_gradient(y_true, y_pred)``: the slope of each sample's loss with
      respect to its own row of ``y_pred``; ``call_vjp`` then scales each row
      by its ``upstream``. Enough for every loss whose sample ``i`` depends on
      row ``i`` only (all the usual ones).
    - ``call_vjp`` itself, for losses that mix rows (``Circle``) or reduce
      over other axes (``Dice`` with ``axis=None``).
    - neither: ``call_gradient`` comes from automatic differentiation of
      ``call`` with the ``autograd`` package (``pip install
      "gradstep[autodiff]"``).

    A loss that pairs with the activation a model's output comes out of
    (softmax with categorical cross-entropy) names it in ``fused_activation``
    and writes ``fused_gradient``: the model then asks for the slope at the
    activation's input, ``p - y``, without the round trip through ``1 / p``.

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
    #: The axis of ``y_pred`` that holds the classes (the cross-entropies' ``axis``).
    _class_axis = -1

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
        """Slope of each sample's loss with respect to its row of ``y_pred`` (the
        slope of the sum of the per-sample losses). Without an override: by
        automatic differentiation of ``call``."""
        return autodiff_vjp(self, y_true, y_pred, 1.0)

    def call_vjp(self, y_true, y_pred, upstream: float | np.ndarray) -> np.ndarray:
        """Slope of ``sum(upstream * call(y_true, y_pred))`` with respect to
        ``y_pred``: the one way training gets a loss's slope.

        ``upstream`` is the slope of the reduced loss with respect to each
        per-sample loss: an array shaped like ``call``'s result, or one number
        when it is the same for every sample. This default scales each row's
        ``call_gradient``, exact when each sample's loss depends on its own row
        only; a loss whose samples interact overrides it.
        """
        return self.call_gradient(y_true, y_pred) * _per_row(upstream)

    @property
    def fused_activation(self) -> str | None:
        """The activation (``'softmax'``, ``'sigmoid'``) this loss fuses with
        when a model's output comes straight out of it; None: no fusion."""
        return None

    def fused_gradient(self, y_true, output):
        """Slope of each sample's loss with respect to the input of
        ``fused_activation``, given the activation's ``output``."""
        raise NotImplementedError(f"{type(self).__name__} fuses with no activation")

    def mask(self, y_true: np.ndarray, per_sample: np.ndarray) -> np.ndarray | None:
        """Which per-sample losses count (Keras's loss mask); ``None``: all of them.

        Masked-out values are excluded from the sum and from the divisor of
        ``'sum_over_batch_size'``, as in Keras.
        """
        return None

    def prepare(self, y_true, y_pred, targets_checked: bool = False):
        """Bring ``y_true`` and ``y_pred`` to the form ``call`` expects (dtype,
        rank), checking them. ``targets_checked=True`` says that these targets
        have passed ``prepare`` before against predictions of this shape (``fit``
        checks all of ``y`` once, before the first batch), so that checks which
        cost a pass over the targets (finite values, label ranges) are skipped."""
        y_pred = _as_predictions(y_pred)
        y_true = _as_targets(y_true, y_pred.dtype, checked=targets_checked)
        return match_rank(y_true, y_pred), y_pred

    # --- shared by every loss ---------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None, *, mask=None):
        """The reduced loss. ``mask``: which entries of ``y_pred`` count (over
        its leading axes; Keras reads it from ``y_pred``'s ``_keras_mask``), as
        the model passes an output's mask (``Embedding(mask_zero=True)``).
        Inside a layer's ``call`` (traced predictions, an endpoint layer that
        calls ``add_loss(loss_fn(targets, logits))``), the loss is one step of
        the tape, its slope ``gradient``'s; the targets are constants there."""
        from gradstep.ops import tape as tape_module

        if isinstance(y_pred, tape_module.Traced) or isinstance(y_true, tape_module.Traced):
            return self._traced_call(y_true, y_pred, sample_weight, mask)
        y_true, y_pred = self.prepare(y_true, y_pred)
        per_sample = self.call(y_true, y_pred)
        return self._reduce(per_sample, self._weights(y_true, per_sample, sample_weight, mask))

    def _traced_call(self, y_true, y_pred, sample_weight, mask):
        from gradstep.ops import tape as tape_module

        targets, predictions = tape_module.unwrap(y_true), tape_module.unwrap(y_pred)
        weights = tape_module.unwrap(sample_weight)
        value, slope = self.value_and_gradient(targets, predictions, weights, mask=mask)
        value = np.asarray(value, dtype=np.asarray(predictions).dtype)
        if not isinstance(y_pred, tape_module.Traced):
            return value

        def backward(upstream):
            upstream = np.asarray(upstream)
            if upstream.ndim:  # reduction='none': one slope per sample
                upstream = upstream.reshape(upstream.shape + (1,) * (slope.ndim - upstream.ndim))
            return [slope * upstream]

        return tape_module.active().record(value, [y_pred], backward)

    def gradient(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        """Slope of ``self(y_true, y_pred, sample_weight)`` with respect to ``y_pred``
        (for ``reduction='none'``: of the sum of the weighted per-sample losses)."""
        return self.value_and_gradient(y_true, y_pred, sample_weight)[1]

    def value_and_gradient(
        self, y_true, y_pred, sample_weight=None, *, fused=False, targets_checked=False, mask=None
    ):
        """The reduced loss and its slope, preparing the targets once.

        With ``fused=True``, ``y_pred`` is the output of ``fused_activation``
        and the slope is with respect to that activation's input. With
        ``targets_checked=True``, see ``prepare``. ``mask``: see ``__call__``.
        """
        if fused and self.fused_activation is None:
            raise ValueError(
                f"{type(self).__name__} with this configuration fuses with no activation"
            )
        y_true, y_pred = self.prepare(y_true, y_pred, targets_checked=targets_checked)
        per_sample = self.call(y_true, y_pred)
        weights = self._weights(y_true, per_sample, sample_weight, mask)
        value = self._reduce(per_sample, weights)
        upstream = self._upstream(per_sample, weights)
        if fused:
            slope = self.fused_gradient(y_true, y_pred) * _per_row(upstream)
        else:
            slope = self.call_vjp(y_true, y_pred, upstream)
        return value, self._finish(slope, y_pred)

    # --- weights and reduction (Keras's reduce_weighted_values) ------------------------
    def _weights(self, y_true, per_sample, sample_weight, output_mask=None) -> np.ndarray | None:
        """``sample_weight`` aligned with the per-sample losses, times the mask:
        the loss's own (``mask``) and the output's, both (Keras's ``in_mask &
        out_mask``)."""
        weights = None if sample_weight is None else _sample_weight(sample_weight, per_sample)
        mask = self.mask(y_true, per_sample)
        if output_mask is not None:
            output_mask = _output_mask(output_mask, per_sample)
            mask = output_mask if mask is None else mask & output_mask
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
        axis = self._class_axis
        if axis not in (-1, None):
            slope = np.moveaxis(slope, -1, axis)
        return slope.astype(y_pred.dtype, copy=False)

    def _to_last(self, array: np.ndarray) -> np.ndarray:
        """Move the class axis last (where ``call`` expects it)."""
        axis = self._class_axis
        return array if axis in (-1, None) else np.moveaxis(array, axis, -1)

    def _class_axis_is_last(self) -> bool:
        """Only then does the loss pair with an activation over the last axis."""
        return self._class_axis in (-1, None)

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
    return upstream[..., None] if isinstance(upstream, np.ndarray) and upstream.ndim else upstream


def _as_predictions(y_pred) -> np.ndarray:
    """``y_pred`` as a floating array (integers become floatx, as in Keras)."""
    y_pred = np.asarray(y_pred)
    if y_pred.dtype.kind == "f":
        return y_pred
    if y_pred.dtype.kind not in "biu":
        raise TypeError(f"y_pred must hold numbers, received an array of dtype {y_pred.dtype}")
    from gradstep import config

    return y_pred.astype(config.floatx())


def _as_targets(y_true, dtype, checked: bool = False) -> np.ndarray:
    """``y_true`` as a finite array of ``dtype`` (its values not looked at
    again when ``checked``)."""
    array = np.asarray(y_true)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"y_true must hold numbers, received an array of dtype {array.dtype}")
    array = array.astype(dtype, copy=False)
    if not checked and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"y_true must be finite, received {array[tuple(bad)].item()} "
            f"at index {tuple(int(i) for i in bad)}"
        )
    return array


def match_rank(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
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


def _output_mask(mask, per_sample: np.ndarray) -> np.ndarray:
    """An output's mask aligned with the per-sample losses, as a sample weight is."""
    try:
        return _sample_weight(mask, per_sample).astype(bool)
    except ValueError:
        raise ValueError(
            f"the output's mask of shape {np.shape(mask)} does not match the per-sample losses "
            f"of shape {np.shape(per_sample)}"
        ) from None


def _per_sample(loss: Loss, y_true, y_pred) -> np.ndarray:
    """Keras's functional forms: the loss of each sample, unweighted and unreduced."""
    return loss.call(*loss.prepare(y_true, y_pred))
