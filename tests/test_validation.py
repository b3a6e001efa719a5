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


@pytest.mark.parametrize("value", [1.0, -0.1, "0.2", None, True, float("nan")])
def test_fraction_rejects_anything_outside_zero_one(value):
    with pytest.raises(ValueError, match=r"validation_split must be a float in \[0, 1\), received"):
        validation.check_fraction(value, "validation_split")


def test_fraction_without_zero():
    assert validation.check_fraction(0.5, "rate", include_zero=False) == 0.5
    with pytest.raises(ValueError, match=r"rate must be a float in \(0, 1\), received 0"):
        validation.check_fraction(0, "rate", include_zero=False)


def test_check_name_suggests_the_closest_and_lists_all():
    validation.check_name("Accuracy", ["accuracy", "mae"], "metrics", "metric")
    with pytest.raises(
        ValueError,
        match=r"^Unknown metric 'acurracy' for metrics. Did you mean 'accuracy'\? "
        r"Expected one of: accuracy, mae.$",
    ):
        validation.check_name("acurracy", ["mae", "accuracy"], "metrics", "metric")
    with pytest.raises(ValueError, match=r"Unknown metric 'zzz' for metrics. Expected one of"):
        validation.check_name("zzz", ["mae"], "metrics", "metric")


def test_same_length_names_both_arguments():
    with pytest.raises(
        ValueError,
        match=r"x_val and y_val must have the same number of samples, received x_val with 2 "
        r"\(shape \(2, 1\)\) and y_val with 3 \(shape \(3,\)\)",
    ):
        validation.check_same_length(np.zeros((2, 1)), np.zeros(3), "x_val", "y_val")


def test_empty_arrays_are_refused():
    with pytest.raises(ValueError, match=r"y is empty: expected at least one sample, received"):
        validation.check_finite(np.zeros((0,)), "y")


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="x must hold numbers, received an array of dtype object"):
        validation.as_float_array([{"a": 1}], "x")


def test_not_compiled_error_is_a_value_error_and_a_runtime_error():
    assert issubclass(validation.NotCompiledError, ValueError)
    assert issubclass(validation.NotCompiledError, RuntimeError)


def test_sparse_labels_must_be_whole_numbers():
    assert validation.check_sparse_labels(np.array([0.0, 2.0]), 3).dtype == np.int64
    with pytest.raises(ValueError, match=r"y must hold integer class labels in \[0, 3\), received"):
        validation.check_sparse_labels(np.array([0.0, np.nan]), 3)
    with pytest.raises(ValueError, match="y must hold integer class labels, received dtype bool"):
        validation.check_sparse_labels(np.array([True]), 3)
