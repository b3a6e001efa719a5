"""The fused Ftrl kernel (numba) and its NumPy twin give the same numbers."""

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels import ftrl
from gradstep.kernels.ftrl import ftrl_update

pytestmark = pytest.mark.requires("numba", extra="speed")

# (power, l1, l2, l2_shrinkage): the square root, NumPy's powers, a fixed rate
SETTINGS = {
    "default": (0.5, 0.0, 0.0, 0.0),
    "regularized": (0.5, 0.05, 0.1, 0.1),
    "power": (0.3, 0.01, 0.05, 0.02),
    "fixed_rate": (0.0, 0.01, 0.0, 0.0),
}


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")
    kernels.set_threads("auto")


def _run(backend, dtype, setting, shape=(23, 7), steps=30):
    kernels.set_backend(backend)
    power, l1, l2, shrinkage = SETTINGS[setting]
    rng = np.random.default_rng(0)
    variable = rng.normal(size=shape).astype(dtype)
    accumulator, linear = np.full(shape, 0.1, dtype), np.zeros(shape, dtype)
    for step in range(1, steps + 1):
        # gradients spanning five orders of magnitude
        gradient = (rng.normal(size=shape) * 10.0 ** -(step % 5)).astype(dtype)
        ftrl_update(variable, gradient, accumulator, linear, 0.1 / step, power, l1, l2, shrinkage)
    return variable, accumulator, linear


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_numba_and_numpy_twins_agree_to_the_bit(setting, dtype):
    for fused, twin in zip(
        _run("numba", dtype, setting), _run("numpy", dtype, setting), strict=True
    ):
        assert fused.dtype == dtype
        np.testing.assert_array_equal(fused, twin)


def test_l1_sets_weights_to_exactly_zero():
    variable, _, linear = _run("numba", np.float64, "regularized")
    assert np.any(variable == 0)
    np.testing.assert_array_equal(variable == 0, np.abs(linear) <= 0.05)


@pytest.mark.parametrize("setting", ["default", "power"])
def test_threads_split_large_parameters_without_changing_a_bit(setting):
    shape = (kernels.PARALLEL_MIN_SIZE + 13,)
    results = []
    for threads in (3, 1):
        kernels.set_threads(threads)
        results.append(_run("numba", np.float32, setting, shape=shape, steps=3))
    for split, whole in zip(*results, strict=True):
        np.testing.assert_array_equal(split, whole)


@pytest.mark.parametrize("backend, fused", [("numba", True), ("numpy", False)])
def test_the_backend_chooses_the_kernel_or_the_twin(monkeypatch, backend, fused):
    calls = []
    monkeypatch.setattr(kernels, "try_launch", lambda name, *args: calls.append(name) or True)
    monkeypatch.setattr(ftrl, "ftrl_update_numpy", lambda *args: calls.append("numpy"))
    kernels.set_backend(backend)
    ones = np.ones(3)
    ftrl_update(ones, ones, ones.copy(), ones.copy(), 0.1, 0.5, 0.0, 0.0, 0.0)
    assert calls == (["ftrl"] if fused else ["numpy"])


def test_non_contiguous_arrays_take_the_numpy_twin():
    kernels.set_backend("numba")
    variable = np.ones((4, 6))[:, ::2]
    accumulator, linear = np.full((4, 3), 0.1), np.zeros((4, 3))
    expected = [variable.copy(), accumulator.copy(), linear.copy()]
    gradient = np.full((4, 3), 0.5)
    ftrl.ftrl_update_numpy(*expected[:1], gradient, *expected[1:], 0.5, 0.1, 0.0, 0.0, 0.0)
    ftrl_update(variable, gradient, accumulator, linear, 0.1, 0.5, 0.0, 0.0, 0.0)
    for result, twin in zip((variable, accumulator, linear), expected, strict=True):
        np.testing.assert_array_equal(result, twin)
