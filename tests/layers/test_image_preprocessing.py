"""Resizing and CenterCrop against Keras 3 goldens (tests/fixtures/preprocessing_keras.json);
RandomRotation, RandomZoom, RandomTranslation and RandomCrop with a fixed
transformation against Keras 3 goldens (tests/fixtures/augmentation_keras.json);
their slopes and the random layers' by central differences; the random
layers' statistics, inference identity, seed reproducibility and saving."""

import json
import pathlib

import numpy as np
import pytest

import augmentation_cases
import gradstep
from gradstep import layers
from gradstep.testing import check_layer_gradients
from preprocessing_cases import CASES, case_input

GOLDEN = json.loads(
    (pathlib.Path(__file__).parent.parent / "fixtures" / "preprocessing_keras.json").read_text()
)
BY_NAME = {case["name"]: case for case in CASES}
IMAGE_CASES = [
    g for g in GOLDEN["cases"] if BY_NAME[g["name"]]["layer"] in ("Resizing", "CenterCrop")
]


@pytest.mark.parametrize("golden", IMAGE_CASES, ids=lambda g: g["name"])
def test_matches_keras(golden):
    case = BY_NAME[golden["name"]]
    layer = getattr(layers, case["layer"])(**case["config"])
    output = layer(case_input(case, np))
    # Each output is a sum of at most 4 float32 products of numbers below ~4.
    np.testing.assert_allclose(output, np.asarray(golden["output"]), rtol=0, atol=1e-5)
    config = json.loads(json.dumps(layer.get_config()))
    assert set(config) == set(golden["config"])
    for key in config:
        if key != "dtype":
            assert config[key] == golden["config"][key], key


@pytest.mark.parametrize("golden", IMAGE_CASES, ids=lambda g: g["name"])
def test_slopes(golden):
    case = BY_NAME[golden["name"]]
    layer = getattr(layers, case["layer"])(**case["config"], dtype="float64")
    check_layer_gradients(layer, case_input(case, np).astype(np.float64))


def images(count=400, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=(count, 3, 4, 2)).astype("float32")


def test_random_flip_is_identity_in_inference_and_flips_half_in_training():
    x = images()
    layer = layers.RandomFlip("horizontal", seed=1)
    np.testing.assert_array_equal(layer(x, training=False), x)
    output = layer(x, training=True)
    flipped = np.all(output == x[:, :, ::-1], axis=(1, 2, 3))
    kept = np.all(output == x, axis=(1, 2, 3))
    assert np.all(flipped | kept)
    # Binomial(400, 1/2): 4.5 standard deviations (10) either side of 200.
    assert abs(int(flipped.sum()) - 200) <= 45


def test_random_flip_seed_reproduces_and_slope_flips_back():
    x = images(8)
    first = layers.RandomFlip(seed=3)(x, training=True)
    second = layers.RandomFlip(seed=3)(x, training=True)
    np.testing.assert_array_equal(first, second)
    layer = layers.RandomFlip(seed=3)
    output, saved = layer.forward(x, training=True)
    grad, _ = layer.backward(saved, output)
    np.testing.assert_array_equal(grad, x)  # flipping twice is the identity


def test_random_flip_both_ways_flips_both_axes_at_once_as_keras():
    x = images()
    output = layers.RandomFlip(seed=2)(x, training=True)
    turned = np.all(output == x[:, ::-1, ::-1], axis=(1, 2, 3))
    kept = np.all(output == x, axis=(1, 2, 3))
    assert np.all(turned | kept)  # never one axis alone (one draw per image in Keras 3)
    assert abs(int(turned.sum()) - 200) <= 45
    # Read as channels-first, x is (batch, 3 channels, height 4, width 2).
    first = layers.RandomFlip("vertical", data_format="channels_first", seed=1)
    output = first(x, training=True)
    upside_down = np.all(output == x[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(upside_down | np.all(output == x, axis=(1, 2, 3))) and upside_down.any()


def contrast_factors(layer, x):
    output = layer(x, training=True)
    means = x.mean(axis=(1, 2), keepdims=True)
    return ((output - means) / (x - means))[:, 0, 0, 0]


def test_random_contrast_statistics_and_slope():
    x = images(200) / 255.0
    layer = layers.RandomContrast(0.5, value_range=(-10, 10), seed=0)
    np.testing.assert_array_equal(layer(x, training=False), x)
    # Keras 3 reads a number a as (lower, upper) = (0, a): factors in [1, 1 + a].
    factors = contrast_factors(layer, x)
    assert factors.min() >= 1 and factors.max() <= 1.5
    # Uniform on [1, 1.5]: the mean of 200 draws is within 4.5 sd (0.046) of 1.25.
    assert abs(factors.mean() - 1.25) < 0.05
    factors = contrast_factors(layers.RandomContrast((0.5, 0.5), (-10, 10), seed=0), x)
    assert factors.min() >= 0.5 and factors.max() <= 1.5 and abs(factors.mean() - 1) < 0.1
    contrast = layers.RandomContrast((0.4, 0.2), value_range=(-10, 10), seed=2, dtype="float64")
    check_layer_gradients(contrast, x[:3].astype(np.float64))
    first = layers.RandomContrast(0.3, (-10, 10), data_format="channels_first", dtype="float64")
    check_layer_gradients(first, x[:3].transpose(0, 3, 1, 2).astype(np.float64))


def test_random_contrast_and_flip_configs_are_keras_s():
    # The keys and values of Keras 3.15.1's get_config() for these arguments.
    assert layers.RandomContrast(0.2, name="random_contrast").get_config() == {
        "name": "random_contrast", "trainable": True, "dtype": None,
        "data_format": "channels_last", "factor": (0.0, 0.2), "value_range": (0, 255),
        "seed": None,
    }  # fmt: skip
    assert set(layers.RandomFlip().get_config()) == {
        "name", "trainable", "dtype", "data_format", "seed", "mode"
    }  # fmt: skip
    config = layers.RandomContrast((0.3, 0.1), seed=4).get_config()
    assert layers.RandomContrast.from_config(config).get_config() == config


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: layers.Resizing(0, 3), "height"),
        (lambda: layers.Resizing(3, 3, interpolation="bicubic"), "interpolation"),
        (
            lambda: layers.Resizing(3, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
            "only one",
        ),
        (lambda: layers.CenterCrop(2, -1), "width"),
        (lambda: layers.RandomFlip("diagonal"), "mode"),
        (lambda: layers.RandomContrast(2.0), "factor"),
        (lambda: layers.RandomContrast(-0.1), "factor must be a number in"),
        (lambda: layers.RandomContrast((0.1, 1.5)), "factor must be"),
        (lambda: layers.RandomContrast(0.2, value_range=(1, 0)), "value_range"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_rank_names_the_layer():
    with pytest.raises(ValueError, match="'shrink'.*rank 3"):
        layers.Resizing(2, 2, name="shrink")(np.zeros((2, 3)))


# --- RandomRotation, RandomZoom, RandomTranslation, RandomCrop ---------------------------
AUGMENTATION = json.loads(
    (pathlib.Path(__file__).parent.parent / "fixtures" / "augmentation_keras.json").read_text()
)["cases"]
AUGMENTATION_CASES = {case["name"]: case for case in augmentation_cases.CASES}


def augmentation_layer(case, **options):
    return getattr(layers, case["layer"])(**case["config"], **options)


@pytest.mark.parametrize("golden", AUGMENTATION, ids=lambda g: g["name"])
def test_a_fixed_transformation_matches_keras(golden):
    case = AUGMENTATION_CASES[golden["name"]]
    layer = augmentation_layer(case)
    x = augmentation_cases.case_input(case, np)
    if case.get("call") == "training":
        output = layer(x, training=True)
    else:
        output = layer.transform_images(x, case["transformation"])
    # Each output mixes at most 4 pixels in [0, 1) with weights from float32
    # coordinates; NumPy's and XLA's float32 sin/cos may differ by an ulp,
    # which moves a coordinate up to ~5 pixels * 1.2e-7: measured 2.4e-7.
    np.testing.assert_allclose(output, np.asarray(golden["output"]), rtol=0, atol=1e-6)
    config = json.loads(json.dumps(layer.get_config()))
    assert set(config) == set(golden["config"])
    for key in config:
        if key != "dtype":
            assert config[key] == golden["config"][key], key


@pytest.mark.parametrize("case", augmentation_cases.CASES, ids=lambda c: c["name"])
def test_augmentation_slopes(case):
    """In training (the draw held fixed) the output is linear in the input:
    the slope is the transpose of the resampling or of the crop."""
    layer = augmentation_layer(case, dtype="float64")
    x = augmentation_cases.case_input(case, np).astype(np.float64)
    check_layer_gradients(layer, x)


def test_rotation_by_a_quarter_turn_is_rot90_counter_clockwise():
    x = np.arange(2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)
    layer = layers.RandomRotation(0.25, interpolation="nearest")
    output = layer.transform_images(x, {"angle": [90.0, -90.0]})
    np.testing.assert_array_equal(output[0], np.rot90(x[0]))
    np.testing.assert_array_equal(output[1], np.rot90(x[1], k=-1))


def test_translation_by_whole_pixels_with_wrap_is_a_roll():
    x = np.arange(2 * 4 * 6 * 1, dtype=np.float32).reshape(2, 4, 6, 1)
    layer = layers.RandomTranslation(0.5, 0.5, fill_mode="wrap")
    output = layer.transform_images(x, {"translations": [[2.0, 1.0], [-3.0, 0.0]]})
    np.testing.assert_array_equal(output[0], np.roll(x[0], (1, 2), axis=(0, 1)))
    np.testing.assert_array_equal(output[1], np.roll(x[1], -3, axis=1))


def test_zoom_by_one_is_the_identity_and_zoom_in_magnifies_the_center():
    x = np.random.default_rng(0).uniform(size=(1, 5, 5, 1)).astype(np.float32)
    layer = layers.RandomZoom(0.5, interpolation="nearest")
    np.testing.assert_array_equal(
        layer.transform_images(x, {"height_zoom": [[1.0]], "width_zoom": [[1.0]]}), x
    )
    # Zoom 0.5 about the center pixel (2, 2): output (y, x) reads (1 + y/2, 1 + x/2).
    zoomed = layer.transform_images(x, {"height_zoom": [[0.5]], "width_zoom": [[0.5]]})
    assert zoomed[0, 2, 2, 0] == x[0, 2, 2, 0]
    assert zoomed[0, 0, 0, 0] == x[0, 1, 1, 0] and zoomed[0, 4, 4, 0] == x[0, 3, 3, 0]


AFFINE_LAYERS = [
    lambda seed: layers.RandomRotation((-0.1, 0.3), seed=seed),
    lambda seed: layers.RandomZoom((-0.5, 0.2), (0.1, 0.3), seed=seed),
    lambda seed: layers.RandomZoom(0.3, seed=seed),
    lambda seed: layers.RandomTranslation((-0.2, 0.4), 0.3, seed=seed),
]
RANDOM_LAYERS = [*AFFINE_LAYERS, lambda seed: layers.RandomCrop(3, 4, seed=seed)]


def small_images(count=4, shape=(5, 6, 2)):
    return np.random.default_rng(7).uniform(size=(count, *shape)).astype(np.float32)


@pytest.mark.parametrize("make", AFFINE_LAYERS)
def test_a_training_call_applies_the_drawn_transformation(make):
    x = small_images()
    drawn = make(3).draw_transformation(x.shape, np.random.default_rng(3))
    np.testing.assert_array_equal(make(3)(x, training=True), make(3).transform_images(x, drawn))


def test_rotation_angles_are_uniform_within_the_factor():
    angle = layers.RandomRotation((-0.1, 0.3)).draw_transformation(
        (4000, 5, 6, 2), np.random.default_rng(0)
    )["angle"]
    assert angle.shape == (4000,)
    assert -36.0 <= angle.min() < -35.0 and 107.0 < angle.max() <= 108.0
    # Uniform on [-36, 108]: mean 36, sd 144/sqrt(12) = 41.6; the mean of 4000
    # draws is within 4.5 standard errors (3.0) of 36, the sd within 2%.
    assert abs(angle.mean() - 36.0) < 3.0
    assert abs(angle.std() - 144 / np.sqrt(12)) < 0.02 * 144 / np.sqrt(12)
    single = layers.RandomRotation(0.2).draw_transformation((5, 6, 2), np.random.default_rng(0))
    assert single["angle"].shape == (1,) and abs(single["angle"][0]) <= 72.0


def test_zoom_factors_are_within_bounds_and_keep_the_aspect_ratio_by_default():
    generator = np.random.default_rng(1)
    kept = layers.RandomZoom((-0.3, 0.2)).draw_transformation((3000, 4, 4, 1), generator)
    assert kept["height_zoom"].shape == (3000, 1)
    np.testing.assert_array_equal(kept["width_zoom"], kept["height_zoom"])
    assert 0.7 <= kept["height_zoom"].min() < 0.71 and 1.19 < kept["height_zoom"].max() <= 1.2
    # Uniform on [0.7, 1.2]: sd 0.144, the mean of 3000 within 4.5 se (0.012) of 0.95.
    assert abs(kept["height_zoom"].mean() - 0.95) < 0.012
    apart = layers.RandomZoom(0.1, (0.4, 0.6)).draw_transformation((3000, 4, 4, 1), generator)
    assert 0.9 <= apart["height_zoom"].min() and apart["height_zoom"].max() <= 1.1
    assert 1.4 <= apart["width_zoom"].min() and apart["width_zoom"].max() <= 1.6
    assert abs(np.corrcoef(apart["height_zoom"][:, 0], apart["width_zoom"][:, 0])[0, 1]) < 0.1


def test_translations_are_fractions_of_the_image_size():
    layer = layers.RandomTranslation((-0.2, 0.4), 0.3)
    shifts = layer.draw_transformation((3000, 10, 20, 1), np.random.default_rng(2))["translations"]
    right, down = shifts[:, 0], shifts[:, 1]
    assert -6.0 <= right.min() < -5.9 and 5.9 < right.max() <= 6.0  # 0.3 of width 20
    assert -2.0 <= down.min() < -1.98 and 3.98 < down.max() <= 4.0  # -0.2..0.4 of height 10
    # Means within 4.5 standard errors of 0 and 1 (sd 3.46 and 1.73, 3000 draws).
    assert abs(right.mean()) < 0.29 and abs(down.mean() - 1.0) < 0.15
    first = layers.RandomTranslation(0.5, 0.5, data_format="channels_first")
    drawn = first.draw_transformation((10, 1, 4, 8), np.random.default_rng(0))["translations"]
    assert np.abs(drawn[:, 0]).max() <= 4.0 and np.abs(drawn[:, 1]).max() <= 2.0


def test_random_crop_windows_cover_every_place_alike():
    x = np.arange(6 * 7, dtype=np.float32).reshape(1, 6, 7, 1)
    layer = layers.RandomCrop(4, 4, seed=0)
    corners = []
    for _ in range(1200):
        window = layer(x, training=True)
        top, left = divmod(int(window[0, 0, 0, 0]), 7)
        np.testing.assert_array_equal(window, x[:, top : top + 4, left : left + 4])
        corners.append((top, left))
    counts = np.zeros((3, 4))
    np.add.at(counts, tuple(np.array(corners).T), 1)
    # 12 places, 100 expected each: binomial sd 9.6, every count within 4.5 sd.
    assert counts.min() > 100 - 43 and counts.max() < 100 + 43
    # One window for the whole batch.
    batch = np.stack([x[0], x[0] + 100])
    cropped = layer(batch, training=True)
    np.testing.assert_array_equal(cropped[1], cropped[0] + 100)


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_inference_is_the_identity_and_its_slope_too(make):
    x = small_images()
    layer = make(0)
    np.testing.assert_array_equal(layer(x, training=False), x)
    output, saved = layer.forward(x, training=False)
    grad, weights = layer.backward(saved, np.ones_like(output))
    np.testing.assert_array_equal(grad, np.ones_like(x))
    assert weights == {}


def test_random_crop_in_inference_returns_the_input_as_keras_does():
    x = small_images()
    # keras-team/keras#21868: Keras 3.15.1 crops only in training.
    assert layers.RandomCrop(3, 4)(x, training=False).shape == x.shape
    assert layers.RandomCrop(3, 4).compute_output_shape((None, 5, 6, 2)) == (None, 3, 4, 2)
    model = gradstep.Sequential([layers.Input((5, 6, 2)), layers.RandomCrop(3, 4)])
    assert model.predict(x, verbose=0).shape == x.shape


@pytest.mark.parametrize(
    "make",
    [
        *RANDOM_LAYERS,
        lambda seed: layers.RandomFlip(seed=seed),
        lambda seed: layers.RandomContrast(0.5, seed=seed),
    ],
)
def test_a_direct_call_without_training_augments_as_in_keras(make):
    """Keras resolves an unspecified ``training`` from ``call``'s signature,
    ``training=True`` for its image augmentation layers."""
    x = small_images(8) * 255
    np.testing.assert_array_equal(make(2)(x), make(2)(x, training=True))
    assert not np.array_equal(make(2)(x), x)
    assert not layers.Dropout(0.5, seed=0).training_default


def test_integer_images_come_out_as_floats():
    x = np.arange(2 * 4 * 4 * 1, dtype=np.uint8).reshape(2, 4, 4, 1)
    for layer in (layers.RandomRotation(0.2, seed=0), layers.RandomZoom(0.2, seed=0)):
        assert layer(x, training=False).dtype == np.float32
        np.testing.assert_array_equal(layer(x, training=False), x)
        assert layer(x, training=True).dtype == np.float32
    assert layers.RandomCrop(2, 2, seed=0)(x, training=True).dtype == np.float32


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_a_seed_reproduces_the_draws(make):
    x = small_images()
    first, again, other = make(7), make(7), make(8)
    draws = [first(x, training=True), first(x, training=True)]
    np.testing.assert_array_equal(again(x, training=True), draws[0])
    assert not np.array_equal(draws[0], draws[1])  # a new draw at every call
    assert not np.array_equal(other(x, training=True), draws[0])


@pytest.mark.parametrize("make", AFFINE_LAYERS)
def test_one_image_is_transformed_as_a_batch_of_one(make):
    x = small_images(1)
    np.testing.assert_array_equal(make(4)(x[0], training=True), make(4)(x, training=True)[0])


def augmenting_model(seed):
    return gradstep.Sequential(
        [
            layers.Input((6, 7, 2)),
            layers.RandomRotation(0.1),
            layers.RandomZoom(0.2, fill_mode="constant"),
            layers.RandomTranslation(0.1, 0.2, interpolation="nearest"),
            layers.RandomCrop(5, 5),
            layers.RandomFlip("horizontal"),
            layers.Conv2D(3, 3),
            layers.GlobalAveragePooling2D(),
            layers.Dense(1),
        ],
        seed=seed,
    )


def test_a_seeded_model_trains_the_same_twice_and_saves(tmp_path):
    x = np.random.default_rng(3).uniform(size=(16, 6, 7, 2)).astype(np.float32)
    y = np.random.default_rng(4).normal(size=(16, 1)).astype(np.float32)
    histories = []
    for _ in range(2):
        model = augmenting_model(seed=5)
        model.compile(optimizer="sgd", loss="mse")
        histories.append(model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"])
    assert histories[0] == histories[1]
    other = augmenting_model(seed=6)
    other.compile(optimizer="sgd", loss="mse")
    assert other.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"] != histories[0]
    model.save(tmp_path / "augmenting.keras")
    loaded = gradstep.models.load_model(tmp_path / "augmenting.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for got, want in zip(loaded.layers, model.layers, strict=True):
        assert got.get_config() == want.get_config()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: layers.RandomRotation(1.5, name="spin"), r"RandomRotation layer 'spin'.*factor"),
        (lambda: layers.RandomRotation((2.0, 3.0)), "factor must be"),
        (lambda: layers.RandomRotation("a lot"), "factor must be"),
        (lambda: layers.RandomRotation(0.1, fill_mode="mirror"), "fill_mode must be one of"),
        (lambda: layers.RandomRotation(0.1, interpolation="bicubic"), "interpolation must be"),
        (lambda: layers.RandomRotation(0.1, fill_value="white"), "fill_value must be a number"),
        (lambda: layers.RandomRotation(0.1, data_format="nhwc"), "data_format must be"),
        (lambda: layers.RandomZoom(-1.0), r"height_factor must be a number in \(-1, 1\]"),
        (lambda: layers.RandomZoom(0.2, (0.1, 1.5)), "width_factor must be"),
        (lambda: layers.RandomZoom((0.1, 0.2, 0.3)), "height_factor must be"),
        (lambda: layers.RandomTranslation(1.2, 0.1), r"height_factor .* in \[-1, 1\]"),
        (lambda: layers.RandomTranslation(0.1, None), "width_factor must be"),
        (lambda: layers.RandomCrop(0, 3, name="cut"), r"RandomCrop layer 'cut'.*height"),
        (lambda: layers.RandomCrop(3, 2.5), "width must be a positive integer"),
    ],
)
def test_bad_augmentation_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_factors_are_read_as_keras_reads_them():
    assert layers.RandomRotation(-0.2).factor == (-0.2, 0.2)
    assert layers.RandomRotation((0.3, -0.1)).factor == (-0.1, 0.3)
    assert layers.RandomRotation(None).factor == (-0.0, 0.0)
    zoom = layers.RandomZoom((0.3, -0.2))
    assert (zoom.height_lower, zoom.height_upper) == (-0.2, 0.3)
    assert zoom.get_config()["height_factor"] == (0.3, -0.2)  # kept as given, as Keras does
    assert layers.RandomCrop(2, 2, data_format="Channels_First").data_format == "channels_first"


def test_bad_image_rank_names_the_layer():
    with pytest.raises(ValueError, match="'spin'.*rank 3"):
        layers.RandomRotation(0.1, name="spin")(np.zeros((2, 3)), training=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.RandomRotation(0.5, fill_mode="wrap", dtype="float64"),
        lambda: layers.RandomZoom((-0.5, 0.5), fill_mode="nearest", dtype="float64"),
        lambda: layers.RandomTranslation(0.5, 0.5, "constant", "nearest", dtype="float64"),
        lambda: layers.RandomCrop(3, 2, dtype="float64"),
    ],
)
def test_slopes_of_one_image(make):
    x = np.random.default_rng(5).normal(size=(6, 4, 3))
    check_layer_gradients(make(), x)
