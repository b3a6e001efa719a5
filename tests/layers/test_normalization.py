"""BatchNormalization, LayerNormalization, GroupNormalization: slopes against
central differences in float64, the formulas written out in NumPy, the
moving statistics in a model (assigned after the step, never by
``Model.gradients``, kept by a frozen layer), errors, configs and saving.
Keras's own numbers are compared in test_keras_layer_parity.py."""

import numpy as np
import pytest

import gradstep
from gradstep import layers
from gradstep.testing import check_layer_gradients, check_model_gradients

RNG = np.random.default_rng(0)


def randomized(layer, input_shape):
    """``layer`` built for ``input_shape`` in float64, with random weights
    (positive variances) so that no slope hides behind a one or a zero."""
    layer.build((None, *input_shape[1:]))
    rng = np.random.default_rng(1)
    for name, weight in layer.named_weights():
        weight[...] = rng.normal(size=weight.shape)
        if name.endswith(("variance", "stddev")):
            weight[...] = np.abs(weight) + 0.5
    return layer


def normal(*shape):
    return RNG.normal(size=shape)


# --- slopes -----------------------------------------------------------------------------
BATCH_NORM_SETTINGS = [
    ({}, (4, 3)),
    ({}, (1, 3)),  # a batch of one: variance 0, as Keras allows
    ({"axis": 1}, (3, 4, 2, 2)),  # channels-first convolution features
    ({"axis": -1}, (2, 3, 2, 4)),  # channels-last
    ({"axis": 1}, (2, 3, 4)),
    ({"axis": -2, "epsilon": 0.1}, (1, 3, 4)),  # one sample, statistics over its other axis
    ({"center": False}, (4, 3)),
    ({"scale": False}, (4, 3)),
    ({"center": False, "scale": False}, (5, 2)),
]


@pytest.mark.parametrize(("arguments", "shape"), BATCH_NORM_SETTINGS)
def test_batch_norm_slopes_in_training_go_through_the_batch_statistics(arguments, shape):
    layer = randomized(layers.BatchNormalization(dtype="float64", **arguments), shape)
    check_layer_gradients(layer, normal(*shape))


@pytest.mark.parametrize(("arguments", "shape"), BATCH_NORM_SETTINGS)
def test_batch_norm_slopes_of_a_frozen_layer_use_the_moving_statistics(arguments, shape):
    layer = randomized(layers.BatchNormalization(dtype="float64", **arguments), shape)
    layer.trainable = False  # check_layer_gradients runs in training mode: inference it is
    check_layer_gradients(layer, normal(*shape))
    x, grad = normal(*shape), normal(*shape)
    _, saved = layer.forward(x, training=True)
    gamma = layer.gamma if layer.scale else 1.0
    scale = gamma / np.sqrt(layer.moving_variance + layer.epsilon)
    if layer.axis in (1, -2) and len(shape) > 2:
        scale = scale.reshape((-1,) + (1,) * (len(shape) - 2))
    np.testing.assert_allclose(layer.backward(saved, grad)[0], grad * scale, rtol=1e-12)


@pytest.mark.parametrize(
    "arguments",
    [
        {"renorm": True, "renorm_clipping": {"rmax": 1.2, "rmin": 0.9, "dmax": 0.3}},
        {"renorm": True, "scale": False},
        {"renorm": True, "center": False, "axis": 1},
    ],
)
def test_batch_renorm_slopes_hold_its_corrections_constant(arguments):
    """Keras stops the slope at r and d: the check holds them at this batch's values."""
    shape = (5, 3, 2)
    layer = randomized(layers.BatchNormalization(dtype="float64", **arguments), shape)
    x = normal(*shape)
    axes = layer._reduction_axes(x.ndim)
    corrections, _ = layer._renorm_corrections(x.mean(axis=axes), x.var(axis=axes))
    layer._renorm_corrections = lambda mean, variance: (corrections, [])
    check_layer_gradients(layer, x)


# Masked batches (Keras 3's masked moments): the mask spans the input's axes
# but the last, and is broadcast over the last.
MASKED_SETTINGS = [
    ({}, (3, 5, 4)),
    ({}, (6, 3)),  # a mask over samples
    ({"axis": 1}, (2, 3, 4, 2)),  # the mask is broadcast over the last axis, not the features
    ({"axis": -2, "epsilon": 0.1}, (2, 3, 4)),
    ({"center": False}, (3, 4, 2)),
    ({"scale": False}, (3, 4, 2)),
    ({"center": False, "scale": False}, (2, 5, 3)),
]


def random_mask(shape, seed=0):
    """A mask over ``shape`` without its last axis, about half of it kept."""
    return np.random.default_rng(seed).random(shape[:-1]) > 0.5


@pytest.mark.parametrize(("arguments", "shape"), MASKED_SETTINGS)
@pytest.mark.parametrize("seed", [0, 1])
def test_batch_norm_slopes_through_the_masked_moments(arguments, shape, seed):
    layer = randomized(layers.BatchNormalization(dtype="float64", **arguments), shape)
    check_layer_gradients(layer, normal(*shape), mask=random_mask(shape, seed))


def test_masked_slopes_hold_keras_fuzz_exactly_far_from_zero():
    """Keras divides by the count + 1e-7, so the deviations' masked sum is
    ``mean * 1e-7``, not 0: far from zero its slope through the mean shows
    (about 1e-5 here) and the backward pass keeps it."""
    shape = (3, 4, 2)
    layer = randomized(layers.BatchNormalization(dtype="float64"), shape)
    x = np.random.default_rng(2).normal(size=shape) * 0.5 + 50
    check_layer_gradients(layer, x, mask=random_mask(shape), atol=1e-7)


def test_a_batch_norm_batch_with_every_entry_masked_has_moments_zero_and_slopes():
    shape = (3, 4, 2)
    layer = randomized(layers.BatchNormalization(momentum=0.5, dtype="float64"), shape)
    x, nothing = normal(*shape), np.zeros(shape[:-1], dtype=bool)
    output, saved = layer.forward(x, training=True, mask=nothing)
    expected = layer.gamma * x / np.sqrt(0.001) + layer.beta
    np.testing.assert_allclose(output, expected, rtol=1e-12)
    (_, new_mean), (_, new_variance) = layer.state_updates(saved)
    np.testing.assert_allclose(new_mean, 0.5 * layer.moving_mean, rtol=1e-12)
    np.testing.assert_allclose(new_variance, 0.5 * layer.moving_variance, rtol=1e-12)
    check_layer_gradients(layer, x, mask=nothing)


@pytest.mark.parametrize(
    "arguments",
    [
        {"renorm": True, "renorm_clipping": {"rmax": 1.2, "rmin": 0.9, "dmax": 0.3}},
        {"renorm": True, "center": False, "axis": 1},
    ],
)
def test_batch_renorm_masked_slopes_hold_its_corrections_constant(arguments):
    shape = (5, 3, 2)
    layer = randomized(layers.BatchNormalization(dtype="float64", **arguments), shape)
    x, mask = normal(*shape), random_mask(shape)
    mean, variance, _ = layer._masked_moments(x, mask)
    corrections, _ = layer._renorm_corrections(mean, variance)
    layer._renorm_corrections = lambda mean, variance: (corrections, [])
    check_layer_gradients(layer, x, mask=mask)


def test_batch_norm_masked_formulas_and_moving_statistics():
    """The moments of the kept entries (divided by their count + 1e-7, as
    Keras); every entry normalized with them; inference ignores the mask."""
    layer = randomized(layers.BatchNormalization(momentum=0.75, dtype="float64"), (3, 4, 2))
    x, mask = normal(3, 4, 2), random_mask((3, 4, 2))
    kept = x[mask]
    count = len(kept) + 1e-7
    mean = kept.sum(axis=0) / count
    variance = ((kept - mean) ** 2).sum(axis=0) / count
    moving_mean, moving_variance = layer.moving_mean.copy(), layer.moving_variance.copy()
    output, saved = layer.forward(x, training=True, mask=mask)
    expected = layer.gamma * (x - mean) / np.sqrt(variance + 0.001) + layer.beta
    np.testing.assert_allclose(output, expected, rtol=1e-12, atol=1e-12)
    (_, new_mean), (_, new_variance) = layer.state_updates(saved)
    np.testing.assert_allclose(new_mean, 0.75 * moving_mean + 0.25 * mean, rtol=1e-12)
    np.testing.assert_allclose(new_variance, 0.75 * moving_variance + 0.25 * variance, rtol=1e-12)
    inference, _ = layer.forward(x, training=False, mask=mask)
    np.testing.assert_array_equal(inference, layer.forward(x, training=False)[0])


def test_a_mask_that_does_not_fit_batch_norm_is_refused_in_any_mode():
    """Keras's rule: the mask has one dimension less than the inputs."""
    layer = layers.BatchNormalization(name="bn")
    x = np.ones((2, 3, 4), dtype=np.float32)
    for training in (True, False):
        with pytest.raises(ValueError, match=r"'bn' needs a mask with one dimension less"):
            layer(x, training=training, mask=np.ones((2,), dtype=bool))
    with pytest.raises(ValueError, match=r"of shape \(2, 3\) .* received a mask of shape \(2, 4\)"):
        layer(x, training=True, mask=np.ones((2, 4), dtype=bool))


@pytest.mark.parametrize(
    ("arguments", "shape"),
    [
        ({}, (4, 3)),
        ({}, (1, 5)),
        ({"axis": [1, 2]}, (2, 3, 4)),
        ({"axis": (-1, 1)}, (2, 3, 2, 4)),
        ({"axis": 1}, (2, 3, 4)),
        ({"rms_scaling": True}, (3, 5)),
        ({"rms_scaling": True, "axis": [1, 2]}, (2, 2, 3)),
        ({"center": False}, (3, 5)),
        ({"center": False, "scale": False}, (3, 5)),
    ],
)
@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_layer_norm_slopes(arguments, shape):
    layer = randomized(layers.LayerNormalization(dtype="float64", **arguments), shape)
    check_layer_gradients(layer, normal(*shape))


@pytest.mark.parametrize(
    ("arguments", "shape"),
    [
        ({"groups": 2}, (4, 6)),
        ({"groups": 2, "axis": 1}, (2, 4, 3, 3)),
        ({"groups": -1}, (2, 3, 2, 4)),
        ({"groups": 1}, (3, 5)),
        ({"groups": 3, "axis": -2}, (2, 2, 6, 3)),
        ({"groups": 2, "center": False}, (1, 2, 4)),
        ({"groups": 4, "scale": False}, (2, 3, 4)),
    ],
)
def test_group_norm_slopes(arguments, shape):
    layer = randomized(layers.GroupNormalization(dtype="float64", **arguments), shape)
    check_layer_gradients(layer, normal(*shape))


# --- the formulas -----------------------------------------------------------------------
def test_batch_norm_formulas_and_moving_statistics():
    layer = randomized(layers.BatchNormalization(axis=1, momentum=0.75, dtype="float64"), (4, 3, 2))
    x = normal(4, 3, 2)
    mean, variance = x.mean(axis=(0, 2)), x.var(axis=(0, 2))  # population variance
    moving_mean, moving_variance = layer.moving_mean.copy(), layer.moving_variance.copy()

    output, saved = layer.forward(x, training=True)

    def per_channel(v):
        return v[None, :, None]

    expected = per_channel(layer.gamma) * (x - per_channel(mean)) / np.sqrt(
        per_channel(variance) + 0.001
    ) + per_channel(layer.beta)
    np.testing.assert_allclose(output, expected, rtol=1e-12, atol=1e-12)
    # forward assigns nothing: the model assigns the updates after the step
    np.testing.assert_array_equal(layer.moving_mean, moving_mean)
    (mean_weight, new_mean), (variance_weight, new_variance) = layer.state_updates(saved)
    assert mean_weight is layer.moving_mean and variance_weight is layer.moving_variance
    np.testing.assert_allclose(new_mean, 0.75 * moving_mean + 0.25 * mean, rtol=1e-12)
    np.testing.assert_allclose(new_variance, 0.75 * moving_variance + 0.25 * variance, rtol=1e-12)

    inference, saved = layer.forward(x, training=False)
    assert layer.state_updates(saved) == []
    expected = per_channel(layer.gamma) * (x - per_channel(moving_mean)) / np.sqrt(
        per_channel(moving_variance) + 0.001
    ) + per_channel(layer.beta)
    np.testing.assert_allclose(inference, expected, rtol=1e-12, atol=1e-12)


def test_an_eager_training_call_moves_the_statistics_and_an_inference_call_does_not():
    layer = layers.BatchNormalization(momentum=0.5)
    x = normal(8, 2).astype(np.float32)
    layer(x)  # builds; inference
    np.testing.assert_array_equal(layer.moving_mean, 0)
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_mean, 0.5 * x.mean(axis=0), rtol=1e-6)


def test_layer_norm_formula_and_rms_scaling():
    x = normal(3, 2, 4)
    layer = randomized(layers.LayerNormalization(axis=[1, 2], dtype="float64"), x.shape)
    mean, variance = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    expected = layer.gamma * (x - mean) / np.sqrt(variance + 0.001) + layer.beta
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)
    with pytest.warns(UserWarning, match="rms_scaling=True"):
        rms = layers.LayerNormalization(rms_scaling=True, dtype="float64")
    rms = randomized(rms, x.shape)
    assert [name for name, _ in rms.named_weights()] == ["gamma"]  # no beta
    variance = x.var(axis=-1, keepdims=True)  # about the mean, which is not subtracted
    np.testing.assert_allclose(rms(x), rms.gamma * x / np.sqrt(variance + 0.001), rtol=1e-12)


def test_group_norm_formula():
    x = normal(2, 3, 6)
    layer = randomized(layers.GroupNormalization(groups=3, dtype="float64"), x.shape)
    grouped = x.reshape(2, 3, 3, 2)  # (batch, steps, groups, channels per group)
    mean = grouped.mean(axis=(1, 3), keepdims=True)
    variance = grouped.var(axis=(1, 3), keepdims=True)
    normalized = ((grouped - mean) / np.sqrt(variance + 0.001)).reshape(x.shape)
    np.testing.assert_allclose(layer(x), layer.gamma * normalized + layer.beta, rtol=1e-12)
    instance = layers.GroupNormalization(groups=-1)
    instance.build((None, 3, 6))
    assert instance.groups == 6 and instance.get_config()["groups"] == 6  # as Keras


# --- in a model -------------------------------------------------------------------------
def mlp(**batch_norm_arguments):
    inputs = layers.Input((4,))
    hidden = layers.Dense(3, name="hidden")(inputs)
    normalized = layers.BatchNormalization(name="bn", **batch_norm_arguments)(hidden)
    outputs = layers.Dense(1)(layers.Activation("relu")(normalized))
    model = gradstep.Model(inputs, outputs, seed=0)
    model.compile(optimizer="sgd", loss="mse")
    return model


X = np.random.default_rng(2).normal(size=(16, 4)).astype(np.float32)
Y = np.random.default_rng(3).normal(size=(16, 1)).astype(np.float32)


def test_a_model_of_the_three_passes_check_model_gradients():
    """The chain through all three in training mode, regularizers included;
    ``Model.gradients`` moves no statistic, so each difference sees the same ones."""
    inputs = layers.Input((3, 4), dtype="float64")
    hidden = layers.Dense(6, activation="tanh", dtype="float64")(inputs)
    hidden = layers.BatchNormalization(axis=1, gamma_regularizer="l2", dtype="float64")(hidden)
    hidden = layers.GroupNormalization(groups=3, dtype="float64")(hidden)
    hidden = layers.LayerNormalization(axis=[1, 2], beta_regularizer="l1", dtype="float64")(hidden)
    model = gradstep.Model(inputs, layers.Dense(2, dtype="float64")(layers.Flatten()(hidden)))
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(5).normal(size=(5, 3, 4))
    check_model_gradients(model, x, np.random.default_rng(6).normal(size=(5, 2)))


def test_predict_after_fit_uses_the_moving_statistics():
    model = mlp(momentum=0.5)
    model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    bn = model.get_layer("bn")
    assert not np.allclose(bn.moving_mean, 0) and not np.allclose(bn.moving_variance, 1)
    hidden = X @ model.get_layer("hidden").kernel + model.get_layer("hidden").bias
    normalized = bn.gamma * (hidden - bn.moving_mean) / np.sqrt(bn.moving_variance + 0.001)
    last = model.layers[-1]
    expected = np.maximum(normalized + bn.beta, 0) @ last.kernel + last.bias
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_the_statistics_move_once_per_step_from_that_step_s_batch():
    model = mlp(momentum=0.5)
    bn, dense = model.get_layer("bn"), model.get_layer("hidden")
    first = X[:8] @ dense.kernel + dense.bias  # the first batch, before the step
    model.fit(X[:8], Y[:8], batch_size=8, epochs=1, verbose=0)
    np.testing.assert_allclose(bn.moving_mean, 0.5 * first.mean(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance, 0.5 + 0.5 * first.var(axis=0), rtol=1e-5)


def test_model_gradients_never_move_the_statistics():
    model = mlp(momentum=0.5)
    before = [w.copy() for w in model.get_weights()]
    model.gradients(X, Y)
    for got, want in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("frozen", ["layer", "model"])
def test_a_frozen_batch_norm_uses_and_keeps_its_moving_statistics_in_fit(frozen):
    model = mlp(momentum=0.5, moving_mean_initializer="random_uniform")
    bn = model.get_layer("bn")
    if frozen == "layer":
        bn.trainable = False
    else:
        model.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    statistics = [bn.moving_mean.copy(), bn.moving_variance.copy()]
    # training mode gives the inference output: the moving statistics are used
    np.testing.assert_array_equal(model(X, training=True), model.predict(X, verbose=0))
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0)
    np.testing.assert_array_equal(bn.moving_mean, statistics[0])
    np.testing.assert_array_equal(bn.moving_variance, statistics[1])
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4


def test_weights_order_names_and_trainability_follow_keras():
    for center, scale, names in [
        (True, True, ["gamma", "beta", "moving_mean", "moving_variance"]),
        (False, True, ["gamma", "moving_mean", "moving_variance"]),
        (True, False, ["beta", "moving_mean", "moving_variance"]),
        (False, False, ["moving_mean", "moving_variance"]),
    ]:
        layer = layers.BatchNormalization(center=center, scale=scale)
        layer.build((None, 3))
        assert [name for name, _ in layer.named_weights()] == names
        assert [name for name, _ in layer.named_weights(trainable_only=True)] == names[:-2]
    renorm = layers.BatchNormalization(renorm=True)
    renorm.build((None, 2))
    assert [name for name, _ in renorm.named_weights()][4:] == [
        "moving_stddev",
        "renorm_mean",
        "renorm_stddev",
    ]


def test_save_and_load_keep_the_moving_statistics(tmp_path):
    inputs = layers.Input((2, 6))
    hidden = layers.BatchNormalization(axis=1, momentum=0.5, renorm=True)(inputs)
    hidden = layers.LayerNormalization(axis=[1, 2], epsilon=0.01)(hidden)
    hidden = layers.GroupNormalization(groups=3, gamma_regularizer="l2")(hidden)
    model = gradstep.Model(inputs, layers.Dense(1)(layers.Flatten()(hidden)), seed=0)
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(4).normal(size=(8, 2, 6)).astype(np.float32)
    model.fit(x, Y[:8], batch_size=4, epochs=2, verbose=0)
    path = tmp_path / "normalized.keras"
    model.save(path)
    loaded = gradstep.models.load_model(path)
    for got, want in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for got, want in zip(loaded.layers, model.layers, strict=True):
        assert got.get_config() == want.get_config()


# --- arguments, errors and configs ------------------------------------------------------
def test_configs_have_keras_keys_and_round_trip():
    batch_norm = layers.BatchNormalization(axis=1, momentum=0.9, beta_regularizer="l1")
    assert set(batch_norm.get_config()) == {
        "name", "trainable", "dtype", "axis", "momentum", "epsilon", "center", "scale",
        "beta_initializer", "gamma_initializer", "moving_mean_initializer",
        "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
        "beta_constraint", "gamma_constraint", "synchronized", "renorm", "renorm_clipping",
        "renorm_momentum",
    }  # fmt: skip
    for layer in [
        batch_norm,
        layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 2.0}),
        layers.LayerNormalization(axis=[1, 2], center=False, gamma_constraint="non_neg"),
        layers.GroupNormalization(groups=4, axis=1, epsilon=0.1),
    ]:
        config = layer.get_config()
        again = type(layer).from_config(config)
        assert again.get_config() == config
    built = layers.LayerNormalization()
    built.build((None, 3))
    assert built.get_config()["axis"] == [-1]  # Keras writes the built axes as a list


@pytest.mark.parametrize(
    ("make", "shape", "message"),
    [
        (lambda: layers.BatchNormalization(axis=2), (None, 3), r"axis 2 is out of range"),
        (lambda: layers.BatchNormalization(axis=-3), (None, 3), r"expected an axis in \[-2, 2\)"),
        (lambda: layers.BatchNormalization(axis=0), (None, 3), r"axis 0 .* known size"),
        (lambda: layers.LayerNormalization(axis=[1, 3]), (None, 2, 3), "axis 3 is out of range"),
        (lambda: layers.LayerNormalization(axis=[1, -2]), (None, 2, 3), "names an axis twice"),
        (lambda: layers.GroupNormalization(groups=4), (None, 6), "groups must divide"),
        (lambda: layers.GroupNormalization(groups=8), (None, 6), "8 groups cannot split the 6"),
        (lambda: layers.GroupNormalization(axis=3, groups=1), (None, 6), "out of range"),
    ],
)
def test_shapes_that_do_not_fit_are_refused_naming_the_layer(make, shape, message):
    layer = make()
    with pytest.raises(ValueError, match=message) as error:
        layer.build(shape)
    assert repr(layer.name) in str(error.value)


def test_inputs_unlike_the_built_shape_are_refused():
    layer = layers.BatchNormalization()
    layer(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"'batch_normalization.*' .*built for inputs of shape"):
        layer(np.ones((2, 4), np.float32))
    group = layers.GroupNormalization(groups=2)
    group(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="incompatible"):
        group(np.ones((2, 3, 4, 4), np.float32))
    assert layers.LayerNormalization(axis=1).compute_output_shape((None, 2, 3)) == (None, 2, 3)
    with pytest.raises(ValueError, match="out of range"):
        layers.LayerNormalization(axis=3).compute_output_shape((None, 2, 3))


BN, LN, GN = layers.BatchNormalization, layers.LayerNormalization, layers.GroupNormalization


@pytest.mark.parametrize(
    ("layer_class", "arguments", "error", "message"),
    [
        (BN, {"axis": [1]}, TypeError, "axis must be an integer"),
        (BN, {"momentum": 1.5}, ValueError, r"momentum must be a float in \[0, 1\]"),
        (BN, {"epsilon": -1e-3}, ValueError, "epsilon must be a non-negative"),
        (BN, {"epsilon": float("nan")}, ValueError, "epsilon"),
        (BN, {"center": "yes"}, TypeError, "center must be True or False"),
        (BN, {"synchronized": True}, ValueError, "synchronized=True"),
        (BN, {"renorm": True, "renorm_clipping": {"r": 1}}, ValueError, "renorm_clipping takes"),
        (
            BN,
            {"renorm": True, "renorm_clipping": {"rmax": 1, "rmin": 2}},
            ValueError,
            "rmax must be at least",
        ),
        (BN, {"renorm": True, "renorm_clipping": {"dmax": -1}}, ValueError, "dmax must be non-neg"),
        (LN, {"axis": "last"}, TypeError, "axis must be an integer or a non-empty list"),
        (LN, {"axis": []}, TypeError, "axis must be an integer or a non-empty list"),
        (GN, {"groups": 0}, ValueError, "groups must be a positive integer"),
        (GN, {"groups": 2.0}, ValueError, "groups must be a positive integer"),
        (GN, {"axis": None}, TypeError, "axis must be an integer"),
        (LN, {"unknown": 1}, TypeError, "Unrecognized keyword"),
    ],
)
def test_bad_arguments_are_refused(layer_class, arguments, error, message):
    with pytest.raises(error, match=message):
        layer_class(**arguments)
