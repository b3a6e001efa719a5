"""The fused Adam kernel (numba) and its NumPy twin give the same numbers."""

import math

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels.adam import (
    PreparedAdam,
    adam_scalars,
    adam_update,
    adam_update_in_dtype,
    adam_update_numpy,
)
from gradstep.optimizers import Adam

pytestmark = pytest.mark.requires("numba", extra="speed")


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")


def _run(backend, dtype, amsgrad, steps=30):
    kernels.set_backend(backend)
    rng = np.random.default_rng(0)
    shape = (37, 11)
    variable = rng.normal(size=shape).astype(dtype)
    moments = [np.zeros(shape, dtype) for _ in range(3 if amsgrad else 2)]
    for step in range(1, steps + 1):
        # gradients spanning five orders of magnitude, so epsilon matters sometimes
        gradient = (rng.normal(size=shape) * 10.0 ** -(step % 5)).astype(dtype)
        alpha = 1e-3 * math.sqrt(1 - 0.999**step) / (1 - 0.9**step)
        max_moment = moments[2] if amsgrad else None
        adam_update(variable, gradient, moments[0], moments[1], max_moment, alpha, 0.9, 0.999, 1e-7)
    return [variable, *moments]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_numba_and_numpy_twins_agree_to_the_bit(dtype, amsgrad):
    for fused, twin in zip(
        _run("numba", dtype, amsgrad), _run("numpy", dtype, amsgrad), strict=True
    ):
        np.testing.assert_array_equal(fused, twin)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_nan_gradient_reaches_amsgrads_largest_v_in_both(dtype):
    """np.maximum keeps a NaN from either side; the kernel once took Python's
    max(), which drops one from its second argument."""

    def run(backend):
        kernels.set_backend(backend)
        arrays = [np.ones(4, dtype), np.array([np.nan, 1, 0, -0.0], dtype)]
        arrays += [np.zeros(4, dtype), np.zeros(4, dtype), np.full(4, 0.5, dtype)]
        adam_update(*arrays, 1e-3, 0.9, 0.999, 1e-7)
        return arrays

    for fused, twin in zip(run("numba"), run("numpy"), strict=True):
        bits = f"u{fused.itemsize}"
        np.testing.assert_array_equal(fused.view(bits), twin.view(bits))
    assert np.isnan(run("numba")[4][0])


def test_numpy_backend_runs_the_twin(monkeypatch):
    calls = []

    def spy(*args):
        calls.append(args)
        adam_update_numpy(*args)

    monkeypatch.setattr("gradstep.kernels.adam.adam_update_numpy", spy)
    kernels.set_backend("numpy")
    adam_update(np.ones(3), np.ones(3), np.zeros(3), np.zeros(3), None, 0.1, 0.9, 0.999, 1e-7)
    assert len(calls) == 1


def test_unknown_backend():
    with pytest.raises(ValueError, match="kernel backend must be one of"):
        kernels.set_backend("cuda")


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_moments_below_the_smallest_normal_are_flushed_to_zero(backend):
    """A weight whose gradient stays 0 must not leave subnormal moments behind."""
    kernels.set_backend(backend)
    variable = np.ones(4, np.float32)
    # one step of decay (x0.9, x0.999) takes both below float32.tiny = 1.1755e-38
    first, second = np.full(4, 1.2e-38, np.float32), np.full(4, 1.176e-38, np.float32)
    adam_update(variable, np.zeros(4, np.float32), first, second, None, 1e-3, 0.9, 0.999, 1e-7)
    assert (first == 0).all() and (second == 0).all()
    np.testing.assert_array_equal(variable, 1)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_step_scalars_are_in_the_parameter_dtype(dtype):
    scalars = adam_scalars(np.dtype(dtype), 1e-3, 0.9, 0.999, 1e-7)
    expected = (dtype(1e-3), dtype(1 - 0.9), dtype(1 - 0.999), dtype(1e-7), np.finfo(dtype).tiny)
    assert tuple(scalars) == expected
    assert all(type(scalar) is dtype for scalar in scalars)
    assert kernels.smallest_normal(dtype) == np.finfo(dtype).tiny


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("gradient_dtype", [np.float32, np.float64])
def test_a_prepared_update_gives_adam_update_in_dtypes_bits(backend, amsgrad, gradient_dtype):
    kernels.set_backend(backend)
    rng = np.random.default_rng(5)
    prepared_arrays = [rng.normal(size=(9, 4)).astype(np.float32)]
    prepared_arrays += [np.zeros((9, 4), np.float32) for _ in range(3 if amsgrad else 2)]
    plain_arrays = [array.copy() for array in prepared_arrays]
    if not amsgrad:
        prepared_arrays.append(None)
        plain_arrays.append(None)
    prepared = PreparedAdam(*prepared_arrays)
    for step in range(1, 6):
        gradient = rng.normal(size=(9, 4)).astype(gradient_dtype)
        scalars = adam_scalars(np.float32, 1e-2 * step, 0.9, 0.999, 1e-7)
        prepared.update(gradient, scalars)
        adam_update_in_dtype(plain_arrays[0], gradient, *plain_arrays[1:], scalars)
    for ours, theirs in zip(prepared_arrays, plain_arrays, strict=True):
        if ours is not None:
            np.testing.assert_array_equal(ours.view(np.uint32), theirs.view(np.uint32))


def test_the_optimizer_prepares_again_when_a_slot_is_replaced():
    optimizer = Adam(learning_rate=0.1)
    variable = np.ones(5, np.float32)
    optimizer.apply([np.ones(5, np.float32)], [variable])
    replaced = np.zeros(5, np.float32)
    optimizer.variables["momentum"][0] = replaced  # as state loaded into new arrays would be
    optimizer.apply([np.ones(5, np.float32)], [variable])
    assert replaced.any()  # the new array took the step's first moment
