"""Small built-in data sets, from scikit-learn (the ``main`` extra).

Each loader returns ``(x_train, y_train), (x_test, y_test)`` as Keras's
``keras.datasets`` loaders do, from a fixed split (stratified by class for
classification) so that every run and every user sees the same test set.
Features are float32: digits' pixels are divided by 16 (their maximum); the
other sets are standardized with the training part's mean and deviation only.
"""

from __future__ import annotations

import numpy as np

TEST_SIZE = 0.2
SPLIT_SEED = 0

# name -> (scikit-learn loader, task)
_SOURCES = {
    "digits": ("load_digits", "multiclass"),
    "iris": ("load_iris", "multiclass"),
    "wine": ("load_wine", "multiclass"),
    "breast_cancer": ("load_breast_cancer", "binary"),
    "diabetes": ("load_diabetes", "regression"),
}

NAMES = tuple(_SOURCES)


def task_of(name: str) -> str:
    """``'multiclass'``, ``'binary'`` or ``'regression'``."""
    return _source(name)[1]


def load(name: str, test_size: float = TEST_SIZE, seed: int = SPLIT_SEED):
    """Load a built-in data set by name: one of ``NAMES``."""
    loader_name, task = _source(name)
    try:
        from sklearn import datasets as sk_datasets
        from sklearn.model_selection import train_test_split
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "gradstep's built-in data sets come from scikit-learn: pip install 'gradstep[main]'"
        ) from error
    bunch = getattr(sk_datasets, loader_name)()
    x = bunch.data.astype(np.float64)
    y = bunch.target.astype(np.float32 if task == "regression" else np.int64)
    stratify = None if task == "regression" else y
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=stratify
    )
    if name == "digits":
        x_train, x_test = x_train / 16.0, x_test / 16.0
    else:
        mean, std = x_train.mean(axis=0), x_train.std(axis=0)
        std[std == 0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    return (x_train.astype(np.float32), y_train), (x_test.astype(np.float32), y_test)


def load_digits(**kwargs):
    """scikit-learn's Digits: 1,797 8x8 images as 64 features in [0, 1], 10 classes."""
    return load("digits", **kwargs)


def load_iris(**kwargs):
    return load("iris", **kwargs)


def load_wine(**kwargs):
    return load("wine", **kwargs)


def load_breast_cancer(**kwargs):
    return load("breast_cancer", **kwargs)


def load_diabetes(**kwargs):
    return load("diabetes", **kwargs)


def _source(name: str):
    try:
        return _SOURCES[name]
    except KeyError:
        raise ValueError(f"Unknown dataset {name!r}; expected one of: {', '.join(NAMES)}") from None
