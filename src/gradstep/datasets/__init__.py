"""Data sets: the built-in ones from scikit-learn, a user's own tables and
arrays, and MNIST-style image files the user has.

Every loader returns ``(x_train, y_train), (x_test, y_test)``, as Keras's
``keras.datasets`` loaders do, from a fixed split (stratified by class for
classification) so that every run and every user sees the same test set.
Features are float32:

- digits' pixels are divided by 16 (their maximum), MNIST's by 255;
- other tables are standardized with the training part's mean and deviation
  only (the test part never leaks into the statistics);
- a CSV's non-numeric columns are one-hot encoded, with the categories seen in
  the training part (an unseen category in the test part encodes as all zeros).

Class labels become integers ``0 .. k-1`` (sorted class names; the names are
in ``Dataset.classes``). The built-in sets come with scikit-learn (the
``main`` extra); digits, the default of ``gradstep train``, is read from
scikit-learn's data file without importing scikit-learn, and the split
(``split.py``) is scikit-learn's, written in NumPy.
"""

from __future__ import annotations

import csv
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Keras's per-data-set modules (``keras.datasets.mnist.load_data()``), and the image files.
from gradstep.datasets import fashion_mnist as fashion_mnist
from gradstep.datasets import mnist as mnist
from gradstep.datasets.images import read_idx as read_idx
from gradstep.datasets.images import read_images
from gradstep.datasets.split import split_indices

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
TASKS = ("multiclass", "binary", "regression")


@dataclass
class Dataset:
    """A train/test split with what a model needs to know about it."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    classes: list = field(default_factory=list)
    feature_names: list = field(default_factory=list)

    def splits(self):
        return (self.x_train, self.y_train), (self.x_test, self.y_test)


def task_of(name: str) -> str:
    """``'multiclass'``, ``'binary'`` or ``'regression'`` for a built-in name."""
    return _source(name)[1]


def load(name: str, test_size: float = TEST_SIZE, seed: int = SPLIT_SEED):
    """Load a built-in data set (one of ``NAMES``) or a file path (``.csv``,
    ``.npz``, ``.npy``): ``(x_train, y_train), (x_test, y_test)``."""
    return load_dataset(name, test_size=test_size, seed=seed).splits()


def load_dataset(
    source: str | os.PathLike,
    target=None,
    task: str | None = None,
    test_size: float = TEST_SIZE,
    seed: int = SPLIT_SEED,
) -> Dataset:
    """Load a built-in data set by name, or a user's file by path, as a :class:`Dataset`.

    Args:
        source: one of ``NAMES``, or a path to a ``.csv``, ``.npz`` or ``.npy`` file.
        target: for a CSV, the name (or index) of the target column (default:
            the last); for a 2-D ``.npy``, the index of the target column
            (default: the last). Ignored for ``.npz``, whose arrays are named.
        task: ``'multiclass'``, ``'binary'`` or ``'regression'``; inferred when None
            (non-numeric or whole-number targets with at most 20 distinct values
            are classes).
        test_size: the share of samples kept for testing.
        seed: the split's seed.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, received {task!r}")
    if isinstance(source, str) and source in _SOURCES:
        return _load_builtin(source, test_size, seed)
    path = Path(source)
    if not path.exists():
        raise ValueError(
            f"Unknown dataset {str(source)!r}: expected one of {', '.join(NAMES)} "
            "or the path of a .csv, .npz or .npy file"
        )
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _load_csv(path, target, task, test_size, seed)
    if suffix == ".npz":
        return _load_npz(path, task, test_size, seed)
    if suffix == ".npy":
        return _load_npy(path, target, task, test_size, seed)
    raise ValueError(f"dataset file must end in .csv, .npz or .npy, received {path.name!r}")


def _source(name: str):
    try:
        return _SOURCES[name]
    except KeyError:
        raise ValueError(f"Unknown dataset {name!r}; expected one of: {', '.join(NAMES)}") from None


def _load_builtin(name, test_size, seed) -> Dataset:
    loader_name, task = _source(name)
    x, y, names, classes = _read_digits() if name == "digits" else _read_sklearn(loader_name)
    y = y.astype(np.float32 if task == "regression" else np.int64)
    train, test = _split_indices(y, task, test_size, seed)
    if name == "digits":
        x_train, x_test = x[train] / 16.0, x[test] / 16.0
    else:
        x_train, x_test = _standardize(x[train], x[test])
    names = names or [f"x{i}" for i in range(x.shape[1])]
    classes = [] if task == "regression" else (classes if classes else list(np.unique(y)))
    return Dataset(
        x_train.astype(np.float32),
        y[train],
        x_test.astype(np.float32),
        y[test],
        task,
        [str(c) for c in classes],
        [str(n) for n in names],
    )


def _read_sklearn(loader_name: str):
    """``(x, y, feature names, class names)`` from scikit-learn's loader."""
    bunch = getattr(_sklearn("datasets"), loader_name)()
    names = list(getattr(bunch, "feature_names", []))
    classes = list(getattr(bunch, "target_names", []))
    return bunch.data.astype(np.float64), bunch.target, names, classes


def _read_digits():
    """Digits as scikit-learn's ``load_digits`` gives it, read from the table
    scikit-learn ships (1,797 rows: 64 pixels in 0..16, then the digit), without
    importing scikit-learn, which imports SciPy: about a second of start-up."""
    path = _sklearn_data_file("digits.csv.gz")
    if path is None:  # not where scikit-learn 1.x keeps it: ask scikit-learn
        return _read_sklearn("load_digits")
    table = np.loadtxt(path, delimiter=",")
    names = [f"pixel_{row}_{column}" for row in range(8) for column in range(8)]
    return table[:, :-1], table[:, -1].astype(int), names, list(range(10))


def _sklearn_data_file(filename: str) -> Path | None:
    """The path of one of scikit-learn's data files, found without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        _sklearn("datasets")  # raises the error that says how to install it
    for folder in spec.submodule_search_locations or ():
        path = Path(folder) / "datasets" / "data" / filename
        if path.is_file():
            return path
    return None


# --- a user's files -----------------------------------------------------------------
def _load_csv(path, target, task, test_size, seed) -> Dataset:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 3:
        raise ValueError(
            f"{path.name}: expected a header row and at least two data rows, "
            f"received {len(rows)} rows"
        )
    header, body = [name.strip() for name in rows[0]], rows[1:]
    widths = {len(row) for row in body}
    if widths != {len(header)}:
        bad = next(i for i, row in enumerate(body, 2) if len(row) != len(header))
        raise ValueError(
            f"{path.name}: every row needs {len(header)} fields like the header; "
            f"row {bad} has {len(body[bad - 2])}"
        )
    target_index = _column_index(header, target, path.name)
    columns = list(zip(*body, strict=True))
    labels, task, classes = _encode_target(np.array(columns[target_index]), task)
    train, test = _split_indices(labels, task, test_size, seed)
    features_train, features_test, names = [], [], []
    for index, (name, column) in enumerate(zip(header, columns, strict=True)):
        if index == target_index:
            continue
        values = np.array([value.strip() for value in column])
        numeric = _as_numbers(values)
        if numeric is not None:
            features_train.append(numeric[train, None])
            features_test.append(numeric[test, None])
            names.append(name)
        else:
            categories = sorted(set(values[train].tolist()))
            features_train.append((values[train, None] == np.array(categories)).astype(float))
            features_test.append((values[test, None] == np.array(categories)).astype(float))
            names += [f"{name}={category}" for category in categories]
    if not names:
        raise ValueError(
            f"{path.name}: no feature columns besides the target {header[target_index]!r}"
        )
    x_train, x_test = _standardize(np.hstack(features_train), np.hstack(features_test))
    return Dataset(
        x_train.astype(np.float32),
        labels[train],
        x_test.astype(np.float32),
        labels[test],
        task,
        classes,
        names,
    )


def _load_npz(path, task, test_size, seed) -> Dataset:
    with np.load(path, allow_pickle=False) as arrays:
        names = set(arrays.files)
        if {"x_train", "y_train", "x_test", "y_test"} <= names:
            x_train, y_train, x_test, y_test = (
                arrays[key] for key in ("x_train", "y_train", "x_test", "y_test")
            )
            labels, task, classes = _encode_target(np.concatenate([y_train, y_test]), task)
            return Dataset(
                _features(x_train),
                labels[: len(y_train)],
                _features(x_test),
                labels[len(y_train) :],
                task,
                classes,
            )
        if {"x", "y"} <= names:
            x, y = arrays["x"], arrays["y"]
        else:
            raise ValueError(
                f"{path.name}: expected arrays named x and y (or x_train, y_train, "
                f"x_test, y_test), received {sorted(names)}"
            )
    return _split_arrays(x, y, task, test_size, seed)


def _load_npy(path, target, task, test_size, seed) -> Dataset:
    table = np.load(path, allow_pickle=False)
    if table.ndim != 2 or table.shape[1] < 2:
        raise ValueError(
            f"{path.name}: expected a 2-D table with a target column, received shape {table.shape}"
        )
    column = table.shape[1] - 1 if target is None else int(target)
    if not -table.shape[1] <= column < table.shape[1]:
        raise ValueError(
            f"target column {target!r} is outside the table's {table.shape[1]} columns"
        )
    y = table[:, column]
    x = np.delete(table, column, axis=1)
    return _split_arrays(x, y, task, test_size, seed)


def _split_arrays(x, y, task, test_size, seed) -> Dataset:
    x = np.asarray(x)
    if len(x) != len(y):
        raise ValueError(
            f"x and y must have the same number of samples, received {len(x)} and {len(y)}"
        )
    labels, task, classes = _encode_target(np.asarray(y), task)
    train, test = _split_indices(labels, task, test_size, seed)
    flat = x.reshape(len(x), -1).astype(np.float64)
    x_train, x_test = _standardize(flat[train], flat[test])
    shape = x.shape[1:]
    return Dataset(
        x_train.reshape((-1,) + shape).astype(np.float32),
        labels[train],
        x_test.reshape((-1,) + shape).astype(np.float32),
        labels[test],
        task,
        classes,
    )


# --- MNIST-style images ------------------------------------------------------------
def load_mnist(path=None):
    """MNIST from files you have: a folder with the four standard IDX files
    (optionally ``.gz``) or a Keras-style ``mnist.npz``. Default: the folder
    ``$GRADSTEP_DATA/mnist`` or ``~/.gradstep/datasets/mnist``, else the
    ``~/.keras/datasets/mnist.npz`` that Keras downloads. Pixels are divided
    by 255 (float32); images keep their 28x28 shape. (``datasets.mnist.load_data()``
    gives the raw bytes, as Keras's does.)"""
    return _scaled(read_images("mnist", path))


def load_fashion_mnist(path=None):
    """Fashion-MNIST from files you have, as :func:`load_mnist`
    (default folder ``.../fashion_mnist``)."""
    return _scaled(read_images("fashion_mnist", path))


def _scaled(splits):
    (x_train, y_train), (x_test, y_test) = splits
    return (
        (x_train.astype(np.float32) / 255.0, y_train.astype(np.int64)),
        (x_test.astype(np.float32) / 255.0, y_test.astype(np.int64)),
    )


# --- the named built-ins, Keras style ------------------------------------------------
def load_digits(**kwargs):
    """scikit-learn's Digits: 1,797 8x8 images as 64 features in [0, 1], 10 classes."""
    return load("digits", **kwargs)


def load_iris(**kwargs):
    """Iris: 150 flowers, 4 standardized measurements, 3 species."""
    return load("iris", **kwargs)


def load_wine(**kwargs):
    """Wine: 178 wines, 13 standardized measurements, 3 cultivars."""
    return load("wine", **kwargs)


def load_breast_cancer(**kwargs):
    """Breast cancer Wisconsin: 569 tumours, 30 standardized features, binary."""
    return load("breast_cancer", **kwargs)


def load_diabetes(**kwargs):
    """Diabetes: 442 patients, 10 standardized features, disease progression (regression)."""
    return load("diabetes", **kwargs)


# --- shared helpers ------------------------------------------------------------------
def _sklearn(module: str):
    try:
        return __import__(f"sklearn.{module}", fromlist=[module])
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "gradstep's data sets need scikit-learn: pip install 'gradstep[main]'"
        ) from error


def _split_indices(labels, task, test_size, seed):
    return split_indices(labels, task != "regression", test_size, seed)


def _standardize(x_train, x_test):
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    return (x_train - mean) / std, (x_test - mean) / std


def _as_numbers(values: np.ndarray):
    try:
        return values.astype(np.float64)
    except ValueError:
        return None


def _column_index(header, target, filename) -> int:
    if target is None:
        return len(header) - 1
    if isinstance(target, int):
        if not -len(header) <= target < len(header):
            raise ValueError(
                f"target column {target} is outside the {len(header)} columns of {filename}"
            )
        return target % len(header)
    if target not in header:
        raise ValueError(f"target column {target!r} is not in {filename}; its columns are {header}")
    return header.index(target)


def _encode_target(values: np.ndarray, task):
    """Labels as 0..k-1 integers for classification, float32 for regression."""
    numeric = (
        _as_numbers(values.astype(str)) if values.dtype.kind in "US" else values.astype(np.float64)
    )
    if task is None:
        whole = numeric is not None and np.all(numeric == np.round(numeric))
        distinct = len(np.unique(values))
        task = (
            "regression"
            if numeric is not None and not (whole and distinct <= 20)
            else ("binary" if distinct == 2 else "multiclass")
        )
    if task == "regression":
        if numeric is None:
            raise ValueError("task 'regression' needs a numeric target column")
        return numeric.astype(np.float32), task, []
    keys = numeric if numeric is not None else values
    classes, labels = np.unique(keys, return_inverse=True)
    if task == "binary" and len(classes) != 2:
        raise ValueError(f"task 'binary' needs exactly 2 classes, received {len(classes)}")
    names = [_class_name(c) for c in classes]
    return labels.astype(np.int64), task, names


def _class_name(value) -> str:
    value = value.item() if hasattr(value, "item") else value
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _features(x):
    return np.asarray(x, dtype=np.float32)
