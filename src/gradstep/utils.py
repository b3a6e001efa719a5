"""Keras's ``keras.utils`` names that gradstep supports, over NumPy arrays."""

from __future__ import annotations

import random

import numpy as np

from gradstep.py_dataset import PyDataset
from gradstep.seeding import set_random_seed
from gradstep.validation import is_int, is_real

Sequence = PyDataset  # Keras 3's other name for it

__all__ = [
    "PyDataset",
    "Sequence",
    "normalize",
    "pad_sequences",
    "set_random_seed",
    "split_dataset",
    "to_categorical",
]


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer labels: ``[1, 0] -> [[0, 1], [1, 0]]``."""
    labels = np.asarray(y, dtype=np.int64).ravel()
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    return np.eye(num_classes, dtype=dtype)[labels]


def pad_sequences(
    sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0
):
    """Keras's ``pad_sequences``: a list of sequences as one array of shape
    ``(len(sequences), maxlen, *sample_shape)``.

    Each sequence longer than ``maxlen`` loses its first entries
    (``truncating='pre'``) or its last (``'post'``); each shorter one is filled
    with ``value`` before it (``padding='pre'``) or after it (``'post'``).
    ``maxlen`` defaults to the longest sequence's length. The values are cast
    to ``dtype`` as NumPy casts (as Keras does: ``value=0.5`` in ``int32`` is 0);
    strings need ``dtype=object`` (or a string dtype).

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
    [[2, 3], [0, 4]]
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths, sample_shape = _lengths_and_sample_shape(sequences)
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif not (is_int(maxlen) and maxlen >= 0):
        raise ValueError(f"`maxlen` must be None or a non-negative integer, received {maxlen!r}")
    text_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not text_dtype:
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )
    padded = np.full((len(sequences), maxlen, *sample_shape), value, dtype=dtype)
    for index, sequence in enumerate(sequences):
        if not len(sequence) or maxlen == 0:
            continue
        kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {index} is "
                f"different from expected shape {sample_shape}"
            )
        if padding == "post":
            padded[index, : len(kept)] = kept
        else:
            padded[index, -len(kept) :] = kept
    return padded


def _lengths_and_sample_shape(sequences) -> tuple[list[int], tuple[int, ...]]:
    """Each sequence's length, and the shape of one entry (from the first
    non-empty sequence; the others are checked against it)."""
    lengths, sample_shape = [], None
    for sequence in sequences:
        try:
            lengths.append(len(sequence))
        except TypeError as error:
            raise ValueError(
                f"`sequences` must be a list of iterables. Found non-iterable: {sequence}"
            ) from error
        if sample_shape is None and len(sequence):
            sample_shape = np.asarray(sequence).shape[1:]
    return lengths, sample_shape or ()


def normalize(x, axis=-1, order=2):
    """Keras's ``normalize``: ``x`` divided by its ``order``-norm along ``axis``
    (``numpy.linalg.norm``'s ``ord``); a zero norm divides by 1, so a zero
    vector stays zero."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    axis = axis or -1  # as Keras: axis=0 normalizes along the last axis too
    return x / np.expand_dims(norm, axis)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Keras's ``split_dataset`` over NumPy: ``(left, right)``.

    ``dataset`` is an array, or a tuple or list of arrays with the same first
    axis (e.g. ``(x, y)``). ``left_size`` and ``right_size`` are each a fraction
    in ``(0, 1)`` (rounded to a count of samples) or a count; the one left out is
    the complement of the other. ``left`` holds the first ``left_size`` samples,
    ``right`` the last ``right_size`` (after shuffling with ``seed``, when
    ``shuffle``). Sizes are checked with Keras's rules and messages.

    Keras returns two ``tf.data.Dataset`` objects; gradstep returns what they
    hold, as NumPy: an array for an array, a tuple of arrays for a tuple or a
    list of arrays (Keras turns lists into tuples too). With the same ``seed``
    the samples land in the same splits and order as in Keras, which shuffles
    with Python's ``random`` seeded with ``seed``.

    >>> left, right = split_dataset(np.arange(10), left_size=0.8)
    >>> left.tolist(), right.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    arrays = _dataset_arrays(dataset)
    if left_size is None and right_size is None:
        raise ValueError(
            "At least one of the `left_size` or `right_size` must be specified. "
            "Received: left_size=None and right_size=None"
        )
    total = len(arrays[0])
    order = list(range(total))
    if shuffle:
        # Keras: random.seed(seed); random.shuffle(samples). A generator of its
        # own gives the same permutation without touching Python's global one.
        generator = random.Random(random.randint(0, int(1e6)) if seed is None else seed)
        generator.shuffle(order)
    left_count, right_count = _split_sizes(left_size, right_size, total)
    left_rows = np.asarray(order[:left_count], dtype=np.int64)
    right_rows = np.asarray(order[total - right_count :], dtype=np.int64)
    if isinstance(dataset, np.ndarray):
        return dataset[left_rows], dataset[right_rows]
    return (
        tuple(array[left_rows] for array in arrays),
        tuple(array[right_rows] for array in arrays),
    )


def _dataset_arrays(dataset) -> list[np.ndarray]:
    if isinstance(dataset, np.ndarray):
        if dataset.ndim == 0:
            raise ValueError("`dataset` must have a first (sample) axis, received a scalar")
        return [dataset]
    if not isinstance(dataset, tuple | list):
        raise TypeError(
            "The `dataset` argument must be either a NumPy array or a list/tuple of arrays "
            f"(gradstep has no tf.data). Received: dataset={str(dataset)[:100]} of type "
            f"{type(dataset)}"
        )
    kind = type(dataset).__name__
    if len(dataset) == 0:
        raise ValueError(
            f"Received an empty {kind} dataset. Please provide a non-empty {kind} of arrays."
        )
    for index, element in enumerate(dataset):
        if not isinstance(element, np.ndarray) or element.ndim == 0:
            raise ValueError(
                f"Expected a {kind} of `numpy.ndarray` objects, Received: {type(element)} "
                f"at index {index}."
            )
        if len(element) != len(dataset[0]):
            raise ValueError(
                f"Received a {kind} of NumPy arrays with different lengths. Mismatch found at "
                f"index {index}, Expected shape={dataset[0].shape} Received "
                f"shape={element.shape}. Please provide a {kind} of NumPy arrays of the same "
                "length."
            )
    return list(dataset)


def _split_sizes(left_size, right_size, total: int) -> tuple[int, int]:
    """Keras's ``_rescale_dataset_split_sizes``: the two counts of samples."""
    for size, name in ((left_size, "left_size"), (right_size, "right_size")):
        if size is not None and not is_real(size):
            raise TypeError(
                f"Invalid `{name}` Type. Expected: int or float or None, "
                f"Received: type({name})={type(size)}."
            )
    if left_size == 0 and right_size == 0:
        raise ValueError(
            "Both `left_size` and `right_size` are zero. "
            "At least one of the split sizes must be non-zero."
        )
    for size, name in ((left_size, "left_size"), (right_size, "right_size")):
        if size is None:
            continue
        if (is_int(size) and not 0 < size < total) or (not is_int(size) and not 0 < size < 1):
            raise ValueError(
                f"`{name}` should be either a positive integer smaller than {total}, or a "
                f"float within the range `[0, 1]`. Received: {name}={size}"
            )
    both_fractions = not is_int(left_size) and not is_int(right_size)
    if left_size is not None and right_size is not None and both_fractions:
        if left_size + right_size > 1:
            raise ValueError(
                "The sum of `left_size` and `right_size` is greater than 1. "
                "It must be less than or equal to 1."
            )
    left = _count(left_size, total)
    right = _count(right_size, total)
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(
            f"The sum of `left_size` and `right_size` should be smaller than the {total}. "
            f"Received: left_size + right_size = {left + right} and total_length = {total}"
        )
    for count, side in ((left, "left"), (right, "right")):
        if count == 0:
            raise ValueError(
                f"With `dataset` of length={total}, `left_size`={left} and "
                f"`right_size`={right}. Resulting {side} side dataset split will be empty. "
                "Adjust any of the aforementioned parameters"
            )
    return left, right


def _count(size, total: int) -> int | None:
    if size is None:
        return None
    return int(size) if is_int(size) else round(size * total)
