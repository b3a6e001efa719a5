"""Metrics: measures of how well the model does, reported per epoch (Keras's
``keras.metrics``).

A metric accumulates state over batches (``update_state``) and reports its
value over all of them (``result``): a running mean for the accuracies and
errors, ratios of summed counts for ``Precision``, ``Recall``, ``AUC`` and
``F1Score``, so the number printed for an epoch is the value over every
sample seen, not the mean of batch values. ``compile(metrics=[...])`` takes
metric objects, their classes, their names (``'auc'``, ``'precision'``,
``'mse'``, ``'top_k_categorical_accuracy'``, ...) as Keras's ``metrics.get``
resolves them, and functions ``fn(y_true, y_pred)`` returning one value per
sample.
"""

from __future__ import annotations

from typing import Any

from gradstep import losses
from gradstep.layers.base import snake_case
from gradstep.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from gradstep.metrics.base import Metric, Variable
from gradstep.metrics.confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from gradstep.metrics.f_score import F1Score, FBetaScore
from gradstep.metrics.hinge import CategoricalHinge, Hinge, SquaredHinge
from gradstep.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from gradstep.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from gradstep.metrics.reduction import FUNCTIONS, Mean, MeanMetricWrapper, Sum
from gradstep.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    cosine_similarity,
)
from gradstep.registry import Registry

METRICS = Registry("metric")

_CLASSES = (
    Mean,
    Sum,
    MeanMetricWrapper,
    MeanSquaredError,
    RootMeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    LogCoshError,
    R2Score,
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    KLDivergence,
    Poisson,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score,
    FBetaScore,
    IoU,
    BinaryIoU,
    MeanIoU,
    OneHotIoU,
    OneHotMeanIoU,
)
# Keras's ``metrics.get`` names: each class name and its snake case, and the short aliases.
for _class in _CLASSES:
    METRICS.add(snake_case(_class.__name__), _class)
for _alias, _class in (
    ("bce", BinaryCrossentropy),
    ("mse", MeanSquaredError),
    ("mae", MeanAbsoluteError),
    ("mape", MeanAbsolutePercentageError),
    ("msle", MeanSquaredLogarithmicError),
):
    METRICS.add(_alias, _class)

#: The accuracy functions and the classes that wrap them.
_ACCURACY_CLASSES = {
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
}

FUNCTIONS.update(
    {
        fn.__name__: fn
        for fn in (
            accuracy,
            binary_accuracy,
            categorical_accuracy,
            sparse_categorical_accuracy,
            top_k_categorical_accuracy,
            sparse_top_k_categorical_accuracy,
            cosine_similarity,
            losses.mean_squared_error,
            losses.mean_absolute_error,
            losses.mean_absolute_percentage_error,
            losses.mean_squared_logarithmic_error,
            losses.log_cosh,
            losses.kl_divergence,
            losses.poisson,
            losses.binary_crossentropy,
            losses.categorical_crossentropy,
            losses.sparse_categorical_crossentropy,
            losses.hinge,
            losses.squared_hinge,
            losses.categorical_hinge,
        )
    }
)


def is_builtin_function(fn) -> bool:
    """Whether ``fn`` is one of the per-sample functions a saved file names."""
    return FUNCTIONS.get(getattr(fn, "__name__", None)) is fn


def accuracy_for(loss: losses.Loss | None, y_true_shape: tuple, y_pred_shape: tuple):
    """Keras's rule for ``'accuracy'``: binary when there is one output (or the
    loss is binary cross-entropy), sparse when labels are integers (one
    fewer dimension, or a last dimension of 1 against several outputs),
    categorical otherwise."""
    if y_pred_shape[-1] == 1 or isinstance(loss, losses.BinaryCrossentropy):
        return binary_accuracy
    sparse = len(y_true_shape) == len(y_pred_shape) - 1 or (
        len(y_true_shape) == len(y_pred_shape) and y_true_shape[-1] == 1
    )
    if sparse or isinstance(loss, losses.SparseCategoricalCrossentropy):
        return sparse_categorical_accuracy
    return categorical_accuracy


def names() -> list[str]:
    """The metric names ``compile`` accepts (besides the class names)."""
    return sorted({*METRICS.names(), "accuracy", "acc"})


def lookup(name: str) -> type[Metric]:
    """The metric class of a name: a class name (``'AUC'``), its snake case
    (``'auc'``) or an alias (``'mse'``); a ValueError listing the names if unknown."""
    try:
        return METRICS.lookup_class(name)
    except ValueError:
        return METRICS.lookup(name, "metrics")


def get(identifier: Any, loss=None, y_true_shape=None, y_pred_shape=None) -> Metric:
    """Resolve a metric identifier to a ``Metric``, as Keras's ``compile`` does.

    A ``Metric`` is returned as is; a ``Metric`` class is instantiated; a name
    (``'auc'``, ``'Precision'``, ``'mse'``) gives that class's metric, named as
    given; ``'accuracy'`` (or ``'acc'``) picks its kind from the loss and the
    shapes of targets and outputs; a config dict from ``serialize`` is rebuilt;
    a function ``fn(y_true, y_pred)`` is wrapped in a ``MeanMetricWrapper``.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            if y_true_shape is None or y_pred_shape is None:
                return Accuracy(name=identifier)
            fn = accuracy_for(loss, y_true_shape, y_pred_shape)
            return _ACCURACY_CLASSES[fn](name=identifier)
        return lookup(identifier)(name=identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(
        f"each metric must be a name such as 'accuracy' or a function, received {identifier!r} "
        "(a gradstep.metrics.Metric object or class is accepted too)"
    )


def serialize(metric: Metric) -> dict[str, Any]:
    """The metric as ``{"class_name": ..., "config": ...}`` (plain data)."""
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Metric:
    """Rebuild a metric from ``serialize``'s output; class names resolve through
    ``METRICS`` or ``custom_objects`` (name -> your ``Metric`` subclass)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"a metric config must be a dict with 'class_name' and 'config', received {config!r}"
        )
    class_name, settings = config["class_name"], dict(config.get("config") or {})
    custom = (custom_objects or {}).get(class_name)
    metric_class = custom if custom is not None else METRICS.lookup_class(class_name)
    if metric_class is MeanMetricWrapper and isinstance(settings.get("fn"), str):
        fn_name = settings["fn"]
        if fn_name in (custom_objects or {}):
            settings["fn"] = custom_objects[fn_name]
    return metric_class.from_config(settings)


__all__ = [
    "AUC",
    "METRICS",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "BinaryIoU",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "IoU",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanIoU",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "OneHotIoU",
    "OneHotMeanIoU",
    "Poisson",
    "Precision",
    "PrecisionAtRecall",
    "R2Score",
    "Recall",
    "RecallAtPrecision",
    "RootMeanSquaredError",
    "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "Variable",
    "accuracy",
    "accuracy_for",
    "binary_accuracy",
    "categorical_accuracy",
    "cosine_similarity",
    "deserialize",
    "get",
    "is_builtin_function",
    "lookup",
    "names",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]
