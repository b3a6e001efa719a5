"""keras.utils over NumPy: outputs equal Keras's (golden from
tools/make_keras_utils_fixtures.py), with Keras's errors."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from gradstep import utils

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "utils.json").read_text("utf-8"))


def test_to_categorical():
    np.testing.assert_array_equal(utils.to_categorical([1, 0, 2]), np.eye(3)[[1, 0, 2]])
    assert utils.to_categorical([0], num_classes=4).shape == (1, 4)


# --- pad_sequences --------------------------------------------------------------------
@pytest.mark.parametrize("golden", FIXTURE["pad_sequences"], ids=lambda g: str(g["arguments"]))
def test_pad_sequences_is_keras(golden):
    output = utils.pad_sequences(golden["sequences"], **golden["arguments"])
    assert str(output.dtype) == golden["dtype"]
    np.testing.assert_array_equal(output, np.array(golden["output"], dtype=golden["dtype"]))


def test_pad_sequences_of_arrays_and_strings():
    padded = utils.pad_sequences([np.array([1, 2]), np.array([3])], maxlen=3, padding="post")
    assert padded.tolist() == [[1, 2, 0], [3, 0, 0]]
    words = utils.pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: utils.pad_sequences(5), "`sequences` must be iterable"),
        (lambda: utils.pad_sequences([[1], 2]), "must be a list of iterables"),
        (lambda: utils.pad_sequences([[1]], padding="mid"), 'Padding type "mid"'),
        (lambda: utils.pad_sequences([[1]], truncating="mid"), 'Truncating type "mid"'),
        (lambda: utils.pad_sequences([[1]], value="x"), "not compatible with `value`"),
        (lambda: utils.pad_sequences([[1]], maxlen=-1), "`maxlen` must be None or"),
        (lambda: utils.pad_sequences([[[1, 2]], [[3]]]), r"Shape of sample \(1,\)"),
    ],
)
def test_pad_sequences_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- normalize ------------------------------------------------------------------------
@pytest.mark.parametrize("golden", FIXTURE["normalize"], ids=lambda g: str(g["arguments"]))
def test_normalize_is_keras(golden):
    arguments = {k: (np.inf if v == "inf" else v) for k, v in golden["arguments"].items()}
    output = utils.normalize(np.array(FIXTURE["normalize_input"]), **arguments)
    # Both compute in float64 with NumPy's norm: equal to a few ulps.
    np.testing.assert_allclose(output, golden["output"], rtol=1e-15, atol=0)


# --- split_dataset --------------------------------------------------------------------
@pytest.mark.parametrize("golden", FIXTURE["split_dataset"], ids=lambda g: str(g["arguments"]))
def test_split_dataset_is_keras_on_arrays_and_tuples(golden):
    n = FIXTURE["split_length"]
    x = np.arange(n)
    left, right = utils.split_dataset(x, **golden["arguments"])
    assert left.tolist() == golden["left"] and right.tolist() == golden["right"]
    features, labels = np.arange(2 * n).reshape(n, 2), np.arange(n) * 10
    for dataset in [(features, labels), [features, labels]]:
        left, right = utils.split_dataset(dataset, **golden["arguments"])
        assert isinstance(left, tuple) and isinstance(right, tuple)
        np.testing.assert_array_equal(left[0], features[golden["left"]])
        np.testing.assert_array_equal(left[1], labels[golden["left"]])
        np.testing.assert_array_equal(right[1], labels[golden["right"]])


def test_split_dataset_shuffle_leaves_pythons_global_generator_alone():
    random.seed(1)
    expected = random.random()
    random.seed(1)
    utils.split_dataset(np.arange(10), left_size=5, shuffle=True, seed=3)
    assert random.random() == expected


def test_split_dataset_without_a_seed_still_splits_every_sample_once():
    left, right = utils.split_dataset(np.arange(20), left_size=0.5, shuffle=True)
    assert sorted(left.tolist() + right.tolist()) == list(range(20))


@pytest.mark.parametrize(
    ("dataset", "arguments", "error", "message"),
    [
        ({"x": np.ones(3)}, {"left_size": 1}, TypeError, "must be either a NumPy array"),
        ((), {"left_size": 1}, ValueError, "empty tuple dataset"),
        ((np.ones(3), [1, 2, 3]), {"left_size": 1}, ValueError, "Expected a tuple of"),
        ((np.ones(3), np.ones(4)), {"left_size": 1}, ValueError, "different lengths"),
        (np.ones(5), {}, ValueError, "At least one of the `left_size` or `right_size`"),
        (np.ones(5), {"left_size": "1"}, TypeError, "Invalid `left_size` Type"),
        (np.ones(5), {"left_size": 0, "right_size": 0}, ValueError, "Both .* are zero"),
        (np.ones(5), {"left_size": 5}, ValueError, "positive integer smaller than 5"),
        (np.ones(5), {"right_size": 1.0}, ValueError, "`right_size` should be"),
        (np.ones(5), {"left_size": 0.6, "right_size": 0.5}, ValueError, "greater than 1"),
        (np.ones(5), {"left_size": 3, "right_size": 3}, ValueError, "should be smaller than"),
        (np.ones(5), {"left_size": 0.05}, ValueError, "left side dataset split will be empty"),
    ],
)
def test_split_dataset_errors_are_keras(dataset, arguments, error, message):
    with pytest.raises(error, match=message):
        utils.split_dataset(dataset, **arguments)
