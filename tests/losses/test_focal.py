"""Focal losses: gamma 0 gives back cross-entropy; confident right answers fade."""

import numpy as np
import pytest

from gradstep import losses


def test_focal_losses_with_gamma_0_are_weighted_cross_entropies():
    rng = np.random.default_rng(4)
    y_true = rng.integers(0, 2, size=(4, 3)).astype(float)
    y_pred = rng.uniform(0.05, 0.95, size=(4, 3))
    focal = losses.BinaryFocalCrossentropy(gamma=0.0)
    assert focal(y_true, y_pred) == pytest.approx(losses.BinaryCrossentropy()(y_true, y_pred))
    one_hot = np.eye(3)[rng.integers(0, 3, size=4)]
    categorical = losses.CategoricalFocalCrossentropy(alpha=0.5, gamma=0.0)
    assert categorical(one_hot, y_pred) == pytest.approx(
        0.5 * losses.CategoricalCrossentropy()(one_hot, y_pred)
    )


def test_the_focal_factor_fades_confident_right_answers():
    confident, unsure = [[0.95]], [[0.6]]
    focal = losses.BinaryFocalCrossentropy(gamma=2.0)
    plain = losses.BinaryCrossentropy()
    ratio_confident = focal([[1.0]], confident) / plain([[1.0]], confident)
    ratio_unsure = focal([[1.0]], unsure) / plain([[1.0]], unsure)
    assert ratio_confident == pytest.approx(0.05**2) and ratio_unsure == pytest.approx(0.4**2)


@pytest.mark.parametrize(
    "loss, activation, y",
    [
        ("binary_focal_crossentropy", "sigmoid", [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
        ("categorical_focal_crossentropy", "softmax", [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]),
    ],
)
def test_focal_losses_train_after_their_activation(loss, activation, y):
    """A sigmoid or softmax output with a focal loss trains (the loss has no
    fused slope, so its slope goes through the activation), with the slopes
    of central differences."""
    from gradstep import Sequential, layers
    from gradstep.testing import check_model_gradients

    output = layers.Dense(2, activation=activation, dtype="float64")
    model = Sequential([layers.Input((4,), dtype="float64"), output], seed=1)
    model.compile(optimizer="sgd", loss=loss)
    x = np.random.default_rng(0).normal(size=(3, 4))
    check_model_gradients(model, x, np.array(y))
