"""The layers' matrix products (gradstep.products): the numbers are always
``left @ right``'s, bit for bit; a product is computed in blocks only when
that gave the same bits and was measured faster (here with a fake clock, so
that no test depends on the machine's speed)."""

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


def _clock(monkeypatch, whole: float, blocks: float):
    """``_time_of`` reports ``whole`` seconds for one product, ``blocks`` for
    the product in blocks."""

    monkeypatch.setattr(
        products, "_time_of", lambda left, right, count: whole if count == 1 else blocks
    )


SHAPES = [(32, 64, 512), (64, 32, 512), (512, 32, 64), (8, 128, 1000), (16, 5, 20), (40, 300, 400)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, inner, columns", SHAPES)
def test_the_numbers_are_the_whole_products_whatever_the_plan(rows, inner, columns, dtype):
    rng = np.random.default_rng(rows + inner + columns)
    left = rng.normal(size=(rows, inner)).astype(dtype)
    right = rng.normal(size=(inner, columns)).astype(dtype)
    for a, b in itertools.product([left, np.asfortranarray(left)], [right, right.T.copy().T]):
        for _ in range(2):  # planned at the first call, taken from the plan at the second
            np.testing.assert_array_equal(_bits(products.matmul(a, b)), _bits(a @ b))


def test_a_product_of_any_rank_or_dtype_is_numpys():
    rng = np.random.default_rng(0)
    sequences = rng.normal(size=(4, 30, 64)).astype(np.float32)
    kernel = rng.normal(size=(64, 512)).astype(np.float32)
    np.testing.assert_array_equal(products.matmul(sequences, kernel), sequences @ kernel)
    integers = np.arange(32 * 64).reshape(32, 64) % 7
    np.testing.assert_array_equal(products.matmul(integers, kernel), integers @ kernel)
    assert products.matmul(integers, kernel).dtype == (integers @ kernel).dtype


@pytest.mark.parametrize("rows, columns", [(32, 512), (512, 32)])
def test_blocks_measured_faster_with_the_same_bits_are_used(monkeypatch, rows, columns):
    _clock(monkeypatch, whole=1.0, blocks=0.8)
    calls = []

    def same_bits_in_blocks(left, right, blocks):  # (whatever this machine's BLAS does)
        calls.append(blocks)
        return left @ right

    monkeypatch.setattr(products, "in_blocks", same_bits_in_blocks)
    rng = np.random.default_rng(1)
    left = rng.normal(size=(rows, 64)).astype(np.float32)
    right = rng.normal(size=(64, columns)).astype(np.float32)
    for _ in range(3):
        products.matmul(left, right)
    assert list(products._PLANS.values()) == [2]  # 2**20 multiply-adds: two blocks of 100**3
    assert calls == [2] * 4  # once to compare the bits, then at each call


def test_blocks_are_not_used_when_slower_or_when_their_bits_differ(monkeypatch):
    rng = np.random.default_rng(2)
    left = rng.normal(size=(32, 64)).astype(np.float32)
    right = rng.normal(size=(64, 512)).astype(np.float32)
    _clock(monkeypatch, whole=1.0, blocks=0.96)
    products.matmul(left, right)
    assert list(products._PLANS.values()) == [1]
    products._PLANS.clear()
    _clock(monkeypatch, whole=1.0, blocks=0.5)
    in_blocks = products.in_blocks

    def off_by_a_bit(*args):
        out = in_blocks(*args)
        out[0, 0] = np.nextafter(out[0, 0], np.inf)
        return out

    monkeypatch.setattr(products, "in_blocks", off_by_a_bit)
    np.testing.assert_array_equal(products.matmul(left, right), left @ right)
    assert list(products._PLANS.values()) == [1]


def test_small_large_and_mixed_products_are_not_planned(monkeypatch):
    _clock(monkeypatch, whole=1.0, blocks=0.5)
    rng = np.random.default_rng(3)
    small = rng.normal(size=(32, 10)), rng.normal(size=(10, 512))
    large = rng.normal(size=(256, 256)), rng.normal(size=(256, 256))
    mixed = rng.normal(size=(32, 64)).astype(np.float32), rng.normal(size=(64, 512))
    for left, right in (small, large):
        products.matmul(left, right)
    assert products._PLANS == {}
    np.testing.assert_array_equal(products.matmul(*mixed), mixed[0] @ mixed[1])
    assert list(products._PLANS.values()) == [1]


def test_the_plans_are_bounded(monkeypatch):
    _clock(monkeypatch, whole=1.0, blocks=1.0)
    monkeypatch.setattr(products, "MAX_PLANS", 2)
    rng = np.random.default_rng(4)
    for rows in (32, 33, 34):
        products.matmul(rng.normal(size=(rows, 64)), rng.normal(size=(64, 512)))
    assert len(products._PLANS) == 2


def test_in_blocks_splits_the_longer_side():
    rng = np.random.default_rng(5)
    for rows, columns in [(10, 1000), (1000, 10), (7, 7)]:
        left, right = rng.normal(size=(rows, 20)), rng.normal(size=(20, columns))
        np.testing.assert_allclose(products.in_blocks(left, right, 3), left @ right)
