import numpy as np
import pytest

from gradstep import activations
from gradstep.testing import check_activation_gradients

NAMES = [
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "softplus",
    "softsign",
    "swish",
    "silu",
    "exponential",
    "hard_sigmoid",
]


def _keras_case(keras_numerics, name):
    case = keras_numerics["activations"][name]
    return (
        case,
        np.array(case["x"]),
        np.array(case["y"]),
        np.array(case["G"]),
        np.array(case["vjp"]),
    )


@pytest.mark.parametrize("name", NAMES)
def test_value_and_vjp_match_keras_in_float64(keras_numerics, name):
    case, x, y, upstream, vjp = _keras_case(keras_numerics, name)
    activation = activations.get(name)
    np.testing.assert_allclose(activation(x), y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        activation.backward(x, activation(x), upstream), vjp, rtol=1e-10, atol=1e-14
    )


def test_gelu_approximate_matches_keras(keras_numerics):
    case, x, y, upstream, vjp = _keras_case(keras_numerics, "gelu_approximate")
    gelu = activations.GELU(approximate=True)
    np.testing.assert_allclose(gelu(x), y, rtol=1e-12)
    np.testing.assert_allclose(gelu.backward(x, gelu(x), upstream), vjp, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_passes_central_differences(name):
    rng = np.random.default_rng(1)
    x = rng.normal(scale=2.0, size=(4, 5))
    # keep clear of the kinks (relu at 0, hard_sigmoid at +-3) where the slope jumps
    x[np.abs(x) < 1e-3] = 0.5
    x[np.abs(np.abs(x) - 3) < 1e-3] = 1.5
    check_activation_gradients(activations.get(name), x)


@pytest.mark.parametrize("name", NAMES)
def test_functional_form_matches_object(name):
    x = np.linspace(-4, 4, 12).reshape(3, 4)
    np.testing.assert_allclose(getattr(activations, name)(x), activations.get(name)(x))


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    x = np.linspace(-3, 3, 10, dtype=np.float32).reshape(2, 5)
    assert activations.get(name)(x).dtype == np.float32


def test_softmax_is_stable_for_huge_logits():
    probabilities = activations.softmax(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(probabilities, [[1.0, 0.0, 0.0]])
    assert np.isfinite(activations.sigmoid(np.array([-1000.0, 1000.0]))).all()
    assert np.isfinite(activations.softplus(np.array([-1000.0, 1000.0]))).all()


def test_get_accepts_the_module_functions_and_none():
    assert activations.get(activations.relu).name == "relu"
    assert activations.get(None).name == "linear"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ValueError, match=r"Unknown activation 'reul'.*'relu'"):
        activations.get("reul")


def test_a_python_function_is_an_activation_whose_slope_comes_from_the_tape():
    """Dense(activation=my_function): Keras accepts any function written with ops."""
    from gradstep import ops

    def scaled_tanh(x):
        return 2.0 * ops.tanh(x)

    activation = activations.get(scaled_tanh)
    x = np.linspace(-2, 2, 7)
    np.testing.assert_allclose(activation(x), 2 * np.tanh(x))
    grad = np.linspace(0.5, 1.5, 7)
    slope = activation.backward(x, activation(x), grad)
    np.testing.assert_allclose(slope, grad * 2 * (1 - np.tanh(x) ** 2), rtol=1e-12)


def test_something_else_is_a_clear_type_error():
    with pytest.raises(TypeError, match="activation must be None, a name"):
        activations.get(3)
