import numpy as np
import pytest

import gradstep
from gradstep import layers
from gradstep.testing import check_layer_gradients


def test_dropout_is_identity_outside_training():
    x = np.ones((4, 10), dtype=np.float32)
    np.testing.assert_array_equal(layers.Dropout(0.5)(x, training=False), x)


def test_inverted_dropout_scales_kept_units():
    layer = layers.Dropout(0.25, seed=0)
    out = layer(np.ones((200, 50)), training=True)
    kept = out[out != 0]
    np.testing.assert_allclose(kept, 1 / 0.75)
    assert (out == 0).mean() == pytest.approx(0.25, abs=0.02)
    assert out.mean() == pytest.approx(1.0, abs=0.03)


def test_dropout_backward_uses_the_same_mask():
    layer = layers.Dropout(0.5, seed=1)
    out, mask = layer.forward(np.ones((3, 4)), training=True)
    grad_wrt_input, weight_grads = layer.backward(mask, np.ones((3, 4)))
    np.testing.assert_array_equal(grad_wrt_input, out)
    assert weight_grads == {}


def test_dropout_gradient_passes_central_differences_with_a_fixed_mask():
    check_layer_gradients(layers.Dropout(0.3), np.random.default_rng(0).normal(size=(4, 6)))


@pytest.mark.parametrize("rate", [-0.1, 1.0, 2])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match=r"rate must be a float in \[0, 1\)"):
        layers.Dropout(rate)


# --- SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout ----------------------------
# Their training draws cannot match Keras's random numbers: these tests check
# the distributions instead. Each statistic is over N >= 5,000 draws, and the
# tolerance is 5 standard errors of that statistic (a seeded draw, so the test
# is deterministic; the bound says the seed was not picked to pass).

NOISE_LAYERS = [
    lambda: layers.SpatialDropout1D(0.3),
    lambda: layers.SpatialDropout2D(0.3),
    lambda: layers.SpatialDropout2D(0.3, data_format="channels_first"),
    lambda: layers.SpatialDropout3D(0.3),
    lambda: layers.GaussianNoise(0.4),
    lambda: layers.GaussianDropout(0.3),
]
SHAPES = {1: (3, 4, 5), 2: (2, 3, 4, 5), 3: (2, 3, 2, 2, 4)}


def shape_for(layer):
    return SHAPES.get(getattr(layer, "rank", 4) - 2, (3, 4, 5))


@pytest.mark.parametrize("make", NOISE_LAYERS)
def test_noise_layers_are_the_identity_in_inference(make):
    layer = make()
    x = np.random.default_rng(0).normal(size=shape_for(layer)).astype(np.float32)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *x.shape[1:])


@pytest.mark.parametrize("make", NOISE_LAYERS)
def test_noise_layer_slopes_with_a_fixed_draw(make):
    layer = make()
    layer.dtype = "float64"
    check_layer_gradients(layer, np.random.default_rng(1).normal(size=shape_for(layer)))


@pytest.mark.parametrize(
    ("make", "shape", "channel_axis"),
    [
        (lambda: layers.SpatialDropout1D(0.3, seed=0), (100, 7, 50), 2),
        (lambda: layers.SpatialDropout2D(0.3, seed=0), (100, 3, 4, 50), 3),
        (lambda: layers.SpatialDropout2D(0.3, "channels_first", seed=0), (100, 50, 3, 4), 1),
        (lambda: layers.SpatialDropout3D(0.3, "channels_first", seed=0), (100, 50, 2, 2, 3), 1),
    ],
)
def test_spatial_dropout_drops_whole_channels_at_the_rate(make, shape, channel_axis):
    out = make()(np.ones(shape, np.float32), training=True)
    spatial = tuple(a for a in range(1, len(shape)) if a != channel_axis)
    per_channel = out.max(axis=spatial)  # (samples, channels)
    np.testing.assert_array_equal(out.min(axis=spatial), per_channel)  # all or nothing
    assert set(np.unique(per_channel)) == {0, np.float32(1 / 0.7)}
    dropped = (per_channel == 0).mean()  # over 5,000 channels: standard error 0.0065
    assert abs(dropped - 0.3) < 5 * np.sqrt(0.3 * 0.7 / per_channel.size)


def test_gaussian_noise_is_additive_with_the_given_spread():
    x = np.full((400, 500), 2.0)
    noise = layers.GaussianNoise(0.5, seed=0, dtype="float64")(x, training=True) - x
    count = noise.size  # 200,000: standard errors 0.5 / sqrt(N) and 0.25 * sqrt(2 / N)
    assert abs(noise.mean()) < 5 * 0.5 / np.sqrt(count)
    assert abs(noise.var() - 0.25) < 5 * 0.25 * np.sqrt(2 / count)


def test_gaussian_dropout_multiplies_by_noise_of_mean_one():
    x = np.full((400, 500), 3.0)
    factor = layers.GaussianDropout(0.2, seed=0, dtype="float64")(x, training=True) / x
    count, variance = factor.size, 0.2 / 0.8
    assert abs(factor.mean() - 1) < 5 * np.sqrt(variance / count)
    assert abs(factor.var() - variance) < 5 * variance * np.sqrt(2 / count)
    out, noise = layers.GaussianDropout(0.2).forward(x, training=True)
    np.testing.assert_array_equal(layers.GaussianDropout(0.2).backward(noise, x)[0], x * noise)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.SpatialDropout2D(0, seed=1),
        lambda: layers.GaussianNoise(0, seed=1),
        lambda: layers.GaussianDropout(0, seed=1),
    ],
)
def test_zero_rate_or_stddev_passes_inputs_through_in_training(make):
    x = np.random.default_rng(2).normal(size=(2, 3, 3, 2)).astype(np.float32)
    np.testing.assert_array_equal(make()(x, training=True), x)


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: layers.SpatialDropout2D(0.5, seed=seed),
        lambda seed: layers.GaussianNoise(0.3, seed=seed),
        lambda seed: layers.GaussianDropout(0.3, seed=seed),
    ],
)
def test_a_seed_gives_a_layer_its_own_reproducible_draws(make):
    x = np.ones((4, 3, 3, 8), np.float32)
    first, again, other = make(7), make(7), make(8)
    draws = [first(x, training=True), first(x, training=True)]
    np.testing.assert_array_equal(again(x, training=True), draws[0])
    assert not np.array_equal(draws[0], draws[1])  # a new draw at every call
    assert not np.array_equal(other(x, training=True), draws[0])


def noisy_model(seed):
    return gradstep.Sequential(
        [
            layers.Input((4, 3, 2)),
            layers.SpatialDropout2D(0.2),
            layers.GaussianNoise(0.1),
            layers.Flatten(),
            layers.Dense(5),
            layers.GaussianDropout(0.3),
            layers.Dense(1),
        ],
        seed=seed,
    )


def test_a_seeded_model_trains_the_same_twice_and_saves(tmp_path):
    x = np.random.default_rng(3).normal(size=(16, 4, 3, 2)).astype(np.float32)
    y = np.random.default_rng(4).normal(size=(16, 1)).astype(np.float32)
    histories = []
    for _ in range(2):
        model = noisy_model(seed=5)
        model.compile(optimizer="sgd", loss="mse")
        histories.append(model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"])
    assert histories[0] == histories[1]
    model.save(tmp_path / "noisy.keras")
    loaded = gradstep.models.load_model(tmp_path / "noisy.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for got, want in zip(loaded.layers, model.layers, strict=True):
        assert got.get_config() == want.get_config()


def test_noise_layer_configs_have_keras_keys_and_round_trip():
    expected = {
        layers.SpatialDropout1D(0.1, seed=2): {"rate", "seed", "name", "dtype"},
        layers.SpatialDropout2D(0.1, "channels_first"): {
            "rate", "seed", "name", "dtype", "data_format"
        },
        layers.SpatialDropout3D(0.1): {"rate", "seed", "name", "dtype", "data_format"},
        layers.GaussianNoise(0.1, seed=3): {"name", "trainable", "dtype", "stddev", "seed"},
        layers.GaussianDropout(0.1): {"name", "trainable", "dtype", "rate", "seed"},
    }  # fmt: skip
    for layer, keys in expected.items():
        config = layer.get_config()
        assert set(config) == keys
        assert type(layer).from_config(config).get_config() == config
    assert layers.SpatialDropout2D(0.1, "Channels_First").data_format == "channels_first"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: layers.SpatialDropout1D(1.0), r"SpatialDropout1D layer .* rate must be"),
        (lambda: layers.SpatialDropout2D(-0.1), r"rate must be a float in \[0, 1\)"),
        (lambda: layers.SpatialDropout2D(float("nan")), r"rate must be a float in \[0, 1\)"),
        (lambda: layers.SpatialDropout2D(0.1, data_format="nhwc"), "data_format must be"),
        (lambda: layers.GaussianNoise(-0.1), r"GaussianNoise layer .* stddev must be .*\[0, 1\]"),
        (lambda: layers.GaussianNoise(1.5), r"stddev must be a float in \[0, 1\]"),
        (lambda: layers.GaussianNoise(float("inf")), r"stddev must be a float in \[0, 1\]"),
        (lambda: layers.GaussianDropout(1.0), r"GaussianDropout layer .* rate must be .*\[0, 1\)"),
        (lambda: layers.GaussianDropout("0.1"), r"rate must be a float in \[0, 1\)"),
    ],
)  # fmt: skip
def test_bad_rates_and_spreads_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_spatial_dropout_refuses_inputs_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"SpatialDropout2D layer '.*' needs inputs of rank 4"):
        layers.SpatialDropout2D(0.5)(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"SpatialDropout1D layer '.*' needs inputs of rank 3"):
        layers.SpatialDropout1D(0.5)(np.ones((2, 3, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"channels, dim1, dim2, dim3\) for data_format="):
        layers.SpatialDropout3D(0.5, "channels_first")(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError):
        layers.SpatialDropout2D(0.5, trainable=False)  # Keras takes no other argument
