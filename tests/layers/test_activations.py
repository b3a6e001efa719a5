"""ReLU, LeakyReLU, ELU, Softmax and PReLU: slopes against central
differences in float64 over several arguments, the slopes at the corners as
Keras's autodiff gives them, Softmax's mask, PReLU's weight, errors, configs
and saving. Keras's own numbers (forward and training) are compared in
test_keras_layer_parity.py (tests/layer_cases/activations.py)."""

import warnings

import numpy as np
import pytest

import gradstep
from gradstep import layers
from gradstep.testing import check_layer_gradients, check_model_gradients

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.normal(size=shape)


# --- slopes -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("layer_class", "arguments", "shape"),
    [
        (layers.ReLU, {}, (3, 4)),
        (layers.ReLU, {"negative_slope": 0.1}, (2, 3, 4)),
        (layers.ReLU, {"max_value": 0.7}, (3, 5)),
        (layers.ReLU, {"threshold": 0.2}, (3, 5)),
        (layers.ReLU, {"max_value": 0.8, "negative_slope": 0.2, "threshold": 0.1}, (4, 5)),
        (layers.ReLU, {"max_value": 6.0}, (3, 4)),
        (layers.LeakyReLU, {}, (3, 4)),
        (layers.LeakyReLU, {"negative_slope": 0.05}, (2, 2, 3)),
        (layers.ELU, {}, (3, 4)),
        (layers.ELU, {"alpha": 0.4}, (2, 3, 2)),
        (layers.Softmax, {}, (3, 4)),
        (layers.Softmax, {"axis": 1}, (2, 3, 4)),
        (layers.Softmax, {"axis": [1, 2]}, (2, 3, 4)),
        (layers.Softmax, {"axis": (-1, 1)}, (2, 3, 2, 2)),
    ],
)
def test_activation_layer_slopes(layer_class, arguments, shape):
    # Entries away from the corners (0, the threshold, max_value), where the slope jumps.
    x = normal(*shape)
    x = np.where(np.abs(x % 0.1 - 0.05) > 0.045, x + 0.013, x)
    check_layer_gradients(layer_class(dtype="float64", **arguments), x)


@pytest.mark.parametrize(
    ("arguments", "shape"),
    [
        ({"alpha_initializer": "glorot_uniform"}, (3, 4)),
        ({"alpha_initializer": "glorot_uniform", "shared_axes": 1}, (2, 3, 4)),
        ({"alpha_initializer": "glorot_uniform", "shared_axes": [1, 2]}, (2, 3, 2, 4)),
        ({"alpha_initializer": "glorot_uniform", "shared_axes": (2,)}, (3, 2, 4)),
        ({}, (3, 4)),  # alpha zero: a ReLU whose alpha still learns
    ],
)
def test_prelu_slopes_for_the_input_and_alpha(arguments, shape):
    check_layer_gradients(layers.PReLU(dtype="float64", **arguments), normal(*shape))


@pytest.mark.parametrize(("mask_shape", "seed"), [((3, 4, 5), 0), ((3, 1, 5), 1), ((5,), 2)])
def test_masked_softmax_slopes(mask_shape, seed):
    mask = np.random.default_rng(seed).random(mask_shape) > 0.4
    check_layer_gradients(layers.Softmax(dtype="float64"), normal(3, 4, 5), mask=mask)


def test_a_model_of_activation_layers_has_the_slopes_of_central_differences():
    inputs = gradstep.Input((4,), dtype="float64")
    tensor = inputs
    for layer in (
        layers.Dense(5, dtype="float64"),
        layers.PReLU(alpha_initializer="glorot_uniform", dtype="float64"),
        layers.Dense(5, dtype="float64"),
        layers.ELU(alpha=0.5, dtype="float64"),
        layers.Dense(3, dtype="float64"),
        layers.Softmax(dtype="float64"),
    ):
        tensor = layer(tensor)
    model = gradstep.Model(inputs, tensor, seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    check_model_gradients(model, normal(6, 4), RNG.integers(0, 3, size=6))


#: The slopes of Keras 3.15.1 (JAX's autodiff) at the corners, at
#: x = -1, 0, 0.1, 0.3, 0.6, 1, 6, 7 (recorded with jax.grad of the layer's sum).
CORNERS = np.array([[-1.0, 0.0, 0.1, 0.3, 0.6, 1.0, 6.0, 7.0]])
KERAS_CORNER_SLOPES = [
    (layers.ReLU, {}, [0, 0, 1, 1, 1, 1, 1, 1]),
    (
        layers.ReLU,
        {"max_value": 0.6, "negative_slope": 0.2, "threshold": 0.1},
        [0.2, 0.2, 0, 1, 0.5, 0, 0, 0],
    ),
    (layers.ReLU, {"max_value": 6.0}, [0, 0, 1, 1, 1, 1, 0, 0]),
    (layers.ReLU, {"negative_slope": 0.1}, [0.1, 1, 1, 1, 1, 1, 1, 1]),
    (layers.ReLU, {"threshold": 0.3}, [0, 0, 0, 0, 1, 1, 1, 1]),
    (layers.ReLU, {"max_value": 1.0, "threshold": 1.0}, [0, 0, 0, 0, 0, 0, 0, 0]),
    (layers.LeakyReLU, {}, [0.3, 1, 1, 1, 1, 1, 1, 1]),
    (layers.ELU, {"alpha": 0.5}, [0.5 * np.exp(-1), 0.5, 1, 1, 1, 1, 1, 1]),
    (layers.PReLU, {"alpha_initializer": "ones"}, [1, 0, 1, 1, 1, 1, 1, 1]),
]


@pytest.mark.parametrize(("layer_class", "arguments", "slopes"), KERAS_CORNER_SLOPES)
def test_slopes_at_the_corners_are_keras_autodiff(layer_class, arguments, slopes):
    layer = layer_class(dtype="float64", **arguments)
    layer.build((None, CORNERS.shape[1]))
    _, saved = layer.forward(CORNERS, training=True)
    grad, _ = layer.backward(saved, np.ones_like(CORNERS))
    np.testing.assert_allclose(grad[0], slopes, rtol=1e-12)


# --- formulas ---------------------------------------------------------------------------
def test_relu_with_all_its_options_is_keras_formula():
    x = np.array([[-10.0, -5.0, 0.0, 0.05, 0.5, 5.0, 10.0]], dtype=np.float32)
    got = layers.ReLU(max_value=2.0, negative_slope=0.5, threshold=0.1)(x)
    want = np.array([[-5.05, -2.55, -0.05, -0.025, 0.5, 2.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.dtype == np.float32


def test_the_docstring_example():
    got = layers.ReLU(max_value=10, negative_slope=0.5)(np.array([[-10.0, -5.0, 0.0, 5.0, 10.0]]))
    np.testing.assert_array_equal(got, [[-5.0, -2.5, 0.0, 5.0, 10.0]])


def test_leaky_relu_and_elu_formulas():
    x = np.array([[-2.0, -0.5, 0.0, 1.5]])
    np.testing.assert_allclose(layers.LeakyReLU()(x), [[-0.6, -0.15, 0.0, 1.5]], rtol=1e-6)
    elu = layers.ELU(alpha=2.0)(x)
    np.testing.assert_allclose(elu, [[2 * np.expm1(-2), 2 * np.expm1(-0.5), 0, 1.5]], rtol=1e-6)


def test_prelu_alpha_has_one_sample_shape_but_the_shared_axes():
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build((None, 5, 6, 3))
    assert [w.shape for w in layer.get_weights()] == [(1, 1, 3)]
    assert [name for name, _ in layer.named_weights()] == ["alpha"]
    assert layer.trainable_weights and not layer.non_trainable_weights
    x = normal(2, 5, 6, 3).astype(np.float32)
    layer.set_weights([np.array([[[0.1, -0.2, 0.3]]], dtype=np.float32)])
    np.testing.assert_allclose(layer(x), np.where(x > 0, x, x * [0.1, -0.2, 0.3]), rtol=1e-6)
    # other sizes along the shared axes are welcome; along the others, not
    assert layer(normal(1, 2, 7, 3).astype(np.float32)).shape == (1, 2, 7, 3)
    with pytest.raises(ValueError, match=r"expected axis 3 of input shape to have value 3"):
        layer(normal(1, 5, 6, 4).astype(np.float32))


def test_softmax_mask_gives_masked_entries_no_probability():
    x = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]], dtype=np.float32)
    mask = np.array([[True, False, True, False], [False, False, False, False]])
    got = layers.Softmax()(x, mask=mask)
    kept = np.exp([1.0, 3.0]) / np.exp([1.0, 3.0]).sum()
    np.testing.assert_allclose(got[0], [kept[0], 0, kept[1], 0], rtol=1e-6)
    np.testing.assert_array_equal(got[1], 0)  # every entry masked: zeros, not uniform
    # a float mask keeps the entries over one half, as Keras
    as_floats = layers.Softmax()(x, mask=np.where(mask, 0.9, 0.2).astype(np.float32))
    np.testing.assert_array_equal(as_floats, got)


def test_softmax_over_two_axes_sums_to_one_over_both():
    got = layers.Softmax(axis=[1, 2])(normal(2, 3, 4).astype(np.float32))
    np.testing.assert_allclose(got.sum(axis=(1, 2)), 1.0, rtol=1e-6)


def test_activation_layers_pass_the_mask_on():
    inputs = gradstep.Input((3,), dtype="int32")
    tensor = layers.Embedding(5, 4, mask_zero=True)(inputs)
    for layer in (layers.ReLU(), layers.LeakyReLU(), layers.ELU(), layers.PReLU()):
        tensor = layer(tensor)
        assert layer.supports_masking and tensor.mask_shape == (1, 3)


# --- errors -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.ReLU(max_value=-1, name="r"), r"max_value of ReLU layer 'r' cannot be"),
        (lambda: layers.ReLU(negative_slope=-0.1, name="r"), r"negative_slope of ReLU layer 'r'"),
        (lambda: layers.ReLU(negative_slope=None, name="r"), r"Received: negative_slope=None"),
        (lambda: layers.ReLU(threshold=-1.0, name="r"), r"threshold of ReLU layer 'r'"),
        (lambda: layers.ReLU(threshold=float("nan"), name="r"), r"Received: threshold=nan"),
        (lambda: layers.LeakyReLU(negative_slope=-1, name="l"), r"LeakyReLU layer 'l'"),
        (lambda: layers.ELU(alpha="big", name="e"), r"alpha of ELU layer 'e' must be a finite"),
        (lambda: layers.Softmax(axis="last", name="s"), r"axis of Softmax layer 's' must be"),
        (lambda: layers.Softmax(axis=[], name="s"), r"Received: axis=\[\]"),
        (lambda: layers.PReLU(shared_axes=[0], name="p"), r"shared_axes of PReLU layer 'p'"),
    ],
)
def test_bad_arguments_are_refused_naming_the_layer(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_leaky_relu_takes_keras_deprecated_alpha_with_a_warning():
    with pytest.warns(UserWarning, match="`alpha` is deprecated"):
        layer = layers.LeakyReLU(alpha=0.2)
    assert layer.negative_slope == 0.2


def test_softmax_refuses_an_axis_the_input_lacks_and_a_mask_that_does_not_fit():
    x = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=r"'s' cannot take axis 2 of inputs of rank 2"):
        layers.Softmax(axis=2, name="s")(x)
    with pytest.raises(
        ValueError, match=r"'s': the mask must be broadcastable.*mask.shape=\(2, 4\)"
    ):
        layers.Softmax(name="s")(x, mask=np.ones((2, 4), dtype=bool))


def test_prelu_refuses_shared_axes_past_the_input_and_unknown_axes():
    with pytest.raises(ValueError, match=r"'p' cannot share axis 3 of inputs of rank 3"):
        layers.PReLU(shared_axes=3, name="p")(np.ones((2, 3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"PReLU layer 'q' needs inputs whose axes are known"):
        layers.PReLU(name="q")(gradstep.Input((None, 4)))
    with pytest.raises(ValueError, match=r"expected ndim=2, found ndim=3"):
        layer = layers.PReLU(name="r")
        layer(np.ones((2, 3), dtype=np.float32))
        layer(np.ones((2, 3, 1), dtype=np.float32))


# --- configs and saving -----------------------------------------------------------------
@pytest.mark.parametrize(
    "layer",
    [
        layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
        layers.LeakyReLU(negative_slope=0.05),
        layers.ELU(alpha=0.3),
        layers.Softmax(axis=[1, 2]),
        layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2", shared_axes=[1]),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config


def test_a_model_of_activation_layers_saves_and_loads_with_the_same_predictions(tmp_path):
    model = gradstep.Sequential(
        [
            gradstep.Input((3, 4)),
            layers.Dense(4),
            layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.05),
            layers.PReLU(alpha_initializer="glorot_uniform", shared_axes=1),
            layers.LeakyReLU(0.2),
            layers.ELU(0.5),
            layers.Softmax(axis=[1, 2]),
        ]
    )
    x = normal(2, 3, 4).astype(np.float32)
    path = tmp_path / "activations.keras"
    model.save(path)
    loaded = gradstep.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.compile("sgd", "mse")
        loaded.fit(x, np.ones((2, 3, 4), dtype=np.float32), verbose=0)
