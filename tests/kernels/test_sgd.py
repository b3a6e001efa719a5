"""The fused SGD kernels (numba) and their NumPy twins give the same numbers,
in Keras's momentum form and in PyTorch's, under a changing learning rate."""

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels import sgd
from gradstep.kernels.sgd import sgd_update

pytestmark = pytest.mark.requires("numba", extra="speed")

FORMS = ["keras", "pytorch"]


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")
    kernels.set_threads("auto")


def _run(backend, dtype, form, nesterov, shape=(23, 7), steps=30):
    kernels.set_backend(backend)
    rng = np.random.default_rng(0)
    variable = rng.normal(size=shape).astype(dtype)
    velocity = np.zeros(shape, dtype)
    for step in range(1, steps + 1):
        # gradients spanning five orders of magnitude, a rate and a momentum
        # that change every step (a schedule; a cycled momentum)
        gradient = (rng.normal(size=shape) * 10.0 ** -(step % 5)).astype(dtype)
        rate, momentum = 0.1 / step, 0.85 + 0.1 * (step % 3) / 2
        sgd_update(variable, gradient, velocity, rate, momentum, nesterov, form)
    return variable, velocity


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("form", FORMS)
def test_numba_and_numpy_twins_agree_to_the_bit(form, nesterov, dtype):
    fused = _run("numba", dtype, form, nesterov)
    twin = _run("numpy", dtype, form, nesterov)
    for a, b in zip(fused, twin, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("nesterov", [False, True])
def test_pytorch_form_is_torch_optim_sgd(backend, nesterov):
    """torch.optim.SGD's rule (dampening 0): b = mu b + g; w -= lr (g + mu b) or lr b,
    with the rate changing every step."""
    kernels.set_backend(backend)
    rng = np.random.default_rng(3)
    variable, buffer = np.ones(5), np.zeros(5)
    expected, expected_buffer = variable.copy(), buffer.copy()
    for step in range(1, 11):
        gradient, rate = rng.normal(size=5), 0.2 / step
        sgd_update(variable, gradient, buffer, rate, 0.9, nesterov, "pytorch")
        expected_buffer = 0.9 * expected_buffer + gradient
        direction = gradient + 0.9 * expected_buffer if nesterov else expected_buffer
        expected -= rate * direction
    np.testing.assert_allclose(buffer, expected_buffer, rtol=1e-14)
    np.testing.assert_allclose(variable, expected, rtol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("form", FORMS)
def test_the_buffer_never_holds_subnormal_numbers(backend, form):
    """A weight whose gradient stays exactly 0 leaves no subnormal buffer behind."""
    kernels.set_backend(backend)
    tiny = np.finfo(np.float32).tiny
    variable, buffer = np.ones(6, np.float32), np.full(6, 1.0001 * tiny, np.float32)
    for _ in range(3):
        sgd_update(variable, np.zeros(6, np.float32), buffer, 0.1, 0.9, True, form)
    np.testing.assert_array_equal(buffer, 0)


@pytest.mark.parametrize("nesterov", [False, True])
def test_threads_split_large_parameters_without_changing_a_bit(nesterov):
    shape = (kernels.PARALLEL_MIN_SIZE + 13,)
    results = []
    for threads in (3, 1):
        kernels.set_threads(threads)
        results.append(_run("numba", np.float32, "pytorch", nesterov, shape=shape, steps=3))
    for split, whole in zip(*results, strict=True):
        np.testing.assert_array_equal(split, whole)


@pytest.mark.parametrize(
    "backend, form, called",
    [
        ("numba", "keras", "sgd_momentum"),
        ("numba", "pytorch", "sgd_pytorch_momentum"),
        ("numpy", "keras", "sgd_momentum_numpy"),
        ("numpy", "pytorch", "sgd_pytorch_momentum_numpy"),
    ],
)
def test_the_backend_and_the_form_choose_the_kernel(monkeypatch, backend, form, called):
    calls = []
    monkeypatch.setattr(kernels, "try_launch", lambda name, *args: calls.append(name) or True)
    for twin in ("sgd_momentum_numpy", "sgd_pytorch_momentum_numpy"):
        monkeypatch.setattr(sgd, twin, lambda *args, twin=twin: calls.append(twin))
    kernels.set_backend(backend)
    sgd_update(np.ones(3), np.ones(3), np.zeros(3), 0.1, 0.9, False, form)
    assert calls == [called]


def test_non_contiguous_arrays_take_the_numpy_twin():
    kernels.set_backend("numba")
    variable, buffer = np.ones((4, 6))[:, ::2], np.ones((4, 6))[:, ::2]
    expected, expected_buffer = variable.copy(), buffer.copy()
    gradient = np.full((4, 3), 0.5)
    sgd.sgd_pytorch_momentum_numpy(expected, gradient, expected_buffer, 0.1, 0.9, True)
    sgd_update(variable, gradient, buffer, 0.1, 0.9, True, "pytorch")
    np.testing.assert_array_equal(variable, expected)
    np.testing.assert_array_equal(buffer, expected_buffer)
    # b = 0.9 + 0.5; w = 1 - 0.1 * (0.5 + 0.9 b)
    np.testing.assert_allclose(variable, 1 - 0.1 * (0.5 + 0.9 * 1.4))
