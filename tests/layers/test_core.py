import numpy as np
import pytest

from gradstep import layers
from gradstep.testing import check_layer_gradients

ACTIVATIONS = [
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
    "exponential",
    "hard_sigmoid",
]


def _dense(units=3, **kwargs):
    layer = layers.Dense(units, dtype="float64", **kwargs)
    layer.rng = np.random.default_rng(0)
    return layer


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_gradients_pass_central_differences(activation):
    layer = _dense(activation=activation, bias_initializer="random_normal")
    x = np.random.default_rng(1).normal(size=(4, 5))
    check_layer_gradients(layer, x)


def test_dense_without_bias_and_with_3d_input():
    layer = _dense(units=2, use_bias=False)
    check_layer_gradients(layer, np.random.default_rng(2).normal(size=(3, 4, 5)))
    assert len(layer.weights) == 1


def test_activation_and_flatten_gradients():
    check_layer_gradients(layers.Activation("tanh"), np.random.default_rng(3).normal(size=(2, 3)))
    check_layer_gradients(layers.Flatten(), np.random.default_rng(4).normal(size=(2, 3, 4)))


def test_dense_slope_is_input_value_times_upstream_slope():
    """SEED_FACTS 2: slope of a weight = (slope at the node it feeds) x (value feeding it)."""
    layer = _dense(units=1, use_bias=False, kernel_initializer="zeros")
    layer(np.zeros((1, 1)))
    layer.set_weights([np.array([[2.0]])])
    _, saved = layer.forward(np.array([[3.0]]), training=True)
    grad_wrt_input, weight_grads = layer.backward(saved, np.array([[2 * -4.0]]))
    assert weight_grads["kernel"][0, 0] == -24.0
    assert grad_wrt_input[0, 0] == 2 * -4.0 * 2.0  # slope at the output x the weight


def test_dense_shapes_and_params():
    layer = layers.Dense(512, activation="relu", input_shape=(64,))
    layer.build((None, 64))
    assert layer.kernel.shape == (64, 512) and layer.bias.shape == (512,)
    assert layer.count_params() == 33280
    assert layer.output_shape == (None, 512)
    assert layer.kernel.dtype == np.float32


def test_set_weights_checks_shapes_and_keeps_identity():
    layer = layers.Dense(2)
    layer.build((None, 3))
    kernel = layer.kernel
    layer.set_weights([np.ones((3, 2)), np.zeros(2)])
    assert layer.kernel is kernel and (kernel == 1).all()
    with pytest.raises(
        ValueError, match=r"has shape \(3, 2\), received an array of shape \(2, 3\)"
    ):
        layer.set_weights([np.ones((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match="expects 2 weight arrays, received 1"):
        layer.set_weights([np.ones((3, 2))])


def test_get_weights_returns_copies():
    layer = layers.Dense(2)
    layer.build((None, 3))
    copy = layer.get_weights()[0]
    copy += 1
    assert not np.array_equal(copy, layer.kernel)


def test_bad_units():
    with pytest.raises(ValueError, match="units must be a positive integer, received 0"):
        layers.Dense(0)


def test_a_built_dense_refuses_inputs_of_another_width():
    dense = layers.Dense(3, name="dense")
    dense(np.ones((2, 4), np.float32))
    message = (
        r"Input of layer 'dense' is incompatible with the layer: expected axis -1 of the "
        r"input shape to have value 4, received input with shape \(2, 5\)"
    )
    with pytest.raises(ValueError, match=message):
        dense(np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"received input with shape \(4,\)"):
        dense(np.ones(4, np.float32))


def test_unknown_keyword_is_rejected():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments for Dense"):
        layers.Dense(2, kernel_regulariser="l2")


def test_input_is_a_symbolic_tensor_of_its_input_layer():
    entry = layers.Input(shape=(8,), name="pixels")
    assert entry.shape == (None, 8) and entry.dtype == "float32" and entry.name == "pixels"
    assert isinstance(entry.node.layer, layers.InputLayer)
    assert entry.node.layer.input_shape_arg == (8,)
    assert layers.Input(shape=(2,), dtype="int32").dtype == "int32"
    with pytest.raises(ValueError, match="needs shape"):
        layers.InputLayer()
    with pytest.raises(ValueError, match=r"shape must be a tuple of positive integers"):
        layers.Input(shape=(0,))
    with pytest.raises(ValueError, match=r"dtype must be .*'int32'.* received 'complex64'"):
        layers.Input(shape=(2,), dtype="complex64")
    with pytest.raises(TypeError, match="is symbolic"):
        np.asarray(entry)


def test_dense_config_round_trip():
    layer = layers.Dense(4, activation="leaky_relu", kernel_initializer="he_normal")
    again = layers.Dense.from_config(layer.get_config())
    assert again.units == 4 and again.activation.name == "leaky_relu"
    assert again.kernel_initializer.name == "he_normal"


def test_input_layer_passes_values_and_slopes_through():
    check_layer_gradients(
        layers.InputLayer(shape=(3,)), np.random.default_rng(5).normal(size=(2, 3))
    )
