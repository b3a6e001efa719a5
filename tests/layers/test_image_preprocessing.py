"""Resizing and CenterCrop against Keras 3 goldens (tests/fixtures/preprocessing_keras.json);
their slopes and the random layers' by central differences; RandomFlip's and
RandomContrast's statistics, inference identity and seed reproducibility."""

import json
import pathlib

import numpy as np
import pytest

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
    np.testing.assert_array_equal(layer(x), x)
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


def test_random_contrast_statistics_and_slope():
    x = images(200) / 255.0
    layer = layers.RandomContrast(0.5, value_range=(-10, 10), seed=0)
    np.testing.assert_array_equal(layer(x), x)
    output = layer(x, training=True)
    means = x.mean(axis=(1, 2), keepdims=True)
    factors = ((output - means) / (x - means))[:, 0, 0, 0]
    assert factors.min() >= 0.5 and factors.max() <= 1.5
    # Uniform on [0.5, 1.5]: the mean of 200 draws is within 4.5 sd (0.092) of 1.
    assert abs(factors.mean() - 1) < 0.1
    contrast = layers.RandomContrast(0.4, value_range=(-10, 10), seed=2, dtype="float64")
    check_layer_gradients(contrast, x[:3].astype(np.float64))


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
        (lambda: layers.RandomContrast(0.2, value_range=(1, 0)), "value_range"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_rank_names_the_layer():
    with pytest.raises(ValueError, match="'shrink'.*rank 3"):
        layers.Resizing(2, 2, name="shrink")(np.zeros((2, 3)))
