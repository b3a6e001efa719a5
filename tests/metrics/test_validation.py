"""Bad arguments and inputs: a ValueError naming the metric and the argument."""

import numpy as np
import pytest

from gradstep import metrics

BAD_ARGUMENTS = {
    "threshold above 1": (
        lambda: metrics.Precision(thresholds=[0.5, 1.2]),
        "Precision.*thresholds",
    ),
    "threshold below 0": (
        lambda: metrics.TruePositives(thresholds=-0.1),
        "TruePositives.*thresholds",
    ),
    "threshold not a number": (lambda: metrics.Recall(thresholds="high"), "Recall.*thresholds"),
    "AUC num_thresholds 1": (lambda: metrics.AUC(num_thresholds=1), "AUC.*num_thresholds.*> 1"),
    "AUC curve": (lambda: metrics.AUC(curve="XY"), "AUC.*curve"),
    "AUC summation": (lambda: metrics.AUC(summation_method="mid"), "AUC.*summation_method"),
    "AUC num_labels": (lambda: metrics.AUC(num_labels=3), "AUC.*num_labels"),
    "recall above 1": (lambda: metrics.PrecisionAtRecall(1.5), "PrecisionAtRecall.*recall"),
    "sensitivity num_thresholds": (
        lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0),
        "SensitivityAtSpecificity.*num_thresholds",
    ),
    "top_k": (lambda: metrics.Precision(top_k=0), "Precision.*top_k"),
    "k": (lambda: metrics.TopKCategoricalAccuracy(k=0), "TopKCategoricalAccuracy.*`k`"),
    "F1 average": (lambda: metrics.F1Score(average="mean"), "F1Score.*average"),
    "F beta": (lambda: metrics.FBetaScore(beta=2), "FBetaScore.*beta"),
    "F threshold": (lambda: metrics.F1Score(threshold=1.5), "F1Score.*threshold"),
    "R2 aggregation": (
        lambda: metrics.R2Score(class_aggregation="sum"),
        "R2Score.*class_aggregation",
    ),
    "R2 regressors": (lambda: metrics.R2Score(num_regressors=-1), "R2Score.*num_regressors"),
    "IoU target ids": (lambda: metrics.IoU(3, [0, 3]), "IoU.*target_class_ids"),
}


@pytest.mark.parametrize("case", BAD_ARGUMENTS)
def test_bad_arguments(case):
    make, message = BAD_ARGUMENTS[case]
    with pytest.raises(ValueError, match=message):
        make()


BAD_INPUTS = {
    "Precision": (metrics.Precision(name="p"), np.ones((4, 1)), np.ones((3, 1))),
    "AUC": (metrics.AUC(name="a"), np.ones((4, 2)), np.ones((4, 3))),
    "MeanSquaredError": (metrics.MeanSquaredError(), np.ones((4, 2)), np.ones((4, 3))),
    "BinaryAccuracy": (metrics.BinaryAccuracy(), np.ones((4, 2)), np.ones((5, 2))),
    "SparseCategoricalAccuracy": (metrics.SparseCategoricalAccuracy(), np.ones(3), np.ones((4, 3))),
    "RootMeanSquaredError": (metrics.RootMeanSquaredError(), np.ones((4, 2)), np.ones((4, 3))),
    "R2Score": (metrics.R2Score(), np.ones((4, 2)), np.ones((4, 3))),
    "F1Score": (metrics.F1Score(), np.ones((4, 2)), np.ones((4, 3))),
    "MeanIoU": (metrics.MeanIoU(3, name="m"), np.ones((4, 2)), np.ones((4, 3))),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_y_true_and_y_pred_of_different_shapes(case):
    metric, y_true, y_pred = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=rf"{case}.*{metric.name}.*y_true"):
        metric.update_state(y_true, y_pred)


def test_sample_weight_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match="Recall 'r'.*sample_weight"):
        metrics.Recall(name="r").update_state(np.ones((4, 1)), np.ones((4, 1)), np.ones(3))
    with pytest.raises(ValueError, match="Mean 'mean'.*sample_weight"):
        metrics.Mean().update_state(np.ones(4), np.ones(3))
