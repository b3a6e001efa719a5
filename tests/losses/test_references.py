"""Every loss against Keras 3 (float64, JAX autodiff) and PyTorch goldens.

The goldens come from tools/make_keras_loss_fixtures.py (keras_losses.json)
and tools/make_keras_numerics_fixtures.py (keras_numerics.json).
"""

import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from gradstep import losses

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "keras_losses.json").read_text())
KERAS_CASES = {case["name"]: case for case in FIXTURE["keras"]}
TORCH_CASES = {case["name"]: case for case in FIXTURE["torch"]}

# Where Keras's own slope is not finite and gradstep's is (see docs/losses.md).
KERAS_NON_FINITE_SLOPES = {"cosine_similarity_zero_prediction"}


def build(class_name: str, config: dict, **overrides) -> losses.Loss:
    """A gradstep loss from a fixture's class name and config (JSON lists -> tuples)."""
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return getattr(losses, class_name)(**{**settings, **overrides})


def as_array(values) -> np.ndarray:
    """A fixture array, with JSON nulls (non-finite in the reference) as nan."""

    def convert(value):
        if isinstance(value, list):
            return [convert(v) for v in value]
        return np.nan if value is None else value

    return np.array(convert(values), dtype=np.float64)


def _inputs(case):
    return np.array(case["y_true"]), np.array(case["y_pred"], dtype=np.float64)


@pytest.mark.parametrize("name", KERAS_CASES)
def test_value_matches_keras(name):
    case = KERAS_CASES[name]
    y_true, y_pred = _inputs(case)
    value = build(case["class"], case["config"])(y_true, y_pred, case["sample_weight"])
    np.testing.assert_allclose(value, as_array(case["value"]), rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("name", KERAS_CASES)
def test_per_sample_values_match_keras(name):
    case = KERAS_CASES[name]
    loss = build(case["class"], case["config"], reduction="none")
    np.testing.assert_allclose(loss(*_inputs(case)), as_array(case["values_none"]), rtol=1e-9)


@pytest.mark.parametrize("name", KERAS_CASES)
def test_gradient_matches_keras_autodiff(name):
    case = KERAS_CASES[name]
    y_true, y_pred = _inputs(case)
    grad = build(case["class"], case["config"]).gradient(y_true, y_pred, case["sample_weight"])
    expected = as_array(case["grad"])
    assert np.isfinite(grad).all()
    finite = np.isfinite(expected)
    assert finite.all() == (name not in KERAS_NON_FINITE_SLOPES)
    if case["class"] == "KLDivergence":
        # On a clip bound JAX's autodiff takes half the slope; gradstep, like
        # TensorFlow and PyTorch, the whole of it.
        on_bound = y_pred == 1.0
        np.testing.assert_allclose(grad[on_bound], 2 * expected[on_bound], rtol=1e-12)
        finite &= ~on_bound
    np.testing.assert_allclose(grad[finite], expected[finite], rtol=1e-9, atol=1e-15)


def test_zero_prediction_cosine_slope_is_the_capped_norm_slope():
    """Keras's slope is nan at an all-zero prediction; gradstep's is -t / (n * 1e-7)."""
    case = KERAS_CASES["cosine_similarity_zero_prediction"]
    y_true, y_pred = _inputs(case)
    grad = losses.CosineSimilarity().gradient(y_true, y_pred)
    unit_true = y_true[0] / np.linalg.norm(y_true[0])
    np.testing.assert_allclose(grad[0], -unit_true / (2 * losses.EPSILON))


@pytest.mark.parametrize("name", [n for n, c in KERAS_CASES.items() if "function" in c])
def test_functional_form_matches_keras(name):
    case = KERAS_CASES[name]
    function = case["function"]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in function["kwargs"].items()}
    values = getattr(losses, function["name"])(*_inputs(case), **kwargs)
    np.testing.assert_allclose(values, as_array(function["values"]), rtol=1e-9)


@pytest.mark.parametrize("name", KERAS_CASES)
def test_config_holds_keras_settings(name):
    """Keras's config keys, names and values are in gradstep's config (which also
    keeps the settings Keras forgets, such as Huber's delta)."""
    case = KERAS_CASES[name]
    ours = build(case["class"], case["config"]).get_config()
    for key, value in case["keras_config"].items():
        if key == "dtype":
            continue
        assert key in ours
        ours_value = list(ours[key]) if isinstance(ours[key], tuple) else ours[key]
        assert ours_value == value, key


@pytest.mark.parametrize("class_name", FIXTURE["keras_signatures"])
def test_constructor_matches_keras(class_name):
    """The same arguments, in the same order, with the same defaults (Keras's
    default ``name`` is the class's ``name``); ``dtype`` is Keras-only."""
    keras_defaults = FIXTURE["keras_signatures"][class_name]
    cls = getattr(losses, class_name)
    parameters = dict(inspect.signature(cls.__init__).parameters)
    parameters.pop("self")
    assert list(parameters) == list(keras_defaults)
    for argument, default in keras_defaults.items():
        if argument == "name":
            assert parameters["name"].default is None and cls().name == default
        else:
            ours = parameters[argument].default
            assert (list(ours) if isinstance(ours, tuple) else ours) == default, argument


def test_every_keras_loss_but_ctc_is_covered():
    covered = {case["class"] for case in FIXTURE["keras"]}
    assert covered == set(FIXTURE["keras_signatures"])


@pytest.mark.parametrize("name", TORCH_CASES)
def test_pytorch_counterpart(name):
    case = TORCH_CASES[name]
    loss = build(case["gradstep_class"], case["gradstep_config"])
    y_true, y_pred = _inputs(case)
    value = case["scale"] * loss(y_true, y_pred) + case["offset"]
    assert value == pytest.approx(case["value"], rel=1e-9)
    grad = case["scale"] * loss.gradient(y_true, y_pred)
    expected = np.array(case["grad"])
    if case["grad_relation"] == "equal_within_rows_up_to_a_constant":
        # Keras renormalizes probabilities (p / sum p); NLLLoss does not. The
        # slopes differ by 1 / (n sum p) on every entry of a row.
        shift = 1 / (len(y_pred) * y_pred.sum(axis=1, keepdims=True))
        np.testing.assert_allclose(grad - shift, expected, rtol=1e-9, atol=1e-15)
    else:
        np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-15)


# --- the earlier Keras fixtures (keras_numerics.json) keep passing ---------------------

NUMERICS_CASES = [
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


@pytest.fixture(scope="module")
def numerics_cases(keras_numerics):
    return {case["name"]: case for case in keras_numerics["losses"]}


@pytest.mark.parametrize("name", NUMERICS_CASES)
def test_keras_numerics_loss_cases(numerics_cases, name):
    case = numerics_cases[name]
    y_true, y_pred = np.array(case["y_true"]), np.array(case["y_pred"])
    loss = build(case["class"], case["config"])
    assert float(loss(y_true, y_pred)) == pytest.approx(case["value"], rel=1e-6)
    per_sample = build(case["class"], case["config"], reduction="none")(y_true, y_pred)
    np.testing.assert_allclose(per_sample, case["values_none"], rtol=1e-6)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred), case["grad"], rtol=1e-6, atol=1e-12)
