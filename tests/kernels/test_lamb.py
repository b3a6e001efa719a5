"""The fused Lamb passes (numba) and their NumPy twins give the same numbers."""

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels import lamb
from gradstep.kernels.lamb import apply_direction, lamb_direction, trust_ratio

pytestmark = pytest.mark.requires("numba", extra="speed")


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")
    kernels.set_threads("auto")


def _step(variable, gradient, first_moment, second_moment, step, learning_rate=0.01):
    direction = lamb_direction(
        gradient, first_moment, second_moment, 0.9, 0.999, 1e-7, 1 - 0.9**step, 1 - 0.999**step
    )
    apply_direction(variable, direction, trust_ratio(variable, direction) * learning_rate)


def _run(backend, dtype, shape=(23, 7), steps=30):
    kernels.set_backend(backend)
    rng = np.random.default_rng(0)
    variable = rng.normal(size=shape).astype(dtype)
    moments = [np.zeros(shape, dtype), np.zeros(shape, dtype)]
    for step in range(1, steps + 1):
        # gradients spanning five orders of magnitude, so epsilon matters sometimes
        gradient = (rng.normal(size=shape) * 10.0 ** -(step % 5)).astype(dtype)
        _step(variable, gradient, *moments, step)
    return [variable, *moments]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numba_and_numpy_twins_agree_to_the_bit(dtype):
    for fused, twin in zip(_run("numba", dtype), _run("numpy", dtype), strict=True):
        assert fused.dtype == dtype
        np.testing.assert_array_equal(fused, twin)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_moments_below_the_smallest_normal_are_flushed_to_zero(backend):
    """A weight whose gradient stays 0 must not leave subnormal moments behind."""
    kernels.set_backend(backend)
    dtype = np.float32
    tiny = np.finfo(dtype).tiny
    variable = np.ones(6, dtype)
    first, second = np.full(6, 1.0001 * tiny, dtype), np.full(6, 1.0001 * tiny, dtype)
    for step in range(1, 4):
        _step(variable, np.zeros(6, dtype), first, second, step)
    assert (first == 0).all() and (second == 0).all()
    np.testing.assert_array_equal(variable, 1)


def test_the_step_is_the_learning_rate_times_the_weight_norm():
    """The trust ratio rescales Adam's direction to ``learning_rate * ||w||``."""
    rng = np.random.default_rng(2)
    variable = rng.normal(size=(8, 5))
    start = variable.copy()
    _step(variable, rng.normal(size=(8, 5)), np.zeros((8, 5)), np.zeros((8, 5)), step=1)
    np.testing.assert_allclose(np.linalg.norm(variable - start), 0.01 * np.linalg.norm(start))


def test_threads_split_large_parameters_without_changing_a_bit():
    shape = (kernels.PARALLEL_MIN_SIZE + 13,)
    results = []
    for threads in (3, 1):
        kernels.set_threads(threads)
        results.append(_run("numba", np.float32, shape=shape, steps=3))
    for split, whole in zip(*results, strict=True):
        np.testing.assert_array_equal(split, whole)


@pytest.mark.parametrize("backend, fused", [("numba", True), ("numpy", False)])
def test_the_backend_chooses_the_kernels_or_the_twins(monkeypatch, backend, fused):
    calls = []
    monkeypatch.setattr(kernels, "try_launch", lambda name, *args: calls.append(name) or True)
    monkeypatch.setattr(lamb, "lamb_direction_numpy", lambda *args: calls.append("numpy"))
    kernels.set_backend(backend)
    ones = np.ones(3)
    lamb_direction(ones, ones.copy(), ones.copy(), 0.9, 0.999, 1e-7, 0.1, 0.001)
    apply_direction(ones, np.ones(3), 0.5)
    assert calls == (["lamb_direction", "lamb_apply"] if fused else ["numpy"])
