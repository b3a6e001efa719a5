"""The arrays a model receives, checked at the boundary: inputs, targets and
sample weights, as one array per model input (or output), whatever form the
caller used (one array, a list in the model's order, or a dict by name).

Every message names the argument, what was expected and what was received.
"""

from __future__ import annotations

import math

import numpy as np

from gradstep import config
from gradstep.validation import as_float_array, check_finite


def flatten(value, names: list[str], argument: str, what: str) -> list:
    """``value`` as one entry per name: an array for a single name, a list or
    tuple in order, or a dict keyed by the names."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        missing = [name for name in names if name not in value]
        if unknown or missing:
            raise ValueError(
                f"{argument} must have one array per model {what}, keyed by {names}; "
                f"received keys {sorted(value)}"
                + (f" (no {what} named {unknown[0]!r})" if unknown else "")
            )
        return [value[name] for name in names]
    if isinstance(value, list | tuple) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(
                f"{argument} must hold one array per model {what} ({len(names)}: {names}), "
                f"received {len(value)} arrays"
            )
        return list(value)
    if isinstance(value, list | tuple) and len(value) == 1 and isinstance(value[0], np.ndarray):
        return list(value)
    if len(names) > 1:
        raise ValueError(
            f"{argument} must hold one array per model {what} ({len(names)}: {names}), as a "
            f"list or a dict; received a single {type(value).__name__}"
        )
    return [value]


def input_array(value, tensor, label: str, hint: str) -> np.ndarray:
    """One input as an array of the ``Input``'s dtype, of a shape that fits it.

    ``label`` names it in messages (``x``, ``x['image']``); ``hint`` says
    where the expected shape comes from."""
    if value is None:
        raise ValueError(f"{label} is required: an array of samples, received None")
    expected = tensor.shape[1:]
    if tensor.dtype == config.STRING_DTYPE:
        array = _string_array(value, label)
    elif np.dtype(tensor.dtype).kind == "f":
        array = as_float_array(value, label, dtype=tensor.dtype)
    else:
        array = _integer_array(value, label, tensor.dtype)
    array = _adjusted_rank(array, tensor.shape)
    if array.ndim != len(tensor.shape):
        if array.ndim < 2 and len(tensor.shape) >= 2:
            raise ValueError(
                f"{label} must have a batch axis and a feature axis, received shape {array.shape}"
            )
        raise ValueError(
            f"{label} must have {len(tensor.shape)} axes (batch first), like {tensor.shape} "
            f"({hint}); received shape {array.shape}"
        )
    if any(e is not None and e != s for e, s in zip(expected, array.shape[1:], strict=True)):
        raise ValueError(
            f"{label} has samples of shape {array.shape[1:]}, but the model expects "
            f"{expected} ({hint}); received {label} of shape {array.shape}"
        )
    return array


def _adjusted_rank(array: np.ndarray, shape: tuple) -> np.ndarray:
    """Keras's functional models take an input with one axis more or less than
    their ``Input`` when that axis is a last one of size 1: it is dropped, or
    added (``(64, 28, 28)`` data for an ``Input(shape=(28, 28, 1))``)."""
    if array.ndim == len(shape) + 1 and array.shape[-1] == 1:
        return array[..., 0]
    if array.ndim == len(shape) - 1 and shape[-1] == 1 and array.ndim >= 1:
        return array[..., None]
    return array


def _string_array(value, label: str) -> np.ndarray:
    """Text for an ``Input(dtype='string')``, never cast: a unicode array as
    it is, bytes decoded as UTF-8 (Keras's strings are UTF-8), an object
    array of ``str``/``bytes`` as ``str`` objects."""
    array = np.asarray(value)
    if array.dtype.kind == "S":
        array = np.char.decode(array, "utf-8")
    elif array.dtype.kind == "O":
        flat = array.ravel()
        strays = [v for v in flat if not isinstance(v, str | bytes)]
        if strays:
            raise TypeError(
                f"{label} must hold strings for an input of dtype 'string', received an "
                f"object array holding a {type(strays[0]).__name__} ({strays[0]!r})"
            )
        if any(isinstance(v, bytes) for v in flat):
            decoded = [v.decode("utf-8") if isinstance(v, bytes) else v for v in flat]
            array = np.array(decoded, dtype=object).reshape(array.shape)
    elif array.dtype.kind != "U":
        raise TypeError(
            f"{label} must hold strings for an input of dtype 'string', received an array "
            f"of dtype {array.dtype}"
        )
    check_finite(array, label)  # not empty
    return array


def _integer_array(value, label: str, dtype: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind == "f":
        check_finite(array, label)
        if not np.all(array == np.round(array)):
            raise ValueError(f"{label} must hold whole numbers for an input of dtype {dtype}")
    elif array.dtype.kind not in "biu":
        raise TypeError(f"{label} must hold numbers, received an array of dtype {array.dtype}")
    check_finite(array, label)
    limits = np.iinfo(dtype)
    if array.size and (array.min() < limits.min or array.max() > limits.max):
        raise ValueError(
            f"{label} holds values from {array.min()} to {array.max()}, outside the range of "
            f"the input's dtype {dtype} ({limits.min} to {limits.max})"
        )
    return array.astype(dtype, copy=False)


def target_array(value, dtype: str, label: str) -> np.ndarray:
    """One output's targets: numbers, finite, floats in the output's dtype."""
    if value is None:
        raise ValueError(f"{label} is required: the targets for x, received None")
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{label} must hold numbers, received an array of dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        check_finite(array, label)
        array = array.astype(dtype, copy=False)
    return array


def target_arrays(y, outputs, names: list[str], output_losses) -> list:
    """``y`` as one checked array per output (None for an output without a
    loss and without targets), each checked by its loss once (see ``check_targets``)."""
    if y is None:
        if not output_losses:  # trained on its layers' add_loss losses alone
            return [None] * len(outputs)
        raise ValueError("y is required: the targets for x, received None")
    with_loss = {entry.index for entry in output_losses}
    if isinstance(y, dict):  # an output without a loss needs no targets
        y = {**{n: None for i, n in enumerate(names) if i not in with_loss}, **y}
    values = flatten(y, names, "y", "output")
    labels = [label for label, _ in labelled(values, names, "y", keep_none=True)]
    targets = [
        None
        if value is None and index not in with_loss
        else target_array(value, outputs[index].dtype, labels[index])
        for index, value in enumerate(values)
    ]
    for entry in output_losses:
        check_targets(entry.loss, targets[entry.index], outputs[entry.index], labels[entry.index])
    return targets


def labelled(arrays: list, names: list[str], argument: str, keep_none: bool = False) -> list:
    """``(label, array)`` pairs as messages name them: ``y``, or ``y['score']``
    when there are several."""
    single = len(names) == 1
    return [
        (argument if single else f"{argument}[{name!r}]", array)
        for name, array in zip(names, arrays, strict=True)
        if keep_none or array is not None
    ]


def check_targets(loss, y: np.ndarray, output, label: str) -> None:
    """Let the loss check the targets once, so that bad labels fail before
    training; then the targets must have the output's shape (or be one
    integer label per sample), never merely broadcast against it. An axis of
    unknown size (``Input(shape=(None,))``'s steps) takes the targets' size."""
    sizes = [
        size if size is not None else (y.shape[axis] if axis < y.ndim else 1)
        for axis, size in enumerate(output.shape[1:], start=1)
    ]
    probe = np.broadcast_to(np.array(0.5, dtype=output.dtype), (len(y), *sizes))
    try:
        y_true, _ = loss.prepare(y, probe)
    except ValueError as error:
        raise ValueError(
            f"{label} does not fit the loss {loss.name!r} and the model's outputs of "
            f"shape {output.shape}: {error}"
        ) from error
    labels = np.issubdtype(y_true.dtype, np.integer) and y_true.shape == probe.shape[:-1]
    if y_true.shape != probe.shape and not labels:
        raise ValueError(
            f"{label} must hold one target of shape {output.shape[1:]} per sample (the model's "
            f"output shape) for the loss {loss.name!r}, received {label} of shape {y.shape}"
        )


def check_same_length(arrays: list[tuple[str, np.ndarray]]) -> int:
    """The number of samples, which every named array must share."""
    (first_name, first), *rest = arrays
    for name, array in rest:
        if len(array) != len(first):
            raise ValueError(
                f"{first_name} and {name} must have the same number of samples, received "
                f"{first_name} with {len(first)} (shape {first.shape}) and {name} with "
                f"{len(array)} (shape {array.shape})"
            )
    return len(first)


def sample_weights(sample_weight, class_weight, targets: list, count: int, names: list[str]):
    """Per-sample weights for each output: ``sample_weight`` (one array for
    every output, or one per output) times ``class_weight[label]``."""
    if isinstance(sample_weight, list | tuple | dict):
        per_output = flatten(sample_weight, names, "sample_weight", "output")
    else:
        per_output = [sample_weight] * len(names)
    return [
        _weights(weight, class_weight, target, count)
        for weight, target in zip(per_output, targets, strict=True)
    ]


def _weights(sample_weight, class_weight, y, count):
    weights = None
    if sample_weight is not None:
        weights = as_float_array(sample_weight, "sample_weight", dtype=np.float64)
        if weights.shape[0] != count:
            raise ValueError(
                f"sample_weight must have one weight per sample ({count}), "
                f"received shape {weights.shape}"
            )
    if class_weight is not None and y is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(
                f"class_weight must be a dict {{class: weight}}, received {class_weight!r}"
            )
        labels = np.asarray(y)
        if labels.ndim > 1 and labels.shape[-1] > 1:
            labels = np.argmax(labels, axis=-1)
        labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
        missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
        if missing:
            raise ValueError(
                f"class_weight has no weight for class {missing[0]}; "
                f"received weights for {sorted(class_weight)}"
            )
        per_class = np.array([class_weight[label] for label in labels.tolist()], dtype=np.float64)
        weights = per_class if weights is None else weights * per_class
    return weights


def take(arrays: list, rows) -> list:
    """The ``rows`` (a slice or indices) of every array (None stays None)."""
    if isinstance(rows, slice):
        return [None if array is None else array[rows] for array in arrays]
    return [None if array is None else _rows(array, rows) for array in arrays]


def _rows(array, indices):
    """``array[indices]``; for a NumPy array of several axes through ``take``,
    the same copy in a third of the time (a shuffled batch, every step)."""
    if type(array) is np.ndarray and array.ndim > 1:
        return array.take(indices, axis=0)
    return array[indices]


def split_validation(inputs, targets, weights, validation_split: float):
    """Keras's rule: the last ``validation_split`` of the samples, before shuffling.
    Returns the training part and the validation part, each ``(inputs, targets, weights)``."""
    count = len(inputs[0])
    split_at = int(math.floor(count * (1 - validation_split)))
    if split_at == 0 or split_at == count:
        raise ValueError(
            f"validation_split={validation_split} leaves no samples for training or validation "
            f"out of {count}"
        )
    head, tail = slice(0, split_at), slice(split_at, None)
    return (
        (take(inputs, head), take(targets, head), take(weights, head)),
        (take(inputs, tail), take(targets, tail), take(weights, tail)),
    )


def batch_rows(order, step: int, batch_size: int, count: int):
    """The rows of batch ``step``: a slice, or indices of the shuffled ``order``."""
    start, stop = step * batch_size, min((step + 1) * batch_size, count)
    return slice(start, stop) if order is None else order[start:stop]
