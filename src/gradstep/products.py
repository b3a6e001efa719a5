"""The layers' matrix products: ``left @ right`` through NumPy's BLAS, on the
thread count ``config.product_threads`` picks, and in blocks of columns (or
rows) where that is measured faster and gives the same bits.

OpenBLAS has a second kernel for small products on its AVX-512 cores: it
takes a product of at most 100**3 multiply-adds without first packing the
matrices into blocks. Just above that size the packing costs more than it
saves: the reference model's first layer, 32 x 64 times 64 x 512 (2**20
multiply-adds), took 26.7 µs as one product and 22.0 µs as two of 256 columns;
its kernel's slope, 64 x 32 times 32 x 512, 29.0 and 24.4 (float32, one
thread, a Zen 4 EPYC). Other shapes gain less, or lose (up to 1.12x), and on
AVX2 cores the blocks are slower (1.10x); some shapes' blocks sum an entry
in another order than the whole product, which changes its last bit.

So each product of more than ``SMALL_PRODUCT_WORK`` and at most
``PLANNED_MAX_WORK`` multiply-adds is planned by its first calls, for its
shapes, dtypes and layouts (``_Trial``): the first is computed both ways and
compared bit for bit; if the blocks give every entry's bits, the next
``2 * TRIAL_CALLS`` calls are made whole and in blocks in turns, timed where
they run (in the fit's own steps, caches as they are there), and the blocks
are kept if the best of their times is at most ``MIN_GAIN`` of the best
whole one. Either way the numbers are those of ``left @ right``; only the
time differs, and trying costs one product, once.
"""

from __future__ import annotations

import math
import time

import numpy as np

from gradstep import config

#: OpenBLAS's bound for its small-matrix kernel (multiply-adds): a block's size.
SMALL_PRODUCT_WORK = 100**3
#: The largest product planned (multiply-adds); larger ones gain nothing, measured.
PLANNED_MAX_WORK = 4 * SMALL_PRODUCT_WORK
#: The blocks are kept when the best of their times is at most this share of
#: the best whole product's.
MIN_GAIN = 0.95
#: The calls timed each way before a product's plan is decided.
TRIAL_CALLS = 8
#: At most this many shapes are planned in a process (the rest: one product).
MAX_PLANS = 256

_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _Trial:
    """A product's plan while its first calls are timed: how many blocks are
    tried, how many calls were made, and the best time of each way."""

    __slots__ = ("blocks", "calls", "best")

    def __init__(self, blocks: int):
        self.blocks, self.calls, self.best = blocks, 0, [math.inf, math.inf]

    def run(self, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, int | None]:
        """This call's product, by the way its turn says, and the plan once
        decided (else None)."""
        in_turn = self.calls % 2
        start = time.perf_counter()
        out = in_blocks(left, right, self.blocks) if in_turn else left @ right
        self.best[in_turn] = min(self.best[in_turn], time.perf_counter() - start)
        self.calls += 1
        if self.calls < 2 * TRIAL_CALLS:
            return out, None
        whole, split = self.best
        return out, self.blocks if split <= MIN_GAIN * whole else 1


#: (shapes, dtypes, strides) -> how many blocks (1: one product), or its _Trial
_PLANS: dict[tuple, int | _Trial] = {}


def matmul(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``left @ right`` (``left`` of any rank, ``right`` a matrix), as a new array."""
    with config.product_threads(left, right):
        if left.ndim != 2 or right.ndim != 2:
            return left @ right
        work = left.shape[0] * left.shape[1] * right.shape[1]
        if not SMALL_PRODUCT_WORK < work <= PLANNED_MAX_WORK:
            return left @ right
        key = (left.shape, right.shape, left.dtype, right.dtype, left.strides, right.strides)
        plan = _PLANS.get(key)
        if plan is None:
            return _first_call(key, left, right, math.ceil(work / SMALL_PRODUCT_WORK))
        if type(plan) is _Trial:
            out, decided = plan.run(left, right)
            if decided is not None:
                _PLANS[key] = decided
            return out
        return left @ right if plan == 1 else in_blocks(left, right, plan)


def _first_call(key: tuple, left: np.ndarray, right: np.ndarray, blocks: int) -> np.ndarray:
    """The product; and its plan: 1 when it cannot gain (mixed or other
    dtypes, or blocks whose bits differ), else a ``_Trial`` of ``blocks``."""
    whole = left @ right
    if len(_PLANS) >= MAX_PLANS:
        return whole
    same_bits = left.dtype == right.dtype and left.dtype in _FLOAT_TYPES
    if same_bits:
        same_bits = np.array_equal(_bits(whole), _bits(in_blocks(left, right, blocks)))
    _PLANS[key] = _Trial(blocks) if same_bits else 1
    return whole


def in_blocks(left: np.ndarray, right: np.ndarray, blocks: int) -> np.ndarray:
    """``left @ right`` for two matrices, as ``blocks`` products along the
    longer side of the result."""
    rows, columns = left.shape[0], right.shape[1]
    out = np.empty((rows, columns), np.result_type(left, right))
    along_columns = columns >= rows
    size = columns if along_columns else rows
    bounds = [size * block // blocks for block in range(blocks + 1)]
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        if along_columns:
            np.matmul(left, right[:, start:stop], out=out[:, start:stop])
        else:
            np.matmul(left[start:stop], right, out=out[start:stop])
    return out


def _bits(array: np.ndarray) -> np.ndarray:
    return array.view(f"u{array.itemsize}")
