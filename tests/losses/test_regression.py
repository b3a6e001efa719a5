"""Regression losses: formulas on hand-checked numbers, huge errors, PyTorch scalings."""

import numpy as np
import pytest

from gradstep import losses

HUGE = (np.array([[0.0, 1.0]]), np.array([[1e6, -1e6]]))


@pytest.mark.parametrize(
    "loss",
    [
        losses.MeanSquaredError(),
        losses.MeanAbsoluteError(),
        losses.MeanAbsolutePercentageError(),
        losses.MeanSquaredLogarithmicError(),
        losses.Huber(),
        losses.LogCosh(),
        losses.CosineSimilarity(),
    ],
    ids=lambda loss: loss.name,
)
def test_huge_errors_give_finite_values_and_slopes(loss):
    assert np.isfinite(loss(*HUGE))
    assert np.isfinite(loss.gradient(*HUGE)).all()


def test_log_cosh_is_linear_far_away_and_its_slope_saturates():
    """log cosh e = |e| - log 2 for large |e|: no overflow of cosh(1e6)."""
    assert losses.LogCosh()([[0.0]], [[1e6]]) == pytest.approx(1e6 - np.log(2))
    np.testing.assert_allclose(
        losses.LogCosh().gradient([[0.0], [0.0]], [[1e6], [-1e6]]),
        [
            [0.5],
            [-0.5],
        ],
    )


def test_huber_is_quadratic_inside_delta_and_linear_outside():
    loss = losses.Huber(delta=2.0, reduction="none")
    np.testing.assert_allclose(loss([[0.0], [0.0]], [[1.0], [5.0]]), [0.5, 2 * 5 - 2])
    np.testing.assert_allclose(
        losses.Huber(delta=2.0, reduction="sum").gradient([[0.0], [0.0]], [[1.0], [-5.0]]),
        [[1.0], [-2.0]],
    )


def test_huber_is_delta_times_pytorch_smooth_l1():
    """PyTorch: SmoothL1Loss(beta) = 0.5 e^2 / beta inside, |e| - 0.5 beta outside."""
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.normal(size=(5, 3)), rng.normal(scale=3, size=(5, 3))
    beta = 1.5
    error = np.abs(y_pred - y_true)
    smooth_l1 = np.where(error < beta, 0.5 * error**2 / beta, error - 0.5 * beta).mean()
    assert losses.Huber(delta=beta)(y_true, y_pred) == pytest.approx(beta * smooth_l1)


def test_mape_divides_by_the_target_floored_at_epsilon():
    loss = losses.MeanAbsolutePercentageError(reduction="none")
    np.testing.assert_allclose(loss([[0.0], [4.0]], [[1e-7], [5.0]]), [100.0, 25.0])


def test_msle_ignores_negative_predictions_below_epsilon():
    loss = losses.MeanSquaredLogarithmicError()
    assert loss([[0.0]], [[-3.0]]) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(loss.gradient([[1.0]], [[-3.0]]), [[0.0]])


def test_cosine_similarity_ignores_length():
    loss = losses.CosineSimilarity(reduction="none")
    np.testing.assert_allclose(loss([[1.0, 1.0], [1.0, 0.0]], [[3.0, 3.0], [0.0, 2.0]]), [-1, 0])
    assert losses.CosineSimilarity(axis=0).get_config()["axis"] == 0
