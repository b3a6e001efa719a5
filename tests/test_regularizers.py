"""Weight and activity regularizers: Keras's penalties, their slopes checked
by central differences in float64, names, configs and bad arguments. (Their
effect on training is checked against Keras in tests/layers/test_keras_layer_parity.py.)"""

import json

import numpy as np
import pytest

from gradstep import regularizers
from gradstep.testing import check_gradients

RNG = np.random.default_rng(0)
ALL = [
    regularizers.L1(0.3),
    regularizers.L2(0.2),
    regularizers.L1L2(l1=0.1, l2=0.4),
    regularizers.OrthogonalRegularizer(0.5, mode="rows"),
    regularizers.OrthogonalRegularizer(0.5, mode="columns"),
]


@pytest.mark.parametrize("regularizer", ALL, ids=repr)
@pytest.mark.parametrize("shape", [(4, 3), (5, 5), (2, 7)])
def test_slope_matches_central_differences(regularizer, shape):
    x = RNG.normal(size=shape)  # no entry at 0, where |x| has no derivative
    check_gradients(lambda v: float(regularizer(v)), regularizer.gradient, x)


def test_penalties_are_keras_formulas():
    x = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert float(regularizers.L1(0.1)(x)) == pytest.approx(0.1 * 3.5)
    assert float(regularizers.L2(0.1)(x)) == pytest.approx(0.1 * 5.25)
    assert float(regularizers.L1L2(0.1, 0.2)(x)) == pytest.approx(0.35 + 0.2 * 5.25)
    # Orthogonal: rows [1, 0] and [0, 1] are orthogonal; [1, 1] and [1, 0] are not.
    assert float(regularizers.OrthogonalRegularizer(1.0)(np.eye(2))) == 0.0
    rows = np.array([[1.0, 1.0], [1.0, 0.0]])
    expected = 0.5 * 2 * (1 / np.sqrt(2)) / 1  # two off-diagonal entries, one pair
    assert float(regularizers.OrthogonalRegularizer(1.0)(rows)) == pytest.approx(expected)


def test_l1_slope_at_zero_is_zero():
    # TensorFlow and PyTorch take sign(0) = 0; JAX takes 1 (see keras-compatibility.md).
    np.testing.assert_array_equal(regularizers.L1(0.5).gradient(np.zeros(3)), np.zeros(3))


def test_orthogonal_handles_a_zero_row_as_keras_does():
    x = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, -1.0]])
    assert float(regularizers.OrthogonalRegularizer(1.0)(x)) == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.isfinite(regularizers.OrthogonalRegularizer(1.0).gradient(x)))


def test_penalty_keeps_the_weights_dtype():
    x = RNG.normal(size=(3, 3)).astype(np.float32)
    for regularizer in ALL:
        assert np.asarray(regularizer(x)).dtype == np.float32
        assert regularizer.gradient(x).dtype == np.float32


@pytest.mark.parametrize(
    ("name", "cls", "config"),
    [
        ("l1", regularizers.L1, {"l1": 0.01}),
        ("L2", regularizers.L2, {"l2": 0.01}),
        ("l1_l2", regularizers.L1L2, {"l1": 0.01, "l2": 0.01}),
        ("L1L2", regularizers.L1L2, {"l1": 0.0, "l2": 0.0}),
        (
            "orthogonal_regularizer",
            regularizers.OrthogonalRegularizer,
            {"factor": 0.01, "mode": "rows"},
        ),
    ],
)
def test_names_mean_what_keras_names_mean(name, cls, config):
    regularizer = regularizers.get(name)
    assert type(regularizer) is cls and regularizer.get_config() == config


@pytest.mark.parametrize("regularizer", ALL, ids=repr)
def test_serialize_round_trips_through_json(regularizer):
    text = json.dumps(regularizers.serialize(regularizer))
    again = regularizers.deserialize(json.loads(text))
    assert type(again) is type(regularizer) and again.get_config() == regularizer.get_config()
    x = RNG.normal(size=(3, 4))
    assert float(again(x)) == float(regularizer(x))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2(-1)
    with pytest.raises(ValueError, match="l1"):
        regularizers.L1L2(l1=float("nan"))
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match=r"2-D weights.*\(3,\)"):
        regularizers.OrthogonalRegularizer()(np.ones(3))
    with pytest.raises(ValueError, match="Unknown regularizer"):
        regularizers.get("l3")
    with pytest.raises(TypeError, match="regularizer"):
        regularizers.get(0.01)
    with pytest.raises(ValueError, match="Unknown regularizer class 'Popen'"):
        regularizers.deserialize({"class_name": "Popen", "config": {}})
