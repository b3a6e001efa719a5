"""The fused RMSprop kernel (numba) and its NumPy twin give the same numbers,
with Keras's momentum buffer and with PyTorch's, under a changing learning rate."""

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels import rmsprop
from gradstep.kernels.rmsprop import rmsprop_update

pytestmark = pytest.mark.requires("numba", extra="speed")

# (centered, epsilon inside the square root, epsilon outside it)
SETTINGS = {
    "plain": (False, 1e-7, 0.0),
    "centered": (True, 1e-7, 0.0),
    "pytorch_epsilon": (False, 0.0, 1e-8),
    "pytorch_epsilon_centered": (True, 0.0, 1e-8),
}
FORMS = ["keras", "pytorch"]


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")
    kernels.set_threads("auto")


def _run(backend, dtype, setting, form, shape=(23, 7), steps=30):
    kernels.set_backend(backend)
    centered, eps_inside, eps_outside = SETTINGS[setting]
    rng = np.random.default_rng(0)
    variable = rng.normal(size=shape).astype(dtype)
    mean_square, mean_gradient, buffer = (np.zeros(shape, dtype) for _ in range(3))
    for step in range(1, steps + 1):
        # gradients spanning five orders of magnitude (so epsilon matters
        # sometimes), a rate and a momentum that change every step
        gradient = (rng.normal(size=shape) * 10.0 ** -(step % 5)).astype(dtype)
        rate, momentum = 1e-2 / step, 0.8 + 0.1 * (step % 2)
        rmsprop_update(
            variable,
            gradient,
            mean_square,
            mean_gradient if centered else None,
            buffer,
            rate,
            0.9,
            momentum,
            eps_inside,
            eps_outside,
            form,
        )
    return variable, mean_square, mean_gradient, buffer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_numba_and_numpy_twins_agree_to_the_bit(setting, form, dtype):
    fused = _run("numba", dtype, setting, form)
    twin = _run("numpy", dtype, setting, form)
    for a, b in zip(fused, twin, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("centered", [False, True])
def test_pytorch_form_is_torch_optim_rmsprop(backend, centered):
    """torch.optim.RMSprop's rule: b = mu b + g / (sqrt(d) + eps); w -= lr b,
    with the rate changing every step."""
    kernels.set_backend(backend)
    rng = np.random.default_rng(3)
    variable, square, average, buffer = np.ones(5), np.zeros(5), np.zeros(5), np.zeros(5)
    expected, s, a, b = variable.copy(), square.copy(), average.copy(), buffer.copy()
    for step in range(1, 11):
        gradient, rate = rng.normal(size=5), 0.05 / step
        mean_gradient = average if centered else None
        rmsprop_update(
            variable, gradient, square, mean_gradient, buffer, rate, 0.9, 0.5, 0.0, 1e-8, "pytorch"
        )
        s = 0.9 * s + 0.1 * gradient**2
        a = 0.9 * a + 0.1 * gradient
        d = s - a * a if centered else s
        b = 0.5 * b + gradient / (np.sqrt(d) + 1e-8)
        expected -= rate * b
    np.testing.assert_allclose(buffer, b, rtol=1e-13)
    np.testing.assert_allclose(variable, expected, rtol=1e-13)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("form", FORMS)
def test_decaying_slots_never_hold_subnormal_numbers(backend, form):
    """A weight whose gradient stays exactly 0 leaves no subnormal slot behind."""
    kernels.set_backend(backend)
    tiny = np.finfo(np.float32).tiny
    variable = np.ones(6, np.float32)
    slots = [np.full(6, 1.0001 * tiny, np.float32) for _ in range(3)]
    for _ in range(3):
        rmsprop_update(variable, np.zeros(6, np.float32), *slots, 1e-3, 0.9, 0.5, 1e-7, 0.0, form)
    for slot in slots:
        np.testing.assert_array_equal(slot, 0)


@pytest.mark.parametrize("setting", ["centered", "pytorch_epsilon"])
def test_threads_split_large_parameters_without_changing_a_bit(setting):
    shape = (kernels.PARALLEL_MIN_SIZE + 13,)
    results = []
    for threads in (3, 1):
        kernels.set_threads(threads)
        results.append(_run("numba", np.float32, setting, "pytorch", shape=shape, steps=3))
    for split, whole in zip(*results, strict=True):
        np.testing.assert_array_equal(split, whole)


@pytest.mark.parametrize("backend, fused", [("numba", True), ("numpy", False)])
@pytest.mark.parametrize("form", FORMS)
def test_the_backend_chooses_the_kernel_or_the_twin(monkeypatch, backend, fused, form):
    """The kernel's last flag, or the twin's last argument, is the momentum form."""
    calls = []

    def launch(name, compile_kernel, arrays, scalars):
        calls.append((name, scalars[-1]))
        return True

    monkeypatch.setattr(kernels, "try_launch", launch)
    monkeypatch.setattr(
        rmsprop, "rmsprop_update_numpy", lambda *args: calls.append(("numpy", args[-1]))
    )
    kernels.set_backend(backend)
    ones = np.ones(3)
    rmsprop_update(ones, ones, ones.copy(), None, ones.copy(), 0.1, 0.9, 0.5, 0.0, 1e-8, form)
    assert calls == [("rmsprop" if fused else "numpy", form == "pytorch")]


def test_non_contiguous_arrays_take_the_numpy_twin():
    kernels.set_backend("numba")
    variable = np.ones((4, 6))[:, ::2]
    square, buffer = np.zeros((4, 6))[:, ::2], np.zeros((4, 6))[:, ::2]
    gradient = np.full((4, 3), 0.5)
    rmsprop_update(variable, gradient, square, None, buffer, 0.1, 0.75, 0.5, 0.0, 0.0, "pytorch")
    # s = 0.25 * 0.25; b = 0.5 / sqrt(s) = 2; w = 1 - 0.1 * 2
    np.testing.assert_allclose(buffer, 2.0)
    np.testing.assert_allclose(variable, 0.8)
