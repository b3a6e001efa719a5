"""The resampling behind RandomRotation/RandomZoom/RandomTranslation: its fill
modes and rounding as JAX's map_coordinates defines them, and its backward as
the exact transpose of the forward."""

import numpy as np
import pytest

from gradstep.layers.image_sampling import (
    FILL_MODES,
    INTERPOLATIONS,
    affine_sample,
    affine_sample_backward,
)


def shift(dx, dy, count=1):
    """Transforms that read the input at ``(x - dx, y - dy)``."""
    return np.tile([1.0, 0.0, -dx, 0.0, 1.0, -dy, 0.0, 0.0], (count, 1))


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_the_identity_transform_keeps_the_image(fill_mode, interpolation):
    images = np.random.default_rng(0).normal(size=(2, 3, 4, 2))
    output, _ = affine_sample(images, shift(0, 0, 2), interpolation, fill_mode)
    np.testing.assert_array_equal(output, images)


@pytest.mark.parametrize(
    ("fill_mode", "left_of_the_image"),
    [
        # Columns -8 .. -1 of the row a b c d = 1 2 3 4.
        ("reflect", [1, 2, 3, 4, 4, 3, 2, 1]),  # d c b a | a b c d
        ("wrap", [1, 2, 3, 4, 1, 2, 3, 4]),  # a b c d | a b c d
        ("nearest", [1, 1, 1, 1, 1, 1, 1, 1]),  # a a a a | a b c d
        ("constant", [9, 9, 9, 9, 9, 9, 9, 9]),  # k k k k | a b c d
    ],
)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_fill_modes_extend_the_image_as_documented(fill_mode, left_of_the_image, interpolation):
    row = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 4, 1)
    # Shifted right by 8, then 4, pixels, the 4 outputs read columns -8..-5, then -4..-1.
    read = [affine_sample(row, shift(dx, 0), interpolation, fill_mode, 9.0)[0] for dx in (8, 4)]
    np.testing.assert_array_equal(np.concatenate(read, axis=2).ravel(), left_of_the_image)


def test_nearest_rounds_halves_away_from_zero_and_bilinear_mixes():
    row = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 4, 1)
    # Reading at x + 0.5: 0.5 -> 1, 1.5 -> 2, 2.5 -> 3 (not to even), 3.5 -> 4 (clipped).
    nearest, _ = affine_sample(row, shift(-0.5, 0), "nearest", "nearest")
    np.testing.assert_array_equal(nearest.ravel(), [2, 3, 4, 4])
    # Reading at x - 0.5: -0.5 rounds to -1 (outside, the fill value).
    below, _ = affine_sample(row, shift(0.5, 0), "nearest", "constant", -7.0)
    np.testing.assert_array_equal(below.ravel(), [-7, 2, 3, 4])
    mixed, _ = affine_sample(row, shift(-0.25, 0), "bilinear", "constant", 0.0)
    np.testing.assert_allclose(mixed.ravel(), [1.25, 2.25, 3.25, 0.75 * 4], rtol=0, atol=1e-15)


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_backward_is_the_transpose_of_the_forward(fill_mode, interpolation):
    rng = np.random.default_rng(1)
    images = rng.normal(size=(3, 5, 4, 2))
    angles = rng.uniform(-np.pi, np.pi, size=3)
    cos, sin = np.cos(angles), np.sin(angles)
    transforms = np.stack(
        [1.3 * cos, -sin, rng.uniform(-2, 2, 3), sin, 0.8 * cos, rng.uniform(-2, 2, 3)]
        + [np.zeros(3)] * 2,
        axis=1,
    )
    # With fill value 0 the map is linear: <A x, g> = <x, A^T g> for every x and g.
    output, plan = affine_sample(images, transforms, interpolation, fill_mode, 0.0)
    grad = rng.normal(size=output.shape)
    slope = affine_sample_backward(plan, grad)
    assert slope.shape == images.shape and slope.dtype == grad.dtype
    np.testing.assert_allclose(np.sum(output * grad), np.sum(images * slope), rtol=1e-12)
    # The slope of each input pixel, one at a time, against the forward's columns.
    for flat in rng.choice(images.size, size=6, replace=False):
        basis = np.zeros(images.size)
        basis[flat] = 1.0
        column, _ = affine_sample(
            basis.reshape(images.shape), transforms, interpolation, fill_mode, 0.0
        )
        np.testing.assert_allclose(np.sum(column * grad), slope.ravel()[flat], atol=1e-12)


def test_float32_images_are_sampled_in_float32():
    images = np.ones((1, 3, 3, 1), np.float32)
    output, plan = affine_sample(images, shift(0.3, 0.2), "bilinear", "reflect")
    assert output.dtype == np.float32
    assert affine_sample_backward(plan, output).dtype == np.float32
