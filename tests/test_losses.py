import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradstep import losses
from gradstep.testing import check_loss_gradients


def _keras_losses(keras_numerics):
    return {case["name"]: case for case in keras_numerics["losses"]}


def _build(case):
    return getattr(losses, case["class"])(**case["config"])


@pytest.fixture(scope="module")
def keras_cases(keras_numerics):
    return _keras_losses(keras_numerics)


CASES = [
    "mse",
    "bce_probs",
    "bce_logits",
    "cce_probs",
    "cce_unnormalized_probs",
    "cce_logits",
    "cce_probs_smoothing",
    "cce_logits_smoothing",
    "scce_probs",
    "scce_probs_column_labels",
    "scce_logits",
]


@pytest.mark.parametrize("name", CASES)
def test_value_matches_keras_float64(keras_cases, name):
    case = keras_cases[name]
    loss = _build(case)
    y_true, y_pred = np.array(case["y_true"]), np.array(case["y_pred"])
    assert float(loss(y_true, y_pred)) == pytest.approx(case["value"], rel=1e-6)
    per_sample = losses.get(loss.__class__(**case["config"], reduction="none"))(y_true, y_pred)
    np.testing.assert_allclose(per_sample, case["values_none"], rtol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_gradient_matches_keras_autodiff(keras_cases, name):
    case = keras_cases[name]
    grad = _build(case).gradient(np.array(case["y_true"]), np.array(case["y_pred"]))
    np.testing.assert_allclose(grad, case["grad"], rtol=1e-6, atol=1e-12)


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


GRADIENT_CASES = [
    (losses.MeanSquaredError(), "regression"),
    (losses.MeanAbsoluteError(), "regression"),
    (losses.BinaryCrossentropy(), "binary"),
    (losses.BinaryCrossentropy(from_logits=True), "logits"),
    (losses.BinaryCrossentropy(label_smoothing=0.2), "binary"),
    (losses.CategoricalCrossentropy(), "categorical"),
    (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), "logits"),
    (losses.SparseCategoricalCrossentropy(), "sparse"),
    (losses.SparseCategoricalCrossentropy(from_logits=True), "sparse_logits"),
    (losses.MeanSquaredError(reduction="sum"), "regression"),
]


def _inputs(kind, rng):
    if kind == "regression":
        return rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    if kind == "binary":
        return rng.integers(0, 2, size=(5, 3)).astype(float), rng.uniform(0.05, 0.95, size=(5, 3))
    if kind == "logits":
        return np.eye(3)[rng.integers(0, 3, size=5)], rng.normal(size=(5, 3))
    if kind == "categorical":
        return np.eye(3)[rng.integers(0, 3, size=5)], rng.uniform(0.1, 1.0, size=(5, 3))
    if kind == "sparse":
        return rng.integers(0, 3, size=5), rng.uniform(0.1, 1.0, size=(5, 3))
    return rng.integers(0, 3, size=5), rng.normal(size=(5, 3))


@pytest.mark.parametrize("loss, kind", GRADIENT_CASES, ids=lambda v: getattr(v, "name", v))
def test_gradient_passes_central_differences(loss, kind):
    y_true, y_pred = _inputs(kind, np.random.default_rng(0))
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y_pred))
    check_loss_gradients(loss, y_true, y_pred)
    check_loss_gradients(loss, y_true, y_pred, sample_weight=weights)


def _fused_vs_chain_rule(loss, activation, logits, y_true):
    from gradstep import activations

    act = activations.get(activation)
    output = act(logits)
    fused = loss.fused_gradient_reduced(y_true, output, activation)
    chained = act.backward(logits, output, loss.gradient(y_true, output))
    np.testing.assert_allclose(fused, chained, rtol=1e-9, atol=1e-12)


def test_fused_softmax_crossentropy_equals_the_chain_rule():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    _fused_vs_chain_rule(losses.SparseCategoricalCrossentropy(), "softmax", logits, labels)
    _fused_vs_chain_rule(losses.CategoricalCrossentropy(), "softmax", logits, np.eye(4)[labels])
    _fused_vs_chain_rule(
        losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax", logits, np.eye(4)[labels]
    )


def test_fused_sigmoid_binary_crossentropy_equals_the_chain_rule():
    rng = np.random.default_rng(3)
    _fused_vs_chain_rule(
        losses.BinaryCrossentropy(),
        "sigmoid",
        rng.normal(size=(6, 2)),
        rng.integers(0, 2, size=(6, 2)).astype(float),
    )


def test_fused_gradient_is_zero_where_keras_clips():
    """A confidently wrong softmax (p[label] < 1e-7) gets no gradient, as in Keras."""
    output = np.array([[1 - 2e-8, 1e-8, 1e-8]])
    fused = losses.SparseCategoricalCrossentropy().fused_gradient_reduced(
        np.array([1]), output, "softmax"
    )
    np.testing.assert_allclose(fused, 0, atol=1e-7)


def test_fused_gradient_only_for_matching_activation():
    assert (
        losses.MeanSquaredError().fused_gradient_reduced(
            np.ones((2, 1)), np.ones((2, 1)), "sigmoid"
        )
        is None
    )
    assert (
        losses.CategoricalCrossentropy(from_logits=True).fused_gradient_reduced(
            np.eye(2), np.eye(2), "softmax"
        )
        is None
    )


@pytest.mark.parametrize("y_pred", [np.array([[1000.0, -1000.0]]), np.array([[-1000.0, 1000.0]])])
def test_logits_of_plus_minus_1000_are_finite(y_pred):
    for loss in (
        losses.CategoricalCrossentropy(from_logits=True),
        losses.BinaryCrossentropy(from_logits=True),
    ):
        assert np.isfinite(loss(np.array([[1.0, 0.0]]), y_pred))
        assert np.isfinite(loss.gradient(np.array([[1.0, 0.0]]), y_pred)).all()


def test_probabilities_of_exactly_0_and_1_are_finite():
    y_true = np.array([[1.0, 0.0]])
    for y_pred in (np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])):
        for loss in (losses.BinaryCrossentropy(), losses.CategoricalCrossentropy()):
            assert np.isfinite(loss(y_true, y_pred))
            assert np.isfinite(loss.gradient(y_true, y_pred)).all()


def test_sample_weight_and_reductions():
    y_true, y_pred = np.array([[0.0], [0.0]]), np.array([[1.0], [3.0]])
    assert losses.MeanSquaredError()(y_true, y_pred, sample_weight=[1.0, 0.0]) == 0.5
    assert losses.MeanSquaredError(reduction="sum")(y_true, y_pred, sample_weight=[2.0, 1.0]) == 11
    np.testing.assert_array_equal(losses.MeanSquaredError(reduction="none")(y_true, y_pred), [1, 9])


def test_incompatible_shapes_name_both():
    with pytest.raises(ValueError, match=r"y_true \(3, 2\).*y_pred \(3, 4\)"):
        losses.MeanSquaredError()(np.zeros((3, 2)), np.zeros((3, 4)))


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 3]), r"class label 3, outside the range \[0, 3\)"),
        (np.array([0, -1]), r"class label -1"),
        (np.array([0.5, 1.0]), r"integer class labels"),
    ],
)
def test_bad_sparse_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        losses.SparseCategoricalCrossentropy()(labels, np.full((2, 3), 1 / 3))


def test_unknown_loss_suggests_names():
    with pytest.raises(ValueError, match="Unknown loss 'mean_squared_eror'.*'mean_squared_error'"):
        losses.get("mean_squared_eror")


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="average")


def test_config_round_trip():
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    again = losses.get(losses.serialize(loss))
    assert again.get_config() == loss.get_config()


def test_functional_forms_return_per_sample_losses():
    np.testing.assert_allclose(losses.mse(np.zeros((2, 2)), np.ones((2, 2))), [1, 1])
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy([0], [[0.5, 0.5]]), [np.log(2)]
    )


@pytest.mark.parametrize("activation", [None, "softmax"])
def test_value_and_gradient_agrees_with_the_separate_calls(activation):
    rng = np.random.default_rng(5)
    loss = losses.SparseCategoricalCrossentropy()
    labels, probabilities = rng.integers(0, 3, size=4), rng.dirichlet(np.ones(3), size=4)
    weights = rng.uniform(size=4)
    value, slope, fused = loss.value_and_gradient(labels, probabilities, weights, activation)
    assert value == pytest.approx(loss(labels, probabilities, weights))
    assert fused is (activation == "softmax")
    expected = (
        loss.fused_gradient_reduced(labels, probabilities, "softmax", weights)
        if fused
        else loss.gradient(labels, probabilities, weights)
    )
    np.testing.assert_allclose(slope, expected)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 6),
    columns=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    which=st.sampled_from(["mse", "mae", "bce", "bce_logits", "cce", "cce_logits", "scce"]),
)
def test_gradient_property_over_random_inputs(rows, columns, seed, which):
    rng = np.random.default_rng(seed)
    loss = {
        "mse": losses.MeanSquaredError(),
        "mae": losses.MeanAbsoluteError(),
        "bce": losses.BinaryCrossentropy(),
        "bce_logits": losses.BinaryCrossentropy(from_logits=True),
        "cce": losses.CategoricalCrossentropy(),
        "cce_logits": losses.CategoricalCrossentropy(from_logits=True),
        "scce": losses.SparseCategoricalCrossentropy(),
    }[which]
    if which in ("mse", "mae", "bce_logits", "cce_logits"):
        y_pred = rng.normal(scale=3, size=(rows, columns))
    else:
        y_pred = rng.uniform(0.02, 0.98, size=(rows, columns))
    if which == "scce":
        y_true = rng.integers(0, columns, size=rows)
    elif which.startswith("cce"):
        y_true = np.eye(columns)[rng.integers(0, columns, size=rows)]
    elif which.startswith("bce"):
        y_true = rng.integers(0, 2, size=(rows, columns)).astype(float)
    else:
        y_true = rng.normal(size=(rows, columns))
    if which == "mae":  # |x| has a kink at 0: keep the errors away from it
        y_pred = y_true + np.where(rng.random(y_pred.shape) < 0.5, -1, 1) * rng.uniform(
            0.1, 2, y_pred.shape
        )
    check_loss_gradients(loss, y_true, y_pred, rtol=1e-5, atol=1e-6)
