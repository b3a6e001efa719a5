import re

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


@pytest.mark.parametrize("value", [0, 3, np.int64(3), np.uint8(0)])
def test_non_negative_int_accepts_numpy_integers_and_returns_an_int(value):
    checked = validation.check_non_negative_int(value, "patience")
    assert checked == value and type(checked) is int


@pytest.mark.parametrize("value", [-1, True, False, 2.0, np.float64(2.0), "2", None])
def test_non_negative_int_rejects(value):
    message = f"patience must be a non-negative integer, received {value!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        validation.check_non_negative_int(value, "patience")


def test_int_minimum_none_and_the_expected_phrase():
    assert validation.check_int(np.int32(-3), "axis") == -3
    assert validation.check_int(None, "steps", minimum=2, allow_none=True) is None
    assert validation.check_int(2, "steps", minimum=2, allow_none=True) == 2
    with pytest.raises(ValueError, match="axis must be an integer, received True"):
        validation.check_int(True, "axis")
    with pytest.raises(ValueError, match="steps must be an integer >= 2 or None, received 1"):
        validation.check_int(1, "steps", minimum=2, allow_none=True)
    with pytest.raises(ValueError, match="steps must be a positive integer, received None"):
        validation.check_int(None, "steps", minimum=1)
    with pytest.raises(
        ValueError, match="threads must be 'auto' or a positive integer, received 'many'"
    ):
        validation.check_int("many", "threads", minimum=1, expected="'auto' or a positive integer")


@pytest.mark.parametrize("value", [0, 0.5, 1, np.float32(0.25), np.int64(1)])
def test_real_in_a_closed_interval_accepts_and_keeps_the_value(value):
    checked = validation.check_real(value, "momentum", low=0, high=1)
    assert checked is value


@pytest.mark.parametrize("value", [-0.1, 1.5, True, "0.5", None, float("nan"), np.array([0.5])])
def test_real_in_a_closed_interval_rejects(value):
    with pytest.raises(ValueError, match=r"momentum must be a float in \[0, 1\], received"):
        validation.check_real(value, "momentum", low=0, high=1)


def test_real_open_bounds_are_named_in_the_message():
    with pytest.raises(ValueError, match=r"factor must be a float in \(0, 1\], received 0"):
        validation.check_real(0, "factor", low=0, high=1, include_low=False)
    with pytest.raises(ValueError, match=r"beta must be a float in \[0, 1\), received 1"):
        validation.check_real(1, "beta", low=0, high=1, include_high=False)
    with pytest.raises(ValueError, match="decay_steps must be a positive float, received 0"):
        validation.check_real(0, "decay_steps", low=0, include_low=False)
    with pytest.raises(ValueError, match="power must be a float <= 0, received 0.5"):
        validation.check_real(0.5, "power", high=0)


def test_real_refuses_nan_always_and_infinity_unless_told():
    for value in (float("nan"), float("inf"), -np.inf, True):
        with pytest.raises(ValueError, match="power must be a finite number, received"):
            validation.check_real(value, "power")
    assert validation.check_real(float("inf"), "clipnorm", low=0, finite=False) == float("inf")
    with pytest.raises(ValueError, match="clipnorm must be a non-negative float or None"):
        validation.check_real(float("nan"), "clipnorm", low=0, finite=False, allow_none=True)
    with pytest.raises(ValueError, match="min_delta must be a number, received nan"):
        validation.check_real(float("nan"), "min_delta", finite=False)


def test_real_none_and_the_expected_phrase():
    assert validation.check_real(None, "weight_decay", low=0, allow_none=True) is None
    with pytest.raises(
        ValueError, match="weight_decay must be a non-negative float, received None"
    ):
        validation.check_real(None, "weight_decay", low=0)
    with pytest.raises(
        ValueError, match="learning_rate must be a non-negative float or a schedule, received -1"
    ):
        validation.check_real(
            -1, "learning_rate", low=0, expected="a non-negative float or a schedule"
        )


def test_predicates_refuse_bools_and_take_numpy_numbers():
    assert validation.is_int(np.int16(2)) and not validation.is_int(True)
    assert not validation.is_int(2.0) and not validation.is_int(np.float64(2))
    assert validation.is_real(np.float32(0.5)) and validation.is_real(3)
    assert not validation.is_real(np.bool_(True)) and not validation.is_real("1")


def test_bool_takes_numpy_bools_and_refuses_numbers_with_a_type_error():
    assert validation.check_bool(np.bool_(True), "cycle_momentum") is True
    assert validation.check_bool(False, "cycle_momentum") is False
    with pytest.raises(TypeError, match="cycle_momentum must be True or False, received 1"):
        validation.check_bool(1, "cycle_momentum")
