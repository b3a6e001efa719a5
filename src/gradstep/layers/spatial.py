"""What layers over steps and pixels share: where the channels are
(``data_format``), arguments given per spatial axis (``pool_size=2`` or
``(2, 3)``), and Keras's window arithmetic for ``padding='valid'`` and
``'same'``.

A window of ``size`` entries moved by ``stride`` over an axis of ``length``
entries gives, as in Keras (and TensorFlow, JAX's ``lax``):

- ``'valid'``: ``floor((length - size) / stride) + 1`` outputs, no padding;
- ``'same'``: ``ceil(length / stride)`` outputs, and the axis padded by
  ``total = max((outputs - 1) * stride + size - length, 0)`` entries,
  ``total // 2`` before it and the rest after it (so the extra one, when the
  total is odd, goes at the end).
"""

from __future__ import annotations

from gradstep.config import standardize_data_format
from gradstep.validation import is_int

PADDINGS = ("valid", "same")


def standardize_tuple(value, rank: int, argument: str, owner: str, allow_zero=False) -> tuple:
    """``value`` as a tuple of ``rank`` integers: an integer stands for every
    axis. Each must be positive (or non-negative with ``allow_zero``).
    ``owner`` names the class in the message."""
    values = (value,) * rank if is_int(value) else _as_tuple(value)
    if (
        values is None
        or len(values) != rank
        or not all(is_int(v) for v in values)
        or any(v < (0 if allow_zero else 1) for v in values)
    ):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"{owner}: {argument} must be a {kind} integer or a tuple of {rank} {kind} "
            f"integers, received {argument}={value!r}"
        )
    return tuple(int(v) for v in values)


def _as_tuple(value):
    try:
        return tuple(value)
    except TypeError:
        return None


def standardize_padding(value, owner: str) -> str:
    """``'valid'`` or ``'same'``, in any case (stored in lower case)."""
    name = value.lower() if isinstance(value, str) else value
    if name not in PADDINGS:
        raise ValueError(f"{owner}: padding must be 'valid' or 'same', received padding={value!r}")
    return name


def data_format_of(value, owner: str) -> str:
    """``data_format``, with ``owner`` named in the message."""
    try:
        return standardize_data_format(value)
    except ValueError as error:
        raise ValueError(f"{owner}: {error}") from None


def spatial_axes(rank: int, data_format: str) -> tuple[int, ...]:
    """The axes of the steps or pixels in a batch of ``rank`` spatial axes:
    ``(1, 2)`` for channels_last images, ``(2, 3)`` for channels_first."""
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + rank))


def window_outputs(length, size: int, stride: int, padding: str):
    """How many windows fit along an axis (None for an unknown length)."""
    if length is None:
        return None
    if padding == "valid":
        return (length - size) // stride + 1
    return -(-length // stride)


def same_padding(length: int, size: int, stride: int) -> tuple[int, int]:
    """``(before, after)``: the padding of an axis for ``padding='same'``."""
    total = max((window_outputs(length, size, stride, "same") - 1) * stride + size - length, 0)
    return total // 2, total - total // 2
