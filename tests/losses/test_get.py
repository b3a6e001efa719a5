"""Names, aliases and configs: losses.get, serialize, deserialize."""

import numpy as np
import pytest

from gradstep import losses

KERAS_NAMES = {
    "mean_squared_error": losses.MeanSquaredError,
    "mse": losses.MeanSquaredError,
    "MSE": losses.MeanSquaredError,
    "mean_absolute_error": losses.MeanAbsoluteError,
    "mae": losses.MeanAbsoluteError,
    "mean_absolute_percentage_error": losses.MeanAbsolutePercentageError,
    "mape": losses.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": losses.MeanSquaredLogarithmicError,
    "msle": losses.MeanSquaredLogarithmicError,
    "huber": losses.Huber,
    "log_cosh": losses.LogCosh,
    "logcosh": losses.LogCosh,
    "cosine_similarity": losses.CosineSimilarity,
    "binary_crossentropy": losses.BinaryCrossentropy,
    "bce": losses.BinaryCrossentropy,
    "binary_focal_crossentropy": losses.BinaryFocalCrossentropy,
    "categorical_crossentropy": losses.CategoricalCrossentropy,
    "categorical_focal_crossentropy": losses.CategoricalFocalCrossentropy,
    "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy,
    "categorical_generalized_cross_entropy": losses.CategoricalGeneralizedCrossEntropy,
    "kl_divergence": losses.KLDivergence,
    "kld": losses.KLDivergence,
    "kullback_leibler_divergence": losses.KLDivergence,
    "poisson": losses.Poisson,
    "hinge": losses.Hinge,
    "squared_hinge": losses.SquaredHinge,
    "categorical_hinge": losses.CategoricalHinge,
    "dice": losses.Dice,
    "tversky": losses.Tversky,
    "circle": losses.Circle,
}


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_keras_names_and_aliases(name):
    assert type(losses.get(name)) is KERAS_NAMES[name]


@pytest.mark.parametrize("cls", sorted(set(KERAS_NAMES.values()), key=lambda c: c.__name__))
def test_class_names_classes_and_functions_resolve(cls):
    assert type(losses.get(cls.__name__)) is cls
    assert type(losses.get(cls)) is cls


@pytest.mark.parametrize("function, cls", list(losses._FUNCTIONS.items()))
def test_functional_forms_resolve_to_their_class(function, cls):
    assert type(losses.get(function)) is cls


def test_short_function_aliases():
    assert losses.mse is losses.mean_squared_error and losses.mae is losses.mean_absolute_error
    assert losses.mape is losses.mean_absolute_percentage_error
    assert losses.msle is losses.mean_squared_logarithmic_error
    assert losses.kld is losses.kl_divergence and losses.logcosh is losses.log_cosh


CONFIGURED = [
    losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2, axis=1),
    losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=3, reduction="sum"),
    losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.0),
    losses.CategoricalFocalCrossentropy(alpha=0.5, gamma=3.0),
    losses.Huber(delta=2.5, name="robust"),
    losses.CosineSimilarity(axis=0),
    losses.Tversky(alpha=0.7, beta=0.3, axis=(1, 2)),
    losses.Circle(gamma=10.0, margin=0.3, remove_diagonal=False),
    losses.CategoricalGeneralizedCrossEntropy(q=0.3),
    losses.MeanSquaredError(reduction="mean_with_sample_weight"),
]


@pytest.mark.parametrize("loss", CONFIGURED, ids=lambda loss: type(loss).__name__)
def test_config_round_trip(loss):
    again = losses.get(losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == loss.get_config()


def test_get_passes_losses_and_none_through():
    loss = losses.Hinge()
    assert losses.get(loss) is loss and losses.get(None) is None


def test_unknown_loss_suggests_names():
    with pytest.raises(ValueError, match="Unknown loss 'mean_squared_eror'.*'mean_squared_error'"):
        losses.get("mean_squared_eror")


def test_non_loss_identifier():
    with pytest.raises(TypeError, match="loss must be a name such as 'mse'"):
        losses.get(3)
    with pytest.raises(ValueError, match="'class_name' and 'config'"):
        losses.deserialize({"config": {}})
    with pytest.raises(ValueError, match="Unknown loss class 'Pickle'"):
        losses.deserialize({"class_name": "Pickle", "config": {}})


def test_functional_forms_return_per_sample_losses():
    np.testing.assert_allclose(losses.mse(np.zeros((2, 2)), np.ones((2, 2))), [1, 1])
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy([0], [[0.5, 0.5]]), [np.log(2)]
    )
    np.testing.assert_allclose(losses.huber([[0.0]], [[3.0]], delta=2.0), [4.0])
