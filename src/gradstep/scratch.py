"""Large arrays reused from one training step to the next.

A training step of a convnet allocates tens of megabytes of temporaries
(the windows ``im2col`` copies, the products, the slopes) and frees them all
by its end. The C allocator then hands that memory back to the operating
system (the top of its heap shrinks), and the next step takes it again, page
by page: each first touch of a 4 KiB page is a page fault. On the MNIST
convnet that was about 5,800 faults per step, and 18 of its 64 ms on one
thread (with the pool: 220 faults, 46 ms).

``empty(shape, dtype)`` therefore takes a large array from a pool of buffers
that ``fit``, ``evaluate`` and ``predict`` keep while they run (``reusing``),
and plain ``np.empty`` outside them. A buffer is handed out again only when
nothing but the pool refers to it: no array, no view of it, is alive
(``sys.getrefcount``; every view holds a reference to the buffer it looks
into). So an array the caller keeps (a model's output, a layer's output held
for its backward pass, an array a callback stores, a memoryview or an
array over one) is never overwritten (tests/test_scratch.py); only a raw
pointer kept without a reference (``array.ctypes.data``) would not be seen. A
request takes the smallest free buffer that holds it without wasting more
than half of it, so that the pool holds about what the step itself holds at
its peak; when the outermost ``reusing`` ends, the pool lets its buffers go.
"""

from __future__ import annotations

import contextlib
import math
import sys

import numpy as np

#: Arrays smaller than this come from ``np.empty`` (the allocator keeps
#: small blocks in its heap anyway).
MIN_BYTES = 1 << 18
#: The most buffers the pool tracks: beyond it, the oldest is let go (a
#: ``predict`` keeps every batch's output, which the pool need not follow).
MAX_BUFFERS = 64

_POOL: list[np.ndarray] = []
_DEPTH = 0


@contextlib.contextmanager
def reusing():
    """Inside it, ``empty`` reuses the buffers of earlier calls; when the
    outermost one ends, the buffers are let go."""
    global _DEPTH
    _DEPTH += 1
    try:
        yield
    finally:
        _DEPTH -= 1
        if not _DEPTH:
            _POOL.clear()


def _free_references() -> int | None:
    """``sys.getrefcount`` of a pool buffer nothing else refers to, as
    ``_free_buffer`` reads it (the pool's list, the loop's name, the call);
    None where Python counts no references (PyPy): then nothing is pooled."""
    if not hasattr(sys, "getrefcount"):
        return None
    _POOL.append(np.empty(0, np.uint8))
    try:
        return _references_in_loop()
    finally:
        _POOL.pop()


def _references_in_loop() -> int:
    for buffer in _POOL:
        return sys.getrefcount(buffer)
    return 0


_FREE = _free_references()


def _free_buffer(nbytes: int) -> np.ndarray | None:
    """The smallest buffer of the pool that nothing refers to and that holds
    ``nbytes`` bytes without wasting more than half of itself, or None."""
    best = None
    for buffer in _POOL:
        if nbytes <= buffer.nbytes <= 2 * nbytes and sys.getrefcount(buffer) == _FREE:
            if best is None or buffer.nbytes < best.nbytes:
                best = buffer
    return best


def empty(shape, dtype) -> np.ndarray:
    """An uninitialized C-contiguous array: a view of a pooled buffer inside
    ``reusing`` when it is large, else ``np.empty``."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if not _DEPTH or nbytes < MIN_BYTES or _FREE is None:
        return np.empty(shape, dtype)
    buffer = _free_buffer(nbytes)
    if buffer is None:
        if len(_POOL) >= MAX_BUFFERS:
            del _POOL[0]
        buffer = np.empty(nbytes, np.uint8)
        _POOL.append(buffer)
    return buffer[:nbytes].view(dtype).reshape(shape)


def zeros(shape, dtype) -> np.ndarray:
    """``empty`` filled with zeros."""
    array = empty(shape, dtype)
    array.fill(0)
    return array
