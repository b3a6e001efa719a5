"""The kernels load in the background while the NumPy twins run; the switch
from one to the other changes no bit (gradstep.kernels.loading)."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import gradstep
from gradstep import kernels, optimizers
from gradstep.kernels import adam, loading

pytestmark = pytest.mark.requires("numba", extra="speed")

OPTIMIZERS = {
    "adam": lambda: optimizers.Adam(1e-2),
    "adam_amsgrad": lambda: optimizers.Adam(1e-2, amsgrad=True),
    "sgd_momentum": lambda: optimizers.SGD(1e-2, momentum=0.9, nesterov=True),
    "rmsprop": lambda: optimizers.RMSprop(1e-2, momentum=0.5, centered=True),
    "nadam": lambda: optimizers.Nadam(1e-2),
    "adamw": lambda: optimizers.AdamW(1e-2, weight_decay=0.1),
}


@pytest.fixture(autouse=True)
def fresh_loading(monkeypatch):
    """A process in which no kernel is loaded yet and nothing has been counted
    (numba itself may be imported already: the tests do not time anything)."""
    for name, value in [
        ("_LOADED", {}),
        ("_FAILED", {}),
        ("_WARNED", set()),
        ("_REQUESTED", set()),
        ("_QUEUE", []),
        ("_STARTED", False),
        ("_LOADER", None),
        ("_ACCOUNT", loading._Account()),
    ]:
        monkeypatch.setattr(loading, name, value)
    yield
    loading.wait()
    kernels.set_backend("auto")


def _dense_model(optimizer):
    model = gradstep.Sequential(
        [
            gradstep.Input((6,)),
            gradstep.layers.Dense(9, activation="relu"),
            gradstep.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 6)).astype("float32"), rng.integers(0, 3, 40)


def _fit(optimizer_name, callbacks=()):
    model = _dense_model(OPTIMIZERS[optimizer_name]())
    x, y = _data()
    model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0, callbacks=list(callbacks))
    return model.get_weights()


class _SwitchAt(gradstep.callbacks.Callback):
    """Holds the loader back until training step ``step``, then waits for it:
    the steps before run the twins, the later ones the kernels."""

    def __init__(self, step, release):
        super().__init__()
        self.step, self.release, self.seen = step, release, 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen == self.step:
            self.release.set()
            assert loading.wait(timeout=120)
        self.seen += 1


@pytest.fixture
def held_loader(monkeypatch):
    """Loading starts at the first twin call, but the loader thread waits for
    the returned event before it loads anything."""
    release = threading.Event()
    load_queued = loading._load_queued

    def held():
        release.wait(timeout=120)
        load_queued()

    monkeypatch.setattr(loading, "_load_queued", held)
    monkeypatch.setattr(loading, "LOAD_SECONDS", 0.0)
    return release


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
def test_switching_from_twins_to_kernels_mid_fit_changes_no_bit(optimizer_name, held_loader):
    kernels.set_backend("numpy")
    twins = _fit(optimizer_name)
    kernels.set_backend("numba")
    fused = _fit(optimizer_name)
    loading._LOADED.clear()
    kernels.set_backend("auto")
    switched = _fit(optimizer_name, [_SwitchAt(7, held_loader)])
    assert loading._LOADED, "the kernels were loaded during the fit"
    for a, b, c in zip(twins, fused, switched, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_the_twins_run_until_the_kernel_is_loaded(monkeypatch, held_loader):
    twin_calls = []
    twin = adam.adam_update_numpy
    monkeypatch.setattr(adam, "adam_update_numpy", lambda *a: twin_calls.append(1) or twin(*a))
    _fit("adam", [_SwitchAt(7, held_loader)])
    # 7 steps of 4 parameters before the switch, none after
    assert len(twin_calls) == 7 * 4
    assert loading.loaded("adam") is not None


def test_background_loading_does_not_change_a_bit_while_threads_update(monkeypatch):
    """Eight threads update their own parameters while the kernel loads: each
    call runs the twin or the kernel, whole, and the results are the twin's."""
    monkeypatch.setattr(loading, "LOAD_SECONDS", 0.0)
    rng = np.random.default_rng(0)
    starts = [rng.normal(size=size).astype(np.float32) for size in range(1, 2000, 250)]
    gradients = [rng.normal(size=(30, *s.shape)).astype(np.float32) for s in starts]
    scalars = adam.adam_scalars(np.float32, 1e-2, 0.9, 0.999, 1e-7)

    def run(index, results):
        variable = starts[index].copy()
        moments = np.zeros_like(variable), np.zeros_like(variable)
        for gradient in gradients[index]:
            adam.adam_update_in_dtype(variable, gradient, *moments, None, scalars)
        results[index] = variable

    kernels.set_backend("numpy")
    expected = {}
    for index in range(len(starts)):
        run(index, expected)
    kernels.set_backend("auto")
    results = {}
    threads = [threading.Thread(target=run, args=(i, results)) for i in range(len(starts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loading.wait(timeout=120)
    assert list(loading._LOADED) == ["adam"]  # loaded once, by one thread
    for index in range(len(starts)):
        np.testing.assert_array_equal(results[index], expected[index])


def test_the_numpy_backend_never_loads_a_kernel(monkeypatch):
    monkeypatch.setattr(loading, "LOAD_SECONDS", 0.0)
    kernels.set_backend("numpy")
    _fit("adam")
    assert loading.wait(timeout=120)
    assert not loading._LOADED and not loading._QUEUE


def test_the_numba_backend_runs_the_kernel_from_the_first_call(monkeypatch):
    monkeypatch.setattr(loading, "LOAD_SECONDS", float("inf"))
    monkeypatch.setattr(adam, "adam_update_numpy", lambda *a: pytest.fail("the twin ran"))
    kernels.set_backend("numba")
    _fit("adam")
    assert loading.loaded("adam") is not None


def test_a_short_fit_on_small_parameters_keeps_to_the_twins():
    """The twins' extra time over this fit is far below the cost of loading numba."""
    _fit("adam")
    assert not loading._STARTED and not loading._LOADED


class _StartedAt(gradstep.callbacks.Callback):
    """Records, before each step, whether loading has started."""

    def __init__(self):
        super().__init__()
        self.started = []

    def on_train_batch_begin(self, batch, logs=None):
        self.started.append(loading._STARTED)


@pytest.mark.parametrize("share, started", [(0.9, [False] + [True] * 14), (1.1, [False] * 15)])
def test_a_fit_long_enough_to_pay_for_loading_starts_it_at_its_first_step(
    monkeypatch, share, started
):
    """The fit (15 steps) would cost ``1 / share`` times the loading in extra
    twin time: loading starts during its first step when that exceeds it. A step
    runs Adam's twin on the 4 parameters, the hidden Dense layer's two passes
    (bias and ReLU forward, ReLU slope and bias slope backward) on 8 x 9 entries,
    the softmax's two and its loss's one on 8 x 3, and the check for NaN and
    infinities (counted at the first gradient's 6 x 9 entries)."""
    parameters = (6 * 9, 9, 9 * 3, 3)
    passes = (8 * 9, 8 * 9, 8 * 3, 8 * 3, 8 * 3, 6 * 9)
    per_step = sum(loading.twin_extra_seconds(size) for size in (*parameters, *passes))
    monkeypatch.setattr(loading, "LOAD_SECONDS", 15 * per_step * share)
    callback = _StartedAt()
    _fit("adam", [callback])
    assert callback.started == started


def test_a_second_fit_loads_the_kernels_from_its_first_step():
    """The first fit (small parameters) keeps to the twins; a process that
    trains again is taken to keep training."""
    first, second = _StartedAt(), _StartedAt()
    _fit("adam", [first])
    _fit("adam", [second])
    assert first.started == [False] * 15
    assert second.started == [False] + [True] * 14
    assert loading.wait(timeout=120) and loading.loaded("adam") is not None


def test_outside_fit_the_rent_paid_reaches_the_cost_of_loading():
    account = loading._Account()
    calls = int(loading.LOAD_SECONDS / loading.twin_extra_seconds(1000))
    assert not any(account.charge("adam", 1000) for _ in range(calls - 1))
    assert account.charge("adam", 1000) or account.charge("adam", 1000)


def test_the_measured_extra_time_grows_with_the_size():
    sizes = [1, 10, 64, 1000, 5000, 10**5, 10**6, 4 * 10**6]
    extras = [loading.twin_extra_seconds(size) for size in sizes]
    assert all(a <= b for a, b in zip(extras[:-1], extras[1:], strict=True))
    assert extras[-1] == pytest.approx(4 * extras[-2])


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((3, 4), np.float32),
        np.zeros((3, 4), np.float64, order="F"),
        np.zeros((3, 8), np.float32)[:, ::2],
        np.zeros(7, np.float64)[::3],
        np.zeros((2, 3, 4), np.float32)[..., 1],
    ],
)
@pytest.mark.parametrize("writeable", [True, False])
def test_a_stand_in_has_the_numba_type_of_its_array(array, writeable):
    import numba

    array.flags.writeable = writeable
    assert numba.typeof(loading._stand_in(array)) == numba.typeof(array)


def test_a_kernel_that_fails_to_load_leaves_the_twin_with_a_warning(monkeypatch):
    monkeypatch.setattr(loading, "LOAD_SECONDS", 0.0)

    def broken(amsgrad):
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(adam, "_compile", broken)
    kernels.set_backend("numpy")
    twins = _fit("adam")
    kernels.set_backend("auto")
    with pytest.warns(RuntimeWarning, match="could not load the numba kernel 'adam'"):
        first = _fit("adam")
        assert loading.wait(timeout=120)
        second = _fit("adam")
    for a, b, c in zip(twins, first, second, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_loads_the_kernels_its_parent_was_loading(held_loader):
    _fit("adam", [_SwitchAt(100, held_loader)])  # loading asked for, the loader held
    assert loading._REQUESTED and not loading._LOADED
    child = os.fork()
    if child == 0:  # the child: its own loader, not held
        held_loader.set()
        _fit("adam")
        os._exit(0 if loading.wait(timeout=120) and loading.loaded("adam") else 1)
    _, status = os.waitpid(child, 0)
    held_loader.set()
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_process_that_exits_while_a_kernel_loads_exits_cleanly():
    code = (
        "import numpy as np\n"
        "from gradstep.kernels import adam, loading\n"
        "loading.LOAD_SECONDS = 0.0\n"
        "scalars = adam.adam_scalars(np.float32, 1e-3, 0.9, 0.999, 1e-7)\n"
        "arrays = [np.ones(8, np.float32) for _ in range(4)]\n"
        "adam.adam_update_in_dtype(*arrays, None, scalars)\n"
        "assert loading._LOADER is not None\n"
    )
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (process.returncode, process.stderr) == (0, "")


def test_import_gradstep_does_not_import_numba():
    code = (
        "import sys, gradstep\n"
        "from gradstep import kernels\n"
        "assert kernels.use_numba()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"
