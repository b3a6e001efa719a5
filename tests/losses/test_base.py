"""The Loss base: reductions, sample weights, masks, shapes, the slope contract."""

import numpy as np
import pytest

from gradstep import Sequential, activations, layers, losses
from gradstep.testing import check_loss_gradients


def test_worked_squared_error_table():
    """SEED_FACTS 1: errors -10, 5, 5; squared 100, 25, 25; total 150, mean 50."""
    prediction = np.array([[10.0], [8.0], [6.0]])
    actual = np.array([[20.0], [3.0], [1.0]])
    np.testing.assert_array_equal(prediction - actual, [[-10], [5], [5]])
    per_sample = losses.MeanSquaredError(reduction="none")(actual, prediction)
    np.testing.assert_array_equal(per_sample, [100, 25, 25])
    assert losses.MeanSquaredError(reduction="sum")(actual, prediction) == 150
    assert losses.MeanSquaredError()(actual, prediction) == 50
    assert losses.get("mse")(actual, prediction) == 50


def test_mse_slope_is_twice_the_error():
    """SEED_FACTS 2: slope of the squared loss w.r.t. the prediction is 2 * error."""
    grad = losses.MeanSquaredError(reduction="sum").gradient(np.array([[13.0]]), np.array([[9.0]]))
    np.testing.assert_array_equal(grad, [[-8.0]])


@pytest.mark.parametrize(
    "reduction, weights, expected",
    [
        ("sum_over_batch_size", None, (1 + 9) / 2),
        ("mean", [1.0, 0.0], 1 / 2),
        ("sum", [2.0, 1.0], 11),
        ("mean_with_sample_weight", [2.0, 1.0], 11 / 3),
        ("mean_with_sample_weight", None, 5),
        ("sum_over_batch_size", 3.0, 15),
        ("sum_over_batch_size", [[2.0], [1.0]], 11 / 2),
    ],
)
def test_reductions_and_sample_weights(reduction, weights, expected):
    y_true, y_pred = np.array([[0.0], [0.0]]), np.array([[1.0], [3.0]])
    loss = losses.MeanSquaredError(reduction=reduction)
    assert loss(y_true, y_pred, sample_weight=weights) == pytest.approx(expected)
    check_loss_gradients(loss, y_true, y_pred, sample_weight=weights)


def test_reduction_none_returns_weighted_per_sample_losses():
    loss = losses.MeanSquaredError(reduction="none")
    y_true, y_pred = np.array([[0.0], [0.0]]), np.array([[1.0], [3.0]])
    np.testing.assert_array_equal(loss(y_true, y_pred), [1, 9])
    np.testing.assert_array_equal(loss(y_true, y_pred, sample_weight=[2.0, 0.5]), [2, 4.5])
    # the slope of their sum
    np.testing.assert_array_equal(loss.gradient(y_true, y_pred, [2.0, 0.5]), [[4.0], [3.0]])


def test_all_weights_zero_gives_zero_not_nan():
    loss = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    assert loss([[1.0]], [[2.0]], sample_weight=[0.0]) == 0
    np.testing.assert_array_equal(loss.gradient([[1.0]], [[2.0]], sample_weight=[0.0]), [[0.0]])


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="average")


def test_sample_weight_that_does_not_fit_names_both_shapes():
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\).*shape \(2,\)"):
        losses.MeanSquaredError()(np.zeros((2, 1)), np.zeros((2, 1)), sample_weight=[1, 2, 3])


def test_incompatible_shapes_name_both():
    with pytest.raises(ValueError, match=r"y_true \(3, 2\).*y_pred \(3, 4\)"):
        losses.MeanSquaredError()(np.zeros((3, 2)), np.zeros((3, 4)))


def test_targets_of_rank_one_match_a_single_output():
    """Keras's squeeze-or-expand: (n,) targets against (n, 1) predictions."""
    loss = losses.MeanAbsoluteError()
    assert loss([1.0, 2.0], [[2.0], [4.0]]) == 1.5
    assert loss.gradient([1.0, 2.0], [[2.0], [4.0]]).shape == (2, 1)


def test_broadcast_targets_give_a_slope_shaped_like_y_pred():
    loss = losses.MeanSquaredError()
    y_true, y_pred = np.array([[1.0, 2.0, 3.0]]), np.array([[0.5], [1.5]])
    check_loss_gradients(loss, y_true, y_pred)


def test_non_finite_targets_are_rejected():
    with pytest.raises(ValueError, match=r"y_true must be finite, received nan at index \(1, 0\)"):
        losses.MeanSquaredError()([[1.0], [np.nan]], [[0.0], [0.0]])


def test_non_finite_predictions_give_a_nan_loss():
    """A diverged model reports nan (TerminateOnNaN relies on it), as Keras does."""
    assert np.isnan(losses.MeanSquaredError()([[1.0]], [[np.nan]]))


def test_non_numeric_inputs_are_rejected():
    with pytest.raises(TypeError, match="y_true must hold numbers"):
        losses.MeanSquaredError()([["a"]], [[0.0]])
    with pytest.raises(TypeError, match="y_pred must hold numbers"):
        losses.MeanSquaredError()([[1.0]], [["a"]])


def test_integer_predictions_become_floats():
    grad = losses.MeanSquaredError().gradient([[1]], [[2]])
    assert grad.dtype.kind == "f" and grad[0, 0] == 2.0


def test_float32_in_float32_out():
    y_pred = np.array([[0.2, 0.8]], dtype=np.float32)
    value, slope = losses.CategoricalCrossentropy().value_and_gradient([[0.0, 1.0]], y_pred)
    assert slope.dtype == np.float32 and value.dtype == np.float32


@pytest.mark.parametrize("fused", [False, True])
def test_value_and_gradient_agrees_with_the_separate_calls(fused):
    rng = np.random.default_rng(5)
    loss = losses.SparseCategoricalCrossentropy()
    labels, probabilities = rng.integers(0, 3, size=4), rng.dirichlet(np.ones(3), size=4)
    weights = rng.uniform(size=4)
    value, slope = loss.value_and_gradient(labels, probabilities, weights, fused=fused)
    assert value == pytest.approx(loss(labels, probabilities, weights))
    if fused:  # the slope at the softmax's input: the chain rule through the softmax
        softmax = activations.get("softmax")
        expected = softmax.backward(
            np.log(probabilities), probabilities, loss.gradient(labels, probabilities, weights)
        )
    else:
        expected = loss.gradient(labels, probabilities, weights)
    np.testing.assert_allclose(slope, expected, rtol=1e-9, atol=1e-12)


def test_only_cross_entropies_on_probabilities_over_the_last_axis_declare_a_fusion():
    assert losses.MeanSquaredError().fused_activation is None
    assert losses.CategoricalCrossentropy(from_logits=True).fused_activation is None
    assert losses.CategoricalCrossentropy(axis=0).fused_activation is None
    assert losses.CategoricalCrossentropy().fused_activation == "softmax"
    assert losses.SparseCategoricalCrossentropy().fused_activation == "softmax"
    assert losses.BinaryCrossentropy().fused_activation == "sigmoid"
    with pytest.raises(ValueError, match="fuses with no activation"):
        losses.MeanSquaredError().value_and_gradient(np.ones((2, 1)), np.ones((2, 1)), fused=True)


class AsymmetricSquaredError(losses.Loss):
    """Over-predictions cost twice as much: a custom loss with its own slope."""

    def call(self, y_true, y_pred):
        error = y_pred - y_true
        return np.mean(np.where(error > 0, 2.0, 1.0) * error**2, axis=-1)

    def call_gradient(self, y_true, y_pred):
        error = y_pred - y_true
        return np.where(error > 0, 4.0, 2.0) * error / error.shape[-1]


def test_a_subclass_with_call_and_call_gradient_gets_reductions_and_weights():
    rng = np.random.default_rng(0)
    loss = AsymmetricSquaredError(reduction="sum")
    y_true, y_pred = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    check_loss_gradients(loss, y_true, y_pred, sample_weight=rng.uniform(size=4))
    assert loss.get_config() == {"name": "loss", "reduction": "sum"}


class BatchCenteredSquaredError(losses.Loss):
    """A loss whose samples interact (each error is measured from the batch's
    mean error), so it writes ``call_vjp``: the one way in for its slope."""

    name = "batch_centered"

    def __init__(self):
        super().__init__()
        self.vjp_calls = 0

    def call(self, y_true, y_pred):
        error = y_pred - y_true
        return np.mean(np.square(error - error.mean(axis=0)), axis=-1)

    def call_vjp(self, y_true, y_pred, upstream):
        self.vjp_calls += 1
        error = y_pred - y_true
        centered = error - error.mean(axis=0)
        scaled = 2 * centered * np.broadcast_to(np.reshape(upstream, (-1, 1)), centered.shape)
        return (scaled - scaled.mean(axis=0)) / y_pred.shape[-1]


def test_a_subclass_call_vjp_drives_training():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 2))
    y = x @ np.array([[1.0], [-1.0]])
    loss = BatchCenteredSquaredError()
    model = Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer="sgd", loss=loss)
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert loss.vjp_calls == 20
    assert history.history["loss"][-1] < history.history["loss"][0]
    check_loss_gradients(loss, y, rng.normal(size=(32, 1)), sample_weight=rng.uniform(size=32))


def test_fit_and_evaluate_weigh_the_loss_like_keras():
    """evaluate's loss is the batch-size-weighted mean of sum(w l) / batch size;
    class_weight multiplies each sample's weight by its class's weight."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(12, 3)), rng.integers(0, 3, size=12)
    model = Sequential([layers.Dense(3, activation="softmax", input_shape=(3,))], seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    weights = rng.uniform(0.5, 2.0, size=12)
    loss = losses.SparseCategoricalCrossentropy()
    evaluated = model.evaluate(x, y, batch_size=12, sample_weight=weights, verbose=0)
    assert evaluated == pytest.approx(float(loss(y, model.predict(x, verbose=0), weights)))

    class_weight = {0: 2.0, 1: 0.5, 2: 1.0}
    per_sample = np.array([class_weight[label] for label in y])
    runs = []
    for kwargs in ({"class_weight": class_weight}, {"sample_weight": per_sample}):
        twin = Sequential([layers.Dense(3, activation="softmax", input_shape=(3,))], seed=0)
        twin.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        runs.append(twin.fit(x, y, epochs=2, batch_size=4, verbose=0, **kwargs).history["loss"])
    np.testing.assert_allclose(runs[0], runs[1])


# --- an output's mask (Keras's y_pred._keras_mask) ----------------------------------------
MASK_Y_TRUE = np.zeros((2, 3, 1))
MASK_Y_PRED = np.arange(1.0, 7.0).reshape(2, 3, 1)  # squared errors 1, 4, ..., 36
OUTPUT_MASK = np.array([[True, False, True], [False, False, True]])  # keeps 1, 9, 36


@pytest.mark.parametrize(
    ("reduction", "expected"),
    [
        ("sum_over_batch_size", (1 + 9 + 36) / 3),
        ("mean", (1 + 9 + 36) / 3),
        ("sum", 1 + 9 + 36),
        ("mean_with_sample_weight", (1 + 9 + 36) / 3),
    ],
)
def test_an_output_mask_leaves_its_entries_out_as_keras(reduction, expected):
    loss = losses.MeanSquaredError(reduction=reduction)
    value = loss(MASK_Y_TRUE, MASK_Y_PRED, mask=OUTPUT_MASK)
    assert float(value) == pytest.approx(expected)
    value_too, slope = loss.value_and_gradient(MASK_Y_TRUE, MASK_Y_PRED, mask=OUTPUT_MASK)
    assert float(value_too) == pytest.approx(expected)
    assert np.all(slope[~OUTPUT_MASK] == 0) and np.all(slope[OUTPUT_MASK] != 0)


def test_an_output_mask_combines_with_the_loss_own_mask():
    """Keras's in_mask & out_mask: ignore_class and the output's mask both apply."""
    loss = losses.SparseCategoricalCrossentropy(ignore_class=2)
    labels = np.array([[0, 2, 1], [1, 1, 2]])
    probabilities = np.full((2, 3, 3), 1 / 3)
    probabilities[0, 0] = [0.5, 0.25, 0.25]
    mask = np.array([[True, True, False], [True, False, True]])
    kept = (labels != 2) & mask  # (0, 0) and (1, 0)
    expected = (-np.log(0.5) - np.log(1 / 3)) / kept.sum()
    assert float(loss(labels, probabilities, mask=mask)) == pytest.approx(expected)


def test_an_output_mask_that_does_not_fit_names_both_shapes():
    with pytest.raises(ValueError, match=r"mask of shape \(4,\) does not match .* \(2, 3\)"):
        losses.MeanSquaredError()(MASK_Y_TRUE, MASK_Y_PRED, mask=np.ones(4, dtype=bool))
