"""Keras's masks in a model: an output's mask (from Embedding(mask_zero=True)
through the layers that pass it on) leaves its masked positions out of the
loss, its slope and the metrics. The numbers asked for are Keras 3's (checked
with Keras 3.15.1 on JAX: the loss is the mean over the unmasked entries, the
metrics their weighted mean); the goldens are tests/layer_cases/embedding.py
and masking.py."""

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers
from gradstep.testing import check_model_gradients

TOKENS = np.array([[1, 2, 0, 0, 3], [0, 0, 4, 5, 6], [7, 7, 7, 0, 1]])
MASK = TOKENS != 0


def _tagger(units=2, activation=None, loss="mse", metrics=None, dtype=None, mask_zero=True):
    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(5,), dtype="int32")
    embedded = layers.Embedding(8, 3, mask_zero=mask_zero, dtype=dtype)(tokens)
    outputs = layers.Dense(units, activation=activation, dtype=dtype)(embedded)
    model = keras.Model(tokens, outputs)
    model.compile(optimizer="sgd", loss=loss, metrics=metrics)
    return model


def _targets(shape=(3, 5, 2)):
    return np.random.default_rng(1).normal(size=shape).astype("float32")


def test_loss_and_metric_are_means_over_the_unmasked_positions():
    model = _tagger(metrics=["mae"])
    y = _targets()
    prediction = model.predict(TOKENS, verbose=0)
    squared = ((prediction - y) ** 2).mean(axis=-1)
    absolute = np.abs(prediction - y).mean(axis=-1)
    loss, mae = model.evaluate(TOKENS, y, verbose=0)
    assert loss == pytest.approx(squared[MASK].mean(), rel=1e-6)
    assert mae == pytest.approx(absolute[MASK].mean(), rel=1e-6)
    assert loss != pytest.approx(squared.mean(), rel=1e-3)
    logs = model.train_on_batch(TOKENS, y, return_dict=True)
    assert logs["loss"] == pytest.approx(squared[MASK].mean(), rel=1e-6)


@pytest.mark.parametrize("shape", [(3, 1), (3, 5)])
def test_sample_weights_multiply_the_mask_as_in_keras(shape):
    """Keras's apply_mask: kept entries weigh total / valid times the sample
    weight; a weighted metric weighs each entry by mask times sample weight."""
    model = _tagger(metrics=None)
    model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"])
    y = _targets()
    weights = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    prediction = model.predict(TOKENS, verbose=0)
    squared = ((prediction - y) ** 2).mean(axis=-1)
    absolute = np.abs(prediction - y).mean(axis=-1)
    loss, mae = model.evaluate(TOKENS, y, sample_weight=weights, verbose=0)
    kept = MASK * (MASK.size / MASK.sum()) * weights
    assert loss == pytest.approx((squared * kept).sum() / squared.size, rel=1e-6)
    assert mae == pytest.approx(
        (absolute * MASK * weights).sum() / (MASK * weights).sum(), rel=1e-6
    )


def test_masked_positions_get_no_slope_and_their_targets_do_not_matter():
    model = _tagger()
    y = _targets()
    changed = y.copy()
    changed[~MASK] = 100.0
    loss, gradients = model.gradients(TOKENS, y)
    loss_changed, gradients_changed = model.gradients(TOKENS, changed)
    assert loss == loss_changed
    for (_, _, slope), (_, _, slope_changed) in zip(gradients, gradients_changed, strict=True):
        np.testing.assert_array_equal(slope, slope_changed)
    table_slope = gradients[0][2]
    assert np.all(table_slope[0] == 0)  # the padding token's row is only used where masked


def test_an_all_masked_batch_has_loss_zero_and_no_slope():
    model = _tagger()
    loss, gradients = model.gradients(np.zeros((2, 5), dtype=int), _targets((2, 5, 2)))
    assert loss == 0.0
    assert all(np.all(slope == 0) for _, _, slope in gradients)


@pytest.mark.parametrize(
    ("activation", "loss", "targets"),
    [
        (None, "mse", _targets()),
        ("softmax", "sparse_categorical_crossentropy", np.array([[0, 1, 2, 0, 1]] * 3)),
        ("sigmoid", "binary_crossentropy", (_targets((3, 5, 1)) > 0).astype("float64")),
    ],
)
def test_masked_losses_pass_central_differences(activation, loss, targets):
    """With a softmax or sigmoid output the loss fuses with it (slope p - y),
    and the mask still weighs each position."""
    units = 1 if loss == "binary_crossentropy" else (3 if activation else 2)
    model = _tagger(units=units, activation=activation, loss=loss, dtype="float64")
    assert check_model_gradients(model, TOKENS, targets) < 1e-6


def test_accuracy_counts_only_the_unmasked_positions():
    model = _tagger(units=3, activation="softmax", loss="sparse_categorical_crossentropy")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    labels = np.array([[0, 1, 2, 0, 1]] * 3)
    predicted = model.predict(TOKENS, verbose=0).argmax(axis=-1)
    _, accuracy = model.evaluate(TOKENS, labels, verbose=0)
    assert accuracy == pytest.approx((predicted == labels)[MASK].mean())


def test_flatten_drops_the_mask_so_every_position_counts():
    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(5,), dtype="int32")
    embedded = layers.Embedding(8, 3, mask_zero=True)(tokens)
    with pytest.warns(UserWarning, match="will therefore destroy the mask information"):
        flat = layers.Flatten()(embedded)
    model = keras.Model(tokens, layers.Dense(2)(flat))
    model.compile(optimizer="sgd", loss="mse")
    y = _targets((3, 2))
    prediction = model.predict(TOKENS, verbose=0)
    assert model.evaluate(TOKENS, y, verbose=0) == pytest.approx(((prediction - y) ** 2).mean())


def test_an_inner_models_mask_reaches_the_outer_loss():
    """Keras 3 on JAX gives the masked mean here too (its symbolic mask is None)."""
    keras.utils.set_random_seed(0)
    inner_tokens = keras.Input(shape=(5,), dtype="int32")
    inner = keras.Model(inner_tokens, layers.Embedding(8, 3, mask_zero=True)(inner_tokens))
    tokens = keras.Input(shape=(5,), dtype="int32")
    model = keras.Model(tokens, layers.Dense(2)(inner(tokens)))
    model.compile(optimizer="sgd", loss="mse")
    y = _targets()
    squared = ((model.predict(TOKENS, verbose=0) - y) ** 2).mean(axis=-1)
    assert model.evaluate(TOKENS, y, verbose=0) == pytest.approx(squared[MASK].mean(), rel=1e-6)


def test_without_mask_zero_every_position_counts():
    model = _tagger(mask_zero=False)
    y = _targets()
    squared = ((model.predict(TOKENS, verbose=0) - y) ** 2).mean(axis=-1)
    assert model.evaluate(TOKENS, y, verbose=0) == pytest.approx(squared.mean(), rel=1e-6)


def test_masked_batch_norm_and_global_average_pass_central_differences():
    """Embedding(mask_zero) -> BatchNormalization (moments of the unmasked
    steps) -> GlobalAveragePooling1D (their mean) -> Dense, in float64."""
    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(5,), dtype="int32")
    embedded = layers.Embedding(8, 3, mask_zero=True, dtype="float64")(tokens)
    normalized = layers.BatchNormalization(dtype="float64")(embedded)
    pooled = layers.GlobalAveragePooling1D()(normalized)
    model = keras.Model(tokens, layers.Dense(2, dtype="float64")(pooled))
    model.compile(optimizer="sgd", loss="mse")
    assert check_model_gradients(model, TOKENS, _targets((3, 2))) < 1e-6


def test_global_average_refuses_a_document_of_padding_only():
    keras.utils.set_random_seed(0)
    tokens = keras.Input(shape=(5,), dtype="int32")
    embedded = layers.Embedding(8, 3, mask_zero=True)(tokens)
    model = keras.Model(tokens, layers.GlobalAveragePooling1D(name="mean")(embedded))
    padding_only = np.array([[1, 2, 0, 0, 0], [0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match="'mean': every step of sample 1 is masked"):
        model.predict(padding_only, verbose=0)
