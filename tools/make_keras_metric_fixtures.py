"""Record Keras 3's metric results as golden values for gradstep's metric classes.

Run with the Keras virtualenv, from the repository root:

    KERAS_BACKEND=jax /tmp/ref/bin/python tools/make_keras_metric_fixtures.py

For each case (a metric class, its arguments and a kind of data) it feeds
Keras's metric three batches (with or without sample weights) and records the
result after each ``update_state``, the result after ``reset_state``, the
variables' shapes and ``get_config()``. The data goes into the fixture too,
so ``tests/metrics/test_keras_metric_parity.py`` replays it without Keras.
Writes ``tests/fixtures/metrics.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "metrics.json"
BATCH_SIZES = (6, 6, 4)


def _probabilities(rng, shape):
    # 4 decimals and a 5th of 3: no value sits on a threshold such as 0.5 or i/199.
    return np.round(np.round(rng.uniform(0.0, 1.0, shape), 4) + 3e-5, 5)


def _one_hot(labels, classes):
    return np.eye(classes)[labels]


def make_batch(kind: str, rng, n: int, weighted: str | None):
    """One batch ``[y_true, y_pred, sample_weight]`` of the kind of data a metric takes."""
    if kind == "values":
        y_true, y_pred = None, np.round(rng.normal(size=(n, 2)), 3)
    elif kind == "binary":
        y_true, y_pred = rng.integers(0, 2, (n, 1)), _probabilities(rng, (n, 1))
    elif kind == "binary_flat":
        y_true, y_pred = rng.integers(0, 2, (n,)), _probabilities(rng, (n,))
    elif kind == "binary_exact":
        y_true, y_pred = rng.integers(0, 2, (n, 1)), rng.integers(0, 2, (n, 1)).astype(float)
    elif kind == "logits":
        y_true, y_pred = rng.integers(0, 2, (n, 1)), np.round(rng.normal(size=(n, 1)) * 2, 3)
    elif kind == "multilabel":
        y_true, y_pred = rng.integers(0, 2, (n, 3)), _probabilities(rng, (n, 3))
    elif kind == "categorical":
        y_true, y_pred = _one_hot(rng.integers(0, 4, n), 4), _probabilities(rng, (n, 4))
    elif kind == "sparse":
        y_true, y_pred = rng.integers(0, 4, (n,)), _probabilities(rng, (n, 4))
    elif kind == "sparse_col":
        y_true, y_pred = rng.integers(0, 4, (n, 1)), _probabilities(rng, (n, 4))
    elif kind == "regression":
        y_true = np.round(rng.uniform(0.1, 2.0, (n, 3)), 3)
        y_pred = np.round(rng.uniform(0.1, 2.0, (n, 3)), 3)
    elif kind == "segmentation":
        y_true, y_pred = rng.integers(0, 3, (n, 5)), rng.integers(0, 3, (n, 5))
    elif kind == "segmentation_one_hot":
        y_true, y_pred = _one_hot(rng.integers(0, 3, (n, 5)), 3), _probabilities(rng, (n, 5, 3))
    elif kind == "binary_segmentation":
        y_true, y_pred = rng.integers(0, 2, (n, 5)), _probabilities(rng, (n, 5))
    else:
        raise ValueError(kind)
    # IoU weighs each pixel; the other metrics each sample.
    shape = (n, 5) if "segmentation" in kind else (n,)
    if weighted is None:
        weights = None
    elif weighted == "int":
        weights = rng.integers(0, 3, shape).astype(float)
    else:
        weights = np.round(rng.uniform(0.0, 2.0, shape), 2)
    as_list = lambda a: None if a is None else a.tolist()  # noqa: E731
    return [as_list(y_true), as_list(y_pred), as_list(weights)]


def case(cls, kind, weighted=None, **kwargs):
    return {"class": cls, "kind": kind, "weighted": weighted, "kwargs": kwargs}


CASES = [
    case("Mean", "values"),
    case("Mean", "values", "float"),
    case("Sum", "values", "float"),
    case("MeanMetricWrapper", "regression", "float", fn="mean_squared_error"),
    case("Accuracy", "binary_exact"),
    case("BinaryAccuracy", "binary"),
    case("BinaryAccuracy", "multilabel", "float", threshold=0.7),
    case("CategoricalAccuracy", "categorical"),
    case("CategoricalAccuracy", "categorical", "float"),
    case("SparseCategoricalAccuracy", "sparse"),
    case("SparseCategoricalAccuracy", "sparse_col", "float"),
    case("TopKCategoricalAccuracy", "categorical", k=2),
    case("TopKCategoricalAccuracy", "categorical", "float", k=1),
    case("SparseTopKCategoricalAccuracy", "sparse", k=2),
    case("SparseTopKCategoricalAccuracy", "sparse_col", "float", k=3),
    case("TruePositives", "binary"),
    case("TruePositives", "multilabel", "float", thresholds=[0.2, 0.5, 0.8]),
    case("FalsePositives", "binary_flat", "float"),
    case("FalsePositives", "multilabel", thresholds=[0.2, 0.5, 0.8]),
    case("TrueNegatives", "binary", "float"),
    case("TrueNegatives", "multilabel", thresholds=[0.3, 0.6]),
    case("FalseNegatives", "binary"),
    case("FalseNegatives", "multilabel", "float", thresholds=[0.3, 0.6]),
    case("Precision", "binary"),
    case("Precision", "binary_flat", "float"),
    case("Precision", "multilabel", thresholds=[0.3, 0.6]),
    case("Precision", "multilabel", "float", top_k=2),
    case("Precision", "multilabel", class_id=1),
    case("Precision", "multilabel", "float", top_k=1, class_id=2),
    case("Recall", "binary"),
    case("Recall", "binary_flat", "float"),
    case("Recall", "multilabel", thresholds=[0.3, 0.6]),
    case("Recall", "multilabel", "float", top_k=2),
    case("Recall", "multilabel", class_id=0),
    case("Recall", "multilabel", "float", top_k=1, class_id=1, thresholds=0.4),
    case("AUC", "binary"),
    case("AUC", "multilabel", "float"),
    case("AUC", "binary", curve="PR"),
    case("AUC", "multilabel", "float", num_thresholds=10),
    case("AUC", "binary", summation_method="minoring"),
    case("AUC", "multilabel", curve="PR", summation_method="majoring", num_thresholds=7),
    case("AUC", "multilabel", "float", thresholds=[0.25, 0.5, 0.75]),
    case("AUC", "multilabel", multi_label=True),
    case("AUC", "multilabel", "float", multi_label=True, num_labels=3, curve="PR"),
    case("AUC", "multilabel", multi_label=True, label_weights=[0.2, 0.3, 0.5]),
    case("AUC", "multilabel", label_weights=[0.2, 0.3, 0.5]),
    case("AUC", "logits", from_logits=True),
    case("AUC", "multilabel", curve="PRGAIN"),
    case("PrecisionAtRecall", "binary", recall=0.5),
    case("PrecisionAtRecall", "multilabel", "float", recall=0.8, num_thresholds=20),
    case("RecallAtPrecision", "binary", precision=0.6),
    case("RecallAtPrecision", "multilabel", "float", precision=0.5, num_thresholds=50),
    case("SensitivityAtSpecificity", "binary", specificity=0.5),
    case("SensitivityAtSpecificity", "multilabel", "float", specificity=0.7, class_id=1),
    case("SpecificityAtSensitivity", "binary", sensitivity=0.5),
    case("SpecificityAtSensitivity", "multilabel", "float", sensitivity=0.4, class_id=2),
    case("F1Score", "multilabel", threshold=0.5),
    case("F1Score", "multilabel", "float", average="macro", threshold=0.4),
    case("F1Score", "multilabel", average="micro", threshold=0.6),
    case("F1Score", "multilabel", "float", average="weighted", threshold=0.5),
    case("F1Score", "categorical"),
    case("FBetaScore", "multilabel", beta=2.0, average="macro", threshold=0.5),
    case("FBetaScore", "categorical", "float", beta=0.5),
    case("R2Score", "regression"),
    case("R2Score", "regression", "float", class_aggregation="variance_weighted_average"),
    case("R2Score", "regression", class_aggregation=None),
    case("R2Score", "regression", "float", num_regressors=2),
    case("MeanSquaredError", "regression"),
    case("MeanSquaredError", "regression", "float"),
    case("MeanAbsoluteError", "regression", "float"),
    case("RootMeanSquaredError", "regression"),
    case("RootMeanSquaredError", "regression", "float"),
    case("MeanAbsolutePercentageError", "regression", "float"),
    case("MeanSquaredLogarithmicError", "regression"),
    case("CosineSimilarity", "regression", "float"),
    case("LogCoshError", "regression"),
    case("KLDivergence", "regression", "float"),
    case("Poisson", "regression"),
    case("BinaryCrossentropy", "multilabel", "float"),
    case("BinaryCrossentropy", "logits", from_logits=True, label_smoothing=0.1),
    case("CategoricalCrossentropy", "categorical", "float"),
    case("CategoricalCrossentropy", "categorical", label_smoothing=0.2),
    case("SparseCategoricalCrossentropy", "sparse", "float"),
    case("Hinge", "multilabel"),
    case("SquaredHinge", "multilabel", "float"),
    case("CategoricalHinge", "categorical"),
    case("IoU", "segmentation", num_classes=3, target_class_ids=[0, 2]),
    case("IoU", "segmentation", "int", num_classes=3, target_class_ids=[1]),
    case("MeanIoU", "segmentation", num_classes=3),
    case("MeanIoU", "segmentation", "int", num_classes=3, ignore_class=0),
    case("BinaryIoU", "binary_segmentation"),
    case("BinaryIoU", "binary_segmentation", "int", target_class_ids=[1], threshold=0.3),
    case("OneHotIoU", "segmentation_one_hot", num_classes=3, target_class_ids=[1, 2]),
    case("OneHotMeanIoU", "segmentation_one_hot", "int", num_classes=3),
]


def _plain(value):
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value.astype(float).tolist()


def record(keras, spec: dict, index: int) -> dict:
    rng = np.random.default_rng(1000 + index)
    keras.backend.clear_session()
    kwargs = dict(spec["kwargs"])
    if "fn" in kwargs:
        kwargs["fn"] = getattr(keras.metrics, kwargs["fn"])
    metric = getattr(keras.metrics, spec["class"])(**kwargs)
    batches, results = [], []
    for n in BATCH_SIZES:
        y_true, y_pred, weights = make_batch(spec["kind"], rng, n, spec["weighted"])
        batches.append([y_true, y_pred, weights])
        weight = None if weights is None else np.asarray(weights, "float32")
        if y_true is None:
            metric.update_state(np.asarray(y_pred, "float32"), sample_weight=weight)
        else:
            y_true = np.asarray(y_true, "float32")
            metric.update_state(y_true, np.asarray(y_pred, "float32"), sample_weight=weight)
        results.append(_plain(metric.result()))
    config = {
        key: value
        if value is None or isinstance(value, str | bool | int | float | list | dict)
        else _plain(value)
        for key, value in metric.get_config().items()
    }
    config.pop("fn", None)
    variables = [list(v.shape) for v in metric.variables]
    metric.reset_state()
    return {
        **spec,
        "batches": batches,
        "results": results,
        "after_reset": _plain(metric.result()),
        "config": config,
        "variable_shapes": variables,
    }


def main() -> None:
    import keras

    if keras.backend.backend() != "jax":
        sys.exit("run with KERAS_BACKEND=jax")
    cases = [record(keras, spec, index) for index, spec in enumerate(CASES)]
    payload = {"keras_version": keras.__version__, "batch_sizes": BATCH_SIZES, "cases": cases}
    FIXTURE.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {FIXTURE} ({FIXTURE.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
