import math

import numpy as np
import pytest

from gradstep.lab import selection


@pytest.mark.requires("scipy", extra="main")  # scikit-learn's dependency
def test_t_quantile_matches_scipy():
    from scipy import stats

    for df in [1, 2, 3, 5, 10, 29, 30, 31, 45, 100, 1000]:
        assert selection.t_quantile_975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-4)


def test_t_quantile_needs_one_degree_of_freedom():
    with pytest.raises(ValueError, match="degrees_of_freedom must be at least 1, received 0"):
        selection.t_quantile_975(0)


def test_split_is_stratified_disjoint_and_fixed_by_the_seed():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    train, validation = selection.split_validation(labels, 0.2, seed=7, stratify=True)
    assert len(validation) == 20 and len(train) == 80
    assert np.intersect1d(train, validation).size == 0
    np.testing.assert_array_equal(np.union1d(train, validation), np.arange(100))
    np.testing.assert_array_equal(np.bincount(labels[validation]), [10, 6, 4])
    again = selection.split_validation(labels, 0.2, seed=7, stratify=True)
    np.testing.assert_array_equal(again[1], validation)
    other = selection.split_validation(labels, 0.2, seed=8, stratify=True)
    assert not np.array_equal(other[1], validation)


def test_split_of_one_hot_labels_stratifies_by_class():
    labels = np.eye(2)[np.repeat([0, 1], [40, 10])]
    _, validation = selection.split_validation(labels, 0.2, seed=0, stratify=True)
    np.testing.assert_array_equal(np.bincount(labels[validation].argmax(axis=1)), [8, 2])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 2])
def test_split_fraction_must_be_inside_zero_one(fraction):
    with pytest.raises(ValueError, match=r"validation_split must be between 0 and 1, received"):
        selection.split_validation(np.arange(10) % 2, fraction, seed=0, stratify=True)


def test_split_too_small_for_stratifying_says_why():
    with pytest.raises(ValueError, match=r"validation_split=0.2 cannot cut a stratified"):
        selection.split_validation(np.array([0, 0, 0, 1]), 0.2, seed=0, stratify=True)


def test_paired_difference_is_the_t_interval_of_the_differences():
    scores, reference = [0.5, 0.7, 0.4, 0.6], [0.3, 0.4, 0.35, 0.3]
    differences = np.subtract(scores, reference)
    half = 3.1824 * differences.std(ddof=1) / 2
    result = selection.paired_difference(scores, reference)
    assert result["mean"] == pytest.approx(differences.mean())
    assert (result["low"], result["high"]) == pytest.approx(
        (differences.mean() - half, differences.mean() + half)
    )


def test_paired_difference_of_one_seed_has_no_interval():
    result = selection.paired_difference([0.5], [0.25])
    assert result["mean"] == 0.25 and math.isnan(result["low"]) and math.isnan(result["high"])


def test_choose_lowest_loss_or_highest_accuracy_skipping_nan():
    summary = [
        {"final_val_loss_mean": 0.5, "final_val_metric_mean": 0.9},
        {"final_val_loss_mean": math.nan, "final_val_metric_mean": math.nan},
        {"final_val_loss_mean": 0.3, "final_val_metric_mean": 0.8},
    ]
    assert selection.choose(summary, "val_loss", "accuracy") == 2
    assert selection.choose(summary, "val_metric", "accuracy") == 0
    assert selection.choose(summary, "val_metric", "mae") == 2
    assert selection.choose(summary[1:2], "val_loss", "accuracy") is None
    with pytest.raises(ValueError, match="select_by must be one of"):
        selection.choose(summary, "test_loss", "accuracy")
