"""The layers' matrix products (gradstep.products): the numbers are always
``left @ right``'s, bit for bit; a product is computed in blocks only when
that gave the same bits and its calls in blocks were timed faster (here on a
fake clock, so that no test depends on the machine's speed)."""

import itertools

import numpy as np
import pytest

from gradstep import products


@pytest.fixture(autouse=True)
def _fresh_plans():
    products._PLANS.clear()
    yield
    products._PLANS.clear()


def _bits(array):
    return array.view(f"u{array.itemsize}")


class _Clock:
    """``time.perf_counter`` for ``products``: a call whole takes ``whole``
    seconds, one in blocks ``blocks``."""

    def __init__(self, monkeypatch, whole: float, blocks: float):
        self.now, self.whole, self.blocks, self.started = 0.0, whole, blocks, False
        real = products.in_blocks

        def in_blocks(*args):
            self.now += self.blocks - self.whole  # (each call reads the clock twice)
            return real(*args)

        monkeypatch.setattr(products, "in_blocks", in_blocks)
        monkeypatch.setattr(products.time, "perf_counter", self.read)

    def read(self):
        self.started = not self.started
        if not self.started:  # the end of a timed call: it took `whole`, or `blocks`
            self.now += self.whole
        return self.now


def _operands(rows, inner, columns, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(rows, inner)).astype(dtype),
        rng.normal(size=(inner, columns)).astype(dtype),
    )


SHAPES = [(32, 64, 512), (64, 32, 512), (512, 32, 64), (8, 128, 1000), (16, 5, 20), (40, 300, 400)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, inner, columns", SHAPES)
def test_the_numbers_are_the_whole_products_whatever_the_plan(rows, inner, columns, dtype):
    left, right = _operands(rows, inner, columns, dtype, seed=rows + inner + columns)
    for a, b in itertools.product([left, np.asfortranarray(left)], [right, right.T.copy().T]):
        for _ in range(1 + products.WARMUP_CALLS + 2 * products.TRIAL_CALLS):  # then decided
            np.testing.assert_array_equal(_bits(products.matmul(a, b)), _bits(a @ b))
    assert not any(type(plan) is products._Trial for plan in products._PLANS.values())


@pytest.mark.parametrize("rows, inner, columns", SHAPES)
def test_a_product_written_into_out_is_the_whole_products(rows, inner, columns, monkeypatch):
    """fit's planned step hands its own arrays: every call, tried, in blocks
    or whole, writes ``left @ right``'s bits into them and returns them."""
    _Clock(monkeypatch, whole=1.0, blocks=0.5)  # (so that the blocks are kept where tried)
    left, right = _operands(rows, inner, columns, seed=rows * columns)
    out = np.empty((rows, columns), np.float32)
    for _ in range(1 + products.WARMUP_CALLS + 2 * products.TRIAL_CALLS + 2):
        out.fill(np.nan)
        assert products.matmul(left, right, out) is out
        np.testing.assert_array_equal(_bits(out), _bits(left @ right))
    mixed = np.empty((rows, columns))
    assert products.matmul(left, right.astype(np.float64), mixed) is mixed
    np.testing.assert_array_equal(mixed, left @ right.astype(np.float64))


def test_a_product_of_any_rank_or_dtype_is_numpys():
    rng = np.random.default_rng(0)
    sequences = rng.normal(size=(4, 30, 64)).astype(np.float32)
    kernel = rng.normal(size=(64, 512)).astype(np.float32)
    np.testing.assert_array_equal(products.matmul(sequences, kernel), sequences @ kernel)
    integers = np.arange(32 * 64).reshape(32, 64) % 7
    np.testing.assert_array_equal(products.matmul(integers, kernel), integers @ kernel)
    assert products.matmul(integers, kernel).dtype == (integers @ kernel).dtype


def _same_bits_blocks(monkeypatch):
    """Blocks that give the whole product's bits on any BLAS, counting calls."""
    calls = []

    def in_blocks(left, right, blocks, out=None):
        calls.append(blocks)
        return left @ right

    monkeypatch.setattr(products, "in_blocks", in_blocks)
    return calls


@pytest.mark.parametrize("rows, columns", [(32, 512), (512, 32)])
def test_blocks_timed_faster_with_the_same_bits_are_kept(monkeypatch, rows, columns):
    calls = _same_bits_blocks(monkeypatch)
    _Clock(monkeypatch, whole=1.0, blocks=0.8)
    left, right = _operands(rows, 64, columns)
    trial = 2 * products.TRIAL_CALLS
    for _ in range(1 + products.WARMUP_CALLS + trial + 3):
        products.matmul(left, right)
    assert list(products._PLANS.values()) == [2]  # 2**20 multiply-adds: two blocks of 100**3
    # once to compare the bits, none while warming up, every other call of the
    # trial, then every call
    assert len(calls) == 1 + trial // 2 + 3


def test_blocks_are_dropped_when_slower_or_when_their_bits_differ(monkeypatch):
    left, right = _operands(32, 64, 512)
    _same_bits_blocks(monkeypatch)
    _Clock(monkeypatch, whole=1.0, blocks=0.98)
    for _ in range(1 + products.WARMUP_CALLS + 2 * products.TRIAL_CALLS):
        products.matmul(left, right)
    assert list(products._PLANS.values()) == [1]
    products._PLANS.clear()
    monkeypatch.undo()
    real = products.in_blocks

    def off_by_a_bit(*args):
        out = real(*args)
        out[0, 0] = np.nextafter(out[0, 0], np.inf)
        return out

    monkeypatch.setattr(products, "in_blocks", off_by_a_bit)
    np.testing.assert_array_equal(products.matmul(left, right), left @ right)
    assert list(products._PLANS.values()) == [1]  # decided at once: no trial


def test_small_large_and_mixed_products_are_not_tried():
    rng = np.random.default_rng(3)
    small = rng.normal(size=(32, 10)), rng.normal(size=(10, 512))
    large = rng.normal(size=(256, 256)), rng.normal(size=(256, 256))
    mixed = rng.normal(size=(32, 64)).astype(np.float32), rng.normal(size=(64, 512))
    for left, right in (small, large):
        products.matmul(left, right)
    np.testing.assert_array_equal(products.matmul(*mixed), mixed[0] @ mixed[1])
    assert products._PLANS == {}


def test_the_plans_are_bounded(monkeypatch):
    monkeypatch.setattr(products, "MAX_PLANS", 2)
    for rows in (32, 33, 34):
        left, right = _operands(rows, 64, 512, np.float64)
        np.testing.assert_array_equal(products.matmul(left, right), left @ right)
    assert len(products._PLANS) == 2
    out = np.empty((34, 512))
    bound = products.bind(left, right, out)  # (the shape left without a plan: whole)
    bound(left)
    np.testing.assert_array_equal(out, left @ right)


def test_in_blocks_splits_the_longer_side():
    rng = np.random.default_rng(5)
    for rows, columns in [(10, 1000), (1000, 10), (7, 7)]:
        left, right = rng.normal(size=(rows, 20)), rng.normal(size=(20, columns))
        np.testing.assert_allclose(products.in_blocks(left, right, 3), left @ right)


@pytest.mark.parametrize("rows, inner, columns", [(32, 64, 512), (512, 32, 64), (16, 5, 20)])
def test_a_bound_product_writes_its_plans_product(monkeypatch, rows, inner, columns):
    """``bind``: None while the plan is tried; then, for new left operands, the
    plan's product into the same ``out``: ``left @ right``'s bits, in blocks
    where the plan kept them (here, by the fake clock, wherever this BLAS's
    blocks give the whole product's bits)."""
    real_in_blocks = products.in_blocks
    _Clock(monkeypatch, whole=1.0, blocks=0.8)
    left, right = _operands(rows, inner, columns)
    out = np.empty((rows, columns), np.float32)
    products.matmul(left, right, out)  # (compares the blocks' bits)
    while products._PLANS and type(next(iter(products._PLANS.values()))) is not int:
        assert products.bind(left, right, out) is None  # (still tried)
        products.matmul(left, right, out)
    plan = next(iter(products._PLANS.values()), 1)
    assert plan == 1 or rows * inner * columns > products.SMALL_PRODUCT_WORK
    bound = products.bind(left, right, out)
    for seed in (1, 2):
        new_left = _operands(rows, inner, columns, seed=seed)[0]
        right *= 1.5  # (the right operand is read where it is, as a layer's kernel)
        assert bound(new_left) is None
        expected = new_left @ right if plan == 1 else real_in_blocks(new_left, right, plan)
        np.testing.assert_array_equal(_bits(out), _bits(expected))
        np.testing.assert_array_equal(_bits(expected), _bits(new_left @ right))
