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

import functools
import math
import time
from collections.abc import Callable

import numpy as np

from gradstep import config

#: OpenBLAS's bound for its small-matrix kernel (multiply-adds): a block's size.
SMALL_PRODUCT_WORK = 100**3
#: The largest product planned (multiply-adds); larger ones gain nothing, measured.
PLANNED_MAX_WORK = 4 * SMALL_PRODUCT_WORK
#: The blocks are kept when the best of their times is at most this share of
#: the best whole product's.
MIN_GAIN = 0.97
#: The calls timed each way before a product's plan is decided.
TRIAL_CALLS = 16
#: The calls made whole, untimed, before the trial (caches and clocks settle).
WARMUP_CALLS = 64
#: At most this many shapes are planned in a process (the rest: one product).
MAX_PLANS = 256

_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _Trial:
    """A product's plan while its first calls are timed: how many blocks are
    tried, how many calls were made, and the best time of each way."""

    __slots__ = ("blocks", "calls", "best")

    def __init__(self, blocks: int):
        self.blocks, self.calls, self.best = blocks, -WARMUP_CALLS, [math.inf, math.inf]

    def run(self, left: np.ndarray, right: np.ndarray, out) -> tuple[np.ndarray, int | None]:
        """This call's product, by the way its turn says, and the plan once
        decided (else None)."""
        if self.calls < 0:  # warming up: not timed
            self.calls += 1
            return whole(left, right, out), None
        in_turn = self.calls % 2
        start = time.perf_counter()
        out = in_blocks(left, right, self.blocks, out) if in_turn else whole(left, right, out)
        self.best[in_turn] = min(self.best[in_turn], time.perf_counter() - start)
        self.calls += 1
        if self.calls < 2 * TRIAL_CALLS:
            return out, None
        best_whole, best_split = self.best
        return out, self.blocks if best_split <= MIN_GAIN * best_whole else 1


#: (shapes, dtype, strides) -> how many blocks (1: one product), or its _Trial
_PLANS: dict[tuple, int | _Trial] = {}


def matmul(left: np.ndarray, right: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``left @ right`` (``left`` of any rank, ``right`` a matrix), as a new
    array, or written into ``out`` (a C-contiguous matrix of the product's
    shape and dtype, which fit's planned step keeps from step to step)."""
    with config.product_threads(left, right):
        key = _plan_key(left, right)
        if key is None:
            return whole(left, right, out)
        plan = _PLANS.get(key)
        if plan is None:
            work = left.shape[0] * left.shape[1] * right.shape[1]
            return _first_call(key, left, right, math.ceil(work / SMALL_PRODUCT_WORK), out)
        if type(plan) is _Trial:
            product, decided = plan.run(left, right, out)
            if decided is not None:
                _PLANS[key] = decided
            return product
        return whole(left, right, out) if plan == 1 else in_blocks(left, right, plan, out)


def bind(left: np.ndarray, right: np.ndarray, out: np.ndarray) -> Callable | None:
    """``matmul(left, right, out)`` as a function of its left operand, for a
    caller that makes the same product into the same ``out`` at every step
    (fit's planned step): ``product(new_left)`` writes ``new_left @ right``
    into ``out`` as the product's plan decided, its blocks' views made once.
    ``new_left`` must have ``left``'s shape, dtype and strides, and ``right``
    and ``out`` must stay the arrays they are (written in place only). None
    while the plan is still being tried (call ``matmul`` until then).

    It leaves BLAS's thread count alone, where ``matmul`` limits a small
    product to one thread (``config.product_threads``): bind only while one
    thread is in effect (``config.blas_threads_in_effect() == 1``)."""
    key = _plan_key(left, right)
    plan = 1 if key is None else _PLANS.get(key)
    if plan is None and len(_PLANS) >= MAX_PLANS:
        plan = 1  # (no room for its plan: made whole, as matmul makes it)
    if type(plan) is not int:
        return None
    if plan == 1:
        return functools.partial(_into_views, views=((right, out),))
    rows, columns = left.shape[0], right.shape[1]
    if columns >= rows:
        views = tuple((right[:, part], out[:, part]) for part in _parts(columns, plan))
        return functools.partial(_into_views, views=views)
    rows_out = tuple((part, out[part]) for part in _parts(rows, plan))
    return functools.partial(_rows_into_views, right=right, rows_out=rows_out)


def _into_views(left, views) -> None:
    """``left`` times each right operand, into its ``out``."""
    for right_part, out_part in views:
        np.matmul(left, right_part, out=out_part)


def _rows_into_views(left, right, rows_out) -> None:
    """Each slice of ``left``'s rows times ``right``, into its ``out``."""
    for part, out_part in rows_out:
        np.matmul(left[part], right, out=out_part)


def _plan_key(left: np.ndarray, right: np.ndarray) -> tuple | None:
    """What a product's plan is kept under (its shapes, dtype and layouts),
    or None for a product that is not planned (always made whole)."""
    if left.ndim != 2 or right.ndim != 2 or left.dtype != right.dtype:
        return None
    if left.dtype not in _FLOAT_TYPES:
        return None
    work = left.shape[0] * left.shape[1] * right.shape[1]
    if not SMALL_PRODUCT_WORK < work <= PLANNED_MAX_WORK:
        return None
    return (left.shape, right.shape, left.dtype, left.strides, right.strides)


def whole(left: np.ndarray, right: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``left @ right`` as one product (into ``out`` if given)."""
    return left @ right if out is None else np.matmul(left, right, out=out)


def _first_call(key: tuple, left: np.ndarray, right: np.ndarray, blocks: int, out) -> np.ndarray:
    """The product; and its plan: 1 when it cannot gain (blocks whose bits
    differ), else a ``_Trial`` of ``blocks``."""
    product = whole(left, right, out)
    if len(_PLANS) >= MAX_PLANS:
        return product
    same_bits = np.array_equal(_bits(product), _bits(in_blocks(left, right, blocks)))
    _PLANS[key] = _Trial(blocks) if same_bits else 1
    return product


def in_blocks(
    left: np.ndarray, right: np.ndarray, blocks: int, out: np.ndarray | None = None
) -> np.ndarray:
    """``left @ right`` for two matrices, as ``blocks`` products along the
    longer side of the result (into ``out`` if given)."""
    rows, columns = left.shape[0], right.shape[1]
    if out is None:
        out = np.empty((rows, columns), np.result_type(left, right))
    if columns >= rows:
        for part in _parts(columns, blocks):
            np.matmul(left, right[:, part], out=out[:, part])
    else:
        for part in _parts(rows, blocks):
            np.matmul(left[part], right, out=out[part])
    return out


@functools.lru_cache(maxsize=MAX_PLANS)
def _parts(size: int, blocks: int) -> tuple[slice, ...]:
    """``range(size)`` in ``blocks`` slices of sizes that differ by at most one."""
    bounds = [size * block // blocks for block in range(blocks + 1)]
    return tuple(slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:], strict=True))


def _bits(array: np.ndarray) -> np.ndarray:
    return array.view(f"u{array.itemsize}")
