"""Merge layers: values as Keras computes them, and every input's slope
checked against central differences in float64."""

import numpy as np
import pytest

from gradstep import layers
from gradstep.testing import check_layer_gradients

RNG = np.random.default_rng(0)
A, B, C = (RNG.normal(size=(4, 3)) for _ in range(3))

CASES = {
    "Add": (layers.Add, [A, B, C], A + B + C),
    "Subtract": (layers.Subtract, [A, B], A - B),
    "Multiply": (layers.Multiply, [A, B, C], A * B * C),
    "Average": (layers.Average, [A, B, C], (A + B + C) / 3),
    "Maximum": (layers.Maximum, [A, B, C], np.maximum(np.maximum(A, B), C)),
    "Minimum": (layers.Minimum, [A, B], np.minimum(A, B)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_and_central_differences(name):
    make, inputs, expected = CASES[name]
    layer = make(dtype="float64")
    np.testing.assert_allclose(layer(inputs), expected, rtol=1e-12)
    check_layer_gradients(make(dtype="float64"), inputs)


def test_an_axis_of_size_one_broadcasts_and_its_slope_is_summed():
    row = RNG.normal(size=(4, 1))
    layer = layers.Add(dtype="float64")
    np.testing.assert_allclose(layer([A, row]), A + row)
    check_layer_gradients(layers.Multiply(dtype="float64"), [A, row])


def test_maximum_splits_the_slope_on_a_tie_as_jax_and_pytorch():
    same = np.array([[1.0, 2.0]])
    layer = layers.Maximum(dtype="float64")
    _, saved = layer.forward([same, same.copy()], training=True)
    (left, right), weights = layer.backward(saved, np.ones((1, 2)))
    np.testing.assert_array_equal(left, [[0.5, 0.5]])
    np.testing.assert_array_equal(right, [[0.5, 0.5]])
    assert weights == {}


@pytest.mark.parametrize("axis", [-1, 1, 0])
def test_concatenate(axis):
    layer = layers.Concatenate(axis=axis, dtype="float64")
    parts = [RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))]
    np.testing.assert_array_equal(layer(parts), np.concatenate(parts, axis=axis))
    check_layer_gradients(layers.Concatenate(axis=axis, dtype="float64"), parts)
    assert layers.Concatenate.from_config(layer.get_config()).axis == axis


def test_concatenate_of_different_widths():
    wide, narrow = RNG.normal(size=(2, 5)), RNG.normal(size=(2, 2))
    check_layer_gradients(layers.Concatenate(dtype="float64"), [wide, narrow])


@pytest.mark.parametrize(
    "make, shapes, message",
    [
        (
            layers.Add,
            [(None, 3), (None, 4)],
            r"must have the same shape .* \[\(None, 3\), \(None, 4\)\]",
        ),
        (layers.Add, [(None, 3)], r"must be called on a list of at least 2 inputs"),
        (layers.Subtract, [(None, 3)] * 3, r"exactly 2 inputs, received 3"),
        (layers.Multiply, [(None, 3), (None, 3, 1)], "must have the same rank"),
        (
            layers.Concatenate,
            [(None, 3, 2), (None, 4, 2)],
            r"shapes match except on that axis, received shapes \[\(None, 3, 2\), \(None, 4, 2\)\]",
        ),
    ],
)
def test_mismatched_inputs_are_refused_naming_the_layer_and_the_shapes(make, shapes, message):
    from gradstep import Input

    tensors = [Input(shape=shape[1:]) for shape in shapes]
    with pytest.raises(ValueError, match=message):
        make(name="merge_under_test")(tensors)


# --- under masks (Keras's): the goldens are tests/layer_cases/masking.py ------------------
def _masked_inputs(count, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(3, 4, 2)) for _ in range(count)]
    masks = [rng.random((3, 4)) < 0.6 for _ in range(count)]
    return xs, masks


@pytest.mark.parametrize("name", ["Multiply", "Maximum", "Minimum"])
@pytest.mark.parametrize("unmasked", [None, 0, 1])
def test_masked_values_pass_central_differences(name, unmasked):
    xs, masks = _masked_inputs(3, seed=len(name))
    if unmasked is not None:
        masks[unmasked] = None
    check_layer_gradients(getattr(layers, name)(dtype="float64"), xs, mask=masks)


def test_multiply_counts_a_masked_entry_as_one_and_zeroes_where_all_are_masked():
    x, y = np.full((1, 3, 1), 2.0), np.full((1, 3, 1), 5.0)
    both = [np.array([[True, False, False]]), np.array([[False, True, False]])]
    np.testing.assert_array_equal(layers.Multiply()([x, y], mask=both)[0, :, 0], [2, 5, 0])
    one = [np.array([[True, False, False]]), None]
    np.testing.assert_array_equal(layers.Multiply()([x, y], mask=one)[0, :, 0], [10, 5, 5])


def test_maximum_takes_the_other_input_where_one_is_masked():
    x, y = np.full((1, 3, 1), 2.0), np.full((1, 3, 1), -1.0)
    masks = [np.array([[True, False, False]]), np.array([[True, True, False]])]
    np.testing.assert_array_equal(layers.Maximum()([x, y], mask=masks)[0, :, 0], [2, -1, 2])
    np.testing.assert_array_equal(layers.Minimum()([x, y], mask=masks)[0, :, 0], [-1, -1, 2])


def test_merge_masks_follow_keras():
    a, b = np.array([[True, False, False]]), np.array([[False, True, False]])
    np.testing.assert_array_equal(layers.Add().compute_mask(None, [a, b]), [[True, True, False]])
    assert layers.Add().compute_mask(None, [a, None]) is None
    assert layers.Add().compute_mask(None, None) is None
    x = [np.zeros((1, 3, 2)), np.zeros((1, 3, 4))]
    np.testing.assert_array_equal(layers.Concatenate().compute_mask(x, [a, None]), [[True] * 3])
    joined = layers.Concatenate(axis=1).compute_mask([x[0], x[0]], [a, b])
    np.testing.assert_array_equal(joined, [[True, False, False, False, True, False]])
