"""The fused Adafactor passes (numba) and their NumPy twins give the same numbers."""

import numpy as np
import pytest

from gradstep import kernels, optimizers
from gradstep.kernels import adafactor
from gradstep.kernels.adafactor import apply_update, factored_update, unfactored_update

pytestmark = pytest.mark.requires("numba", extra="speed")

# a scalar and a vector (not factored), a matrix and a stack of matrices (factored)
SHAPES = [(), (7,), (23, 7), (3, 5, 4)]


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")
    kernels.set_threads("auto")


def _run(backend, dtype, shapes=SHAPES, steps=30, **options):
    """Adafactor's whole step: the fused passes and the NumPy means between them."""
    kernels.set_backend(backend)
    rng = np.random.default_rng(0)
    variables = [rng.normal(size=shape).astype(dtype) for shape in shapes]
    optimizer = optimizers.Adafactor(learning_rate=0.05, **options)
    for step in range(1, steps + 1):
        # gradients spanning five orders of magnitude
        scale = 10.0 ** -(step % 5)
        gradients = [(rng.normal(size=s) * scale).astype(dtype) for s in shapes]
        optimizer.apply(gradients, variables)
    slots = [a for arrays in optimizer.variables.values() for a in arrays if a is not None]
    return variables + slots


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"clip_threshold": 0.1, "beta_2_decay": -0.5}])
def test_numba_and_numpy_twins_agree_to_the_bit(dtype, options):
    fused, twin = _run("numba", dtype, **options), _run("numpy", dtype, **options)
    assert len(fused) == 4 + 2 * 2 + 4  # variables, row and column means, velocities
    for a, b in zip(fused, twin, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


def test_threads_split_large_parameters_without_changing_a_bit():
    # a vector and a matrix above kernels.PARALLEL_MIN_SIZE entries
    shapes = [(kernels.PARALLEL_MIN_SIZE + 13,), (513, 520)]
    results = []
    for threads in (3, 1):
        kernels.set_threads(threads)
        results.append(_run("numba", np.float32, shapes=shapes, steps=3))
    for split, whole in zip(*results, strict=True):
        np.testing.assert_array_equal(split, whole)


def test_the_factored_velocity_is_the_outer_product_of_the_shares_and_means():
    rng = np.random.default_rng(1)
    gradient = rng.normal(size=(2, 3, 4))
    row_share, column_mean = rng.random((2, 3)) + 0.5, rng.random((2, 4)) + 0.5
    velocity, update = np.empty_like(gradient), np.empty_like(gradient)
    kernels.set_backend("numba")
    factored_update(gradient, row_share, column_mean, velocity, out=update)
    expected = np.einsum("br,bc->brc", row_share, column_mean)
    np.testing.assert_array_equal(velocity, expected)
    np.testing.assert_array_equal(update, gradient / np.sqrt(expected))


@pytest.mark.parametrize("backend, fused", [("numba", True), ("numpy", False)])
def test_the_backend_chooses_the_kernels_or_the_twins(monkeypatch, backend, fused):
    calls = []
    monkeypatch.setattr(kernels, "try_launch", lambda name, *args: calls.append(name) or True)
    monkeypatch.setattr(kernels, "ready", lambda name, *_: lambda *a: calls.append(name))
    monkeypatch.setattr(adafactor, "unfactored_update_numpy", lambda *a: calls.append("numpy"))
    kernels.set_backend(backend)
    ones, matrix = np.ones(3), np.ones((2, 3))
    factored_update(matrix, np.ones(2), np.ones(3), matrix.copy(), out=matrix.copy())
    unfactored_update(ones, ones.copy(), 0.5, 1e-30)
    apply_update(ones, np.ones(3), 0.1, 1.0)
    kernel_names = ["adafactor_factored", "adafactor_unfactored", "adafactor_apply"]
    assert calls == (kernel_names if fused else ["numpy"])
