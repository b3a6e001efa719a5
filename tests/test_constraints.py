"""Weight constraints: Keras's formulas, names, configs and bad arguments.
(Applied after each optimizer step: tests/models/test_regularization.py and
the Keras goldens in tests/layers/test_keras_layer_parity.py.)"""

import json

import numpy as np
import pytest

from gradstep import constraints

W = np.array([[3.0, 0.1, -1.0], [4.0, 0.2, 1.0]])  # column norms 5, ~0.22, ~1.41


def column_norms(w):
    return np.sqrt(np.sum(w**2, axis=0))


def test_max_norm_shrinks_only_long_columns():
    out = constraints.MaxNorm(2.0)(W)
    np.testing.assert_allclose(column_norms(out), [2.0, column_norms(W)[1], 1.41421356], rtol=1e-6)
    np.testing.assert_allclose(out[:, 0], W[:, 0] * 2 / (5 + 1e-7))


def test_max_norm_along_rows():
    out = constraints.MaxNorm(1.0, axis=1)(W)
    assert np.all(np.sqrt(np.sum(out**2, axis=1)) <= 1.0 + 1e-6)


def test_non_neg_zeroes_negative_weights():
    np.testing.assert_array_equal(constraints.NonNeg()(W), np.maximum(W, 0))


def test_unit_norm_gives_norm_one():
    np.testing.assert_allclose(column_norms(constraints.UnitNorm()(W)), 1.0, rtol=1e-6)


def test_min_max_norm_moves_toward_the_band_at_its_rate():
    full = constraints.MinMaxNorm(0.5, 1.0)(W)
    np.testing.assert_allclose(column_norms(full), [1.0, 0.5, 1.0], rtol=1e-6)
    half = constraints.MinMaxNorm(0.5, 1.0, rate=0.5)(W)
    np.testing.assert_allclose(column_norms(half)[0], 3.0, rtol=1e-6)  # halfway from 5 to 1


def test_zero_columns_stay_zero():
    w = np.zeros((2, 2))
    for constraint in (constraints.MaxNorm(1), constraints.UnitNorm(), constraints.MinMaxNorm()):
        np.testing.assert_array_equal(constraint(w), w)


def test_float32_stays_float32():
    for name in ("max_norm", "non_neg", "unit_norm", "min_max_norm"):
        assert constraints.get(name)(W.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "constraint",
    [
        constraints.MaxNorm(3, axis=1),
        constraints.NonNeg(),
        constraints.UnitNorm(axis=[0, 1]),
        constraints.MinMaxNorm(0.1, 2.0, rate=0.3),
    ],
    ids=lambda c: type(c).__name__,
)
def test_serialize_round_trips_through_json(constraint):
    again = constraints.deserialize(json.loads(json.dumps(constraints.serialize(constraint))))
    assert type(again) is type(constraint) and again.get_config() == constraint.get_config()
    np.testing.assert_array_equal(again(W), constraint(W))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="max_value"):
        constraints.MaxNorm(-1)
    with pytest.raises(ValueError, match="rate"):
        constraints.MinMaxNorm(rate=2)
    with pytest.raises(ValueError, match="max_value must be at least min_value"):
        constraints.MinMaxNorm(2.0, 1.0)
    with pytest.raises(ValueError, match="Unknown constraint"):
        constraints.get("maxnorm2")
    with pytest.raises(ValueError, match="Unknown constraint class 'Popen'"):
        constraints.deserialize({"class_name": "Popen", "config": {}})
