"""Where an optimizer's slots sit in memory, relative to their parameter.

A fused kernel streams through a parameter and its slots (Adam's two
moments) together, reading and writing each at the same index. When two of
those arrays start at addresses that agree modulo a megabyte, to within a few
hundred bytes, the kernel runs at half speed or worse (measured; the likely
cause is that their entries compete for the same cache sets, or that loads
look dependent on stores with the same low address bits). That happens all
the time in practice: equal-sized
arrays allocated one after another land exactly one size apart, and on huge
pages the low 21 bits of the address are physical. On this project's 2-core
Xeon an Adam kernel over 1M float32 entries took 0.9 ms with the arrays
apart and 1.8 to 4.7 ms with them aligned (``benchmarks/bench_optimizers.py
--sections layout``).

``slot_like`` therefore places slot number ``index`` of a large parameter at
a fixed, distinct distance from it modulo ``PERIOD``, at the cost of
``PERIOD`` bytes of address space that are mostly never touched.
"""

from __future__ import annotations

import numpy as np

#: The address bits that decide whether two streams collide (2 MiB: a huge page).
PERIOD = 1 << 21
#: Distance between consecutive slots of one parameter, modulo PERIOD: far from
#: every multiple of 512 KiB for up to eight slots.
STAGGER = (1 << 16) + (1 << 10)
#: Parameters below this many bytes fit in the core's own cache; their slots
#: are allocated plainly.
MIN_BYTES = 1 << 20


def slot_like(variable: np.ndarray, index: int, fill: float = 0.0) -> np.ndarray:
    """A C-ordered array shaped and typed like ``variable``, filled with ``fill``,
    starting ``index * STAGGER`` bytes after ``variable`` modulo ``PERIOD``."""
    if variable.nbytes < MIN_BYTES or not variable.flags.c_contiguous:
        return np.full_like(variable, fill)
    buffer = np.zeros(variable.nbytes + PERIOD, dtype=np.uint8)
    target = (variable.ctypes.data + index * STAGGER) % PERIOD
    start = (target - buffer.ctypes.data) % PERIOD
    slot = buffer[start : start + variable.nbytes].view(variable.dtype).reshape(variable.shape)
    if fill != 0:
        slot.fill(fill)
    return slot


def distance(first: np.ndarray, second: np.ndarray) -> int:
    """How far ``second`` starts after ``first``, modulo ``PERIOD``, in bytes."""
    return (second.ctypes.data - first.ctypes.data) % PERIOD
