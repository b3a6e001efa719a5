"""Saving and loading: round trips, resuming to the bit for every optimizer,
files that are refused with a message naming the problem, a fuzz test of
mutated files, and atomic writes that survive interruption."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradstep import layers, losses, models, optimizers, saving
from gradstep.optimizers import OPTIMIZERS
from gradstep.validation import NotCompiledError


def _data(n=96, features=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, y


def _model(optimizer="adam", seed=0, units=8):
    """Dropout with the model's generator and Dropout with its own seed, so that
    both kinds of generator state must survive a save."""
    model = models.Sequential(
        [
            layers.Dense(units, activation="relu", input_shape=(5,)),
            layers.Dropout(0.25),
            layers.Dense(6, activation="tanh"),
            layers.Dropout(0.1, seed=7),
            layers.Dense(3, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(
        optimizer=optimizers.get(optimizer),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _batch_size(model):
    """GD and L-BFGS train on the whole data set as one batch."""
    return None if model.optimizer.full_batch else 16


def _trained(path=None, epochs=2, **kwargs):
    x, y = _data()
    model = _model(**kwargs)
    model.fit(x, y, epochs=epochs, batch_size=_batch_size(model), verbose=0)
    if path is not None:
        model.save(path)
    return model


def _assert_same_weights(first, second):
    assert len(first.get_weights()) == len(second.get_weights())
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def _with_dtypes(config, dtype):
    """The file writes each weighted layer's dtype out (None means floatx at build time)."""
    for entry in config["layers"]:
        if entry["class_name"] == "Dense" and entry["config"]["dtype"] is None:
            entry["config"]["dtype"] = dtype
    return config


# One name per optimizer class in the registry, so that optimizers added later
# are covered without editing this file.
OPTIMIZER_NAMES = sorted({type(optimizers.get(n)).__name__: n for n in OPTIMIZERS.names()}.values())


# --- round trips ------------------------------------------------------------------------
@pytest.mark.parametrize("filename", ["model.keras", "model.gradstep", "model.weights.safetensors"])
def test_a_loaded_model_predicts_identically_and_keeps_its_settings(tmp_path, filename):
    model = _trained(tmp_path / filename)
    loaded = models.load_model(tmp_path / filename)
    x, _ = _data(seed=1)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == _with_dtypes(model.get_config(), "float32")
    assert loaded.get_compile_config() == model.get_compile_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 12
    assert loaded.metrics_names == ["loss", "accuracy"]
    x, y = _data()
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def test_the_file_is_plain_safetensors_with_json_metadata(tmp_path):
    path = tmp_path / "model.gradstep"
    model = _trained(path)
    arrays = safetensors.numpy.load_file(path)
    assert sorted(k for k in arrays if k.startswith("layers/")) == [
        "layers/0/vars/0",
        "layers/0/vars/1",
        "layers/2/vars/0",
        "layers/2/vars/1",
        "layers/4/vars/0",
        "layers/4/vars/1",
    ]
    np.testing.assert_array_equal(arrays["layers/2/vars/0"], model.layers[2].weights[0])
    assert arrays["optimizer/iterations"] == 12 and arrays["optimizer/iterations"].dtype == np.int64
    with open(path, "rb") as handle:
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    metadata = header["__metadata__"]
    assert metadata["format"] == "gradstep" and metadata["format_version"] == "2"
    assert json.loads(metadata["model_config"])["class_name"] == "Sequential"
    assert json.loads(metadata["compile_config"])["loss"]["class_name"] == (
        "SparseCategoricalCrossentropy"
    )
    state = json.loads(metadata["training_state"])
    assert state["seed"] == 0 and sorted(state["generators"]) == ["dropout", "init", "shuffle"]
    assert list(state["layer_generators"]) == ["3"]  # Dropout(seed=7) has its own


def test_save_weights_and_load_weights_into_a_fresh_model(tmp_path):
    path = tmp_path / "model.weights.safetensors"
    model = _trained()
    model.save_weights(path)
    fresh = _model(seed=123)  # other initial weights, other layer names
    fresh.load_weights(path)
    _assert_same_weights(fresh, model)
    assert fresh.optimizer.iterations == model.optimizer.iterations


def test_an_unbuilt_model_round_trips(tmp_path):
    model = models.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)], seed=3)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.save(tmp_path / "m.gradstep")
    loaded = models.load_model(tmp_path / "m.gradstep")
    assert not loaded.built and loaded.compiled
    assert loaded.get_config() == model.get_config()  # no weights: no dtype to write out
    x = np.ones((3, 2), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_float64_weights_stay_float64_whatever_floatx_is_at_load(tmp_path):
    from gradstep import config

    config.set_floatx("float64")
    try:
        model = models.Sequential([layers.Dense(2, input_shape=(3,))], seed=0)
        model.compile(optimizer="adam", loss="mse")
        model.save(tmp_path / "m.gradstep")
    finally:
        config.set_floatx("float32")
    loaded = models.load_model(tmp_path / "m.gradstep")
    assert loaded.dtype == "float64"
    _assert_same_weights(loaded, model)


def test_a_learning_rate_schedule_is_saved_with_its_optimizer(tmp_path):
    from gradstep.optimizers import schedules

    x, y = _data()
    decay = schedules.ExponentialDecay(0.05, decay_steps=5, decay_rate=0.5)
    straight = _model(optimizers.SGD(learning_rate=decay, momentum=0.9))
    straight.fit(x, y, epochs=4, batch_size=16, verbose=0)
    first = _model(optimizers.SGD(learning_rate=decay, momentum=0.9))
    first.fit(x, y, epochs=2, batch_size=16, verbose=0)
    first.save(tmp_path / "m.gradstep")
    resumed = models.load_model(tmp_path / "m.gradstep")
    assert resumed.optimizer.get_config() == first.optimizer.get_config()
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0)
    _assert_same_weights(resumed, straight)


def test_compile_false_loads_an_uncompiled_model(tmp_path):
    _trained(tmp_path / "m.gradstep")
    loaded = models.load_model(tmp_path / "m.gradstep", compile=False)
    assert not loaded.compiled
    with pytest.raises(NotCompiledError, match=r"You must call compile\(\) before fit\(\)"):
        loaded.fit(*_data(), verbose=0)


def test_sequential_from_config_rebuilds_the_architecture():
    model = _model()
    rebuilt = models.Sequential.from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config()
    assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]


def test_saving_imports_safetensors_only_when_used():
    code = (
        "import sys, gradstep, gradstep.saving; "
        "print('safetensors' in sys.modules); "
        "gradstep.models.Sequential([gradstep.layers.Dense(1, input_shape=(2,))])"
        ".save('m.gradstep'); print('safetensors' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=os.getcwd()
    )
    os.remove("m.gradstep")
    assert result.stdout.split() == ["False", "True"]


# --- resuming to the bit, and determinism, for every optimizer ---------------------------
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_training_resumes_to_the_bit_after_save_and_load_model(tmp_path, name):
    x, y = _data()
    straight = _model(name)
    history = straight.fit(x, y, epochs=4, batch_size=_batch_size(straight), verbose=0)
    _trained(tmp_path / "m.gradstep", epochs=2, optimizer=name)
    resumed = models.load_model(tmp_path / "m.gradstep")
    tail = resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=_batch_size(resumed), verbose=0)
    _assert_same_weights(resumed, straight)
    assert tail.history == {key: values[2:] for key, values in history.history.items()}
    assert resumed.optimizer.iterations == straight.optimizer.iterations


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_training_resumes_to_the_bit_after_save_weights_and_load_weights(tmp_path, name):
    x, y = _data()
    straight = _model(name)
    history = straight.fit(x, y, epochs=3, batch_size=_batch_size(straight), verbose=0)
    first = _trained(epochs=1, optimizer=name)
    first.save_weights(tmp_path / "m.weights.safetensors")
    resumed = _model(name, seed=99)
    resumed.load_weights(tmp_path / "m.weights.safetensors")
    tail = resumed.fit(x, y, epochs=3, initial_epoch=1, batch_size=_batch_size(resumed), verbose=0)
    _assert_same_weights(resumed, straight)
    assert tail.history == {key: values[1:] for key, values in history.history.items()}


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_the_same_seed_gives_the_same_history_and_weights(name):
    x, y = _data()
    runs = [_model(name, seed=5) for _ in range(2)]
    histories = [
        run.fit(x, y, epochs=2, batch_size=_batch_size(run), verbose=0).history for run in runs
    ]
    assert histories[0] == histories[1]
    assert all(np.isfinite(histories[0]["loss"]))
    _assert_same_weights(*runs)


# --- load_weights checks everything before it copies anything ----------------------------
def _snapshot(model):
    state = model.optimizer.get_state() if model.optimizer and model.optimizer.built else {}
    return model.get_weights(), state, model.get_training_state()


def _assert_unchanged(model, snapshot):
    weights, state, generators = _snapshot(model)
    for a, b in zip(weights, snapshot[0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert state.keys() == snapshot[1].keys()
    for key in state:
        np.testing.assert_array_equal(state[key], snapshot[1][key])
    assert generators == snapshot[2]


def test_load_weights_into_a_different_architecture_changes_nothing(tmp_path):
    _trained(tmp_path / "m.gradstep")
    # the first layer fits the file; the second does not: nothing may be copied
    other = models.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(5,)),
            layers.Dropout(0.25),
            layers.Dense(7, activation="tanh"),
            layers.Dropout(0.1, seed=7),
            layers.Dense(3, activation="softmax"),
        ],
        seed=1,
    )
    other.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    other.fit(*_data(), epochs=1, verbose=0)
    before = _snapshot(other)
    with pytest.raises(
        ValueError,
        match=r"array 'layers/2/vars/0' has shape \(8, 6\) and dtype float32, but weight 0 of "
        r"layer 2 \('dense_\d+'\) has shape \(8, 7\)",
    ):
        other.load_weights(tmp_path / "m.gradstep")
    _assert_unchanged(other, before)


def test_load_weights_with_a_bad_optimizer_state_changes_nothing(tmp_path):
    path = tmp_path / "m.gradstep"
    _trained(path)
    _rewrite(path, arrays=lambda a: {**a, "optimizer/momentum/0": np.zeros((2, 2), np.float32)})
    model = _trained(epochs=1, seed=4)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"optimizer's arrays do not fit the model.*momentum/0"):
        model.load_weights(path)
    _assert_unchanged(model, before)


def test_load_weights_with_a_bad_generator_state_changes_nothing(tmp_path):
    path = tmp_path / "m.gradstep"
    _trained(path)
    _edit(path, "training_state", lambda s: s["generators"]["shuffle"].update(has_uint32=1.5))
    model = _trained(epochs=1, seed=4)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"malformed state for generator 'shuffle'"):
        model.load_weights(path)
    _assert_unchanged(model, before)


def test_load_weights_into_an_unbuilt_model_says_how_to_build_it(tmp_path):
    _trained(tmp_path / "m.gradstep")
    model = models.Sequential([layers.Dense(8), layers.Dense(6), layers.Dense(3)])
    with pytest.raises(ValueError, match=r"is not built.*built for \(None, 5\)"):
        model.load_weights(tmp_path / "m.gradstep")


def test_load_weights_warns_when_the_optimizer_state_cannot_be_used(tmp_path):
    _trained(tmp_path / "m.gradstep")
    uncompiled = models.Sequential.from_config(_model().get_config())
    with pytest.warns(
        UserWarning, match="optimizer of class Adam, which was not loaded because the model"
    ):
        uncompiled.load_weights(tmp_path / "m.gradstep")
    other = _model("sgd", seed=2)
    with pytest.warns(
        UserWarning, match="optimizer of class Adam, which was not loaded into the model's SGD"
    ):
        other.load_weights(tmp_path / "m.gradstep")
    _assert_same_weights(other, uncompiled)


# --- losses and metrics of your own come back through custom_objects ----------------------
class _CustomLoss(losses.MeanSquaredError):
    pass


def scaled_squared_error(y_true, y_pred, scale=1.0):
    return scale * np.mean(np.square(y_pred - y_true), axis=-1)


def largest_error(y_true, y_pred):
    return np.max(np.abs(y_pred - y_true), axis=-1)


def _regression_model(loss):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1))).astype(np.float32)
    model = models.Sequential([layers.Dense(1, input_shape=(5,))], seed=0)
    model.compile(optimizer="adam", loss=loss, metrics=["mae", largest_error])
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return model, x, y


@pytest.mark.parametrize(
    "loss, custom_objects",
    [
        (
            losses.LossFunctionWrapper(scaled_squared_error, scale=2.0),
            {"scaled_squared_error": scaled_squared_error},
        ),
        (_CustomLoss(), {"_CustomLoss": _CustomLoss}),
    ],
    ids=["function", "subclass"],
)
@pytest.mark.requires("autograd", extra="autodiff")
def test_a_loss_and_a_metric_of_your_own_come_back_with_custom_objects(
    tmp_path, loss, custom_objects
):
    """As in Keras: the file holds their names, load_model(custom_objects=...)
    the code; training then continues exactly as if it had never stopped."""
    model, x, y = _regression_model(loss)
    model.save(tmp_path / "m.gradstep")
    objects = {**custom_objects, "largest_error": largest_error}
    loaded = models.load_model(tmp_path / "m.gradstep", custom_objects=objects)
    assert type(loaded.loss) is type(model.loss)
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    for trained in (model, loaded):
        trained.fit(x, y, batch_size=8, epochs=1, verbose=0)
    _assert_same_weights(model, loaded)


@pytest.mark.requires("autograd", extra="autodiff")
def test_without_its_custom_objects_a_model_loads_uncompiled_or_says_what_to_pass(tmp_path):
    model, x, _ = _regression_model(scaled_squared_error)
    model.save(tmp_path / "m.gradstep")
    with pytest.raises(ValueError, match=r"custom_objects=\{'scaled_squared_error'"):
        models.load_model(tmp_path / "m.gradstep")
    with pytest.raises(ValueError, match=r"custom_objects=\{'largest_error': largest_error\}"):
        models.load_model(
            tmp_path / "m.gradstep", custom_objects={"scaled_squared_error": scaled_squared_error}
        )
    uncompiled = models.load_model(tmp_path / "m.gradstep", compile=False)
    np.testing.assert_array_equal(uncompiled.predict(x, verbose=0), model.predict(x, verbose=0))


# --- what cannot be saved is refused before anything is written --------------------------
@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda m: m.compile(optimizer="adam", loss="mse", metrics=[lambda t, p: t]),
            "metric .* has no name a saved file could hold",
        ),
        (
            lambda m: m.compile(
                optimizer=optimizers.SGD(learning_rate=lambda step: 0.1), loss="mse"
            ),
            "not plain data",
        ),
    ],
)
def test_an_unsaveable_model_is_refused_and_the_old_file_kept(tmp_path, change, message):
    path = tmp_path / "m.gradstep"
    _trained(path)
    before = path.read_bytes()
    model = models.Sequential([layers.Dense(1, input_shape=(5,))])
    change(model)
    with pytest.raises(ValueError, match=message):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.gradstep"]


@pytest.mark.parametrize(
    "filename, message",
    [
        ("model.h5", r"must end in \.keras, \.gradstep, \.safetensors.*only save_weights"),
        ("model.weights.h5", "name ending in '.weights.h5'"),
        ("model", r"must end in \.keras"),
    ],
)
def test_save_checks_the_file_name(tmp_path, filename, message):
    with pytest.raises(ValueError, match=message):
        _model().save(tmp_path / filename)


def test_overwrite_false_refuses_an_existing_file(tmp_path):
    _trained(tmp_path / "m.gradstep")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        _model().save(tmp_path / "m.gradstep", overwrite=False)


# --- bad files: each refused with a message naming the problem ---------------------------
def _split(blob: bytes) -> tuple[dict, bytes]:
    size = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8 : 8 + size]), blob[8 + size :]


def _join(header: dict, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + data


def _edit_header(path, change):
    header, data = _split(path.read_bytes())
    change(header)
    path.write_bytes(_join(header, data))


def _edit(path, key, change):
    """Apply ``change`` to the parsed JSON of metadata ``key`` (in place; for
    ``model_config``, to the model's own config inside ``{"class_name", "config"}``)."""

    def edit(header):
        value = json.loads(header["__metadata__"][key])
        change(value["config"] if key == "model_config" else value)
        header["__metadata__"][key] = json.dumps(value)

    _edit_header(path, edit)


def _rewrite(path, arrays=lambda a: a, metadata=lambda m: m):
    """Re-save the file with changed arrays or metadata (a consistent layout)."""
    with open(path, "rb") as handle:
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    path.write_bytes(
        safetensors.numpy.save(
            arrays(safetensors.numpy.load_file(path)), metadata=metadata(header["__metadata__"])
        )
    )


def _layer(index, key, value):
    def change(config):
        config["layers"][index]["config"][key] = value

    return change


def _offsets(name, offsets):
    return lambda header: header[name].update(data_offsets=offsets)


BAD_FILES = {
    "unknown layer class": (
        lambda p: _edit(p, "model_config", lambda c: c["layers"][0].update(class_name="Conv9D")),
        r"model_config .*: ValueError: Unknown layer class 'Conv9D'. Expected one of: Activation",
    ),
    "a Python class that is not registered": (
        lambda p: _edit(p, "model_config", lambda c: c["layers"][0].update(class_name="Popen")),
        "Unknown layer class 'Popen'",
    ),
    "unknown activation": (
        lambda p: _edit(p, "model_config", _layer(0, "activation", "relux")),
        r"Unknown activation 'relux' for activation. Did you mean 'relu'",
    ),
    "unknown initializer": (
        lambda p: _edit(p, "model_config", _layer(0, "kernel_initializer", "he_nromal")),
        "Unknown initializer 'he_nromal'.* Did you mean 'he_normal'",
    ),
    "unknown layer argument": (
        lambda p: _edit(p, "model_config", _layer(0, "os_system", "rm -rf /")),
        r"TypeError: .*os_system",
    ),
    "unknown optimizer class": (
        lambda p: _edit(p, "compile_config", lambda c: c["optimizer"].update(class_name="Adamm")),
        "compile_config does not hold valid compile settings: ValueError: Unknown optimizer "
        "class 'Adamm'",
    ),
    "unknown loss class": (
        lambda p: _edit(p, "compile_config", lambda c: c["loss"].update(class_name="Hinge2")),
        "Unknown loss class 'Hinge2'",
    ),
    "unknown metric": (
        lambda p: _edit(p, "compile_config", lambda c: c.update(metrics=["acuracy"])),
        "Unknown metric 'acuracy' for metrics. Did you mean 'accuracy'",
    ),
    "malformed JSON in the metadata": (
        lambda p: _edit_header(p, lambda h: h["__metadata__"].update(model_config="{'layers': [")),
        "metadata 'model_config' is not valid JSON",
    ),
    "NaN in the JSON": (
        lambda p: _edit_header(p, lambda h: h["__metadata__"].update(compile_config="NaN")),
        "metadata 'compile_config' is not valid JSON: NaN",
    ),
    "duplicate keys in the JSON": (
        lambda p: _edit_header(
            p, lambda h: h["__metadata__"].update(training_state='{"seed": 1, "seed": 2}')
        ),
        "duplicate key",
    ),
    "malformed JSON in the header": (
        lambda p: p.write_bytes(p.read_bytes().replace(b'"__metadata__"', b"'__metadata__'", 1)),
        "the header is not valid JSON",
    ),
    "a config of the wrong JSON type": (
        lambda p: _edit(p, "model_config", lambda c: c.update(layers={"0": 1})),
        "model_config.layers must be a JSON list",
    ),
    "truncated inside the arrays": (
        lambda p: p.write_bytes(p.read_bytes()[:-10]),
        r"the file is truncated: array '.*' ends at byte \d+ of the data, which holds",
    ),
    "truncated inside the header": (
        lambda p: p.write_bytes(p.read_bytes()[:100]),
        r"the file is truncated: the header declares \d+ bytes, but only 92 follow",
    ),
    "truncated before the header": (
        lambda p: p.write_bytes(p.read_bytes()[:5]),
        "the file is truncated: 5 bytes, fewer than the 8",
    ),
    "empty": (lambda p: p.write_bytes(b""), "the file is truncated: 0 bytes"),
    "oversized: bytes after the last array": (
        lambda p: p.write_bytes(p.read_bytes() + bytes(16)),
        "the file is oversized: 16 bytes follow the last array",
    ),
    "oversized header": (
        lambda p: p.write_bytes((2**40).to_bytes(8, "little") + p.read_bytes()[8:]),
        r"the header declares 1099511627776 bytes, more than the limit",
    ),
    "overlapping arrays": (
        lambda p: _edit_header(p, _offsets("layers/0/vars/1", [0, 32])),
        r"array 'layers/0/vars/\d' at bytes \[0, \d+\) overlaps the array before it",
    ),
    "an array running past the end": (
        lambda p: _edit_header(p, _offsets("optimizer/iterations", [10**9, 10**9 + 8])),
        r"truncated: array 'optimizer/iterations' ends at byte 1000000008",
    ),
    "offsets that do not match the shape": (
        lambda p: _edit_header(p, lambda h: h["layers/0/vars/0"].update(shape=[5, 9])),
        r"array 'layers/0/vars/0' of shape \(5, 9\) and dtype F32 needs 180 bytes, but its "
        r"data_offsets \[\d+, \d+\] span 160",
    ),
    "a negative dimension": (
        lambda p: _edit_header(p, lambda h: h["layers/0/vars/0"].update(shape=[-5, 8])),
        r"has shape \[-5, 8\]; expected a list of non-negative integers",
    ),
    "an unsupported dtype": (
        lambda p: _edit_header(p, lambda h: h["layers/0/vars/1"].update(dtype="I8")),
        "has dtype 'I8'; expected one of F16, F32, F64, I64",
    ),
    "a weight of the wrong shape for the architecture": (
        lambda p: _edit(p, "model_config", _layer(0, "units", 9)),
        r"array 'layers/0/vars/0' has shape \(5, 8\), but weight 'kernel' of layer 0 "
        r"\('dense_\d+'\) has shape \(5, 9\) in the architecture",
    ),
    "a weight of the wrong dtype for the architecture": (
        lambda p: _edit(p, "model_config", _layer(0, "dtype", "float64")),
        r"array 'layers/0/vars/0' has shape \(5, 8\) and dtype float32, but weight 0 of layer 0 "
        r"\('dense_\d+'\) has shape \(5, 8\) and dtype float64",
    ),
    "a missing weight": (
        lambda p: _rewrite(
            p, arrays=lambda a: {k: v for k, v in a.items() if k != "layers/4/vars/1"}
        ),
        r"weight 'bias' of shape \(3,\), but the file holds no array 'layers/4/vars/1'",
    ),
    "an array with no place in the model": (
        lambda p: _rewrite(p, arrays=lambda a: {**a, "layers/9/vars/0": np.zeros(2, np.float32)}),
        r"arrays that the model has no place for: \['layers/9/vars/0'\]",
    ),
    "an optimizer slot of the wrong shape": (
        lambda p: _rewrite(
            p, arrays=lambda a: {**a, "optimizer/velocity/1": np.zeros(3, np.float32)}
        ),
        r"Optimizer state 'velocity/1' must have shape \(8,\) and dtype float32, received shape "
        r"\(3,\)",
    ),
    "a huge layer (refused before any memory is taken)": (
        lambda p: _edit(p, "model_config", _layer(0, "units", 10**12)),
        r"has shape \(5, 8\), but weight 'kernel' .* has shape \(5, 1000000000000\)",
    ),
    "a build shape that contradicts the layers": (
        lambda p: _edit(p, "model_config", lambda c: c.update(build_input_shape=[None, 6])),
        r"build_input_shape \(None, 6\) contradicts the input shape \(None, 5\)",
    ),
    "a malformed generator state": (
        lambda p: _edit(p, "training_state", lambda s: s["generators"]["init"].update(state=-1)),
        "malformed state for generator 'init'",
    ),
    "a generator of another kind": (
        lambda p: _edit(
            p, "training_state", lambda s: s["generators"]["init"].update(bit_generator="MT19937")
        ),
        "malformed state for generator 'init'",
    ),
    "a missing generator": (
        lambda p: _edit(p, "training_state", lambda s: s["generators"].pop("shuffle")),
        r"must hold the states of \['init', 'shuffle', 'dropout'\]",
    ),
    "a generator for a layer that has none": (
        lambda p: _edit(
            p,
            "training_state",
            lambda s: s["layer_generators"].update({"0": s["generators"]["init"]}),
        ),
        r"names layer '0'; the layers with a generator of their own are \['3'\]",
    ),
    "a bad seed": (
        lambda p: _edit(p, "training_state", lambda s: s.update(seed=True)),
        "training_state.seed must be a non-negative integer or null, received True",
    ),
    "another program's safetensors file": (
        lambda p: p.write_bytes(safetensors.numpy.save({"w": np.zeros(2)})),
        "no __metadata__ of strings: it is not a gradstep file",
    ),
    "another format": (
        lambda p: _edit_header(p, lambda h: h["__metadata__"].update(format="pt")),
        "the metadata's format is 'pt', expected 'gradstep'",
    ),
    "a newer format version": (
        lambda p: _edit_header(p, lambda h: h["__metadata__"].update(format_version="3")),
        "format_version '3' is not one this gradstep reads",
    ),
    "missing metadata": (
        lambda p: _edit_header(p, lambda h: h["__metadata__"].pop("training_state")),
        r"the metadata lacks \['training_state'\]",
    ),
    "a Keras .keras zip": (
        lambda p: p.write_bytes(b"PK\x03\x04" + bytes(100)),
        "not a whole zip archive",
    ),
    "a Keras .h5 file": (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100)), "HDF5"),
}


@pytest.mark.parametrize("corrupt, message", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_refused_with_a_message_naming_the_problem(tmp_path, corrupt, message):
    path = tmp_path / "m.gradstep"
    _trained(path)
    corrupt(path)
    with pytest.raises(ValueError, match=message) as raised:
        models.load_model(path)
    assert str(raised.value).startswith(f"Cannot load {path}: ")


# Damage to the architecture or the compile settings alone: load_weights reads
# neither (the model has its own), so it loads these files.
ARCHITECTURE_ONLY = {
    "unknown layer class",
    "a Python class that is not registered",
    "unknown activation",
    "unknown initializer",
    "unknown layer argument",
    "unknown optimizer class",
    "unknown loss class",
    "unknown metric",
    "a weight of the wrong shape for the architecture",
    "a weight of the wrong dtype for the architecture",
    "a huge layer (refused before any memory is taken)",
    "a build shape that contradicts the layers",
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_load_weights_refuses_a_bad_file_and_changes_nothing(tmp_path, case):
    corrupt, _ = BAD_FILES[case]
    path = tmp_path / "m.gradstep"
    saved = _trained(path)
    corrupt(path)
    model = _trained(epochs=1, seed=3)
    before = _snapshot(model)
    if case in ARCHITECTURE_ONLY:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an unknown optimizer class's state
            model.load_weights(path)
        _assert_same_weights(model, saved)
        return
    with pytest.raises(ValueError, match=f"^Cannot load {path}: "):
        model.load_weights(path)
    _assert_unchanged(model, before)


# --- fuzz: thousands of mutated files, no outcome but a clean load or a ValueError --------
def _valid_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "m.gradstep"
    _trained(path, epochs=1, units=4)
    return path


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory):
    return _valid_file(tmp_path_factory)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.sampled_from(
        ["relu", "Dense", "Dropout", "InputLayer", "PCG64", "float64", "F32", "I64", "", "x"]
        + ["Add", "Functional", "Sequential", "__keras_tensor__", "keras_history", "shared"]
    )
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


def _json_paths(value, prefix=()):
    """Every place in a JSON document, as a path of keys and indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_paths(item, prefix + (index,))


def _replace(value, path, new):
    if not path:
        return new
    value[path[0]] = _replace(value[path[0]], path[1:], new)
    return value


JSON_METADATA = ("model_config", "compile_config", "training_state")


def _header_edit(blob, rng, new_value):
    """Replace one value anywhere in the header, the JSON inside the metadata
    included, and keep the header size consistent."""
    header, arrays = _split(blob)
    metadata = header["__metadata__"]
    for key in JSON_METADATA:
        metadata[key] = json.loads(metadata[key])
    paths = list(_json_paths(header))
    header = _replace(header, paths[rng.integers(len(paths))], new_value)
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if isinstance(metadata, dict):
        for key in JSON_METADATA:
            if key in metadata:
                metadata[key] = json.dumps(metadata[key])
    return _join(header if isinstance(header, dict) else {}, arrays)


def _bit_flips(blob, rng, _):
    header_end = 8 + int.from_bytes(blob[:8], "little")
    mutated = bytearray(blob)
    for _ in range(rng.integers(1, 9)):
        # mostly in the header, where a flip changes meaning rather than a weight
        end = header_end if rng.random() < 0.75 else len(blob)
        mutated[rng.integers(end)] ^= 1 << rng.integers(8)
    return bytes(mutated)


def _cut_or_splice(blob, rng, _):
    start = int(rng.integers(len(blob) + 1))
    if rng.random() < 0.5:
        return blob[:start]
    stop = min(len(blob), start + int(rng.integers(65)))
    return blob[:start] + rng.bytes(int(rng.integers(17))) + blob[stop:]


MUTATIONS = {"header edit": _header_edit, "bit flips": _bit_flips, "cut or splice": _cut_or_splice}


def _mutate(data, blob):
    """Hypothesis picks the mutation, a seed for its positions, and (for header
    edits) the new JSON value; drawing every position through Hypothesis would
    cost more than the loads under test."""
    mutation = MUTATIONS[data.draw(st.sampled_from(sorted(MUTATIONS)), label="mutation")]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    new_value = data.draw(JSON_VALUES, label="value") if mutation is _header_edit else None
    return mutation(blob, rng, new_value)


def _load_or_refuse(path):
    try:
        models.load_model(path)
    except ValueError as error:
        assert str(error).startswith(f"Cannot load {path}: ")


def _fuzz(max_examples):
    """The default run fuzzes a little; `pytest -m slow` runs the long fuzz."""
    return settings(
        max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck)
    )


def _check_mutated_file_loads_cleanly_or_raises_value_error(valid_file, data):
    blob = valid_file.read_bytes()
    path = valid_file.with_name("mutated.gradstep")
    path.write_bytes(_mutate(data, blob))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy overflow warnings from flipped weights
        _load_or_refuse(path)


@_fuzz(150)
@given(data=st.data())
def test_fuzz_mutated_files_load_cleanly_or_raise_value_error(valid_file, data):
    _check_mutated_file_loads_cleanly_or_raises_value_error(valid_file, data)


@pytest.mark.slow
@_fuzz(1500)
@given(data=st.data())
def test_fuzz_long_mutated_files_load_cleanly_or_raise_value_error(valid_file, data):
    _check_mutated_file_loads_cleanly_or_raises_value_error(valid_file, data)


# --- the same for a graph: two inputs, a shared layer, a residual Add, two outputs -------
def _graph_model(seed=0):
    from gradstep import Input, Model

    a, b = Input(shape=(5,), name="a"), Input(shape=(3,), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    left = shared(layers.Dense(3, name="widen")(a))
    right = shared(b)
    merged = layers.Dropout(0.2, seed=3, name="drop")(layers.Add(name="merge")([left, right]))
    residual = layers.Add(name="residual")([merged, layers.Dense(4, name="skip")(left)])
    label = layers.Dense(3, activation="softmax", name="label")(residual)
    score = layers.Dense(1, name="score")(layers.Concatenate(name="join")([residual, b]))
    model = Model([a, b], [label, score], seed=seed)
    model.compile(
        optimizer="adam",
        loss=["sparse_categorical_crossentropy", "mse"],
        loss_weights=[1.0, 0.5],
        metrics=[["accuracy"], ["mae"]],
    )
    return model


def _graph_data(n=24):
    rng = np.random.default_rng(5)
    return [rng.normal(size=(n, 5)), rng.normal(size=(n, 3))], [
        rng.integers(0, 3, size=n),
        rng.normal(size=(n, 1)),
    ]


@pytest.fixture(scope="module")
def valid_graph_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "graph.gradstep"
    model = _graph_model()
    model.fit(*_graph_data(), epochs=1, batch_size=8, verbose=0)
    model.save(path)
    return path


def test_a_graph_round_trips_with_its_optimizer_and_generators(valid_graph_file):
    loaded = models.load_model(valid_graph_file)
    assert type(loaded).__name__ == "Functional" and len(loaded.outputs) == 2
    drop = next(i for i, layer in enumerate(loaded.layers) if layer.name == "drop")
    assert loaded.optimizer.iterations == 3 and set(loaded.layer_generators()) == {str(drop)}
    again = models.load_model(valid_graph_file)
    x, y = _graph_data()
    for model in (loaded, again):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    _assert_same_weights(loaded, again)


def _graph_edit(change):
    """Apply ``change`` to the graph config of a file's model_config."""
    return lambda path: _edit(path, "model_config", change)


def _entry(name):
    return lambda config: next(e for e in config["layers"] if e["name"] == name)


def _set_history(layer, history):
    def change(config):
        node = _entry(layer)(config)["inbound_nodes"][0]
        first = node["args"][0][0] if isinstance(node["args"][0], list) else node["args"][0]
        first["config"]["keras_history"] = history

    return change


BAD_GRAPH_FILES = {
    "a cycle": (
        _graph_edit(_set_history("widen", ["residual", 0, 0])),
        r"the graph has a loop, or a node whose inputs nothing produces",
    ),
    "a node naming a layer that does not exist": (
        _graph_edit(_set_history("skip", ["ghost", 0, 0])),
        r"refers to layer 'ghost', which the configuration does not define",
    ),
    "a dangling reference": (
        _graph_edit(lambda config: config["output_layers"][1].__setitem__(1, 5)),
        r"output_layers refers to call 5 of layer 'score', which the configuration never makes",
    ),
    "duplicate names": (
        _graph_edit(lambda config: _entry("skip")(config).update(name="widen")),
        r"the name 'widen' is used by two layers",
    ),
    "a shape mismatch": (
        _graph_edit(
            lambda config: _entry("residual")(config)["inbound_nodes"][0]["args"][0][1][
                "config"
            ].update(keras_history=["b", 0, 0])
        ),
        r"Inputs of layer 'residual' must have the same shape .*\(None, 4\), \(None, 3\)",
    ),
    "an unknown layer class": (
        _graph_edit(lambda config: _entry("merge")(config).update(class_name="Popen")),
        "Unknown layer class 'Popen'",
    ),
    "a weight of the wrong shape": (
        _graph_edit(lambda config: _entry("widen")(config)["config"].update(units=4)),
        r"array 'layers/1/vars/0' has shape \(5, 3\), but weight 'kernel' of layer 1 \('widen'\)",
    ),
}


@pytest.mark.parametrize("case", BAD_GRAPH_FILES)
def test_a_bad_graph_file_is_refused_naming_the_problem(tmp_path, valid_graph_file, case):
    corrupt, message = BAD_GRAPH_FILES[case]
    path = tmp_path / "bad.gradstep"
    shutil.copyfile(valid_graph_file, path)
    corrupt(path)
    with pytest.raises(ValueError, match=f"^Cannot load {path}: .*{message}"):
        models.load_model(path)


@_fuzz(100)
@given(data=st.data())
def test_fuzz_mutated_graph_files_load_cleanly_or_raise_value_error(valid_graph_file, data):
    _check_mutated_file_loads_cleanly_or_raises_value_error(valid_graph_file, data)


@pytest.mark.slow
@_fuzz(1000)
@given(data=st.data())
def test_fuzz_long_mutated_graph_files_load_cleanly_or_raise_value_error(valid_graph_file, data):
    _check_mutated_file_loads_cleanly_or_raises_value_error(valid_graph_file, data)


@pytest.fixture(scope="module")
def model_to_load_into():
    model = _model(units=4, seed=11)
    model.fit(*_data(n=16), epochs=1, verbose=0)
    return model


def _check_load_weights_loads_or_changes_nothing(valid_file, model, data):
    blob = valid_file.read_bytes()
    path = valid_file.with_name("mutated.weights.safetensors")
    path.write_bytes(_mutate(data, blob))
    before = _snapshot(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.load_weights(path)
        except ValueError as error:
            assert str(error).startswith(f"Cannot load {path}: ")
            _assert_unchanged(model, before)


@_fuzz(100)
@given(data=st.data())
def test_fuzz_load_weights_loads_or_changes_nothing(valid_file, model_to_load_into, data):
    _check_load_weights_loads_or_changes_nothing(valid_file, model_to_load_into, data)


@pytest.mark.slow
@_fuzz(500)
@given(data=st.data())
def test_fuzz_long_load_weights_loads_or_changes_nothing(valid_file, model_to_load_into, data):
    _check_load_weights_loads_or_changes_nothing(valid_file, model_to_load_into, data)


# --- atomic writes ----------------------------------------------------------------------
def _interrupt_after_half(handle, blob):
    handle.write(blob[: len(blob) // 2])
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "target, replacement",
    [
        ("_write_chunks", _interrupt_after_half),
        ("os.fsync", lambda descriptor: (_ for _ in ()).throw(OSError("disk full"))),
        ("os.replace", lambda source, target: (_ for _ in ()).throw(OSError("rename failed"))),
    ],
)
def test_an_interrupted_save_leaves_the_previous_file_whole(
    tmp_path, monkeypatch, target, replacement
):
    path = tmp_path / "m.gradstep"
    old = _trained(path)
    new = _trained(epochs=3, seed=9)
    if target.startswith("os."):
        monkeypatch.setattr(saving.os, target[3:], replacement)
    else:
        monkeypatch.setattr(saving, target, replacement)
    with pytest.raises((KeyboardInterrupt, OSError)):
        new.save(path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.gradstep"]  # the temporary file is gone too
    _assert_same_weights(models.load_model(path), old)


SAVER = """
import sys
import numpy as np
from gradstep import layers, models
model = models.Sequential([layers.Dense(1024, input_shape=(1024,)), layers.Dense(512)], seed=0)
model.compile(optimizer="adam", loss="mse")
version = 0
while True:
    version += 1
    model.set_weights([np.full_like(w, version) for w in model.weights])
    model.save(sys.argv[1])
    print(version, flush=True)
"""


def test_a_save_killed_at_any_moment_leaves_a_loadable_file(tmp_path):
    """A process saving a 6 MB model over and over is killed (SIGKILL) at random
    moments; each time, the file holds one complete version."""
    path = tmp_path / "m.gradstep"
    rng = np.random.default_rng(0)
    for _ in range(6):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True
        )
        saver.stdout.readline()  # one complete save
        time.sleep(rng.uniform(0, 0.15))
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        saver.stdout.close()
        weights = models.load_model(path).get_weights()
        version = weights[0].flat[0]
        assert version >= 1 and all((w == version).all() for w in weights)
