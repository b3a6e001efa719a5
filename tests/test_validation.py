import numpy as np
import pytest

from gradstep import validation


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3", None])
def test_positive_int_rejects(value):
    with pytest.raises(
        ValueError, match=f"batch_size must be a positive integer, received {value!r}"
    ):
        validation.check_positive_int(value, "batch_size")


def test_float_array_keeps_float64_and_makes_ints_float32():
    assert validation.as_float_array(np.ones(2), "x").dtype == np.float64
    assert validation.as_float_array([1, 2], "x").dtype == np.float32


def test_non_finite_values_are_located():
    with pytest.raises(ValueError, match=r"x must be finite, received inf at index \(1, 0\)"):
        validation.as_float_array(np.array([[1.0], [np.inf]]), "x")


def test_sparse_label_range_message():
    with pytest.raises(ValueError, match=r"y holds class label 10, outside the range \[0, 10\)"):
        validation.check_sparse_labels(np.array([3, 10]), 10)
