"""Axis arguments as the ops take them (Keras's: None, an int, or a tuple)."""

from __future__ import annotations


def normalized_axes(axis, ndim: int) -> tuple:
    """``axis`` as a sorted tuple of non-negative axes (every axis for None)."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    return tuple(sorted(a % ndim for a in axes))


def axis_tuple(axis):
    """A list of axes as the tuple NumPy wants (other values unchanged)."""
    return tuple(axis) if isinstance(axis, list) else axis


def axis_slice(ndim: int, axis: int, lo, hi) -> tuple:
    """The index of ``lo:hi`` along ``axis`` of an array of ``ndim`` axes."""
    index = [slice(None)] * ndim
    index[axis] = slice(lo, hi)
    return tuple(index)
