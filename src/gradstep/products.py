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
``PLANNED_MAX_WORK`` multiply-adds is planned the first time its shapes,
dtypes and layouts come (``_plan``): computed both ways on its own operands,
it is split only if the blocks give every entry's bits and are faster by at
least ``MIN_GAIN`` (the best of ``TIMING_ROUNDS`` rounds each). Either way the
numbers are those of ``left @ right``; only the time differs.
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
#: The blocks are used when they take at most this share of the product's time.
MIN_GAIN = 0.95
TIMING_ROUNDS = 10
#: At most this many shapes are planned in a process (the rest: one product).
MAX_PLANS = 256

_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))
#: (shapes, dtypes, strides) -> how many blocks (1: one product)
_PLANS: dict[tuple, int] = {}


def matmul(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """``left @ right`` (``left`` of any rank, ``right`` a matrix), as a new array."""
    with config.product_threads(left, right):
        if left.ndim != 2 or right.ndim != 2:
            return left @ right
        work = left.shape[0] * left.shape[1] * right.shape[1]
        if not SMALL_PRODUCT_WORK < work <= PLANNED_MAX_WORK:
            return left @ right
        key = (left.shape, right.shape, left.dtype, right.dtype, left.strides, right.strides)
        blocks = _PLANS.get(key)
        if blocks is None:
            blocks = _plan(left, right, math.ceil(work / SMALL_PRODUCT_WORK))
            if len(_PLANS) < MAX_PLANS:
                _PLANS[key] = blocks
        return left @ right if blocks == 1 else in_blocks(left, right, blocks)


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


def _plan(left: np.ndarray, right: np.ndarray, blocks: int) -> int:
    """``blocks`` if the product in blocks gives the whole product's bits and
    is faster by ``MIN_GAIN``, else 1."""
    if left.dtype != right.dtype or left.dtype not in _FLOAT_TYPES:
        return 1
    whole, split = left @ right, in_blocks(left, right, blocks)
    if not np.array_equal(_bits(whole), _bits(split)):
        return 1
    whole_time = split_time = math.inf
    for _ in range(TIMING_ROUNDS):  # taking turns, the best of each (the first warms up)
        whole_time = min(whole_time, _time_of(left, right, 1))
        split_time = min(split_time, _time_of(left, right, blocks))
    return blocks if split_time <= MIN_GAIN * whole_time else 1


def _bits(array: np.ndarray) -> np.ndarray:
    return array.view(f"u{array.itemsize}")


def _time_of(left: np.ndarray, right: np.ndarray, blocks: int) -> float:
    """Seconds the product takes in ``blocks`` (1: as one product)."""
    start = time.perf_counter()
    if blocks == 1:
        left @ right
    else:
        in_blocks(left, right, blocks)
    return time.perf_counter() - start
