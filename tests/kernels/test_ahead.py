"""The kernels compiled ahead of time (gradstep.kernels.ahead): built by the
module's own builder in a process of its own, they give the NumPy twins' bits,
refuse arguments their signature does not fit, and a fresh process trains on
them from its first step without importing numba, to the twins' bits."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest

from gradstep import kernels
from gradstep.kernels import (
    adadelta,
    adagrad,
    adam,
    adamax,
    ahead,
    dense,
    finite,
    lion,
    loading,
    nadam,
    softmax,
    weight_decay,
)

pytestmark = pytest.mark.requires("numba", extra="speed")

SRC = str(Path(ahead.__file__).parents[2])


def _environment(cache: Path, on: bool = True) -> dict:
    return {
        **os.environ,
        "GRADSTEP_KERNEL_CACHE": str(cache),
        "GRADSTEP_AHEAD": "1" if on else "0",
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A cache folder with this machine's module, built as users get it."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"numba.pycc needs a C compiler; {compiler!r} is not on PATH")
    folder = tmp_path_factory.mktemp("kernel-cache")
    built = subprocess.run(
        [sys.executable, "-m", "gradstep.kernels.ahead_build"],
        env=_environment(folder),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    assert "kernels compiled ahead of time in" in built.stdout
    return folder


@pytest.fixture
def in_use(cache, monkeypatch):
    """This process's view of the cache: the module loaded from ``cache``."""
    monkeypatch.setenv("GRADSTEP_KERNEL_CACHE", str(cache))
    monkeypatch.setenv("GRADSTEP_AHEAD", "1")
    monkeypatch.setitem(ahead._STATE, "table", None)
    yield
    ahead._STATE["table"] = None


def _bits(array):
    return array.view(f"u{array.itemsize}")


def _adam_arrays(rng, size, dtype):
    """Weights, a gradient with NaN and -0, and moments with subnormal entries
    (which both versions flush to 0)."""
    weights = rng.normal(size=size).astype(dtype)
    gradient = rng.normal(size=size).astype(dtype)
    gradient[:3] = [np.nan, -0.0, 0.0]
    tiny = np.finfo(dtype).tiny
    first, second = np.zeros(size, dtype), np.zeros(size, dtype)
    first[3:6], second[3:6] = tiny * 2, tiny * 3
    return [weights, gradient, first, second, np.abs(rng.normal(size=size)).astype(dtype)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("size", [7, 513, 40000])
def test_adam_gives_the_twins_bits(in_use, dtype, amsgrad, size):
    rng = np.random.default_rng(size)
    compiled, twin = _adam_arrays(rng, size, dtype), _adam_arrays(rng, size, dtype)
    twin = [array.copy() for array in compiled]
    if not amsgrad:
        compiled, twin = compiled[:4], twin[:4]
    scalars = adam.adam_scalars(dtype, 3e-3, 0.9, 0.999, 1e-7)
    name = "adam_amsgrad" if amsgrad else "adam"
    kernel = ahead.kernel_for(name, (*compiled, *scalars))
    assert kernel is not None
    for _ in range(3):
        kernel(*compiled, *scalars)
        adam.adam_update_numpy(*twin[:4], twin[4] if amsgrad else None, scalars)
    for ours, theirs in zip(compiled, twin, strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(32, 512), (3, 7), (1, 1)])
def test_dense_passes_give_the_twins_bits(in_use, dtype, shape):
    rng = np.random.default_rng(1)
    pre = rng.normal(size=shape).astype(dtype)
    pre.flat[:2] = [-0.0, np.nan][: pre.size]
    bias = rng.normal(size=shape[1]).astype(dtype)
    compiled_pre, twin_pre, out = pre.copy(), pre.copy(), np.empty(shape, dtype)
    ahead.kernel_for("dense_bias_relu", (compiled_pre, bias, out))(compiled_pre, bias, out)
    twin_out = dense.bias_relu_numpy(twin_pre, bias)
    for ours, theirs in [(compiled_pre, twin_pre), (out, twin_out)]:
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
    grad = rng.normal(size=shape).astype(dtype)
    arguments = (grad, pre, np.empty(shape, dtype), np.empty(shape[1], dtype))
    ahead.kernel_for("dense_relu_slopes", arguments)(*arguments)
    twin = dense.relu_slope_and_bias_slope_numpy(grad, pre, True)
    for ours, theirs in zip(arguments[2:], twin, strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", [3, 10, 17, 128])
def test_the_softmax_and_crossentropy_passes_give_the_twins_bits(in_use, dtype, classes):
    rng = np.random.default_rng(classes)
    pre = (rng.normal(size=(32, classes)) * 10.0 ** rng.uniform(-3, 2, (32, classes))).astype(dtype)
    bias = rng.normal(size=classes).astype(dtype)
    compiled_pre, twin_pre, out, zero = pre.copy(), pre.copy(), np.empty_like(pre), dtype(0)
    shift = (compiled_pre, bias, out, True)
    ahead.kernel_for("softmax_shift", shift)(*shift)
    np.exp(out, out=out)
    ahead.kernel_for("softmax_normalize", (out, zero))(out, zero)
    twin_out = softmax.bias_softmax_numpy(twin_pre, bias)
    for ours, theirs in [(compiled_pre, twin_pre), (out, twin_out)]:
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
    labels = rng.integers(0, classes, size=32)
    out[0, labels[0]] = 0.0  # clipped
    per_sample, slope = np.empty(32, dtype), np.empty_like(out)
    scalars = (dtype(1e-7), dtype(1 - 1e-7), dtype(1 / 32), zero, dtype(1))
    arguments = (out, labels, per_sample, slope, *scalars)
    ahead.kernel_for("sparse_crossentropy", arguments)(*arguments)
    _, twin_slope = softmax.sparse_crossentropy_mean_numpy(labels, out, 1e-7)
    np.testing.assert_array_equal(_bits(slope), _bits(twin_slope))
    refused = (out, labels.astype(np.int32), per_sample, slope, *scalars)  # int32 labels
    assert ahead.kernel_for("sparse_crossentropy", refused) is None


def test_sgd_gives_the_twins_bits(in_use):
    rng = np.random.default_rng(2)
    weights, gradient = rng.normal(size=100).astype(np.float32), rng.normal(size=100)
    gradient = gradient.astype(np.float32)
    expected = weights - gradient * np.float32(0.1)
    ahead.kernel_for("sgd", (weights, gradient, np.float32(0.1)))(weights, gradient, 0.1)
    np.testing.assert_array_equal(_bits(weights), _bits(expected))


#: kernel -> (its NumPy twin, how many arrays it updates or reads, its scalars
#: before the smallest normal number that some kernels take last, whether they do)
UPDATES = {
    "adagrad": (adagrad.adagrad_update_numpy, 3, (0.01, 1e-7, 1e-10), False),
    "adadelta": (adadelta.adadelta_update_numpy, 4, (1.0, 0.95, 0.05, 1e-7), True),
    "adamax": (adamax.adamax_update_numpy, 4, (2e-3, 0.1, 0.999, 0.0, 1e-7, 0.1), True),
    "nadam": (nadam.nadam_update_numpy, 4, (2e-3, 0.1, 1e-3, 1e-7, 0.9, 0.1, 1e-3), True),
    "lion": (lion.lion_update_numpy, 3, (1e-4, 0.9, 0.1, 0.99, 0.01), True),
    "weight_decay": (weight_decay.decay_weights_numpy, 1, (4e-3, 1e-3), False),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [7, 40000])
@pytest.mark.parametrize("name", sorted(UPDATES))
def test_the_other_optimizers_kernels_give_the_twins_bits(in_use, name, size, dtype):
    """Weights, a gradient with NaN and -0, slots with subnormal entries."""
    twin_update, array_count, scalars, takes_tiny = UPDATES[name]
    rng = np.random.default_rng(size)
    arrays = [rng.normal(size=size).astype(dtype), rng.normal(size=size).astype(dtype)]
    arrays[1][:3] = [np.nan, -0.0, 0.0]
    for _ in range(array_count - 2):
        slot = np.abs(rng.normal(size=size)).astype(dtype)
        slot[3:6] = np.finfo(dtype).tiny * 2
        arrays.append(slot)
    arrays = arrays[:array_count]
    twin = [array.copy() for array in arrays]
    cast = tuple(dtype(value) for value in scalars)
    extra = (np.finfo(dtype).tiny,) if takes_tiny else ()
    kernel = ahead.kernel_for(name, (*arrays, *cast, *extra))
    assert kernel is not None
    for _ in range(3):
        kernel(*arrays, *cast, *extra)
        twin_update(*twin, *cast)
    for ours, theirs in zip(arrays, twin, strict=True):
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))


def test_arguments_the_signature_does_not_fit_get_no_kernel(in_use):
    vector = np.ones(8, np.float32)
    assert ahead.kernel_for("sgd", (vector, vector.copy(), 0.5)) is not None
    read_only = vector.copy()
    read_only.flags.writeable = False
    refused = [
        (vector, np.ones(8), 0.5),  # a float64 gradient for float32 weights
        (vector, np.ones(16, np.float32)[::2], 0.5),  # not contiguous
        (vector, np.ones((2, 4), np.float32), 0.5),  # rank 2 for a vector
        (vector, vector.copy()),  # an argument short
        (read_only, vector.copy(), 0.5),
        (vector.astype(np.float16), vector.astype(np.float16), 0.5),  # no float16 export
    ]
    for arguments in refused:
        assert ahead.kernel_for("sgd", arguments) is None
    assert ahead.kernel_for("not_a_kernel", (vector,)) is None


def _read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


def test_callers_that_skip_the_signature_check_pass_only_arrays_that_fit(in_use, monkeypatch):
    """Dense's passes, the softmax, the cross-entropy and the non-finite check
    take the module's kernels without checking the arguments again
    (``fitting=True``): their own checks send any array the signature would
    not take (read-only, strided, of another dtype) to the twins. The same
    numbers either way, and no kernel ever sees such an array."""
    monkeypatch.setattr(loading, "_LOADED", {})  # (so that the module's kernels are the ones run)
    kernels.set_backend("auto")
    rng = np.random.default_rng(8)
    pre = rng.normal(size=(6, 5)).astype(np.float32)
    bias = rng.normal(size=5).astype(np.float32)
    assert ahead.kernel_for("dense_bias_relu", (pre, bias, pre.copy()), fitting=True)
    for other in (bias, _read_only(bias), np.repeat(bias, 2)[::2], bias.astype(np.float64)):
        for fused, twin in [
            (dense.bias_relu, dense.bias_relu_numpy),
            (softmax.bias_softmax, softmax.bias_softmax_numpy),
        ]:
            ours, theirs = pre.copy(), pre.copy()
            np.testing.assert_array_equal(fused(ours, other), twin(theirs, other))
            np.testing.assert_array_equal(ours, theirs)  # (the bias added in place)
    slope = rng.normal(size=pre.shape).astype(np.float32)
    for grad, kept in [(slope, pre), (_read_only(slope), pre), (slope, _read_only(pre))]:
        fused = dense.relu_slope_and_bias_slope(grad, kept, True)
        twin = dense.relu_slope_and_bias_slope_numpy(grad, kept, True)
        for ours, theirs in zip(fused, twin, strict=True):
            np.testing.assert_array_equal(ours, theirs)
    probabilities = softmax.softmax_numpy(pre)
    labels = rng.integers(0, 5, size=6)
    for given in (labels, _read_only(labels), labels.astype(np.int32), np.repeat(labels, 2)[::2]):
        fused = softmax.sparse_crossentropy_mean(given, probabilities, 1e-7)
        twin = softmax.sparse_crossentropy_mean_numpy(given, probabilities, 1e-7)
        for ours, theirs in zip(fused, twin, strict=True):
            np.testing.assert_array_equal(ours, theirs)
    bad = pre.copy()
    bad[2, 3] = np.inf
    for arrays, first in [([pre, _read_only(bad)], 1), ([bad[:, 1::2], pre], 0), ([pre], None)]:
        assert finite.first_non_finite(arrays) == first


def test_status_names_the_folder_in_use_or_why_not(in_use, cache, monkeypatch, tmp_path):
    assert ahead.status() == f"in use, from {cache / ahead.machine_key()}"
    monkeypatch.setenv("GRADSTEP_KERNEL_CACHE", str(tmp_path))
    ahead._STATE["table"] = None
    assert ahead.status().startswith("not in use: not built yet for this machine")
    monkeypatch.setenv("GRADSTEP_AHEAD", "0")
    ahead._STATE["table"] = None
    assert ahead.status().startswith("not in use: turned off")
    assert ahead.kernel_for("sgd", (np.ones(2, np.float32),) * 2 + (0.5,)) is None


def test_loading_marks_the_folder_used(in_use, cache):
    folder = cache / ahead.machine_key()
    os.utime(folder, (1_000_000, 1_000_000))
    ahead.status()
    assert folder.stat().st_mtime > 1_000_000


def test_a_build_removes_the_folders_unused_for_a_month(tmp_path):
    import time

    def folder(name, days_unused, module=True):
        path = tmp_path / name
        path.mkdir()
        if module:
            (path / f"{ahead.MODULE_NAME}.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
        when = time.time() - days_unused * 86400
        os.utime(path, (when, when))
        return path

    kept = folder("this-machine", 100)
    recent = folder("another-python", ahead.UNUSED_DAYS - 1)
    stale = folder("an-old-gradstep", ahead.UNUSED_DAYS + 1)
    building = folder(".building-x", 100)
    not_ours = folder("something-else", 100, module=False)
    (tmp_path / "build.log").write_text("")
    assert ahead.prune(keep=kept) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (kept, recent, building, not_ours, tmp_path / "build.log")
    )


def test_another_cpu_gets_another_folder(monkeypatch):
    key = ahead.machine_key()
    ahead.machine_key.cache_clear()
    monkeypatch.setattr(ahead, "_cpu_identity", lambda: "model name : another CPU")
    try:
        assert ahead.machine_key() != key
    finally:
        ahead.machine_key.cache_clear()


def test_a_background_build_starts_once_and_not_over_a_lock(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: started.append(a[0]))
    monkeypatch.setenv("GRADSTEP_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setenv("GRADSTEP_AHEAD", "1")
    monkeypatch.setitem(ahead._STATE, "build_started", False)
    assert ahead.build_in_background()
    assert started == [[sys.executable, "-m", "gradstep.kernels.ahead_build"]]
    assert not ahead.build_in_background()  # this process started one already
    ahead._STATE["build_started"] = False
    assert not ahead.build_in_background()  # the lock of the build under way
    ahead.marker(ahead.module_directory(), "building").unlink()
    ahead.marker(ahead.module_directory(), "failed").write_text("it failed")
    ahead._STATE["build_started"] = False
    assert not ahead.build_in_background()  # a failed build is not tried again
    assert len(started) == 1


def test_a_failed_build_leaves_its_error_and_no_lock(tmp_path):
    environment = _environment(tmp_path)
    environment["PATH"] = ""  # no C compiler: pycc fails
    environment["CC"] = "no-such-compiler"
    folder = tmp_path / "key"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from gradstep.kernels import ahead, ahead_build
        ahead.module_directory = lambda: Path({str(folder)!r})
        ahead.marker(Path({str(folder)!r}), "building").touch()
        ahead_build.main()
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, timeout=600
    )
    assert ran.returncode != 0
    assert ahead.marker(folder, "failed").read_text().strip()
    assert not ahead.marker(folder, "building").exists()
    assert not folder.exists()


FIT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import gradstep
    from gradstep import kernels, layers
    from gradstep.kernels import ahead, loading

    if sys.argv[1] == "numpy":
        kernels.set_backend("numpy")
    gradstep.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 12)).astype(np.float32)
    y = rng.integers(0, 3, size=96)
    model = gradstep.Sequential([
        gradstep.Input(shape=(12,)),
        layers.Dense(40, activation="relu", name="hidden"),
        layers.Dense(3, activation="softmax", name="out"),
    ])
    name, options = json.loads(sys.argv[2])
    optimizer = getattr(gradstep.optimizers, name)(**options)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    print(json.dumps({
        "weights": [w.tobytes().hex() for w in model.get_weights()],
        "numba imported": "numba" in sys.modules,
        "twin seconds beyond kernels": loading._ACCOUNT.owed,
        "status": ahead.status(),
    }))
    """
)


def _fit_in_a_fresh_process(cache, backend, on, optimizer=("Adam", {})):
    ran = subprocess.run(
        [sys.executable, "-c", FIT, backend, json.dumps(optimizer)],
        env=_environment(cache, on),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout.splitlines()[-1])


OPTIMIZERS = [
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "momentum_form": "pytorch"}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("RMSprop", {"momentum": 0.5, "momentum_form": "pytorch"}),
    ("AdamW", {}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {}),
    ("Nadam", {}),
    ("Lion", {}),
    ("SGD", {"learning_rate": 0.1, "weight_decay": 0.01}),
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_fresh_process_trains_on_them_to_the_twins_bits_without_numba(cache, optimizer):
    compiled = _fit_in_a_fresh_process(cache, "auto", on=True, optimizer=optimizer)
    twins = _fit_in_a_fresh_process(cache, "numpy", on=False, optimizer=optimizer)
    assert compiled["status"].startswith("in use")
    assert not compiled["numba imported"]
    assert compiled["twin seconds beyond kernels"] == 0  # no twin stood in for a kernel
    assert twins["twin seconds beyond kernels"] == 0  # (the numpy backend counts none)
    assert compiled["weights"] == twins["weights"]


DENSE_MODEL = """x = rng.normal(size=(96, 12)).astype(np.float32)
y = rng.integers(0, 3, size=96)
model = gradstep.Sequential([
    gradstep.Input(shape=(12,)),
    layers.Dense(40, activation="relu", name="hidden"),
    layers.Dense(3, activation="softmax", name="out"),
])"""

OTHER_MODELS = {
    # convolutions' windows, bias and ReLU; max pooling forward and backward
    # (a "same" convolution's slope reaches the pooling as a strided view)
    "convnet": """x = rng.normal(size=(48, 12, 12, 3)).astype(np.float32)
y = rng.integers(0, 3, size=48)
model = gradstep.Sequential([
    gradstep.Input(shape=(12, 12, 3)),
    layers.Conv2D(8, 3, activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(6, 3, activation="relu", padding="same"),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(3, activation="softmax", name="out"),
])""",
    # an LSTM step, forward and backward
    "lstm": """x = rng.normal(size=(48, 7, 5)).astype(np.float32)
y = rng.integers(0, 3, size=48)
model = gradstep.Sequential([
    gradstep.Input(shape=(7, 5)),
    layers.LSTM(6),
    layers.Dense(3, activation="softmax", name="out"),
])""",
}


@pytest.mark.parametrize("model", sorted(OTHER_MODELS))
def test_a_fresh_process_trains_other_layers_on_them_to_the_twins_bits_without_numba(cache, model):
    """Kernels that had to load before the first step (max pooling's and the
    LSTM's: their forward pass decides their backward's) come from the module."""
    assert DENSE_MODEL in FIT
    script = FIT.replace(DENSE_MODEL, OTHER_MODELS[model])
    runs = {}
    for backend, on in [("auto", True), ("numpy", False)]:
        ran = subprocess.run(
            [sys.executable, "-c", script, backend, json.dumps(("Adam", {}))],
            env=_environment(cache, on),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert ran.returncode == 0, ran.stderr
        runs[backend] = json.loads(ran.stdout.splitlines()[-1])
    assert not runs["auto"]["numba imported"]
    assert runs["auto"]["twin seconds beyond kernels"] == 0
    assert runs["auto"]["weights"] == runs["numpy"]["weights"]


def test_a_cache_that_cannot_be_written_starts_no_build(monkeypatch, tmp_path):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: pytest.fail("started"))
    monkeypatch.setenv("GRADSTEP_KERNEL_CACHE", str(blocked / "kernels"))
    monkeypatch.setenv("GRADSTEP_AHEAD", "1")
    monkeypatch.setitem(ahead._STATE, "build_started", False)
    assert not ahead.build_in_background()
