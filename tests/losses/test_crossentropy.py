"""Cross-entropies: stability at the extremes, input checks, ignore_class, fusion."""

import numpy as np
import pytest

from gradstep import Sequential, activations, layers, losses

PROBABILITY_LOSSES = [
    losses.BinaryCrossentropy(),
    losses.BinaryFocalCrossentropy(),
    losses.CategoricalCrossentropy(),
    losses.CategoricalFocalCrossentropy(),
]
LOGIT_LOSSES = [
    losses.BinaryCrossentropy(from_logits=True),
    losses.BinaryFocalCrossentropy(from_logits=True, apply_class_balancing=True),
    losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.CategoricalFocalCrossentropy(from_logits=True),
]


@pytest.mark.parametrize("loss", LOGIT_LOSSES, ids=lambda loss: loss.name)
@pytest.mark.parametrize("y_pred", [[[1000.0, -1000.0]], [[-1000.0, 1000.0]]])
def test_logits_of_plus_minus_1000_are_finite(loss, y_pred):
    for y_true in ([[1.0, 0.0]], [[0.0, 1.0]]):
        assert np.isfinite(loss(y_true, y_pred))
        assert np.isfinite(loss.gradient(y_true, y_pred)).all()


def test_sparse_logits_of_plus_minus_1000_are_finite():
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    y_pred = [[1000.0, -1000.0, 0.0]]
    assert loss([1], y_pred) == pytest.approx(2000.0)
    np.testing.assert_allclose(loss.gradient([1], y_pred), [[1.0, -1.0, 0.0]], atol=1e-300)


@pytest.mark.parametrize("loss", PROBABILITY_LOSSES, ids=lambda loss: loss.name)
@pytest.mark.parametrize("y_pred", [[[0.0, 1.0]], [[1.0, 0.0]]])
def test_probabilities_of_exactly_0_and_1_are_finite(loss, y_pred):
    """Clipped to [1e-7, 1 - 1e-7]: a confident mistake costs -log(1e-7) ~ 16."""
    for y_true in ([[1.0, 0.0]], [[0.0, 1.0]]):
        assert np.isfinite(loss(y_true, y_pred))
        assert np.isfinite(loss.gradient(y_true, y_pred)).all()
    assert losses.BinaryCrossentropy()([[1.0]], [[0.0]]) == pytest.approx(-np.log(1e-7))


@pytest.mark.parametrize(
    "loss, y_pred, value",
    [
        (losses.BinaryCrossentropy(), [[0.2, 1.5]], "1.5"),
        (losses.BinaryFocalCrossentropy(), [[-0.5, 0.5]], "-0.5"),
        (losses.CategoricalCrossentropy(), [[-2.0, 1.0]], "-2.0"),
        (losses.CategoricalFocalCrossentropy(), [[0.5, -0.1]], "-0.1"),
    ],
    ids=lambda v: getattr(v, "name", None),
)
def test_probabilities_outside_0_1_suggest_from_logits(loss, y_pred, value):
    with pytest.raises(ValueError, match=rf"holding {value}.*from_logits=True") as error:
        loss([[1.0, 0.0]], y_pred)
    assert loss.name in str(error.value)


def test_sparse_probabilities_must_be_non_negative():
    with pytest.raises(ValueError, match="softmax activation.*from_logits=True"):
        losses.SparseCategoricalCrossentropy()([0], [[-1.0, 2.0]])
    with pytest.raises(ValueError, match="holding 1.5"):
        losses.CategoricalGeneralizedCrossEntropy()([0], [[1.5, 0.0]])


def test_unnormalized_probabilities_are_accepted_and_renormalized():
    """Keras divides by sum(p); values above 1 are therefore allowed."""
    loss = losses.CategoricalCrossentropy()
    assert loss([[0.0, 1.0]], [[2.0, 2.0]]) == pytest.approx(np.log(2))


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


def test_sparse_labels_of_the_wrong_shape_name_both_shapes():
    with pytest.raises(ValueError, match=r"expected shape \(2,\).*received \(2, 3\)"):
        losses.SparseCategoricalCrossentropy()(np.zeros((2, 3)), np.full((2, 3), 1 / 3))


def test_categorical_targets_of_the_wrong_shape_point_to_sparse():
    with pytest.raises(ValueError, match=r"y_true \(2,\) and y_pred \(2, 3\).*sparse_"):
        losses.CategoricalCrossentropy()(np.array([0, 1]), np.full((2, 3), 1 / 3))


def test_ignore_class_masks_samples_out_of_the_mean():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3), size=5)
    labels = np.array([0, 255, 2, 255, 1])
    loss = losses.SparseCategoricalCrossentropy(ignore_class=255)
    kept = labels != 255
    plain = losses.SparseCategoricalCrossentropy(reduction="none")(
        labels[kept], probabilities[kept]
    )
    assert loss(labels, probabilities) == pytest.approx(plain.mean())
    grad = loss.gradient(labels, probabilities)
    np.testing.assert_array_equal(grad[~kept], 0)
    np.testing.assert_allclose(
        grad[kept],
        losses.SparseCategoricalCrossentropy().gradient(labels[kept], probabilities[kept]),
    )
    per_sample = losses.SparseCategoricalCrossentropy(ignore_class=255, reduction="none")
    np.testing.assert_array_equal(per_sample(labels, probabilities)[~kept], 0)
    assert loss(np.full(5, 255), probabilities) == 0


def test_ignore_class_trains_a_model():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4))
    y = np.argmax(x[:, :3], axis=1)
    y[::4] = -1  # unlabeled samples
    model = Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))], seed=0)
    model.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(ignore_class=-1))
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_class_axis_other_than_last():
    rng = np.random.default_rng(2)
    probabilities = rng.dirichlet(np.ones(4), size=3)
    labels = rng.integers(0, 4, size=3)
    last = losses.CategoricalCrossentropy()(np.eye(4)[labels], probabilities)
    first = losses.CategoricalCrossentropy(axis=0)(np.eye(4)[labels].T, probabilities.T)
    assert first == pytest.approx(last)
    sparse = losses.SparseCategoricalCrossentropy(axis=0)(labels, probabilities.T)
    assert sparse == pytest.approx(last)
    grad = losses.SparseCategoricalCrossentropy(axis=0).gradient(labels, probabilities.T)
    np.testing.assert_allclose(
        grad, losses.SparseCategoricalCrossentropy().gradient(labels, probabilities).T
    )


def test_bad_axis_and_smoothing():
    with pytest.raises(ValueError, match="axis must be an integer"):
        losses.CategoricalCrossentropy(axis=True)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        losses.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"q must be in the interval \(0, 1\)"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.0)


def test_generalized_cross_entropy_slope_is_finite_at_zero():
    """Keras's slope of (1 - p^q) / q is infinite at p = 0; gradstep's is capped."""
    loss = losses.CategoricalGeneralizedCrossEntropy(q=0.5, reduction="sum")
    grad = loss.gradient([0], [[0.0, 1.0]])
    np.testing.assert_allclose(grad, [[-(1e-7**-0.5), 0.0]])


def _fused_vs_chain_rule(loss, activation, logits, y_true):
    act = activations.get(activation)
    output = act(logits)
    assert loss.fused_activation == activation
    fused = loss.value_and_gradient(y_true, output, fused=True)[1]
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
    _fused_vs_chain_rule(
        losses.SparseCategoricalCrossentropy(ignore_class=1), "softmax", logits, labels
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
    fused = losses.SparseCategoricalCrossentropy().value_and_gradient(
        np.array([1]), output, fused=True
    )[1]
    np.testing.assert_allclose(fused, 0, atol=1e-7)


def test_label_smoothing_moves_targets():
    bce = losses.BinaryCrossentropy(label_smoothing=0.2, reduction="none")
    plain = losses.BinaryCrossentropy(reduction="none")
    np.testing.assert_allclose(bce([[1.0]], [[0.7]]), plain([[0.9]], [[0.7]]))
    cce = losses.CategoricalCrossentropy(label_smoothing=0.3, reduction="none")
    np.testing.assert_allclose(
        cce([[0.0, 1.0, 0.0]], [[0.2, 0.5, 0.3]]),
        losses.CategoricalCrossentropy(reduction="none")([[0.1, 0.8, 0.1]], [[0.2, 0.5, 0.3]]),
    )


@pytest.mark.parametrize("ignore_class", [None, 2])
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.float32])
def test_labels_checked_before_training_are_not_checked_again(
    monkeypatch, ignore_class, fused, label_dtype
):
    """The train step's path (``targets_checked=True``: fit has checked all of y
    once) gives the bits of ``value_and_gradient`` without the label check."""
    rng = np.random.default_rng(0)
    probabilities = activations.get("softmax")(rng.normal(size=(8, 4)).astype(np.float32))
    labels = rng.integers(0, 4, size=8).astype(label_dtype)
    weights = rng.uniform(0.5, 2.0, size=8)
    loss = losses.SparseCategoricalCrossentropy(ignore_class=ignore_class)
    expected = loss.value_and_gradient(labels, probabilities, weights, fused=fused)

    def no_check(*args):
        raise AssertionError("the labels were checked again")

    monkeypatch.setattr("gradstep.losses.crossentropy.check_sparse_labels", no_check)
    value, slope = loss.value_and_gradient(
        labels, probabilities, weights, fused=fused, targets_checked=True
    )
    assert value == expected[0]
    np.testing.assert_array_equal(slope, expected[1])
    assert slope.dtype == expected[1].dtype
    with pytest.raises(AssertionError, match="checked again"):
        loss(labels, probabilities)  # the public call still checks


def test_a_subclass_that_prepares_its_own_way_is_prepared_so_in_training_too():
    class Shifted(losses.SparseCategoricalCrossentropy):
        def prepare(self, y_true, y_pred, targets_checked=False):
            return super().prepare(np.asarray(y_true) - 1, y_pred, targets_checked)

    probabilities = np.array([[0.5, 0.25, 0.25]] * 2, dtype=np.float32)
    value, _ = Shifted().value_and_gradient([1, 1], probabilities, fused=True, targets_checked=True)
    assert value == pytest.approx(-np.log(0.5))  # label 0 after the shift, not 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_shape", ["flat", "column"])
def test_sparse_fused_training_lane_gives_the_general_paths_bits(dtype, label_shape):
    """A training step's sparse cross-entropy (fused with softmax, labels checked,
    no weights) takes a shorter lane; its value and slope are the general path's."""
    rng = np.random.default_rng(0)
    output = activations.softmax(rng.normal(size=(9, 5)) * 4).astype(dtype)
    output[0] = [1, 0, 0, 0, 0]  # clipped: the label's slope is 0 there
    output[1] = [0, 1, 0, 0, 0]
    labels = rng.integers(0, 5, size=9)
    labels[:2] = 0
    y_true = labels if label_shape == "flat" else labels[:, None]
    loss = losses.SparseCategoricalCrossentropy()
    lane = loss.value_and_gradient(y_true, output, fused=True, targets_checked=True)
    general = losses.Loss.value_and_gradient(loss, y_true, output, fused=True, targets_checked=True)
    assert np.asarray(lane[0]).tobytes() == np.asarray(general[0]).tobytes()
    assert lane[1].dtype == general[1].dtype == dtype
    np.testing.assert_array_equal(lane[1], general[1])
