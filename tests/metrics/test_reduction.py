import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradstep import metrics


def test_mean_weights_by_sample_count():
    mean = metrics.Mean()
    mean.update_state(1.0, sample_weight=32)
    mean.update_state(4.0, sample_weight=8)
    assert mean.result() == pytest.approx((32 + 32) / 40)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True, width=64),
            st.integers(min_value=0, max_value=2**60) | st.floats(0, 1e300),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_a_number_and_its_weight_add_up_as_one_element_arrays_do(updates):
    """The loss and batch size of each batch take a path of plain floats; it must
    give the totals that the array path gives."""
    numbers, arrays = metrics.Mean(), metrics.Mean()
    for value, weight in updates:
        numbers.update_state(value, sample_weight=weight)
        with np.errstate(over="ignore", invalid="ignore"):  # inf * 0, 1e300 * 1e300
            arrays.update_state(np.array([value]), sample_weight=np.array([weight], dtype=float))
    np.testing.assert_array_equal([numbers.total, numbers.count], [arrays.total, arrays.count])


def test_accuracies():
    np.testing.assert_array_equal(
        metrics.sparse_categorical_accuracy(
            np.array([0, 2]), np.array([[0.9, 0.1, 0], [0.5, 0.4, 0.1]])
        ),
        [1, 0],
    )
    np.testing.assert_array_equal(
        metrics.categorical_accuracy(np.eye(2), np.array([[0.2, 0.8], [0.1, 0.9]])), [0, 1]
    )
    np.testing.assert_array_equal(
        metrics.binary_accuracy(np.array([1, 0, 1]), np.array([[0.7], [0.6], [0.2]])), [1, 0, 0]
    )


def test_sparse_labels_as_column():
    assert metrics.sparse_categorical_accuracy(np.array([[1]]), np.array([[0.2, 0.8]]))[0] == 1


def test_named_metrics_keep_the_name_given():
    for name in ("mae", "mse", "mean_absolute_error", "accuracy", "acc"):
        metric = metrics.get(name, None, (4,), (4, 1))
        assert metric.name == name


def test_running_mean_over_batches():
    metric = metrics.get("mae")
    metric.update_state(np.zeros((2, 1)), np.ones((2, 1)))
    metric.update_state(np.zeros((1, 1)), np.full((1, 1), 4.0))
    assert metric.result() == pytest.approx(2.0)
    metric.reset_state()
    assert metric.result() == 0.0


def test_unknown_metric():
    with pytest.raises(ValueError, match="Unknown metric 'accuracyy'"):
        metrics.get("accuracyy")
