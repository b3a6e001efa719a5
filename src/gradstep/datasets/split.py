"""The train/test split of every data set: scikit-learn's ``train_test_split``
(stratified by class for classification), written out in NumPy so that loading
a data set does not import scikit-learn (about a second of start-up, with
SciPy).

It draws the same random numbers in the same order as scikit-learn 1.x does
(``StratifiedShuffleSplit`` and ``ShuffleSplit`` with a ``RandomState``), so
the indices are scikit-learn's, and a test checks that they are.
"""

from __future__ import annotations

import math

import numpy as np


def split_indices(labels, stratify: bool, test_size, seed) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` indices into ``labels``, as
    ``train_test_split(np.arange(n), test_size=test_size, random_state=seed,
    stratify=labels if stratify else None)`` gives them.

    Args:
        labels: one label per sample (read only when ``stratify``).
        stratify: keep each class's share in both parts.
        test_size: a float in (0, 1) (the share of samples) or an int (their count).
        seed: an int, or None for a fresh random split.
    """
    labels = np.asarray(labels)
    n_train, n_test = _sizes(len(labels), test_size)
    rng = np.random.RandomState(seed)
    if not stratify:
        permutation = rng.permutation(len(labels))
        return permutation[n_test : n_test + n_train], permutation[:n_test]
    return _stratified(labels, n_train, n_test, rng)


def _sizes(n_samples: int, test_size) -> tuple[int, int]:
    """``(n_train, n_test)``: the test part rounded up, the rest for training."""
    if isinstance(test_size, bool) or not isinstance(test_size, int | float | np.number):
        raise ValueError(f"test_size must be a float in (0, 1) or an int, received {test_size!r}")
    if isinstance(test_size, int | np.integer):
        if not 0 < test_size < n_samples:
            raise ValueError(
                f"test_size={test_size} should be either positive and smaller than the number "
                f"of samples {n_samples} or a float in the (0, 1) range"
            )
        n_test = int(test_size)
    else:
        if not 0 < test_size < 1:
            raise ValueError(
                f"test_size={test_size} should be either positive and smaller than the number "
                f"of samples {n_samples} or a float in the (0, 1) range"
            )
        n_test = math.ceil(test_size * n_samples)
    n_train = n_samples - n_test
    if n_train == 0:
        raise ValueError(
            f"With n_samples={n_samples} and test_size={test_size}, the training part would "
            "be empty: use a smaller test_size"
        )
    return n_train, n_test


def _stratified(labels, n_train: int, n_test: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``StratifiedShuffleSplit``, first split: how many of each
    class go to each part (``_class_shares``), then a shuffle within each class,
    then a shuffle of each part."""
    classes, label_indices, class_counts = np.unique(
        labels, return_inverse=True, return_counts=True
    )
    if np.min(class_counts) < 2:
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too few to split "
            f"by class. The classes with too few members are: {classes[class_counts < 2].tolist()}"
        )
    for part, size in (("train", n_train), ("test", n_test)):
        if size < len(classes):
            raise ValueError(
                f"The {part} part has {size} samples, fewer than the {len(classes)} classes"
            )
    by_class = np.split(
        np.argsort(label_indices.ravel(), kind="stable"), np.cumsum(class_counts)[:-1]
    )
    train_counts = _class_shares(class_counts, n_train, rng)
    test_counts = _class_shares(class_counts - train_counts, n_test, rng)
    train, test = [], []
    for members, n_in_train, n_in_test in zip(by_class, train_counts, test_counts, strict=True):
        shuffled = members.take(rng.permutation(len(members)), mode="clip")
        train.extend(shuffled[:n_in_train])
        test.extend(shuffled[n_in_train : n_in_train + n_in_test])
    return rng.permutation(train), rng.permutation(test)


def _class_shares(class_counts, n_draws: int, rng) -> np.ndarray:
    """How many samples of each class to draw, ``n_draws`` in all (scikit-learn's
    ``_approximate_mode``): each class's proportional share rounded down, then
    one more for the classes with the largest remainders, ties drawn at random."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (tied,) = np.where(remainder == value)
            add_now = min(len(tied), need_to_add)
            floored[rng.choice(tied, size=add_now, replace=False)] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)
