"""Hinge losses: label conversion and margins."""

import numpy as np
import pytest

from gradstep import losses


def test_zero_one_labels_become_minus_one_one_only_when_all_are_zero_or_one():
    hinge = losses.Hinge(reduction="none")
    np.testing.assert_allclose(hinge([[0.0], [1.0]], [[0.5], [0.5]]), [1.5, 0.5])
    np.testing.assert_allclose(hinge([[-1.0], [1.0]], [[0.5], [0.5]]), [1.5, 0.5])
    # 0.5 is not a 0/1 label: nothing is converted (y = 0 costs the margin 1)
    np.testing.assert_allclose(hinge([[0.0], [0.5]], [[0.5], [0.5]]), [1.0, 0.75])


def test_beyond_the_margin_costs_nothing_and_has_no_slope():
    for loss in (losses.Hinge(), losses.SquaredHinge()):
        assert loss([[1.0, -1.0]], [[3.0, -2.0]]) == 0
        np.testing.assert_array_equal(loss.gradient([[1.0, -1.0]], [[3.0, -2.0]]), 0)


def test_categorical_hinge_shares_the_slope_among_tied_best_wrong_classes():
    loss = losses.CategoricalHinge(reduction="sum")
    assert loss([[1.0, 0.0, 0.0]], [[0.5, 0.4, 0.4]]) == pytest.approx(0.9)
    np.testing.assert_allclose(
        loss.gradient([[1.0, 0.0, 0.0]], [[0.5, 0.4, 0.4]]), [[-1.0, 0.5, 0.5]]
    )
