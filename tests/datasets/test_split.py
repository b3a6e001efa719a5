"""The split is scikit-learn's ``train_test_split``, index for index."""

import numpy as np
import pytest

from gradstep.datasets.split import split_indices


def _label_sets():
    rng = np.random.default_rng(1)
    sets = [
        (np.repeat(np.arange(10), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]), True),
        (np.repeat(np.arange(3), 50), True),
        (np.array([0] * 7 + [1] * 5 + [2] * 3), True),
    ]
    for _ in range(6):
        size, classes = int(rng.integers(20, 300)), int(rng.integers(2, 7))
        sets.append((rng.integers(0, classes, size), True))
        sets.append((rng.normal(size=size), False))
    return sets


@pytest.mark.requires("sklearn", extra="main")
@pytest.mark.parametrize("test_size", [0.2, 0.25, 0.33, 7])
@pytest.mark.parametrize("seed", [0, 42])
def test_the_indices_are_scikit_learns(test_size, seed):
    from sklearn.model_selection import train_test_split

    for labels, stratify in _label_sets():
        try:
            expected_train, expected_test = train_test_split(
                np.arange(len(labels)),
                test_size=test_size,
                random_state=seed,
                stratify=labels if stratify else None,
            )
        except ValueError:  # 7 test samples for 10 classes: neither can split
            with pytest.raises(ValueError):
                split_indices(labels, stratify, test_size, seed)
            continue
        train, test = split_indices(labels, stratify, test_size, seed)
        np.testing.assert_array_equal(train, expected_train)
        np.testing.assert_array_equal(test, expected_test)


def test_every_sample_is_in_exactly_one_part_and_each_class_keeps_its_share():
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    train, test = split_indices(labels, True, 0.2, 0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    assert np.bincount(labels[test]).tolist() == [12, 6, 2]


@pytest.mark.parametrize(
    ("labels", "test_size", "message"),
    [
        (np.arange(10) % 2, 1.5, r"test_size=1.5 should be .* a float in the \(0, 1\) range"),
        (np.arange(10) % 2, 10, "test_size=10 should be either positive and smaller"),
        (np.arange(10) % 2, "a fifth", "test_size must be a float in"),
        (np.array([0, 0, 0, 1]), 0.5, "only 1 member"),
        (np.arange(12) % 4, 0.2, "The test part has 3 samples, fewer than the 4 classes"),
    ],
)
def test_a_split_that_cannot_be_made_says_why(labels, test_size, message):
    with pytest.raises(ValueError, match=message):
        split_indices(labels, True, test_size, 0)
