"""Loss functions: how wrong the model is, as one number, and its slope.

A loss first computes one value per sample (``call``), then reduces them to one
number (``reduction``, Keras's ``'sum_over_batch_size'`` by default: the mean).
Its ``gradient`` is the slope of that number with respect to every entry of
``y_pred``: the first arrow of the backward pass.

    >>> import numpy as np
    >>> mse = MeanSquaredError()
    >>> float(mse(np.array([[20.], [3.], [1.]]), np.array([[10.], [8.], [6.]])))
    50.0

When the model's last activation pairs with the loss (softmax with categorical
cross-entropy, sigmoid with binary cross-entropy), ``fused_gradient`` gives
the slope with respect to the pre-activation directly: ``p - y``, without the
round trip through ``1 / p`` that loses precision.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradstep.registry import Registry

LOSSES = Registry("loss")

# Keras's fuzz factor: probabilities are kept in [EPSILON, 1 - EPSILON] before
# log(), so that log(0) never produces -inf.
EPSILON = 1e-7

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "none", None)


class Loss:
    """Base class. Subclasses implement ``call`` (loss per sample, shape
    ``y_pred.shape[:-1]``) and ``call_gradient`` (its slope with respect to
    ``y_pred``, shape ``y_pred.shape``).

    Args:
        reduction: ``'sum_over_batch_size'`` (default; the mean of the
            per-sample losses), ``'mean'`` (the same), ``'sum'`` or ``'none'``.
        name: the name shown in logs.
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
        raise NotImplementedError

    def call_gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fused_gradient(self, y_true, output, activation_name: str):
        """Slope with respect to the pre-activation when ``activation_name``
        pairs with this loss; ``None`` when it does not."""
        return None

    def prepare(self, y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
        """Bring ``y_true`` to the form ``call`` expects (dtype, rank)."""
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        return _match_rank(y_true, y_pred), y_pred

    # --- shared by every loss ---------------------------------------------------------
    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self.prepare(y_true, y_pred)
        per_sample = self.call(y_true, y_pred)
        weights = _sample_weight(sample_weight, per_sample)
        if weights is not None:
            per_sample = per_sample * weights
        return self._reduce(per_sample)

    def gradient(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        """Slope of ``self(y_true, y_pred, sample_weight)`` with respect to ``y_pred``."""
        y_true, y_pred = self.prepare(y_true, y_pred)
        return self._scale(self.call_gradient(y_true, y_pred), y_pred, sample_weight)

    def value_and_gradient(self, y_true, y_pred, sample_weight=None, activation_name=None):
        """The reduced loss and its slope, preparing the targets once.

        Returns ``(value, slope, fused)``: when ``activation_name`` pairs with
        this loss, ``fused`` is True and ``slope`` is with respect to the
        activation's input; otherwise it is with respect to ``y_pred``.
        """
        y_true, y_pred = self.prepare(y_true, y_pred)
        per_sample = self.call(y_true, y_pred)
        weights = _sample_weight(sample_weight, per_sample)
        value = self._reduce(per_sample if weights is None else per_sample * weights)
        slope = (
            None
            if activation_name is None
            else self.fused_gradient(y_true, y_pred, activation_name)
        )
        fused = slope is not None
        if not fused:
            slope = self.call_gradient(y_true, y_pred)
        return value, self._scale(slope, y_pred, sample_weight), fused

    def fused_gradient_reduced(self, y_true, output, activation_name, sample_weight=None):
        y_true, output = self.prepare(y_true, output)
        per_sample = self.fused_gradient(y_true, output, activation_name)
        if per_sample is None:
            return None
        return self._scale(per_sample, output, sample_weight)

    def _scale(self, per_sample_grad, y_pred, sample_weight):
        count = math.prod(y_pred.shape[:-1])
        weights = _sample_weight(sample_weight, np.empty(y_pred.shape[:-1]))
        if weights is not None:
            per_sample_grad = per_sample_grad * weights[..., None]
        if self.reduction in ("sum_over_batch_size", "mean"):
            per_sample_grad = per_sample_grad / count
        return per_sample_grad.astype(y_pred.dtype, copy=False)

    def _reduce(self, per_sample):
        if self.reduction in ("none", None):
            return per_sample
        total = np.sum(per_sample)
        if self.reduction == "sum":
            return total
        return total / max(per_sample.size, 1)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@LOSSES.register("mean_squared_error", "mse")
class MeanSquaredError(Loss):
    """Mean of the squared errors over the last axis.

    ``loss = mean((y_pred - y_true)^2)``; slope ``2 (y_pred - y_true) / d``
    (``d`` the size of the last axis). For regression.
    """

    name = "mean_squared_error"

    def call(self, y_true, y_pred):
        return np.mean(np.square(y_pred - y_true), axis=-1)

    def call_gradient(self, y_true, y_pred):
        return 2 * (y_pred - y_true) / y_pred.shape[-1]


@LOSSES.register("mean_absolute_error", "mae")
class MeanAbsoluteError(Loss):
    """Mean of the absolute errors over the last axis.

    ``loss = mean(|y_pred - y_true|)``; slope ``sign(y_pred - y_true) / d``.
    For regression robust to outliers.
    """

    name = "mean_absolute_error"

    def call(self, y_true, y_pred):
        return np.mean(np.abs(y_pred - y_true), axis=-1)

    def call_gradient(self, y_true, y_pred):
        return np.sign(y_pred - y_true) / y_pred.shape[-1]


@LOSSES.register("binary_crossentropy")
class BinaryCrossentropy(Loss):
    """Binary cross-entropy, averaged over the last axis.

    ``loss = -mean(y log p + (1 - y) log(1 - p))`` with ``p`` clipped to
    ``[1e-7, 1 - 1e-7]``; slope ``-(y / p - (1 - y) / (1 - p)) / d`` (zero where
    ``p`` is clipped, as Keras's autodiff gives). With ``from_logits=True`` the
    stable form ``max(x, 0) - x y + log1p(exp(-|x|))`` with slope
    ``(sigmoid(x) - y) / d``. For yes/no targets; last activation sigmoid.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: moves targets toward 0.5: ``y (1 - s) + s / 2``.
    """

    name = "binary_crossentropy"

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name=None,
    ):
        super().__init__(reduction, name)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def prepare(self, y_true, y_pred):
        y_true, y_pred = super().prepare(y_true, y_pred)
        if self.label_smoothing:
            y_true = y_true * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        return y_true, y_pred

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

    def fused_gradient(self, y_true, output, activation_name):
        if self.from_logits or activation_name != "sigmoid":
            return None
        return np.where(_unclipped(output), output - y_true, 0) / output.shape[-1]

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


@LOSSES.register("categorical_crossentropy")
class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy for one-hot (or soft) targets.

    ``loss = -sum(y log q)`` with ``q = clip(p / sum(p), 1e-7, 1 - 1e-7)``.
    Slope with respect to ``p``: ``(c - y u / q) / sum(p)``, where ``u`` marks the
    entries that were not clipped and ``c = sum(y u)``. With ``from_logits=True``
    ``q = softmax(x)`` via log-sum-exp and the slope is ``softmax(x) sum(y) - y``.
    For mutually exclusive classes given one-hot; last activation softmax.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
        label_smoothing: moves targets toward uniform: ``y (1 - s) + s / k``.
        axis: the class axis (only -1 is supported).
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
        super().__init__(reduction, name)
        if axis != -1:
            raise ValueError(f"axis must be -1 (the class axis is last), received {axis!r}")
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def prepare(self, y_true, y_pred):
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"y_true and y_pred must have the same shape for {self.name}, received "
                f"y_true {y_true.shape} and y_pred {y_pred.shape} (for integer labels use "
                "sparse_categorical_crossentropy)"
            )
        if self.label_smoothing:
            k = y_pred.shape[-1]
            y_true = y_true * (1 - self.label_smoothing) + self.label_smoothing / k
        return y_true, y_pred

    def call(self, y_true, y_pred):
        if self.from_logits:
            return -np.sum(y_true * _log_softmax(y_pred), axis=-1)
        q = np.clip(y_pred / np.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        return -np.sum(y_true * np.log(q), axis=-1)

    def call_gradient(self, y_true, y_pred):
        if self.from_logits:
            return _softmax(y_pred) * np.sum(y_true, axis=-1, keepdims=True) - y_true
        total = np.sum(y_pred, axis=-1, keepdims=True)
        q = y_pred / total
        kept = y_true * _unclipped(q)
        return (np.sum(kept, axis=-1, keepdims=True) - kept / np.clip(q, EPSILON, 1)) / total

    def fused_gradient(self, y_true, output, activation_name):
        if self.from_logits or activation_name != "softmax":
            return None
        # Chain rule through softmax of the clipped loss: p * sum(y u) - y u.
        kept = y_true * _unclipped(output)
        return output * np.sum(kept, axis=-1, keepdims=True) - kept

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


@LOSSES.register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy for integer class labels (the digits task).

    The same formula as ``CategoricalCrossentropy`` with ``y`` the one-hot
    encoding of the label: ``loss = -log q[label]``. For mutually exclusive
    classes given as integers ``0 .. k-1``; last activation softmax.

    Args:
        from_logits: whether ``y_pred`` holds logits rather than probabilities.
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, axis=-1, reduction="sum_over_batch_size", name=None):
        super().__init__(from_logits=from_logits, axis=axis, reduction=reduction, name=name)

    def prepare(self, y_true, y_pred):
        from gradstep.validation import check_sparse_labels

        y_pred = np.asarray(y_pred)
        labels = np.asarray(y_true)
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if labels.shape != y_pred.shape[:-1]:
            raise ValueError(
                f"y_true must hold one integer label per sample for {self.name}: expected shape "
                f"{y_pred.shape[:-1]} (or {y_pred.shape[:-1] + (1,)}), received {labels.shape}"
            )
        return check_sparse_labels(labels, y_pred.shape[-1], "y_true"), y_pred

    # The formulas of CategoricalCrossentropy with y = one_hot(label), computed
    # from the labels directly: only the label's entry of y is nonzero.
    def call(self, labels, y_pred):
        if self.from_logits:
            return -_pick(_log_softmax(y_pred), labels)
        q_label = _pick(y_pred, labels) / np.sum(y_pred, axis=-1)
        return -np.log(np.clip(q_label, EPSILON, 1 - EPSILON))

    def call_gradient(self, labels, y_pred):
        if self.from_logits:
            return _add_at_label(_softmax(y_pred), labels, -1)
        total = np.sum(y_pred, axis=-1)
        q_label = _pick(y_pred, labels) / total
        kept = _unclipped(q_label).astype(y_pred.dtype)
        grad = np.broadcast_to((kept / total)[..., None], y_pred.shape).copy()
        return _add_at_label(grad, labels, -kept / (np.clip(q_label, EPSILON, 1) * total))

    def fused_gradient(self, labels, output, activation_name):
        if self.from_logits or activation_name != "softmax":
            return None
        kept = _unclipped(_pick(output, labels)).astype(output.dtype)
        return _add_at_label(output * kept[..., None], labels, -kept)

    def get_config(self):
        config = super().get_config()
        del config["label_smoothing"]
        return config


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
    if sample_weight is None:
        return None
    weights = np.asarray(
        sample_weight, dtype=per_sample.dtype if per_sample.dtype.kind == "f" else float
    )
    if weights.ndim == per_sample.ndim + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    try:
        return np.broadcast_to(weights, per_sample.shape)
    except ValueError:
        raise ValueError(
            f"sample_weight of shape {weights.shape} does not match the per-sample losses of "
            f"shape {per_sample.shape}"
        ) from None


def _label_index(labels: np.ndarray) -> tuple:
    """Index of ``values[..., label]`` for every sample: ``(rows..., labels)``."""
    return (*np.indices(labels.shape, sparse=True), labels)


def _pick(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``values[..., label]`` for each sample."""
    return values[_label_index(labels)]


def _add_at_label(values: np.ndarray, labels: np.ndarray, amount) -> np.ndarray:
    """Add ``amount`` (a number, or one per sample) to ``values[..., label]`` in place."""
    values[_label_index(labels)] += amount
    return values


def _unclipped(p: np.ndarray) -> np.ndarray:
    return (p >= EPSILON) & (p <= 1 - EPSILON)


def _sigmoid(x):
    from gradstep.activations import _sigmoid as sigmoid

    return sigmoid(x)


def _softmax(x):
    from gradstep.activations import _softmax as softmax

    return softmax(x)


def _log_softmax(x):
    # log-sum-exp with the row max subtracted: finite even for logits of +-1000.
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


# Keras's functional forms return the loss per sample.
def mean_squared_error(y_true, y_pred):
    return MeanSquaredError().call(*MeanSquaredError().prepare(y_true, y_pred))


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError().call(*MeanAbsoluteError().prepare(y_true, y_pred))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    loss = BinaryCrossentropy(from_logits, label_smoothing, axis)
    return loss.call(*loss.prepare(y_true, y_pred))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    loss = CategoricalCrossentropy(from_logits, label_smoothing, axis)
    return loss.call(*loss.prepare(y_true, y_pred))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    loss = SparseCategoricalCrossentropy(from_logits, axis)
    return loss.call(*loss.prepare(y_true, y_pred))


mse = mean_squared_error
mae = mean_absolute_error

_FUNCTIONS = {
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}


def get(identifier: Any) -> Loss:
    """Resolve a name (``'mse'``), a ``Loss``, or one of this module's
    functions to a ``Loss`` object."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        return LOSSES.lookup(identifier, "loss")()
    if isinstance(identifier, dict):
        return LOSSES.lookup_class(identifier["class_name"]).from_config(identifier["config"])
    if identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    raise TypeError(
        "loss must be a name such as 'mse', a gradstep.losses.Loss, or a gradstep.losses "
        f"function; received {identifier!r}. A custom loss subclasses Loss and supplies "
        "call() and call_gradient()."
    )


def serialize(loss: Loss) -> dict[str, Any]:
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
