"""gradstep reads the ``.keras`` archives that Keras 3 wrote (golden fixtures
from tools/make_keras_archive_fixtures.py; no Keras needed), and refuses
archives that could run code or harm the machine, naming the problem."""

import importlib
import io
import json
import stat
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradstep
from layer_cases import complete, inputs_for, targets_for

pytestmark = pytest.mark.requires("h5py", extra="h5")

ARCHIVES = Path(__file__).parent / "fixtures" / "keras_archives"
FAMILIES = sorted(
    path.stem for path in ARCHIVES.glob("*.json") if path.stem != "optimizers"
)  # fmt: skip


def _cases():
    for family in FAMILIES:
        expected = json.loads((ARCHIVES / f"{family}.json").read_text())
        module = importlib.import_module(f"layer_cases.{family}")
        for case in module.CASES:
            if case["name"] in expected:
                yield pytest.param(
                    family, complete(case), expected[case["name"]], id=f"{family}-{case['name']}"
                )


def _load(path, **options):
    with warnings.catch_warnings():
        # The optimizer's state is never left behind (Keras's own warnings,
        # such as a mask that a layer drops, are allowed).
        warnings.filterwarnings("error", message=".*starts afresh")
        return gradstep.models.load_model(path, **options)


@pytest.mark.parametrize(("family", "case", "expected"), list(_cases()))
def test_every_layer_case_keras_saved_loads_predicts_and_trains_on(family, case, expected):
    model = _load(ARCHIVES / family / f"{case['name']}.keras")
    inputs = inputs_for(case, np)
    predictions = np.asarray(expected["predictions"], dtype=np.float32)
    np.testing.assert_allclose(model.predict(inputs, verbose=0), predictions, atol=1e-6)
    if "weights_after_a_step" in expected:
        targets = targets_for(case, predictions.shape, np)
        model.fit(inputs, targets, batch_size=case["batch"], epochs=1, verbose=0)
        for ours, theirs in zip(model.get_weights(), expected["weights_after_a_step"], strict=True):
            np.testing.assert_allclose(ours, np.asarray(theirs, np.float32), rtol=1e-4, atol=2e-6)


OPTIMIZER_RESULTS = json.loads((ARCHIVES / "optimizers.json").read_text())


@pytest.mark.parametrize("name", [n for n in OPTIMIZER_RESULTS if n not in ("inputs", "targets")])
def test_training_goes_on_from_keras_s_optimizer_state(name):
    """Keras trained 2 steps and saved; 2 more steps in gradstep give Keras's
    weights after its own 2 more steps."""
    expected = OPTIMIZER_RESULTS[name]
    model = _load(ARCHIVES / "optimizers" / f"{name}.keras")
    assert type(model.optimizer).__name__ == expected["class_name"]
    assert model.optimizer.iterations == expected["iterations"]
    inputs = np.asarray(OPTIMIZER_RESULTS["inputs"], np.float32)
    targets = np.asarray(OPTIMIZER_RESULTS["targets"], np.float32)
    model.fit(inputs, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), expected["weights"], strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs, np.float32), rtol=1e-5, atol=1e-6)


def test_keras_s_momentum_goes_on_in_pytorch_s_form():
    """Keras's SGD velocity is -learning_rate times PyTorch's buffer: loaded
    into an SGD with momentum_form="pytorch" (constant rate), 2 more steps
    give Keras's weights."""
    expected = OPTIMIZER_RESULTS["SGD"]
    model = _mlp()
    model.compile(
        optimizer=gradstep.optimizers.SGD(0.05, momentum=0.9, momentum_form="pytorch"),
        loss="mse",
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*starts afresh")
        model.load_weights(ARCHIVES / "optimizers" / "SGD.keras")
    assert model.optimizer.iterations == expected["iterations"]
    inputs = np.asarray(OPTIMIZER_RESULTS["inputs"], np.float32)
    targets = np.asarray(OPTIMIZER_RESULTS["targets"], np.float32)
    model.fit(inputs, targets, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), expected["weights"], strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs, np.float32), rtol=1e-5, atol=1e-6)


def _mlp():
    return gradstep.Sequential(
        [
            gradstep.Input((5,)),
            gradstep.layers.Dense(4, activation="tanh"),
            gradstep.layers.BatchNormalization(),
            gradstep.layers.Dense(2),
        ]
    )


def test_an_archive_byte_for_byte_as_keras_wrote_it():
    model = _load(ARCHIVES / "as_keras_wrote_it.keras")
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense",
        "BatchNormalization",
        "Dense",
    ]
    assert model.get_compile_config()["optimizer"]["class_name"] == "Adam"


def test_load_weights_from_a_keras_archive():
    source = _load(ARCHIVES / "optimizers" / "Adam.keras")
    model = _mlp()
    model.load_weights(ARCHIVES / "optimizers" / "Adam.keras")
    for ours, theirs in zip(model.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_gradstep_s_own_archive_resumes_to_the_bit(tmp_path):
    def model():
        gradstep.utils.set_random_seed(1)
        net = gradstep.Sequential(
            [gradstep.Input((3,)), gradstep.layers.Dense(4), gradstep.layers.Dropout(0.3),
             gradstep.layers.Dense(1)]
        )  # fmt: skip
        net.compile(optimizer="adam", loss="mse")
        return net

    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    straight, first = model(), model()
    straight.fit(x, y, epochs=2, batch_size=4, verbose=0)
    first.fit(x, y, epochs=1, batch_size=4, verbose=0)
    first.save(tmp_path / "m.keras")
    resumed = gradstep.models.load_model(tmp_path / "m.keras")
    resumed.fit(x, y, epochs=1, batch_size=4, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_without_h5py_keras_files_name_the_extra_and_gradstep_files_still_work(
    tmp_path, monkeypatch
):
    model = gradstep.Sequential([gradstep.Input((2,)), gradstep.layers.Dense(1)])
    model.save(tmp_path / "m.keras")  # before h5py is hidden
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"need h5py: pip install 'gradstep\[h5\]'"):
        model.save(tmp_path / "other.keras")
    with pytest.raises(ImportError, match="need h5py"):
        gradstep.models.load_model(ARCHIVES / "as_keras_wrote_it.keras")
    gradstep.models.load_model(tmp_path / "m.keras")  # gradstep's member needs no h5py
    model.save(tmp_path / "m.gradstep")
    gradstep.models.load_model(tmp_path / "m.gradstep")


# --- refusals -------------------------------------------------------------------------
def _members(path=ARCHIVES / "as_keras_wrote_it.keras") -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path, members: dict[str, bytes], infos=()) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for info, data in infos:
            archive.writestr(info, data)
    return path


def _with_config(edit) -> dict[str, bytes]:
    members = _members()
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    return members


def _lambda_layer(config):
    config["config"]["layers"][1] = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": "evil", "function": {"class_name": "__lambda__",
                   "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA"}}},
        "registered_name": None,
    }  # fmt: skip


def _unknown_layer(config):
    config["config"]["layers"][1]["class_name"] = "Backdoor"


def _custom_module_layer(config):
    config["config"]["layers"][1].update(module="my_package.layers", registered_name="My>Dense")


def _unknown_function(config):
    config["config"]["layers"][1]["config"]["activation"] = {
        "module": "os",
        "class_name": "function",
        "config": "system",
        "registered_name": "system",
    }


CONFIG_REFUSALS = {
    "a Lambda layer": (_lambda_layer, "'Lambda': a Lambda layer holds Python code"),
    "an unknown layer class": (_unknown_layer, "the class 'Backdoor'.*does not have"),
    "a class of a module of yours": (_custom_module_layer, "'My>Dense'.*custom_objects"),
    "a function from another module": (_unknown_function, "the function 'system'.*'os'"),
}


@pytest.mark.parametrize(("edit", "message"), CONFIG_REFUSALS.values(), ids=CONFIG_REFUSALS)
def test_configs_that_hold_code_or_unknown_classes_are_refused(tmp_path, edit, message):
    path = _write(tmp_path / "bad.keras", _with_config(edit))
    with pytest.raises(ValueError, match=message):
        gradstep.models.load_model(path)


def test_a_class_given_through_custom_objects_is_used(tmp_path):
    @gradstep.saving.register_keras_serializable("My")
    class Dense(gradstep.layers.Dense):
        pass

    path = _write(tmp_path / "ok.keras", _with_config(_custom_module_layer))
    model = _load(path)
    assert type(model.layers[0]) is Dense


def _link_info(name: str, target: str):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


ARCHIVE_REFUSALS = {
    "an absolute path": (
        lambda m: _write_extra(m, [(zipfile.ZipInfo("/etc/cron.d/x"), b"x")]),
        "absolute path",
    ),
    "a '..' path": (
        lambda m: _write_extra(m, [(zipfile.ZipInfo("assets/../../x"), b"x")]),
        r"'\.\.' in its path",
    ),
    "a symbolic link": (
        lambda m: _write_extra(m, [_link_info("assets/link", "/etc/passwd")]),
        "symbolic link",
    ),
    "npz weights that are not a zip": (
        lambda m: _renamed(m, "model.weights.h5", "model.weights.npz"),
        r"its model\.weights\.npz\): it is not a whole zip archive",
    ),
    "no weights": (lambda m: _renamed(m, "model.weights.h5", "other.h5"), "no model.weights.h5"),
    "no config": (lambda m: _renamed(m, "config.json", "other.json"), "no config.json"),
    "config not JSON": (lambda m: {**m, "config.json": b"{not json"}, "not valid JSON"),
}


def _write_extra(members, infos):
    return members, infos


def _renamed(members, old, new):
    members = dict(members)
    members[new] = members.pop(old)
    return members, ()


@pytest.mark.parametrize(("make", "message"), ARCHIVE_REFUSALS.values(), ids=ARCHIVE_REFUSALS)
def test_unsafe_or_broken_archives_are_refused_naming_the_problem(tmp_path, make, message):
    result = make(_members())
    members, infos = result if isinstance(result, tuple) else (result, ())
    path = _write(tmp_path / "bad.keras", members, infos)
    with pytest.raises(ValueError, match=message):
        gradstep.models.load_model(path)


def _bomb(tmp_path) -> Path:
    """A member of 64 MiB of zeros, stored in about 65 kB."""
    path = tmp_path / "bomb.keras"
    members = _members()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        with archive.open("assets/zeros", "w", force_zip64=True) as handle:
            chunk = bytes(2**24)
            for _ in range(4):
                handle.write(chunk)
    return path


def test_a_zip_bomb_is_refused_before_it_is_expanded(tmp_path):
    with pytest.raises(ValueError, match="zip bomb"):
        gradstep.models.load_model(_bomb(tmp_path))


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9, 0.99])
def test_a_truncated_archive_is_refused(tmp_path, keep):
    blob = (ARCHIVES / "as_keras_wrote_it.keras").read_bytes()
    path = tmp_path / "cut.keras"
    path.write_bytes(blob[: int(len(blob) * keep)])
    with pytest.raises(ValueError, match="truncated|not a whole zip"):
        gradstep.models.load_model(path)


def _h5_edit(edit) -> dict[str, bytes]:
    import h5py

    members = _members()
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as file:
        edit(file)
    members["model.weights.h5"] = buffer.getvalue()
    return members


def _reshape(file):
    del file["layers/dense/vars/0"]
    file["layers/dense/vars/0"] = np.zeros((5, 3), np.float32)


def _retype(file):
    data = file["layers/dense/vars/0"][()]
    del file["layers/dense/vars/0"]
    file["layers/dense/vars/0"] = data.astype(np.float64)


def _extra(file):
    file["layers/dense/vars/2"] = np.zeros(4, np.float32)


def _missing(file):
    del file["layers/dense/vars/1"]


def _soft_link(file):
    import h5py

    del file["layers/dense/vars/1"]
    file["layers/dense/vars/1"] = h5py.SoftLink("/layers/dense/vars/0")


def _external_link(file):
    import h5py

    del file["layers/dense/vars/1"]
    file["layers/dense/vars/1"] = h5py.ExternalLink("/etc/passwd", "/x")


WEIGHT_REFUSALS = {
    "a weight of another shape": (_reshape, r"shape \(5, 3\).*shape \(5, 4\)"),
    "a weight of another dtype": (_retype, "dtype float64.*dtype float32"),
    "one weight too many": (_extra, "has 2 weights.*holds 3 arrays"),
    "a missing weight": (_missing, "has 2 weights.*holds 1 arrays"),
    "a soft link": (_soft_link, "link"),
    "an external link": (_external_link, "link"),
}


@pytest.mark.parametrize(("edit", "message"), WEIGHT_REFUSALS.values(), ids=WEIGHT_REFUSALS)
def test_weights_that_do_not_fit_the_config_are_refused(tmp_path, edit, message):
    path = _write(tmp_path / "bad.keras", _h5_edit(edit))
    with pytest.raises(ValueError, match=message):
        gradstep.models.load_model(path)


# --- fuzz: mutated archives load cleanly or raise ValueError ----------------------------
def _mutate(data, blob: bytes) -> bytes:
    kind = data.draw(st.sampled_from(["flip", "cut", "splice", "member"]))
    if kind == "flip":
        blob = bytearray(blob)
        for _ in range(data.draw(st.integers(1, 8))):
            blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
        return bytes(blob)
    if kind == "cut":
        return blob[: data.draw(st.integers(0, len(blob) - 1))]
    if kind == "splice":
        at = data.draw(st.integers(0, len(blob)))
        return blob[:at] + data.draw(st.binary(max_size=64)) + blob[at:]
    members = _members()
    name = data.draw(st.sampled_from(sorted(members)))
    body = bytearray(members[name])
    for _ in range(data.draw(st.integers(1, 8))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    members[name] = bytes(body)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, value in members.items():
            archive.writestr(key, value)
    return buffer.getvalue()


def _check_mutated_archive(tmp_path_factory, data):
    blob = (ARCHIVES / "as_keras_wrote_it.keras").read_bytes()
    path = tmp_path_factory.mktemp("fuzz") / "mutated.keras"
    path.write_bytes(_mutate(data, blob))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            gradstep.models.load_model(path)
        except ValueError:
            pass


def _fuzz(max_examples):
    return settings(
        max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck)
    )


@_fuzz(150)
@given(data=st.data())
def test_fuzz_mutated_keras_archives_load_cleanly_or_raise_value_error(tmp_path_factory, data):
    _check_mutated_archive(tmp_path_factory, data)


@pytest.mark.slow
@_fuzz(1500)
@given(data=st.data())
def test_fuzz_long_mutated_keras_archives(tmp_path_factory, data):
    _check_mutated_archive(tmp_path_factory, data)
