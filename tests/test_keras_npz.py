"""gradstep reads the ``.keras`` archives whose weights Keras 3 stored as
``model.weights.npz`` (pickled dicts in object arrays) without unpickling:
golden archives from tools/make_keras_npz_fixtures.py give Keras's
predictions and train on to Keras's weights; hostile or damaged members are
refused naming the member and the opcode or global."""

import io
import json
import pickle
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradstep

FIXTURES = Path(__file__).parent / "fixtures" / "keras_npz"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
TRAINED = sorted(name for name, entry in EXPECTED.items() if "weights_after_an_epoch" in entry)


def _arrays(values, integers=False):
    dtype = np.int32 if integers else np.float32
    arrays = [np.asarray(value, dtype) for value in values]
    return arrays[0] if len(arrays) == 1 else arrays


def _refuse_unpickling(*args, **kwargs):
    raise AssertionError("something unpickled")


def _read(path):
    """``load_model``, failing if anything unpickles while it reads."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("load", "loads", "Unpickler"):
            patch.setattr(pickle, name, _refuse_unpickling)
        return gradstep.models.load_model(path)


def _load(path):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*starts afresh")
        return _read(path)


@pytest.mark.parametrize("name", TRAINED)
def test_keras_npz_archives_predict_as_keras_and_train_on_to_its_weights(name):
    expected = EXPECTED[name]
    model = _load(FIXTURES / f"{name}.keras")
    inputs = _arrays(expected["inputs"], integers=name == "embedding")
    predictions = model.predict(inputs, verbose=0)
    predictions = predictions if isinstance(predictions, list) else [predictions]
    for ours, theirs in zip(predictions, expected["predictions"], strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs, np.float32), atol=1e-6)
    assert model.optimizer.iterations == 1
    targets = _arrays(expected["targets"])
    model.fit(inputs, targets, batch_size=8, epochs=1, shuffle=False, verbose=0)
    weights = model.get_weights()
    for ours, theirs in zip(weights, expected["weights_after_an_epoch"], strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs, np.float32), rtol=1e-5, atol=1e-6)


def test_an_archive_of_keras_s_numpy_backend_loads():
    expected = EXPECTED["dense_numpy_backend"]
    model = _load(FIXTURES / "dense_numpy_backend.keras")
    predictions = model.predict(_arrays(expected["inputs"]), verbose=0)
    np.testing.assert_allclose(predictions, np.asarray(expected["predictions"][0]), atol=1e-6)


def test_an_npz_archive_needs_neither_h5py_nor_jax_nor_torch(monkeypatch):
    for module in ("h5py", "jax", "torch"):
        monkeypatch.setitem(sys.modules, module, None)  # importing it now fails
    for name in ("functional", "rnn_torch_backend"):
        model = _load(FIXTURES / f"{name}.keras")
        assert model.optimizer.iterations == 1


def test_load_weights_reads_an_npz_archive():
    source = _load(FIXTURES / "dense.keras")
    model = gradstep.Sequential(
        [gradstep.Input((4,)), gradstep.layers.Dense(3, activation="relu"),
         gradstep.layers.Dense(2)]
    )  # fmt: skip
    model.load_weights(FIXTURES / "dense.keras")
    for ours, theirs in zip(model.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


# --- hostile and damaged members -------------------------------------------------------
def _members(path=FIXTURES / "dense.keras") -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _with_npy(tmp_path, name: str, npy: bytes) -> Path:
    """dense.keras with the npz member ``name`` replaced by ``npy``."""
    members = _members()
    inner = _members_of_bytes(members["model.weights.npz"])
    inner[name] = npy
    members["model.weights.npz"] = _zip(inner)
    path = tmp_path / "bad.keras"
    path.write_bytes(_zip(members))
    return path


def _members_of_bytes(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _object_npy(pickled: bytes) -> bytes:
    """An .npy member of a 0-d object array whose body is ``pickled``."""
    buffer = io.BytesIO()
    header = {"descr": "|O", "fortran_order": False, "shape": ()}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + pickled


def _saved_dict(value: dict) -> bytes:
    """The .npy bytes np.save writes for a dict (as Keras's NpzIOStore does)."""
    buffer = io.BytesIO()
    np.save(buffer, np.array(value, dtype=object), allow_pickle=True)
    return buffer.getvalue()


#: Pickles written opcode by opcode: what a hostile file would hold.
HOSTILE = {
    "os.system": (b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.", "global os.system"),
    "builtins.eval": (
        b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x041+1\x85R.",
        "global builtins.eval",
    ),
    "posix.system by GLOBAL": (b"cposix\nsystem\n(S'id'\ntR.", "global posix.system"),
    "an INST opcode": (b"(Vid\nios\nsystem\n.", "opcode INST"),
    "a persistent id": (b"\x80\x04\x8c\x01x\x94Q.", "opcode BINPERSID"),
    "an extension code": (b"\x80\x04\x82\x01.", "opcode EXT1"),
    "torch.load": (b"\x80\x04\x8c\x05torch\x8c\x04load\x93.", "global torch.load"),
    "a storage class outside a torch storage": (
        b"\x80\x04\x8c\x05torch\x8c\x0cFloatStorage\x93.",
        "global torch.FloatStorage",
    ),
    "a set": (b"\x80\x04\x8f\x94.", "opcode EMPTY_SET"),
}


@pytest.mark.parametrize(("pickled", "message"), HOSTILE.values(), ids=HOSTILE)
def test_globals_and_opcodes_that_are_not_data_are_refused(tmp_path, pickled, message):
    path = _with_npy(tmp_path, "layers/dense.npy", _object_npy(pickled))
    with pytest.raises(
        ValueError, match=rf"model\.weights\.npz member 'layers/dense\.npy'.*{message}"
    ):
        _read(path)


def _plain_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3, np.float32))
    return buffer.getvalue()


def _kernel_and_bias(kernel, bias=None):
    bias = np.zeros(3, np.float32) if bias is None else bias
    return _saved_dict({"0": kernel, "1": bias})


DAMAGED = {
    "a kernel of another shape": (
        _kernel_and_bias(np.zeros((4, 5), np.float32)),
        r"shape \(4, 5\).*shape \(4, 3\)",
    ),
    "a kernel of another dtype": (
        _kernel_and_bias(np.zeros((4, 3), np.float64)),
        "dtype float64.*dtype float32",
    ),
    "a weight too many": (
        _saved_dict(
            {
                "0": np.zeros((4, 3), np.float32),
                "1": np.zeros(3, np.float32),
                "2": np.zeros(3, np.float32),
            }
        ),
        "has 2 weights.*holds 3 arrays",
    ),  # fmt: skip
    "a string where an array goes": (_saved_dict({"0": "kernel", "1": 1}), "is str, not an array"),
    "a list, not a dict": (_object_npy(b"\x80\x04]\x94."), "not hold a dict"),
    "a plain array member": (_plain_npy(), "holds an array of shape"),
    "a truncated pickle": (_kernel_and_bias(np.ones((4, 3), np.float32))[:-40], "damaged"),
    "bytes after the pickle": (_kernel_and_bias(np.ones((4, 3), np.float32)) + b"xx", "after"),
    "array bytes cut short": (
        _object_npy(
            b"\x80\x04\x8c\x16numpy._core.multiarray\x8c\x0c_reconstruct\x93\x8c\x05numpy"
            b"\x8c\x07ndarray\x93K\x00\x85C\x01b\x87R(K\x01K\x04K\x03\x86\x8c\x05numpy"
            b"\x8c\x05dtype\x93\x8c\x02f4\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ"
            b"\xff\xff\xff\xffK\x00tb\x89C\x08\x00\x00\x00\x00\x00\x00\x00\x00tb."
        ),
        r"shape \(4, 3\) and dtype float32 \(48 bytes\) given 8 bytes",
    ),
    "a structured dtype": (
        _object_npy(b"\x80\x04\x8c\x05numpy\x8c\x05dtype\x93\x8c\x07i4,f4,O\x89\x88\x87R."),
        "dtype 'i4,f4,O'",
    ),
}


@pytest.mark.parametrize(("npy", "message"), DAMAGED.values(), ids=DAMAGED)
def test_members_that_do_not_fit_or_are_damaged_are_refused(tmp_path, npy, message):
    path = _with_npy(tmp_path, "layers/dense.npy", npy)
    with pytest.raises(ValueError, match=message):
        _read(path)


def test_an_npz_member_with_a_dotdot_path_is_refused(tmp_path):
    path = _with_npy(tmp_path, "../evil.npy", _saved_dict({}))
    with pytest.raises(ValueError, match=r"model\.weights\.npz.*'\.\.' in its path"):
        _read(path)


def test_a_nested_cycle_is_refused(tmp_path):
    # a dict that holds itself: {"0": <the dict>}
    cycle = b"\x80\x04}\x94\x8c\x010\x94h\x00s."
    path = _with_npy(tmp_path, "layers/dense.npy", _object_npy(_container(cycle)))
    with pytest.raises(ValueError, match="deeper than|cycle"):
        _read(path)


def _container(body: bytes) -> bytes:
    """Keras's 0-d object array around the value that ``body`` (a pickle,
    without its PROTO and STOP) pushes."""
    head = (
        b"\x80\x04\x8c\x16numpy._core.multiarray\x8c\x0c_reconstruct\x93\x8c\x05numpy"
        b"\x8c\x07ndarray\x93K\x00\x85C\x01b\x87R(K\x01)\x8c\x05numpy\x8c\x05dtype\x93"
        b"\x8c\x02O8\x89\x88\x87R(K\x03\x8c\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"
        b"\x89]"
    )
    return head + body.removeprefix(b"\x80\x04").removesuffix(b".") + b"atb."


# --- fuzz: mutated npz members load cleanly or raise ValueError -------------------------
def _mutated_archive(data) -> bytes:
    archives = ["dense.keras", "rnn.keras", "dense_torch_backend.keras"]
    members = _members(FIXTURES / data.draw(st.sampled_from(archives)))
    inner = _members_of_bytes(members["model.weights.npz"])
    name = data.draw(st.sampled_from(sorted(inner)))
    body = bytearray(inner[name])
    kind = data.draw(st.sampled_from(["flip", "cut", "splice"]))
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    elif kind == "cut":
        body = body[: data.draw(st.integers(0, len(body) - 1))]
    else:
        at = data.draw(st.integers(0, len(body)))
        body[at:at] = data.draw(st.binary(max_size=32))
    inner[name] = bytes(body)
    members["model.weights.npz"] = _zip(inner)
    return _zip(members)


def _check_mutated(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "mutated.keras"
    path.write_bytes(_mutated_archive(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _read(path)
        except ValueError:
            pass


def _fuzz(max_examples):
    return settings(
        max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck)
    )


@_fuzz(150)
@given(data=st.data())
def test_fuzz_mutated_npz_members_load_cleanly_or_raise_value_error(tmp_path_factory, data):
    _check_mutated(tmp_path_factory, data)


@pytest.mark.slow
@_fuzz(1500)
@given(data=st.data())
def test_fuzz_long_mutated_npz_members(tmp_path_factory, data):
    _check_mutated(tmp_path_factory, data)
