"""Every loss's slope against central differences in float64, over random inputs.

Inputs are drawn away from the kinks where a slope is not defined (|error| = 0
for absolute errors, the margin of a hinge, |error| = delta for Huber, a clip
bound, ties of a max), since central differences straddle them.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gradstep import activations, losses
from gradstep.testing import check_gradients, numerical_gradient


def _signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _away_from_zero(rng, shape, low=0.1, high=2.0):
    return _signs(rng, shape) * rng.uniform(low, high, shape)


def _probabilities(rng, shape):
    return rng.uniform(0.02, 0.98, shape)


def _one_hot(rng, rows, columns):
    return np.eye(columns)[rng.integers(0, columns, size=rows)]


def _mse(rng, rows, columns):
    return (
        losses.MeanSquaredError(),
        rng.normal(size=(rows, columns)),
        rng.normal(scale=3, size=(rows, columns)),
    )


def _mae(rng, rows, columns):
    y_true = rng.normal(size=(rows, columns))
    return losses.MeanAbsoluteError(), y_true, y_true + _away_from_zero(rng, y_true.shape)


def _mape(rng, rows, columns):
    y_true = _away_from_zero(rng, (rows, columns), 0.5, 3.0)
    return losses.MeanAbsolutePercentageError(), y_true, y_true + _away_from_zero(rng, y_true.shape)


def _msle(rng, rows, columns):
    shape = (rows, columns)
    return (
        losses.MeanSquaredLogarithmicError(),
        rng.uniform(0, 5, shape),
        rng.uniform(0.1, 5, shape),
    )


def _huber(rng, rows, columns):
    delta = rng.uniform(0.5, 2.0)
    y_true = rng.normal(size=(rows, columns))
    size = rng.uniform(0, 2 * delta, y_true.shape)
    size = np.where(np.abs(size - delta) < 0.1, size + 0.2, size)
    return losses.Huber(delta=delta), y_true, y_true + _signs(rng, y_true.shape) * size


def _log_cosh(rng, rows, columns):
    return (
        losses.LogCosh(),
        rng.normal(size=(rows, columns)),
        rng.normal(scale=3, size=(rows, columns)),
    )


def _cosine(rng, rows, columns):
    axis = int(rng.integers(0, 2)) if rows > 1 else -1
    return (
        losses.CosineSimilarity(axis=axis),
        rng.normal(size=(rows, columns)),
        _away_from_zero(rng, (rows, columns), 0.2, 2.0),
    )


def _bce(rng, rows, columns):
    from_logits = bool(rng.integers(0, 2))
    loss = losses.BinaryCrossentropy(
        from_logits=from_logits, label_smoothing=float(rng.choice([0.0, 0.1]))
    )
    y_true = rng.integers(0, 2, size=(rows, columns)).astype(float)
    y_pred = (
        rng.normal(scale=3, size=y_true.shape) if from_logits else _probabilities(rng, y_true.shape)
    )
    return loss, y_true, y_pred


def _binary_focal(rng, rows, columns):
    from_logits = bool(rng.integers(0, 2))
    loss = losses.BinaryFocalCrossentropy(
        apply_class_balancing=bool(rng.integers(0, 2)),
        alpha=float(rng.uniform(0.1, 0.9)),
        gamma=float(rng.choice([0.0, 1.0, 2.0, 2.5])),
        from_logits=from_logits,
        label_smoothing=float(rng.choice([0.0, 0.1])),
    )
    y_true = rng.integers(0, 2, size=(rows, columns)).astype(float)
    y_pred = (
        rng.normal(scale=3, size=y_true.shape) if from_logits else _probabilities(rng, y_true.shape)
    )
    return loss, y_true, y_pred


def _categorical(cls, rng, rows, columns, **config):
    from_logits = bool(rng.integers(0, 2))
    loss = cls(from_logits=from_logits, label_smoothing=float(rng.choice([0.0, 0.1])), **config)
    y_pred = (
        rng.normal(scale=3, size=(rows, columns))
        if from_logits
        else rng.uniform(0.1, 1.0, (rows, columns))
    )
    return loss, _one_hot(rng, rows, columns), y_pred


def _cce(rng, rows, columns):
    return _categorical(losses.CategoricalCrossentropy, rng, rows, columns)


def _categorical_focal(rng, rows, columns):
    return _categorical(
        losses.CategoricalFocalCrossentropy,
        rng,
        rows,
        columns,
        alpha=float(rng.uniform(0.1, 1.0)),
        gamma=float(rng.choice([0.0, 1.0, 2.0, 3.5])),
    )


def _scce(rng, rows, columns):
    from_logits = bool(rng.integers(0, 2))
    ignore_class = int(rng.integers(0, columns)) if rng.random() < 0.3 else None
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=ignore_class)
    y_pred = (
        rng.normal(scale=3, size=(rows, columns))
        if from_logits
        else rng.uniform(0.1, 1.0, (rows, columns))
    )
    return loss, rng.integers(0, columns, size=rows), y_pred


def _generalized(rng, rows, columns):
    loss = losses.CategoricalGeneralizedCrossEntropy(q=float(rng.uniform(0.1, 0.9)))
    return loss, rng.integers(0, columns, size=rows), _probabilities(rng, (rows, columns))


def _kl(rng, rows, columns):
    return (
        losses.KLDivergence(),
        rng.dirichlet(np.ones(columns), size=rows),
        _probabilities(rng, (rows, columns)),
    )


def _poisson(rng, rows, columns):
    shape = (rows, columns)
    return losses.Poisson(), rng.uniform(0, 5, shape), rng.uniform(0.1, 5, shape)


def _hinge_like(cls, rng, rows, columns):
    zero_one = bool(rng.integers(0, 2))
    labels = rng.integers(0, 2, size=(rows, columns)).astype(float)
    signs = 2 * labels - 1
    # Keep y * p away from the margin 1, where the hinge has a kink.
    product = _signs(rng, labels.shape) * rng.uniform(0.05, 2.0, labels.shape) + 1
    return cls(), labels if zero_one else signs, product * signs


def _hinge(rng, rows, columns):
    return _hinge_like(losses.Hinge, rng, rows, columns)


def _squared_hinge(rng, rows, columns):
    return _hinge_like(losses.SquaredHinge, rng, rows, columns)


def _categorical_hinge(rng, rows, columns):
    columns = max(columns, 2)
    y_true = _one_hot(rng, rows, columns)
    y_pred = rng.normal(scale=2, size=(rows, columns))
    others = np.sort((1 - y_true) * y_pred, axis=-1)
    loss_before_clip = others[:, -1] - np.sum(y_true * y_pred, axis=-1) + 1
    assume(np.all(others[:, -1] - others[:, -2] > 1e-3))
    assume(np.all(np.abs(loss_before_clip) > 1e-3))
    return losses.CategoricalHinge(), y_true, y_pred


def _overlap(cls, rng, rows, columns, **config):
    shape = (rows, columns, 2)
    axis = [None, (1, 2), 2][int(rng.integers(0, 3))]
    y_true = rng.integers(0, 2, size=shape).astype(float)
    return cls(axis=axis, **config), y_true, _probabilities(rng, shape)


def _dice(rng, rows, columns):
    return _overlap(losses.Dice, rng, rows, columns)


def _tversky(rng, rows, columns):
    alpha, beta = rng.uniform(0.1, 0.9, size=2)
    return _overlap(losses.Tversky, rng, rows, columns, alpha=float(alpha), beta=float(beta))


def _circle(rng, rows, columns):
    rows, size = rows + 2, columns + 1
    embeddings = rng.normal(size=(rows, size))
    # Norms below 1 keep each sample's similarity with itself (kept when
    # remove_diagonal is False) off the kink of max(1 - similarity, 0) at 1.
    embeddings *= rng.uniform(0.6, 0.95, (rows, 1)) / np.linalg.norm(
        embeddings, axis=1, keepdims=True
    )
    loss = losses.Circle(
        gamma=float(rng.choice([2.0, 16.0])),
        margin=float(rng.uniform(0.1, 0.5)),
        remove_diagonal=bool(rng.integers(0, 2)),
    )
    return loss, rng.integers(0, 3, size=rows), embeddings


MAKERS = {
    "MeanSquaredError": _mse,
    "MeanAbsoluteError": _mae,
    "MeanAbsolutePercentageError": _mape,
    "MeanSquaredLogarithmicError": _msle,
    "Huber": _huber,
    "LogCosh": _log_cosh,
    "CosineSimilarity": _cosine,
    "BinaryCrossentropy": _bce,
    "BinaryFocalCrossentropy": _binary_focal,
    "CategoricalCrossentropy": _cce,
    "CategoricalFocalCrossentropy": _categorical_focal,
    "SparseCategoricalCrossentropy": _scce,
    "CategoricalGeneralizedCrossEntropy": _generalized,
    "KLDivergence": _kl,
    "Poisson": _poisson,
    "Hinge": _hinge,
    "SquaredHinge": _squared_hinge,
    "CategoricalHinge": _categorical_hinge,
    "Dice": _dice,
    "Tversky": _tversky,
    "Circle": _circle,
}


def test_every_registered_loss_class_has_a_property_test():
    registered = {cls.__name__ for cls in map(losses.LOSSES.lookup, losses.LOSSES.names())}
    assert registered == set(MAKERS)


def _check(loss, y_true, y_pred, sample_weight):
    def value(point):
        return float(np.sum(loss(y_true, point, sample_weight)))

    def slope(point):
        return loss.gradient(y_true, point, sample_weight)

    scale = max(1.0, abs(value(y_pred)))
    check_gradients(value, slope, y_pred, rtol=1e-5, atol=1e-7 * scale, label=loss.name)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 5),
    columns=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
    reduction=st.sampled_from(losses.REDUCTIONS),
    weighted=st.booleans(),
)
@pytest.mark.parametrize("class_name", sorted(MAKERS))
def test_gradient_matches_central_differences(class_name, rows, columns, seed, reduction, weighted):
    rng = np.random.default_rng(seed)
    loss, y_true, y_pred = MAKERS[class_name](rng, rows, columns)
    loss.reduction = reduction
    sample_weight = None
    if weighted:
        per_sample = np.shape(
            type(loss)(**{**loss.get_config(), "reduction": "none"})(y_true, y_pred)
        )
        sample_weight = rng.uniform(0.2, 2.0, size=per_sample)
    _check(loss, y_true, y_pred, sample_weight)


FUSED = [
    (lambda: losses.CategoricalCrossentropy(), "softmax", "one_hot"),
    (lambda: losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax", "one_hot"),
    (lambda: losses.SparseCategoricalCrossentropy(), "softmax", "labels"),
    (lambda: losses.SparseCategoricalCrossentropy(ignore_class=0), "softmax", "labels"),
    (lambda: losses.BinaryCrossentropy(), "sigmoid", "binary"),
    (lambda: losses.BinaryCrossentropy(label_smoothing=0.2), "sigmoid", "binary"),
]


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 5),
    columns=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
    weighted=st.booleans(),
)
@pytest.mark.parametrize("make, activation, targets", FUSED)
def test_fused_activation_and_loss_slope_matches_central_differences(
    make, activation, targets, rows, columns, seed, weighted
):
    """The slope the model uses when the last activation pairs with the loss:
    with respect to the logits, through the activation."""
    rng = np.random.default_rng(seed)
    loss, act = make(), activations.get(activation)
    logits = rng.normal(scale=3, size=(rows, columns))
    y_true = {
        "one_hot": _one_hot(rng, rows, columns),
        "labels": rng.integers(0, columns, size=rows),
        "binary": rng.integers(0, 2, size=(rows, columns)).astype(float),
    }[targets]
    weights = rng.uniform(0.2, 2.0, size=rows) if weighted else None
    assert loss.fused_activation == activation
    value, fused = loss.value_and_gradient(y_true, act(logits), weights, fused=True)
    numeric = numerical_gradient(lambda z: float(loss(y_true, act(z), weights)), logits)
    np.testing.assert_allclose(fused, numeric, rtol=1e-5, atol=1e-7)
    assert value == pytest.approx(float(loss(y_true, act(logits), weights)))
