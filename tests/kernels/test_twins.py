"""Every fused optimizer kernel (numba) and its NumPy twin give the same
numbers, to the bit, in float32 and float64, and flush subnormal slots."""

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels.adadelta import adadelta_update
from gradstep.kernels.adagrad import adagrad_update
from gradstep.kernels.adamax import adamax_update
from gradstep.kernels.lion import lion_update
from gradstep.kernels.nadam import nadam_update
from gradstep.kernels.rmsprop import rmsprop_update
from gradstep.kernels.schedule_free import schedule_free_update
from gradstep.kernels.sgd import sgd_update
from gradstep.kernels.weight_decay import decay_weights

pytestmark = pytest.mark.requires("numba", extra="speed")

SHAPE = (23, 7)


@pytest.fixture(autouse=True)
def _restore_backend():
    yield
    kernels.set_backend("auto")


def _sgd(arrays, step):
    variable, gradient, velocity = arrays
    sgd_update(variable, gradient, None, 0.05, 0.0, False)


def _sgd_momentum(arrays, step):
    variable, gradient, velocity = arrays
    sgd_update(variable, gradient, velocity, 0.05, 0.9, False)


def _sgd_nesterov(arrays, step):
    variable, gradient, velocity = arrays
    sgd_update(variable, gradient, velocity, 0.05, 0.9, True)


def _rmsprop(centered, momentum, eps_inside=1e-7, eps_outside=0.0):
    def run(arrays, step):
        variable, gradient, square, average, velocity = arrays
        rmsprop_update(
            variable,
            gradient,
            square,
            average if centered else None,
            velocity if momentum else None,
            1e-3,
            0.9,
            0.5 if momentum else 0.0,
            eps_inside,
            eps_outside,
        )

    return run


def _adagrad(arrays, step):
    adagrad_update(*arrays, 0.1, 1e-7, 0.0)


def _adagrad_pytorch(arrays, step):
    adagrad_update(*arrays, 0.1, 0.0, 1e-10)


def _adadelta(arrays, step):
    adadelta_update(*arrays, 1.0, 0.95, 1e-7)


def _adamax(arrays, step):
    adamax_update(*arrays, 2e-3, 0.9, 0.999, 0.0, 1e-7, 1 - 0.9**step)


def _adamax_pytorch(arrays, step):
    adamax_update(*arrays, 2e-3, 0.9, 0.999, 1e-8, 0.0, 1 - 0.9**step)


def _nadam(arrays, step):
    nadam_update(*arrays, 1e-3, 0.9, 0.999, 1e-7, 0.47, 0.051, 1 - 0.999**step)


def _lion(arrays, step):
    lion_update(*arrays, 1e-3, 0.9, 0.99)


def _schedule_free(arrays, step):
    schedule_free_update(*arrays, 2.5e-3, 0.9, 0.999, 1e-8, 1 - 0.999**step, 1.0 / step)


def _weight_decay(arrays, step):
    variable, gradient = arrays
    decay_weights(variable, 0.004, 0.1 / step)
    variable += gradient


# (name, update, number of slots after the variable and the gradient, slot fills)
KERNELS = [
    ("sgd", _sgd, 1, [0.0]),
    ("sgd_momentum", _sgd_momentum, 1, [0.0]),
    ("sgd_nesterov", _sgd_nesterov, 1, [0.0]),
    ("rmsprop", _rmsprop(False, False), 3, [0.0, 0.0, 0.0]),
    ("rmsprop_centered", _rmsprop(True, False), 3, [0.0, 0.0, 0.0]),
    ("rmsprop_momentum", _rmsprop(False, True), 3, [0.0, 0.0, 0.0]),
    ("rmsprop_centered_momentum", _rmsprop(True, True), 3, [0.0, 0.0, 0.0]),
    ("rmsprop_pytorch", _rmsprop(True, True, 0.0, 1e-8), 3, [0.0, 0.0, 0.0]),
    ("adagrad", _adagrad, 1, [0.1]),
    ("adagrad_pytorch", _adagrad_pytorch, 1, [0.0]),
    ("adadelta", _adadelta, 2, [0.0, 0.0]),
    ("adamax", _adamax, 2, [0.0, 0.0]),
    ("adamax_pytorch", _adamax_pytorch, 2, [0.0, 0.0]),
    ("nadam", _nadam, 2, [0.0, 0.0]),
    ("lion", _lion, 1, [0.0]),
    ("schedule_free", _schedule_free, 2, [None, 0.0]),
    ("weight_decay", _weight_decay, 0, []),
]


def _run(backend, update, fills, dtype, steps=30):
    kernels.set_backend(backend)
    rng = np.random.default_rng(0)
    variable = rng.normal(size=SHAPE).astype(dtype)
    slots = [variable.copy() if fill is None else np.full(SHAPE, fill, dtype) for fill in fills]
    for step in range(1, steps + 1):
        # gradients spanning five orders of magnitude, so epsilon matters sometimes
        gradient = (rng.normal(size=SHAPE) * 10.0 ** -(step % 5)).astype(dtype)
        update([variable, gradient, *slots], step)
    return [variable, *slots]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, update, count, fills", KERNELS, ids=[k[0] for k in KERNELS])
def test_numba_and_numpy_twins_agree_to_the_bit(name, update, count, fills, dtype):
    fused = _run("numba", update, fills, dtype)
    twin = _run("numpy", update, fills, dtype)
    for position, (a, b) in enumerate(zip(fused, twin, strict=True)):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: array {position}")


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("name, update, count, fills", KERNELS, ids=[k[0] for k in KERNELS])
def test_decaying_slots_never_hold_subnormal_numbers(backend, name, update, count, fills):
    """A weight whose gradient stays exactly 0 leaves no subnormal slot behind."""
    kernels.set_backend(backend)
    dtype = np.float32
    tiny = np.finfo(dtype).tiny
    variable = np.ones(6, dtype)
    slots = [variable.copy() if fill is None else np.full(6, fill, dtype) for fill in fills]
    # slots just above the smallest normal number: one step of decay goes below
    for slot, fill in zip(slots, fills, strict=True):
        if fill == 0.0:
            slot[...] = 1.0001 * tiny
    for step in range(1, 4):
        update([variable, np.zeros(6, dtype), *slots], step)
    for slot in slots:
        magnitude = np.abs(slot)
        assert not np.any((magnitude > 0) & (magnitude < tiny)), name


def test_non_contiguous_arrays_take_the_numpy_twin():
    kernels.set_backend("numba")
    variable = np.ones((4, 6))[:, ::2]
    sgd_update(variable, np.ones((4, 3)), None, 0.5, 0.0, False)
    np.testing.assert_array_equal(variable, 0.5)


@pytest.mark.parametrize(
    "name, update, count, fills",
    [k for k in KERNELS if k[0] in ("sgd_nesterov", "rmsprop_centered_momentum", "schedule_free")],
    ids=["sgd_nesterov", "rmsprop_centered_momentum", "schedule_free"],
)
def test_threads_split_large_parameters_without_changing_a_bit(name, update, count, fills):
    def run(threads):
        kernels.set_backend("numba")
        kernels.set_threads(threads)
        try:
            rng = np.random.default_rng(1)
            shape = (kernels.PARALLEL_MIN_SIZE + 13,)
            variable = rng.normal(size=shape).astype(np.float32)
            slots = [variable.copy() if f is None else np.full(shape, f, np.float32) for f in fills]
            for step in range(1, 4):
                gradient = rng.normal(size=shape).astype(np.float32)
                update([variable, gradient, *slots], step)
            return [variable, *slots]
        finally:
            kernels.set_threads("auto")

    for a, b in zip(run(3), run(1), strict=True):
        np.testing.assert_array_equal(a, b)


def test_adam_threads_split_large_parameters_without_changing_a_bit():
    from gradstep import optimizers

    results = []
    for threads in (2, 1):
        kernels.set_threads(threads)
        try:
            variable = np.linspace(-1, 1, kernels.PARALLEL_MIN_SIZE * 2, dtype=np.float32)
            optimizer = optimizers.Adam(0.1, amsgrad=True, weight_decay=0.01)
            for step in range(3):
                optimizer.apply_gradients([(np.sin(variable * (step + 1)), variable)])
            results.append(variable)
        finally:
            kernels.set_threads("auto")
    np.testing.assert_array_equal(*results)


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "all"])
def test_bad_thread_count(count):
    with pytest.raises(ValueError, match="kernel threads must be 'auto' or a positive integer"):
        kernels.set_threads(count)


def test_auto_threads_use_every_available_core():
    assert kernels.threads() == kernels.available_cores() >= 1
    kernels.set_threads(3)
    try:
        assert kernels.threads() == 3
    finally:
        kernels.set_threads("auto")


def _threaded_adam_in_a_forked_child(queue):
    from gradstep import optimizers

    variable = np.linspace(-1, 1, kernels.PARALLEL_MIN_SIZE * 2, dtype=np.float32)
    optimizers.Adam(0.1).apply_gradients([(np.cos(variable), variable)])
    queue.put(float(variable.sum()))


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_kernel_threads():
    """The parent's thread pool has no threads in a forked child: the child must
    make its own instead of waiting forever on the parent's copy."""
    import multiprocessing

    kernels.set_threads(2)
    try:
        variable = np.linspace(-1, 1, kernels.PARALLEL_MIN_SIZE * 2, dtype=np.float32)
        from gradstep import optimizers

        optimizers.Adam(0.1).apply_gradients([(np.cos(variable), variable)])  # pool started
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_threaded_adam_in_a_forked_child, args=(queue,))
        child.start()
        child.join(timeout=60)
        alive = child.is_alive()
        if alive:
            child.kill()
        assert not alive, "the forked child hung on the parent's kernel threads"
        assert queue.get(timeout=5) == float(variable.sum())
    finally:
        kernels.set_threads("auto")


def test_fit_runs_the_kernels_on_its_own_thread_unless_told_otherwise():
    """'auto' means every core for an optimizer stepped on its own, one thread
    inside fit (where BLAS's idle threads spin on the other cores); a count
    set explicitly holds everywhere."""
    from gradstep import callbacks, layers, models

    seen = []
    model = models.Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer="adam", loss="mse")
    spy = callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(kernels.threads())
    )
    x = np.zeros((4, 2), np.float32)
    model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[spy])
    assert seen == [1] and kernels.threads() == kernels.available_cores()
    kernels.set_threads(2)
    try:
        model.fit(x, x[:, :1], epochs=1, verbose=0, callbacks=[spy])
        assert seen == [1, 2]
    finally:
        kernels.set_threads("auto")
