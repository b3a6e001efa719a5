"""Which of a step's gradients holds a NaN or an infinity, in one pass over
each (numba) and as a NumPy twin with the same answer.

``fit`` asks this before every update (``terminate_on_nan``, on by default),
so it reads every gradient at every step. For a float ``v``, ``v - v`` is 0
when ``v`` is finite and NaN when it is NaN or infinite, and NaN is the one
value that differs from itself: the fused pass ORs ``(v - v) != (v - v)``
over the array, a reduction LLVM vectorizes (an OR's order does not matter,
so the answer is exact). The twin takes the sum of squares (BLAS's dot: one
pass, no temporary array), which is NaN or infinite whenever an entry is,
and looks at every entry only when finite entries overflow the sum.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from gradstep import kernels

_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


def first_non_finite(arrays, whole: np.ndarray | None = None) -> int | None:
    """The position in ``arrays`` of the first array holding a NaN or an
    infinity, or None (entries that are None are skipped). ``whole``: one
    array that holds every entry of ``arrays`` (they are views into it) and
    only finite numbers besides, as fit's planned step keeps its gradients;
    it is read in one pass, and the arrays one by one only when it holds a
    NaN or an infinity."""
    passes: dict = {}  # the fused pass by dtype, looked up once per call
    if whole is not None and _finite(whole, passes):
        return None
    for index, array in enumerate(arrays):
        if array is not None and not _finite(array, passes):
            return index
    return None


def _finite(array: np.ndarray, passes: dict) -> bool:
    """Whether every entry of ``array`` is finite: by the fused pass where
    the array fits it and it is ready (``passes``, by dtype), else the twin."""
    if array.dtype in _FLOAT_TYPES and array.flags.carray:
        flat, found = array.reshape(-1), _FOUND.array
        kernel = passes.get(array.dtype, _NOT_LOOKED_UP)
        if kernel is _NOT_LOOKED_UP:
            kernel = passes[array.dtype] = kernels.ready_if_used(
                "non_finite", _compile, (flat, found), flat.size, fitting=True
            )
        if kernel is not None:
            kernel(flat, found)
            return not found[0]
    return all_finite_numpy(array)


_NOT_LOOKED_UP = object()


class _Found(threading.local):
    """Each thread's one-byte answer of the fused pass (fits may run in threads)."""

    def __init__(self):
        self.array = np.empty(1, np.uint8)


_FOUND = _Found()


def all_finite_numpy(array: np.ndarray) -> bool:
    """The twin: whether every entry of ``array`` is finite."""
    flat = np.asarray(array).reshape(-1)
    if flat.dtype in _FLOAT_TYPES and math.isfinite(flat @ flat):
        return True
    return bool(np.isfinite(flat).all())


def _compile():
    @kernels.jit()
    def non_finite(values, found):
        """``found[0] = 1`` if an entry of ``values`` is NaN or infinite, else 0."""
        seen = False
        for i in range(values.size):
            difference = values[i] - values[i]
            seen |= difference != difference
        found[0] = 1 if seen else 0

    return non_finite
