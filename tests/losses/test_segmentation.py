"""Dice and Tversky: one overlap for the batch, or one per image."""

import numpy as np
import pytest

from gradstep import losses
from gradstep.testing import check_loss_gradients

RNG = np.random.default_rng(0)
MASKS = RNG.integers(0, 2, size=(3, 4, 4)).astype(float)
PREDICTED = RNG.uniform(0.05, 0.95, size=(3, 4, 4))


def test_axis_none_gives_one_number_for_the_whole_batch():
    per_overlap = losses.Dice(reduction="none")(MASKS, PREDICTED)
    assert np.shape(per_overlap) == ()
    overlap = np.sum(MASKS * PREDICTED)
    expected = 1 - 2 * overlap / (MASKS.sum() + PREDICTED.sum() + 1e-7)
    assert losses.Dice()(MASKS, PREDICTED) == pytest.approx(expected)


def test_per_image_axes_give_one_loss_per_image():
    per_image = losses.Dice(axis=(1, 2), reduction="none")(MASKS, PREDICTED)
    assert per_image.shape == (3,)
    assert per_image[1] == pytest.approx(losses.Dice()(MASKS[1:2], PREDICTED[1:2]))
    weights = np.array([1.0, 0.0, 2.0])
    loss = losses.Dice(axis=[1, 2])
    assert loss(MASKS, PREDICTED, weights) == pytest.approx(np.mean(per_image * weights))
    check_loss_gradients(loss, MASKS, PREDICTED, sample_weight=weights)


def test_tversky_with_equal_weights_one_half_is_dice():
    assert losses.Tversky()(MASKS, PREDICTED) == pytest.approx(losses.Dice()(MASKS, PREDICTED))
    np.testing.assert_allclose(
        losses.Tversky().gradient(MASKS, PREDICTED), losses.Dice().gradient(MASKS, PREDICTED)
    )


def test_a_perfect_mask_has_loss_near_zero():
    assert losses.Dice()(MASKS, MASKS) == pytest.approx(0.0, abs=1e-7)
    assert losses.Tversky(alpha=0.7, beta=0.3)(MASKS, MASKS) == pytest.approx(0.0, abs=1e-7)
