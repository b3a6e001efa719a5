"""Keras 3's ``.keras`` archives, both ways (docs/keras-files.md).

A ``.keras`` file is a zip archive. Keras 3 writes three members:

- ``metadata.json``: the Keras version and the date;
- ``config.json``: the model as ``serialize_keras_object`` gives it
  (``{"module", "class_name", "config", "registered_name", "build_config",
  "compile_config"}``);
- ``model.weights.h5``: the weights in Keras's HDF5 layout
  (``gradstep.h5_weights``), and the optimizer's variables under
  ``optimizer/vars``.

gradstep writes the same three members, so that ``keras.saving.load_model``
loads its files, and a fourth that Keras ignores, ``gradstep.safetensors``:
gradstep's own file (``gradstep.saving``), which holds what a bit-identical
resume needs and Keras has no place for (random generators, gradstep's own
optimizer options). ``gradstep.models.load_model`` reads that member when it
is there, and Keras's three members otherwise.

The weights go in HDF5 (``model.weights.h5``), not ``.npz``: Keras 3 stores
``.npz`` weights as pickled object arrays, which it cannot itself read back
with ``allow_pickle=False`` (Keras 3.15). gradstep reads such archives
without unpickling (``gradstep.keras_npz``). Writing and reading HDF5 needs
h5py (the ``h5`` extra); an archive with npz weights, and a ``.gradstep``
file, need neither.

Reading never runs code from the file, and checks the archive before it reads
a member (``_check_archive``): member names (no absolute paths, ``..``,
links), sizes (no zip bomb), and that it is whole (no truncation); then the
config's classes (no ``Lambda``, nothing unknown unless given through
``custom_objects``), then every weight's count, shape and dtype against the
model the config builds, before any weight is set.
"""

from __future__ import annotations

import io
import json
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS_H5 = "model.weights.h5"
WEIGHTS_NPZ = "model.weights.npz"
NATIVE = "gradstep.safetensors"
#: The Keras release whose archive layout gradstep writes.
KERAS_VERSION = "3.15.1"
#: A member may not expand past this multiple of its stored size, once above
#: the floor: Keras stores its members uncompressed (ratio 1); weights
#: compress a few times at most; DEFLATE reaches about 1032 only on runs of one
#: byte, which is what a zip bomb is made of.
MAX_EXPANSION = 200
EXPANSION_FLOOR_BYTES = 2**20
#: No member of a model archive comes near this (uncompressed).
MAX_MEMBER_BYTES = 2**33
MAX_CONFIG_BYTES = 64 * 2**20
MAX_MEMBERS = 10_000

_MODEL_CLASSES = ("Sequential", "Functional", "Model")
#: gradstep's options that Keras lacks (dropped when their value is Keras's rule).
_GRADSTEP_ONLY_OPTIONS = ("epsilon_placement", "momentum_form")
_GRADSTEP_ONLY_OPTIMIZERS = {"GD", "LBFGS"}
#: The learning-rate schedules of keras.optimizers.schedules (gradstep's take
#: the same arguments); gradstep's others (LinearWarmup, OneCycle, Cyclic,
#: InverseScaling) Keras would not find.
_KERAS_SCHEDULES = {
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
}


def is_archive(path) -> bool:
    """Whether the file at ``path`` starts as a zip archive does."""
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


# --- writing ------------------------------------------------------------------------
def archive_bytes(model, native_blob: bytes) -> bytes:
    """The ``.keras`` archive of ``model``: Keras's three members and
    gradstep's own file (``native_blob``) as a fourth."""
    from gradstep import h5_weights

    config, keras_optimizer = keras_model_config(model)
    weights = h5_weights.keras_weights_blob(model, optimizer_arrays(model, keras_optimizer))
    metadata = {"keras_version": KERAS_VERSION, "gradstep_version": _version()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(METADATA, json.dumps(metadata))
        archive.writestr(CONFIG, json.dumps(config, allow_nan=False))
        archive.writestr(WEIGHTS_H5, weights)
        archive.writestr(NATIVE, native_blob)
    return buffer.getvalue()


def keras_model_config(model) -> tuple[dict[str, Any], bool]:
    """``config.json`` for ``model``, as Keras 3's ``serialize_keras_object``
    writes it; and whether its compile settings are Keras's (False: the
    model is written uncompiled for Keras, with a warning)."""
    config = _model_entry(_model_class_name(model), _keras_layers_config(model.get_config()))
    build_config = model.get_build_config()
    if build_config is not None:
        config["build_config"] = build_config
    compile_config = model.get_compile_config()
    keras_compile = None
    if compile_config is not None and model.custom_objects():
        warnings.warn(
            "The .keras file's config.json holds the model uncompiled for Keras: its loss or "
            f"metrics are functions of your own ({sorted(model.custom_objects())}), which "
            f"Keras would not find. gradstep's load_model restores them from {NATIVE} (given "
            "custom_objects).",
            stacklevel=5,  # model.save's caller
        )
    elif compile_config is not None:
        keras_compile = _keras_compile_config(compile_config)
    if keras_compile is not None:
        config["compile_config"] = keras_compile
    return config, keras_compile is not None


def _model_entry(class_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Keras's ``{"module", "class_name", "config", "registered_name"}`` of a
    model (Keras names Functional by its module and registered name)."""
    if class_name == "Functional":
        module, registered = "keras.src.models.functional", "Functional"
    else:
        module, registered = "keras", None
    return {
        "module": module,
        "class_name": class_name,
        "config": config,
        "registered_name": registered,
    }


def _model_class_name(model) -> str:
    name = type(model).__name__
    return "Functional" if name == "Model" else name


def _keras_layers_config(config: dict[str, Any]) -> dict[str, Any]:
    """A model's config with each layer entry in Keras's full form."""
    config = dict(config)
    if isinstance(config.get("layers"), list):
        config["layers"] = [_keras_layer_entry(entry) for entry in config["layers"]]
    return config


def _keras_layer_entry(entry: dict[str, Any]) -> dict[str, Any]:
    if entry.get("class_name") in _MODEL_CLASSES:
        class_name = "Functional" if entry["class_name"] == "Model" else entry["class_name"]
        extra = {key: value for key, value in entry.items() if key not in ("class_name", "config")}
        return {**_model_entry(class_name, _keras_layers_config(entry["config"])), **extra}
    return {"module": "keras.layers", "registered_name": None, **entry}


def _keras_compile_config(config: dict[str, Any]) -> dict[str, Any] | None:
    """gradstep's compile settings in Keras's form, or None (with a warning)
    when Keras has no such optimizer or option."""
    optimizer = dict(config["optimizer"])
    options = dict(optimizer["config"])
    unlike = _options_keras_lacks(options)
    if optimizer["class_name"] in _GRADSTEP_ONLY_OPTIMIZERS or unlike:
        what = unlike or f"the optimizer {optimizer['class_name']}"
        warnings.warn(
            f"The .keras file's config.json holds the model uncompiled for Keras: Keras has no "
            f"{what}. gradstep's load_model restores the compile settings from the archive's "
            f"{NATIVE} member.",
            stacklevel=6,  # model.save's caller
        )
        return None
    for key in _GRADSTEP_ONLY_OPTIONS:
        options.pop(key, None)
    optimizer["config"] = _with_modules(options, "keras.optimizers.schedules")
    optimizer.update(module="keras.optimizers", registered_name=None)
    keras_config = {key: value for key, value in config.items() if key != "optimizer"}
    keras_config["loss"] = _with_modules(keras_config.get("loss"), "keras.losses")
    for key in ("metrics", "weighted_metrics"):
        if key in keras_config:
            keras_config[key] = _with_modules(keras_config[key], "keras.metrics")
    return {"optimizer": optimizer, **keras_config}


def _options_keras_lacks(options: dict[str, Any]) -> dict[str, Any]:
    """gradstep's options (PyTorch's conventions, its own schedules) that make
    the optimizer another algorithm than Keras's, or one Keras cannot build.
    ``epsilon_placement="pytorch"`` with a nonzero epsilon always does (Adam's
    would be Keras's epsilon times ``sqrt(1 - beta_2^t)``, a different one at
    each step; Adagrad's, Adamax's and RMSprop's sit outside a square root or a
    maximum). PyTorch's ``momentum_form`` does only when the learning rate
    changes: with a constant rate it is Keras's rule with the buffer scaled by
    the rate (``keras_optimizer_state`` converts it). A schedule Keras has not
    (``_KERAS_SCHEDULES``) would leave Keras unable to load the file at all."""
    unlike = {}
    if options.get("epsilon_placement", "keras") != "keras" and options.get("epsilon") != 0:
        unlike["epsilon_placement"] = options["epsilon_placement"]
    rate = options.get("learning_rate")
    constant_rate = isinstance(rate, int | float)
    if options.get("momentum_form", "keras") != "keras" and not constant_rate:
        unlike["momentum_form"] = f"{options['momentum_form']!r} under a learning-rate schedule"
    if isinstance(rate, dict) and rate.get("class_name") not in _KERAS_SCHEDULES:
        unlike["learning_rate"] = f"the learning-rate schedule {rate.get('class_name')}"
    return unlike


def _with_modules(value, module: str):
    """``value`` with Keras's ``module`` and ``registered_name`` added to each
    ``{"class_name", "config"}`` entry that lacks them."""
    if isinstance(value, list):
        return [_with_modules(item, module) for item in value]
    if not isinstance(value, dict):
        return value
    if "class_name" in value and "config" in value:
        return {"module": module, "registered_name": None, **value}
    return {key: _with_modules(item, module) for key, item in value.items()}


def optimizer_arrays(model, keras_compiled: bool) -> list[np.ndarray] | None:
    """The optimizer's state as Keras's ``optimizer.variables`` (``iteration``,
    ``learning_rate``, then the slots in Keras's order), or None when Keras's
    optimizer keeps other state (gradstep's state stays in its own member)."""
    from gradstep import keras_optimizer_state

    if not keras_compiled or model.optimizer is None or not model.optimizer.built:
        return None
    count = len(model.named_weights(trainable_only=True))
    return keras_optimizer_state.to_keras(model.optimizer, count)


def _version() -> str:
    from gradstep.version import __version__

    return __version__


# --- reading ------------------------------------------------------------------------
class ArchiveError(ValueError):
    """A ``.keras`` archive that gradstep refuses to read (the message says why)."""


def fail(path, problem: str) -> NoReturn:
    raise ArchiveError(f"Cannot load {path}: {problem}")


def read_members(path) -> dict[str, bytes]:
    """The archive's members by name, after the safety checks."""
    path = Path(path)
    blob = path.read_bytes()
    return members_of(blob, path)


def members_of(blob: bytes, path) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        fail(path, f"it is not a whole zip archive (truncated or damaged?): {error}")
    with archive:
        infos = _check_archive(archive, len(blob), path)
        members = {}
        unreadable = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError)
        for info in infos:
            try:
                members[info.filename] = _read_member(archive, info)
            except unreadable as error:
                fail(
                    path,
                    f"member {info.filename!r} cannot be read (truncated or damaged?): {error}",
                )
    return members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The member's bytes, read in chunks and never past its declared size (a
    member whose header lies about its size is cut off, then fails its CRC)."""
    chunks, total = [], 0
    with archive.open(info) as handle:
        while chunk := handle.read(2**20):
            total += len(chunk)
            if total > info.file_size:
                raise ValueError(f"it expands past its declared {info.file_size} bytes")
            chunks.append(chunk)
    if total != info.file_size:
        raise ValueError(f"it holds {total} bytes, not the {info.file_size} declared")
    return b"".join(chunks)


def _check_archive(archive: zipfile.ZipFile, size: int, path) -> list[zipfile.ZipInfo]:
    """Refuse members that could write outside a folder if extracted (absolute
    paths, ``..``, drive letters, links), duplicates, and members whose
    declared size is beyond any real model's or far beyond their stored size."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        fail(path, f"it has {len(infos)} members; a model archive has a handful")
    seen = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
            fail(path, f"member {name!r} has an absolute path (it could overwrite any file)")
        if ".." in parts:
            fail(path, f"member {name!r} has '..' in its path (it could escape its folder)")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            fail(path, f"member {name!r} is a symbolic link (it could point anywhere)")
        if name in seen:
            fail(path, f"member {name!r} appears twice")
        seen.add(name)
        if info.file_size > MAX_MEMBER_BYTES:
            fail(path, f"member {name!r} declares {info.file_size} bytes, beyond any model's")
        if info.file_size > EXPANSION_FLOOR_BYTES and info.file_size > MAX_EXPANSION * max(
            info.compress_size, 1
        ):
            fail(
                path,
                f"member {name!r} declares {info.file_size} bytes from {info.compress_size} "
                f"stored (more than {MAX_EXPANSION} times): a zip bomb",
            )
        if info.header_offset + info.compress_size > size:
            fail(path, f"the archive is truncated: member {name!r} ends past its end")
    total = sum(info.file_size for info in infos)
    if total > MAX_MEMBER_BYTES:
        fail(path, f"its members declare {total} bytes in all, beyond any model's")
    return infos


def parse_json(raw: bytes, what: str, path):
    def no_constants(name):
        raise ValueError(f"{name} is not valid JSON")

    if len(raw) > MAX_CONFIG_BYTES:
        fail(path, f"{what} holds {len(raw)} bytes, beyond any model's config")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=no_constants)
    except (ValueError, RecursionError) as error:
        fail(path, f"{what} is not valid JSON: {str(error)[:200]}")
