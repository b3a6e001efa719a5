"""Cross-entropy losses: how surprised the model is by the true class.

The model outputs probabilities (after sigmoid or softmax) or logits
(``from_logits=True``). From probabilities, Keras clips them to
``[1e-7, 1 - 1e-7]`` before ``log`` so that a confident mistake costs about
16 rather than infinity; the slope is 0 where the clip is active, exactly as
Keras's autodiff gives. From logits, the stable forms (log-sum-exp,
``max(x, 0) - x y + log1p(exp(-|x|))``) never overflow.

When the model's last activation pairs with the loss (sigmoid with binary
cross-entropy, softmax with categorical), ``fused_gradient`` gives the slope
with respect to the activation's input, ``p - y``, without the round trip
through ``1 / p`` that loses precision.
"""

from __future__ import annotations

import contextlib

import numpy as np

from gradstep.kernels import softmax as softmax_kernels
from gradstep.losses._ops import (
    EPSILON,
    _add_at_label,
    _log_softmax,
    _pick,
    _sigmoid,
    _softmax,
    _unclipped,
)
from gradstep.losses.base import (
    LOSSES,
    Loss,
    _as_predictions,
    _as_targets,
    _per_sample,
    match_rank,
)
from gradstep.validation import check_int, check_real, check_sparse_labels


class _CrossentropyBase(Loss):
    """Shared by the cross-entropies of targets shaped like ``y_pred``:
    ``from_logits``, label smoothing, the class axis, the input checks."""

    # The activation whose outputs the loss expects: sigmoid (each entry a
    # probability) or softmax (each row a distribution).
    _activation = "softmax"

    def __init__(self, from_logits, label_smoothing, axis, reduction, name):
        super().__init__(reduction, name)
        check_int(axis, "axis")
        check_real(label_smoothing, "label_smoothing", low=0, high=1, expected="in [0, 1]")
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self._class_axis = int(axis)

    def _same_shape_targets(self, y_true, y_pred, targets_checked=False):
        y_pred = _as_predictions(y_pred)
        y_true = _as_targets(y_true, y_pred.dtype, checked=targets_checked)
        if y_true.shape != y_pred.shape:
            # (n,) against (n, 1) and back, as Keras; any other mismatch is reported below.
            with contextlib.suppress(ValueError):
                y_true = match_rank(y_true, y_pred)
        if y_true.shape != y_pred.shape:
            hint = (
                " (for integer labels use sparse_categorical_crossentropy)"
                if self._activation == "softmax"
                else ""
            )
            raise ValueError(
                f"y_true and y_pred must have the same shape for {self.name}, received "
                f"y_true {y_true.shape} and y_pred {y_pred.shape}{hint}"
            )
        return y_true, y_pred

    def prepare(self, y_true, y_pred, targets_checked=False):
        y_true, y_pred = self._same_shape_targets(y_true, y_pred, targets_checked)
        binary = self._activation == "sigmoid"
        if not self.from_logits:
            _check_probabilities(y_pred, self.name, self._activation, upper=binary)
        if self.label_smoothing:
            # Toward 0.5 for binary targets, toward 1 / k for k classes (Keras
            # counts the classes along the last axis, whatever ``axis`` is).
            classes = 2 if binary else y_true.shape[-1]
            y_true = y_true * (1 - self.label_smoothing) + self.label_smoothing / classes
        return self._to_last(y_true), self._to_last(y_pred)

    @property
    def fused_activation(self):
        if self.from_logits or not self._class_axis_is_last():
            return None
        return self._activation

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


def _check_probabilities(y_pred, loss_name: str, activation: str, upper: bool) -> None:
    """Reject predictions that cannot be probabilities: the usual sign that the
    model outputs logits. One min (and max) per batch: cheap in training."""
    low = y_pred.min() if y_pred.size else 0.0
    high = y_pred.max() if upper and y_pred.size else 0.0
    if low < 0 or high > 1:
        bad = low if low < 0 else high
        expected = "in [0, 1]" if upper else "non-negative"
        raise ValueError(
            f"{loss_name} received y_pred holding {float(bad)!r}, but with from_logits=False it "
            f"expects probabilities ({expected}). If the model's last layer has no {activation} "
            f"activation, its outputs are logits: pass from_logits=True."
        )


@LOSSES.register("binary_crossentropy", "bce")
class BinaryCrossentropy(_CrossentropyBase):
    """Binary cross-entropy, averaged over ``axis``.

    ``loss = -mean(y log p + (1 - y) log(1 - p))`` with ``p`` clipped to
    ``[1e-7, 1 - 1e-7]``; slope ``-(y / p - (1 - y) / (1 - p)) / d`` (zero where
    ``p`` is clipped, as Keras's autodiff gives). With ``from_logits=True`` the
    stable form ``max(x, 0) - x y + log1p(exp(-|x|))`` with slope
    ``(sigmoid(x) - y) / d``. Use for yes/no targets and multi-label
    classification (each output its own yes/no); last activation sigmoid.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: moves targets toward 0.5: ``y (1 - s) + s / 2``.
        axis: the axis that is averaged over (default the last).

    Example:

        >>> round(float(BinaryCrossentropy()([[1.0, 0.0]], [[0.9, 0.2]])), 6)
        0.164252
    """

    name = "binary_crossentropy"
    _activation = "sigmoid"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name=None,
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)

    def call(self, y_true, y_pred):
        if self.from_logits:
            x = y_pred
            values = np.maximum(x, 0) - x * y_true + np.log1p(np.exp(-np.abs(x)))
        else:
            p = np.clip(y_pred, EPSILON, 1 - EPSILON)
            values = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return np.mean(values, axis=-1)

    def call_gradient(self, y_true, y_pred):
        d = y_pred.shape[-1]
        if self.from_logits:
            return (_sigmoid(y_pred) - y_true) / d
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        slope = -(y_true / p - (1 - y_true) / (1 - p))
        return np.where(_unclipped(y_pred), slope, 0) / d

    def fused_gradient(self, y_true, output):
        return np.where(_unclipped(output), output - y_true, 0) / output.shape[-1]


@LOSSES.register("categorical_crossentropy")
class CategoricalCrossentropy(_CrossentropyBase):
    """Categorical cross-entropy for one-hot (or soft) targets.

    ``loss = -sum(y log q)`` with ``q = clip(p / sum(p), 1e-7, 1 - 1e-7)``.
    Slope with respect to ``p``: ``(c - y u / q) / sum(p)``, where ``u`` marks the
    entries that were not clipped and ``c = sum(y u)``. With ``from_logits=True``
    ``q = softmax(x)`` via log-sum-exp and the slope is ``softmax(x) sum(y) - y``.
    Use for mutually exclusive classes given one-hot (or as soft
    distributions); last activation softmax.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: moves targets toward uniform: ``y (1 - s) + s / k``.
        axis: the class axis (default the last).

    Example:

        >>> round(float(CategoricalCrossentropy()([[0.0, 1.0]], [[0.25, 0.75]])), 6)
        0.287682
    """

    name = "categorical_crossentropy"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name=None,
    ):
        super().__init__(from_logits, label_smoothing, axis, reduction, name)

    def call(self, y_true, y_pred):
        if self.from_logits:
            return -np.sum(y_true * _log_softmax(y_pred), axis=-1)
        q = (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(EPSILON, 1 - EPSILON)
        return -(y_true * np.log(q)).sum(axis=-1)

    def call_gradient(self, y_true, y_pred):
        if self.from_logits:
            return _softmax(y_pred) * np.sum(y_true, axis=-1, keepdims=True) - y_true
        total = np.sum(y_pred, axis=-1, keepdims=True)
        q = y_pred / total
        kept = y_true * _unclipped(q)
        return (np.sum(kept, axis=-1, keepdims=True) - kept / np.clip(q, EPSILON, 1)) / total

    def fused_gradient(self, y_true, output):
        # Chain rule through softmax of the clipped loss: p * sum(y u) - y u.
        kept = y_true * _unclipped(output)
        return output * kept.sum(axis=-1, keepdims=True) - kept


@LOSSES.register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy for integer class labels (the digits task).

    The same formula as ``CategoricalCrossentropy`` with ``y`` the one-hot
    encoding of the label: ``loss = -log q[label]``. Use for mutually exclusive
    classes given as integers ``0 .. k-1``; last activation softmax.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        ignore_class: a label value whose samples get loss 0 and are left out
            of the mean (for example a padding or "void" class), as in Keras.
        axis: the class axis of ``y_pred`` (default the last).

    Example:

        >>> round(float(SparseCategoricalCrossentropy()([1], [[0.25, 0.75]])), 6)
        0.287682
    """

    name = "sparse_categorical_crossentropy"

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        axis=-1,
        name=None,
    ):
        super().__init__(reduction, name)
        check_int(axis, "axis")
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
        self._class_axis = int(axis)

    def prepare(self, y_true, y_pred, targets_checked=False):
        y_pred = _as_predictions(y_pred)
        labels = _sparse_labels(y_true, y_pred, self._class_axis, self.name)
        y_pred = self._to_last(y_pred)
        if not self.from_logits:
            _check_probabilities(y_pred, self.name, "softmax", upper=False)
        labels = _checked_labels(labels, y_pred.shape[-1], self.ignore_class, targets_checked)
        return labels, y_pred

    @property
    def fused_activation(self):
        return None if self.from_logits or not self._class_axis_is_last() else "softmax"

    def value_and_gradient(
        self, y_true, y_pred, sample_weight=None, *, fused=False, targets_checked=False, mask=None
    ):
        if fused and targets_checked and sample_weight is None and mask is None:
            labels = np.asarray(y_true)
            if labels.ndim == 2 and labels.shape[1] == 1:
                labels = labels[:, 0]
            if self._plain_mean(y_pred, labels):
                return self._fused_mean(labels, y_pred)
        return super().value_and_gradient(
            y_true,
            y_pred,
            sample_weight,
            fused=fused,
            targets_checked=targets_checked,
            mask=mask,
        )

    def _plain_mean(self, y_pred, labels) -> bool:
        """Whether a training step's batch takes ``_fused_mean``: this class's
        defaults (probabilities, no ignored class, the mean over the batch) and
        a batch of rows of probabilities with one checked label each."""
        return (
            type(self) is SparseCategoricalCrossentropy
            and not self.from_logits
            and self.ignore_class is None
            and self.reduction == "sum_over_batch_size"
            and type(y_pred) is np.ndarray
            and y_pred.ndim == 2
            and y_pred.dtype.kind == "f"
            and y_pred.size > 0
            and labels.shape == y_pred.shape[:1]
        )

    def _fused_mean(self, labels, output):
        """``value_and_gradient(..., fused=True)`` for ``_plain_mean`` batches:
        the same operations in the same order (so the same bits), without the
        general path's steps that do nothing here (weights, masks, moving axes,
        and the check for negative probabilities: a softmax's output has none),
        in one fused pass where numba runs (``kernels.softmax``)."""
        return softmax_kernels.sparse_crossentropy_mean(labels, output, EPSILON)

    # The formulas of CategoricalCrossentropy with y = one_hot(label), computed
    # from the labels directly: only the label's entry of y is nonzero.
    # Ignored samples carry the label -1 after prepare().
    def call(self, labels, y_pred):
        if self.ignore_class is None:
            return self._call(labels, y_pred)
        kept = labels >= 0
        return np.where(kept, self._call(np.where(kept, labels, 0), y_pred), 0)

    def call_gradient(self, labels, y_pred):
        if self.ignore_class is None:
            return self._call_gradient(labels, y_pred)
        kept = labels >= 0
        return self._call_gradient(np.where(kept, labels, 0), y_pred) * kept[..., None]

    def fused_gradient(self, labels, output):
        if self.ignore_class is None:
            return self._fused(labels, output)
        kept = labels >= 0
        return self._fused(np.where(kept, labels, 0), output) * kept[..., None]

    def mask(self, labels, per_sample):
        return None if self.ignore_class is None else labels >= 0

    def _call(self, labels, y_pred):
        if self.from_logits:
            return -_pick(_log_softmax(y_pred), labels)
        q_label = _pick(y_pred, labels) / y_pred.sum(axis=-1)
        return -np.log(q_label.clip(EPSILON, 1 - EPSILON))

    def _call_gradient(self, labels, y_pred):
        if self.from_logits:
            return _add_at_label(_softmax(y_pred), labels, -1)
        total = y_pred.sum(axis=-1)
        q_label = _pick(y_pred, labels) / total
        kept = _unclipped(q_label).astype(y_pred.dtype)
        grad = np.broadcast_to((kept / total)[..., None], y_pred.shape).copy()
        return _add_at_label(grad, labels, -kept / (q_label.clip(EPSILON, 1) * total))

    def _fused(self, labels, output):
        kept = _unclipped(_pick(output, labels)).astype(output.dtype)
        return _add_at_label(output * kept[..., None], labels, -kept)

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "ignore_class": self.ignore_class,
            "axis": self.axis,
        }


def _sparse_labels(y_true, y_pred, axis: int, loss_name: str) -> np.ndarray:
    """Labels shaped like ``y_pred`` without its class axis (a class axis of 1 is
    squeezed, as Keras does)."""
    labels = np.asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.shape[axis] == 1:
        labels = np.squeeze(labels, axis=axis)
    expected = list(y_pred.shape)
    del expected[axis]
    if list(labels.shape) != expected:
        raise ValueError(
            f"y_true must hold one integer label per sample for {loss_name}: expected shape "
            f"{tuple(expected)} (y_pred {y_pred.shape} without its class axis), received "
            f"{labels.shape}"
        )
    return labels


def _checked_labels(
    labels, num_classes: int, ignore_class=None, already_checked: bool = False
) -> np.ndarray:
    """Integer labels in ``[0, num_classes)``; ``ignore_class`` entries become -1."""
    if ignore_class is None:
        return _as_labels(labels, num_classes, already_checked)
    ignored = labels == ignore_class
    labels = _as_labels(np.where(ignored, 0, labels), num_classes, already_checked).copy()
    labels[ignored] = -1
    return labels


def _as_labels(values, num_classes: int, already_checked: bool) -> np.ndarray:
    """``values`` as int64 class labels, checked unless this check has passed them
    before (``fit`` checks all of ``y`` once, not every batch)."""
    if already_checked:
        return values.astype(np.int64, copy=False)
    return check_sparse_labels(values, num_classes, "y_true")


@LOSSES.register("categorical_generalized_cross_entropy")
class CategoricalGeneralizedCrossEntropy(Loss):
    """Generalized cross-entropy: robust to noisy labels (Zhang and Sabuncu, 2018).

    ``loss = (1 - p^q) / q`` with ``p`` the probability of the true class;
    slope ``-p^(q-1)`` on that class. ``q -> 0`` approaches cross-entropy,
    ``q = 1`` is mean absolute error on the true class. Use for multi-class
    problems whose labels contain mistakes; integer labels as in
    ``SparseCategoricalCrossentropy``; last activation softmax. At ``p = 0``
    exactly Keras's slope is infinite; gradstep's is that at ``p = 1e-7``.

    Args:
        q: the noise parameter, in ``(0, 1)``.

    Example:

        >>> float(CategoricalGeneralizedCrossEntropy(q=0.5)([1], [[0.75, 0.25]]))
        1.0
    """

    name = "categorical_generalized_cross_entropy"

    def __init__(self, q=0.5, reduction="sum_over_batch_size", name=None):
        expected = "in the interval (0, 1)"
        check_real(q, "q", low=0, high=1, include_low=False, include_high=False, expected=expected)
        super().__init__(reduction, name)
        self.q = q

    def prepare(self, y_true, y_pred, targets_checked=False):
        y_pred = _as_predictions(y_pred)
        labels = _sparse_labels(y_true, y_pred, -1, self.name)
        _check_probabilities(y_pred, self.name, "softmax", upper=True)
        return _checked_labels(labels, y_pred.shape[-1], already_checked=targets_checked), y_pred

    def call(self, labels, y_pred):
        return (1 - _pick(y_pred, labels) ** self.q) / self.q

    def call_gradient(self, labels, y_pred):
        p = _pick(y_pred, labels)
        slope = np.zeros_like(y_pred)
        return _add_at_label(slope, labels, -(np.where(p > 0, p, EPSILON) ** (self.q - 1)))

    def get_config(self):
        return {**super().get_config(), "q": self.q}


# Keras's functional forms return the loss of each sample.
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy of each sample (see ``BinaryCrossentropy``)."""
    return _per_sample(BinaryCrossentropy(from_logits, label_smoothing, axis), y_true, y_pred)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy of each sample (see ``CategoricalCrossentropy``)."""
    return _per_sample(CategoricalCrossentropy(from_logits, label_smoothing, axis), y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Cross-entropy of each sample from integer labels (see ``SparseCategoricalCrossentropy``)."""
    loss = SparseCategoricalCrossentropy(from_logits, ignore_class, axis=axis)
    return _per_sample(loss, y_true, y_pred)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Generalized cross-entropy of each sample (see ``CategoricalGeneralizedCrossEntropy``)."""
    return _per_sample(CategoricalGeneralizedCrossEntropy(q), y_true, y_pred)
