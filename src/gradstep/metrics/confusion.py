"""Metrics from confusion-matrix counts at thresholds: ``TruePositives`` ...
``FalseNegatives``, ``Precision``, ``Recall``, ``AUC`` and the
``...At...`` family.

At each threshold ``t`` a prediction ``p`` counts as positive when ``p > t``;
a label counts as positive when it is nonzero. Over every batch since the last
reset the metric adds up, per threshold, the weights of the true positives
``TP``, false positives ``FP``, true negatives ``TN`` and false negatives
``FN``. The results are ratios of those sums over the whole epoch:
``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)`` (0 where the
denominator is 0), and the AUC a Riemann sum over the thresholds.
"""

from __future__ import annotations

import numpy as np

from gradstep.metrics.base import Metric, as_float, check_unit_interval, same_rank
from gradstep.metrics.reduction import STATE_DTYPE

#: Keras's stand-in for minus infinity (the threshold that ``top_k`` uses).
NEG_INF = -1e10
_EPSILON = 1e-7
_KINDS = ("tp", "fp", "tn", "fn")


def _divide_no_nan(numerator, denominator):
    numerator, denominator = np.asarray(numerator), np.asarray(denominator)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator == 0, 0.0, numerator / np.where(denominator == 0, 1, denominator)
        )


def parse_thresholds(thresholds, default: float, metric_class: str) -> list[float]:
    """``thresholds`` (one number or a list) as a list, each checked to lie in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, list | tuple | np.ndarray) else [thresholds]
    bad = [
        t
        for t in values
        if isinstance(t, bool) or not isinstance(t, int | float | np.number) or not 0 <= t <= 1
    ]
    if bad or not values:
        raise ValueError(
            f"{metric_class}: argument `thresholds` must be numbers in [0, 1]. "
            f"Received: thresholds={thresholds!r}"
        )
    return [float(t) for t in values]


def _filter_top_k(y_pred: np.ndarray, k: int) -> np.ndarray:
    """``y_pred`` with all but its ``k`` highest entries (per row) set to NEG_INF."""
    order = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(y_pred.shape, dtype=bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, y_pred, NEG_INF)


def confusion_counts(
    metric: Metric,
    y_true,
    y_pred,
    thresholds,
    kinds=_KINDS,
    sample_weight=None,
    top_k=None,
    class_id=None,
    multi_label=False,
    label_weights=None,
) -> dict[str, np.ndarray]:
    """The weighted counts of one batch at each threshold (Keras's
    ``update_confusion_matrix_variables``): one array per kind in ``kinds``,
    of shape ``(thresholds,)``, or ``(thresholds, labels)`` with ``multi_label``."""
    y_true = as_float(y_true, metric, "y_true")
    y_pred = as_float(y_pred, metric, "y_pred")
    y_true, y_pred = same_rank(metric, y_true, y_pred)
    weights = None
    if sample_weight is not None:
        weights = as_float(sample_weight, metric, "sample_weight")[..., None]
        if weights.ndim == y_true.ndim + 1 and weights.shape[-1] == 1:
            weights = weights[..., 0]
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                f"{type(metric).__name__} {metric.name!r}: with class_id, y_pred must be a 2D "
                f"array of shape (num_samples, num_classes), received shape {y_pred.shape}"
            )
        if not 0 <= class_id < y_pred.shape[-1]:
            raise ValueError(
                f"{type(metric).__name__} {metric.name!r}: class_id={class_id} is out of range "
                f"for y_pred with {y_pred.shape[-1]} classes"
            )
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]
    shape = np.broadcast_shapes(y_true.shape, y_pred.shape)
    if weights is None:
        weights = np.ones(shape)
    else:
        try:
            weights = np.broadcast_to(weights, shape)
        except ValueError:
            raise ValueError(
                f"{type(metric).__name__} {metric.name!r}: sample_weight of shape "
                f"{np.shape(sample_weight)} does not match y_pred of shape {y_pred.shape}"
            ) from None
    positive = np.broadcast_to(y_true != 0, shape)
    y_pred = np.broadcast_to(y_pred, shape)
    if label_weights is not None:
        weights = weights * np.broadcast_to(label_weights, shape)
    if multi_label:
        # (N, L) -> per label: predicted positive (T, N, L)
        predicted = y_pred[None] > np.asarray(thresholds)[:, None, None]
        pos_weights = np.where(positive, weights, 0.0)
        neg_weights = np.where(positive, 0.0, weights)
        tp = np.einsum("tnl,nl->tl", predicted, pos_weights)
        fp = np.einsum("tnl,nl->tl", predicted, neg_weights)
        fn = pos_weights.sum(axis=0) - tp
        tn = neg_weights.sum(axis=0) - fp
    else:
        flat_pred = y_pred.reshape(-1)
        pos_weights = np.where(positive, weights, 0.0).reshape(-1)
        neg_weights = np.where(positive, 0.0, weights).reshape(-1)
        predicted = (flat_pred[None, :] > np.asarray(thresholds)[:, None]).astype(np.float64)
        tp = predicted @ pos_weights
        fp = predicted @ neg_weights
        fn = pos_weights.sum() - tp
        tn = neg_weights.sum() - fp
    counts = {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    return {kind: counts[kind] for kind in kinds}


class _ConfusionMatrixConditionCount(Metric):
    """The weighted count of one confusion-matrix cell at each threshold."""

    _kind = "tp"

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5, type(self).__name__)
        self.accumulator = self.add_variable(
            (len(self.thresholds),), "zeros", dtype=STATE_DTYPE, name="accumulator"
        )

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(
            self, y_true, y_pred, self.thresholds, (self._kind,), sample_weight
        )
        self.accumulator.assign_add(counts[self._kind])

    def result(self):
        value = self.accumulator.numpy()
        return float(value[0]) if len(self.thresholds) == 1 else value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The weighted count of true positives (``y_pred > threshold``, nonzero label).

    Args:
        thresholds: one number in [0, 1] or a list of them (default 0.5); with
            a list, ``result()`` is one count per threshold.
        name: as for every metric.
        dtype: as for every metric.
    """

    _kind = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The weighted count of false positives (see ``TruePositives`` for the arguments)."""

    _kind = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The weighted count of true negatives (see ``TruePositives`` for the arguments)."""

    _kind = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The weighted count of false negatives (see ``TruePositives`` for the arguments)."""

    _kind = "fn"


class _PrecisionRecallBase(Metric):
    _kinds: tuple[str, str] = ("tp", "fp")
    _variable_names = {"tp": "true_positives", "fp": "false_positives", "fn": "false_negatives"}

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        metric_class = type(self).__name__
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise ValueError(
                f"{metric_class}: argument `top_k` must be an integer >= 1. "
                f"Received: top_k={top_k!r}"
            )
        if class_id is not None and (
            isinstance(class_id, bool) or not isinstance(class_id, int) or class_id < 0
        ):
            raise ValueError(
                f"{metric_class}: argument `class_id` must be an integer >= 0. "
                f"Received: class_id={class_id!r}"
            )
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_thresholds(thresholds, default, metric_class)
        for kind in self._kinds:
            variable = self.add_variable(
                (len(self.thresholds),), "zeros", dtype=STATE_DTYPE, name=self._variable_names[kind]
            )
            setattr(self, self._variable_names[kind], variable)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(
            self,
            y_true,
            y_pred,
            self.thresholds,
            self._kinds,
            sample_weight,
            top_k=self.top_k,
            class_id=self.class_id,
        )
        for kind in self._kinds:
            getattr(self, self._variable_names[kind]).assign_add(counts[kind])

    def result(self):
        tp, other = (getattr(self, self._variable_names[k]).numpy() for k in self._kinds)
        value = _divide_no_nan(tp, tp + other)
        return float(value[0]) if len(self.thresholds) == 1 else value

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_PrecisionRecallBase):
    """``TP / (TP + FP)`` over every batch since the last reset.

    Args:
        thresholds: one number in [0, 1] or a list (default 0.5; with
            ``top_k``, every one of the top k counts as predicted positive).
        top_k: count only the ``k`` highest scores of each row as predictions.
        class_id: the one class (last-axis index) to measure.
        name: as for every metric.
        dtype: as for every metric.
    """

    _kinds = ("tp", "fp")


class Recall(_PrecisionRecallBase):
    """``TP / (TP + FN)`` over every batch since the last reset (the
    arguments are those of ``Precision``)."""

    _kinds = ("tp", "fn")


class SensitivitySpecificityBase(Metric):
    """The four counts at ``num_thresholds`` evenly spaced thresholds in [0, 1],
    for the metrics that read one rate where another reaches a value."""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if (
            isinstance(num_thresholds, bool)
            or not isinstance(num_thresholds, int)
            or num_thresholds <= 0
        ):
            raise ValueError(
                f"{type(self).__name__}: argument `num_thresholds` must be an integer > 0. "
                f"Received: num_thresholds={num_thresholds!r}"
            )
        self.value = value
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds = [0.5]
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = [0.0, *inner, 1.0]
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, "zeros", STATE_DTYPE, name="true_positives")
        self.false_positives = self.add_variable(size, "zeros", STATE_DTYPE, name="false_positives")
        self.true_negatives = self.add_variable(size, "zeros", STATE_DTYPE, name="true_negatives")
        self.false_negatives = self.add_variable(size, "zeros", STATE_DTYPE, name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(
            self, y_true, y_pred, self.thresholds, _KINDS, sample_weight, class_id=self.class_id
        )
        self.true_positives.assign_add(counts["tp"])
        self.false_positives.assign_add(counts["fp"])
        self.true_negatives.assign_add(counts["tn"])
        self.false_negatives.assign_add(counts["fn"])

    def _rates(self) -> dict[str, np.ndarray]:
        tp, fp = self.true_positives.numpy(), self.false_positives.numpy()
        tn, fn = self.true_negatives.numpy(), self.false_negatives.numpy()
        return {
            "recall": _divide_no_nan(tp, tp + fn),  # = sensitivity
            "specificity": _divide_no_nan(tn, tn + fp),
            "precision": _divide_no_nan(tp, tp + fp),
        }

    def _max_where(self, constrained: str, dependent: str) -> float:
        """The highest ``dependent`` rate among the thresholds where the
        ``constrained`` rate is at least ``value`` (0 if none)."""
        rates = self._rates()
        feasible = rates[constrained] >= self.value
        return float(np.max(np.where(feasible, rates[dependent], 0.0), initial=0.0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id}


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """The best sensitivity (recall) at a threshold where specificity
    ``TN / (TN + FP)`` is at least ``specificity``.

    Args:
        specificity: a number in [0, 1].
        num_thresholds: how many evenly spaced thresholds in [0, 1] (default 200).
        class_id: the one class to measure.
        name: as for every metric.
        dtype: as for every metric.
    """

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        check_unit_interval(specificity, "SensitivityAtSpecificity", "specificity")
        self.specificity = specificity
        self.num_thresholds = num_thresholds
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self._max_where("specificity", "recall")

    def get_config(self):
        return {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "specificity": self.specificity,
        }


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """The best specificity at a threshold where sensitivity (recall) is at
    least ``sensitivity`` (the other arguments as ``SensitivityAtSpecificity``)."""

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        check_unit_interval(sensitivity, "SpecificityAtSensitivity", "sensitivity")
        self.sensitivity = sensitivity
        self.num_thresholds = num_thresholds
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self._max_where("recall", "specificity")

    def get_config(self):
        return {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "sensitivity": self.sensitivity,
        }


class PrecisionAtRecall(SensitivitySpecificityBase):
    """The best precision at a threshold where recall is at least ``recall``
    (the other arguments as ``SensitivityAtSpecificity``)."""

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        check_unit_interval(recall, "PrecisionAtRecall", "recall")
        self.recall = recall
        self.num_thresholds = num_thresholds
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self._max_where("recall", "precision")

    def get_config(self):
        return {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "recall": self.recall,
        }


class RecallAtPrecision(SensitivitySpecificityBase):
    """The best recall at a threshold where precision is at least ``precision``
    (the other arguments as ``SensitivityAtSpecificity``)."""

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        check_unit_interval(precision, "RecallAtPrecision", "precision")
        self.precision = precision
        self.num_thresholds = num_thresholds
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self._max_where("precision", "recall")

    def get_config(self):
        return {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "precision": self.precision,
        }


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """The area under the ROC or precision-recall curve, from the counts at
    ``num_thresholds`` thresholds over every batch since the last reset.

    The thresholds are ``-eps, 1/(n-1), ..., (n-2)/(n-1), 1 + eps``. Between
    neighbouring thresholds ``i`` and ``i+1`` the area grows by
    ``(x_i - x_{i+1}) * h_i``, with ``x`` the false-positive rate (ROC) or
    recall (PR) and ``h_i`` the mean (``'interpolation'``), the smaller
    (``'minoring'``) or the larger (``'majoring'``) of the neighbouring
    heights (recall for ROC, precision for PR). PR with ``'interpolation'``
    uses Davis and Goadrich's interpolation, as Keras does.

    Args:
        num_thresholds: how many thresholds (> 1; default 200).
        curve: ``'ROC'`` (default), ``'PR'`` or ``'PRGAIN'``.
        summation_method: ``'interpolation'`` (default), ``'majoring'`` or ``'minoring'``.
        name: as for every metric.
        dtype: as for every metric.
        thresholds: your own thresholds in [0, 1] (then ``num_thresholds`` is
            their number plus 2).
        multi_label: one curve per label (the last axis), averaged; else every
            entry counts as one binary prediction.
        num_labels: the number of labels with ``multi_label`` (else found on the first batch).
        label_weights: weights of the labels in the average (or the counts).
        from_logits: apply a sigmoid to ``y_pred`` first.
    """

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        if not isinstance(curve, str) or curve.lower() not in _CURVES:
            raise ValueError(
                f'AUC: invalid `curve` argument value "{curve}". '
                'Expected values are ["PR", "ROC", "PRGAIN"]'
            )
        if not isinstance(summation_method, str) or summation_method.lower() not in _SUMMATIONS:
            raise ValueError(
                f'AUC: invalid `summation_method` argument value "{summation_method}". '
                'Expected values are ["interpolation", "majoring", "minoring"]'
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_thresholds(thresholds, 0.5, "AUC"))
            self.num_thresholds = len(inner) + 2
        else:
            if (
                isinstance(num_thresholds, bool)
                or not isinstance(num_thresholds, int)
                or num_thresholds <= 1
            ):
                raise ValueError(
                    "AUC: argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds!r}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self._thresholds = np.array([0.0 - _EPSILON, *inner, 1.0 + _EPSILON])
        self.curve = _CURVES[curve.lower()]
        self.summation_method = summation_method.lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        # In the metric's dtype, as Keras keeps them (and reports them in get_config).
        self.label_weights = (
            None if label_weights is None else np.asarray(label_weights, dtype=self.dtype)
        )
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("AUC: `num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def _build(self, shape) -> None:
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError(
                    f"AUC {self.name!r}: y_pred must have rank 2 when multi_label=True. "
                    f"Received shape {tuple(shape)}"
                )
            self._num_labels = shape[1]
            size = (self.num_thresholds, self._num_labels)
        else:
            size = (self.num_thresholds,)
        self.true_positives = self.add_variable(size, "zeros", STATE_DTYPE, name="true_positives")
        self.false_positives = self.add_variable(size, "zeros", STATE_DTYPE, name="false_positives")
        self.true_negatives = self.add_variable(size, "zeros", STATE_DTYPE, name="true_negatives")
        self.false_negatives = self.add_variable(size, "zeros", STATE_DTYPE, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = as_float(y_pred, self, "y_pred")
        if not self._built:
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = 0.5 * (1.0 + np.tanh(0.5 * y_pred))
        counts = confusion_counts(
            self,
            y_true,
            y_pred,
            self._thresholds,
            _KINDS,
            sample_weight,
            multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights,
        )
        self.true_positives.assign_add(counts["tp"])
        self.false_positives.assign_add(counts["fp"])
        self.true_negatives.assign_add(counts["tn"])
        self.false_negatives.assign_add(counts["fn"])

    def _average_labels(self, by_threshold: np.ndarray) -> float:
        if not self.multi_label:
            return float(np.sum(by_threshold))
        by_label = np.sum(by_threshold, axis=0)
        if self.label_weights is None:
            return float(np.mean(by_label))
        return float(
            _divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights))
        )

    def interpolate_pr_auc(self) -> float:
        """Davis and Goadrich's interpolated area under the precision-recall curve."""
        n = self.num_thresholds
        tp, fp, fn = (
            v.numpy() for v in (self.true_positives, self.false_positives, self.false_negatives)
        )
        dtp = tp[: n - 1] - tp[1:]
        p = tp + fp
        dp = p[: n - 1] - p[1:]
        prec_slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        both_positive = (p[: n - 1] > 0) & (p[1:] > 0)
        safe_p_ratio = np.where(
            both_positive, _divide_no_nan(p[: n - 1], np.maximum(p[1:], 0)), 1.0
        )
        with np.errstate(divide="ignore"):
            log_ratio = np.log(safe_p_ratio)
        increments = _divide_no_nan(
            prec_slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0)
        )
        return self._average_labels(increments)

    def result(self) -> float:
        if not self._built:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp = self.true_positives.numpy(), self.false_positives.numpy()
        tn, fn = self.true_negatives.numpy(), self.false_negatives.numpy()
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide_no_nan(tp, tp + fp)
        else:
            scaling = _divide_no_nan(tp + fn, tn + fp)
            recall_gain = np.where(tp == 0, 0.0, 1.0 - scaling * _divide_no_nan(fn, tp))
            precision_gain = np.where(tp == 0, 1.0, 1.0 - scaling * _divide_no_nan(fp, tp))
            x, y = np.maximum(recall_gain, 0.0), precision_gain
        n = self.num_thresholds
        if self.summation_method == "interpolation":
            heights = (y[: n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[: n - 1], y[1:])
        else:
            heights = np.maximum(y[: n - 1], y[1:])
        return self._average_labels((x[: n - 1] - x[1:]) * heights)

    def get_config(self):
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
