"""Saving and loading models: one file, data only, written atomically.

``model.save("model.gradstep")`` (or ``.safetensors``) writes one
safetensors file; ``model.save("model.keras")`` writes Keras 3's archive,
which holds that same file as its member ``gradstep.safetensors`` beside
Keras's own members (``gradstep.keras_archive``). The file's arrays are the
weights (``layers/<i>/vars/<j>``: weight ``j`` of ``model.layers[i]``), the
optimizer's state (``optimizer/iterations`` and ``optimizer/<slot>/<j>``);
its string metadata holds JSON for the architecture (``{"class_name",
"config"}``: a Sequential, Functional or nested model), the compile settings
and the model's training state (its random generators), so that training
resumes to the bit. This module reads the model only through its public
methods (``get_config``, ``named_weights``, ``get_training_state``, ...).

Loading runs no code from the file. Class names resolve only through the
registries' allow-lists (``LAYERS``, ``OPTIMIZERS``, ``LOSSES``, ...), and every
part of the file is checked (layout, JSON, names, shapes, dtypes) before a
weight is created or copied. Each problem is a ``ValueError`` that says what
it is; a model that ``load_weights`` refuses is left exactly as it was.

Writes are atomic: the file is written under a temporary name in the same
folder, flushed to disk, then renamed over the target, so an interrupted save
leaves the previous file whole. The page docs/file-format.md describes the format.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import warnings
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from gradstep import registry
from gradstep.file_format import (
    EXTENSIONS,
    FORMAT,
    FORMAT_VERSION,
    MAX_HEADER_BYTES,
    READABLE_VERSIONS,
)
from gradstep.serialization import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "model_from_config",
    "model_from_json",
    "register_keras_serializable",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]

_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I64": np.int64}
_DTYPE_CODES = {np.dtype(dtype): code for code, dtype in _DTYPES.items()}
_METADATA_KEYS = ("model_config", "compile_config", "training_state")
_CHUNK_BYTES = 2**20


# --- saving ---------------------------------------------------------------------------
def save_model(model, filepath, overwrite: bool = True, weights_only: bool = False) -> None:
    """Write ``model`` (architecture, compile settings, weights, optimizer state
    and random generator states) to ``filepath`` (``.keras``, ``.gradstep`` or
    ``.safetensors``), atomically. Unless ``weights_only``, the file must load
    back with ``load_model``: every class in it must be one gradstep knows."""
    path = _save_path(filepath, overwrite)
    import safetensors.numpy

    arrays, metadata = _contents(model, weights_only)
    blob = safetensors.numpy.save(arrays, metadata=metadata)
    if path.name.endswith(".keras") and not weights_only:
        from gradstep import keras_archive

        blob = keras_archive.archive_bytes(model, blob)
    _write_atomic(path, blob)


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Keras's ``save_weights``. A ``*.weights.h5`` name writes Keras 3's HDF5
    layout (the weights only; Keras's ``load_weights`` reads it; needs h5py,
    see ``gradstep.h5_weights``). Any other name writes the same file as
    ``save_model`` (the weights, and the optimizer and generator states needed
    to resume training), for ``load_weights`` into a model of the same
    architecture, which may be one that ``load_model`` could not rebuild (a
    subclassed model)."""
    from gradstep import h5_weights

    if h5_weights.is_h5_weights_path(filepath):
        h5_weights.save_weights(model, filepath, overwrite)
        return
    save_model(model, filepath, overwrite, weights_only=True)


def _save_path(filepath, overwrite: bool) -> Path:
    if not isinstance(filepath, str | os.PathLike):
        raise TypeError(f"filepath must be a str or a path, received {filepath!r}")
    path = Path(filepath)
    if not path.name.endswith(EXTENSIONS):
        hint = (
            " gradstep writes safetensors: name it e.g. 'model.keras'; only save_weights writes "
            "HDF5, to a name ending in '.weights.h5'."
            if path.suffix in (".h5", ".hdf5")
            else ""
        )
        raise ValueError(
            f"filepath must end in {', '.join(EXTENSIONS)}, received {str(filepath)!r}.{hint}"
        )
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists and overwrite=False")
    return path


def _contents(model, weights_only: bool) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and the metadata strings of ``model``'s file."""
    arrays = {}
    for index, layer in enumerate(model.layers):
        for position, weight in enumerate(layer.weights):
            # ascontiguousarray makes a 0-d array 1-d: keep a scalar weight's shape ()
            contiguous = np.ascontiguousarray(weight).reshape(np.shape(weight))
            arrays[f"layers/{index}/vars/{position}"] = contiguous
    compile_config = model.get_compile_config()
    if compile_config is not None and model.optimizer.built:
        _check_optimizer_state_fits(model)
        for name, value in model.optimizer.get_state().items():
            arrays[f"optimizer/{name}"] = value
    model_config = {"class_name": type(model).__name__, "config": _model_config(model)}
    build_config = model.get_build_config()
    if build_config is not None:
        model_config["build_config"] = build_config
    if not weights_only:
        _check_configs_resolve(model_config, compile_config, model.custom_objects())
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gradstep_version": _version(),
        "model_config": _to_json(model_config, "the model's config"),
        "compile_config": _to_json(compile_config, "the compile settings"),
        "training_state": _to_json(model.get_training_state(), "the training state"),
    }
    return arrays, metadata


def _model_config(model) -> dict[str, Any]:
    try:
        return model.get_config()
    except NotImplementedError as error:
        raise ValueError(f"This model cannot be saved: {error}") from None


def _check_configs_resolve(model_config, compile_config, custom_objects) -> None:
    """Refuse to write a file that could not be loaded: the model must come
    back from its config through the ``LAYERS`` registry, the optimizer
    through ``OPTIMIZERS``, and the loss from its config (given the model's
    own loss function or class, which ``load_model(custom_objects=...)``
    will need)."""
    from gradstep import optimizers
    from gradstep.layers import LAYERS

    try:
        cls = LAYERS.lookup_class(model_config["class_name"])
        cls.from_config(model_config["config"])
        if compile_config is not None:
            optimizers.deserialize(compile_config["optimizer"])
            for loss in _flat_loss_configs(compile_config["loss"]):
                _loss_from_config(loss, custom_objects)
    except (TypeError, ValueError, KeyError, NotImplementedError) as error:
        raise ValueError(
            f"This model cannot be saved: its configuration would not load back ({error}). "
            "Classes of your own (layers, models, losses) are saved by name: register them "
            "with saving.register_keras_serializable(), or save within "
            "saving.custom_object_scope(); save_weights() and load_weights() into a new "
            "instance need neither."
        ) from error


def _flat_loss_configs(loss) -> list:
    if isinstance(loss, dict) and "class_name" not in loss:
        return [value for value in loss.values() if value is not None]
    if isinstance(loss, list):
        return [value for value in loss if value is not None]
    return [] if loss is None else [loss]


def _loss_from_config(config, custom_objects):
    from gradstep import losses

    return losses.deserialize(config, custom_objects)


def _check_optimizer_state_fits(model) -> None:
    probe = type(model.optimizer).from_config(model.optimizer.get_config())
    try:
        probe.set_state(model.optimizer.get_state(), *_optimizer_variables(model))
    except ValueError as error:
        raise ValueError(
            "This model cannot be saved: its optimizer's state does not match the model's "
            f"trainable weights (was a layer's trainable flag changed after training?): {error}"
        ) from error


def _optimizer_variables(model) -> tuple[list[np.ndarray], list[str]]:
    """The weights the optimizer updates, and their paths (``dense/kernel``), in
    the order ``fit`` gives them to it."""
    named = model.named_weights(trainable_only=True)
    return [weight for _, weight in named], [path for path, _ in named]


def _to_json(value, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"This model cannot be saved: {what} holds a value that is not plain data ({error}); "
            "e.g. a learning rate or a metric given as a Python function"
        ) from error


def _version() -> str:
    from gradstep.version import __version__

    return __version__


def _write_atomic(path: Path, blob: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, rename it
    over ``path``: a reader sees the old file or the new one, never a mix."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask set the permissions, as open() would.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _write_chunks(handle, blob)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _write_chunks(handle, blob: bytes) -> None:
    view = memoryview(blob)
    for start in range(0, len(view), _CHUNK_BYTES):
        handle.write(view[start : start + _CHUNK_BYTES])


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# --- loading --------------------------------------------------------------------------
def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):  # noqa: A002 (Keras's name)
    """Rebuild the model saved in ``filepath``: architecture, weights and, when
    ``compile`` is True, the compile settings and the optimizer's state.

    ``custom_objects`` maps the saved names of your own losses and metrics
    (a function's ``__name__``, a ``Loss`` subclass's class name) to the
    functions and classes themselves: the file holds only the names, never
    code. ``safe_mode`` is accepted for Keras programs; loading is always
    safe here (it runs no code from the file), so it changes nothing.

    Raises:
        ValueError: naming the problem when the file is not a valid gradstep
            file (truncated, oversized, malformed, unknown class names, arrays
            that do not fit the architecture).
    """
    from gradstep import keras_legacy_h5

    if isinstance(filepath, str | os.PathLike) and keras_legacy_h5.is_legacy_h5(filepath):
        return keras_legacy_h5.load_model(Path(filepath), custom_objects, compile)
    contents = _read_model_file(filepath)
    if not isinstance(contents, _Contents):  # a .keras archive that Keras wrote
        from gradstep import keras_reading

        return keras_reading.load_model(contents, Path(filepath), custom_objects, compile)
    with custom_object_scope({**registry.scope_objects(), **(custom_objects or {})}):
        model = contents.guard(
            "model_config does not describe a model that can be rebuilt",
            lambda: model_from_config(
                contents.model_config, contents.training_state.get("seed"), contents.arrays
            ),
        )
    weights = _checked_weights(model, contents)
    if compile and contents.compile_config is not None:
        contents.guard(
            "compile_config does not hold valid compile settings",
            lambda: model.compile_from_config(contents.compile_config, custom_objects),
        )
        state = _optimizer_state(contents)
        if state:
            contents.guard(
                "the optimizer's arrays do not fit the model",
                lambda: model.optimizer.set_state(state, *_optimizer_variables(model)),
            )
    _restore_training_state(model, contents)
    model.set_weights(weights)
    return model


def load_weights(model, filepath) -> None:
    """Copy the weights saved in ``filepath`` into ``model`` (built, with the same
    architecture), with the optimizer's state when the model is compiled with
    the same optimizer class, and the random generators' states.

    Everything is checked first: on any error the model is left unchanged.
    A ``*.weights.h5`` file (Keras 3's, or gradstep's) gives the weights only.
    """
    from gradstep import h5_weights

    if h5_weights.is_h5_weights_path(filepath):
        h5_weights.load_weights(model, filepath)
        return
    contents = _read_model_file(filepath)
    if not isinstance(contents, _Contents):  # a .keras archive that Keras wrote
        from gradstep import keras_reading

        keras_reading.load_weights(model, contents, Path(filepath))
        return
    if not model.built:
        shape = contents.model_config["config"].get("build_input_shape")
        hint = f" (the file was saved from a model built for {tuple(shape)})" if shape else ""
        raise ValueError(
            f"Model {model.name!r} is not built, so it has no weights to load into: give its "
            f"first layer input_shape or call model.build(input_shape) first{hint}"
        )
    weights = _checked_weights(model, contents)
    state = _optimizer_state(contents)
    load_optimizer = bool(state) and _optimizer_matches(model, contents)
    if load_optimizer:
        probe = type(model.optimizer).from_config(model.optimizer.get_config())
        contents.guard(
            "the optimizer's arrays do not fit the model",
            lambda: probe.set_state(state, *_optimizer_variables(model)),
        )
    _restore_training_state(model, contents)  # checked in full before it changes anything
    model.set_weights(weights)
    if load_optimizer:
        model.optimizer.set_state(state, *_optimizer_variables(model))


def _optimizer_matches(model, contents) -> bool:
    saved = contents.compile_config["optimizer"]["class_name"]
    if model.optimizer is None:
        warnings.warn(
            f"{contents.path}: the file holds the state of an optimizer of class {saved}, which "
            "was not loaded because the model is not compiled; compile() before load_weights() to "
            "resume training",
            stacklevel=4,
        )
        return False
    if type(model.optimizer).__name__ != saved:
        warnings.warn(
            f"{contents.path}: the file holds the state of an optimizer of class {saved}, which "
            f"was not loaded into the model's {type(model.optimizer).__name__}",
            stacklevel=4,
        )
        return False
    return True


def model_from_config(config: dict[str, Any], seed=None, arrays=None):
    """The model that ``{"class_name", "config"}`` describes (a Sequential,
    Functional, or any model class in the ``LAYERS`` registry), new weights,
    not compiled.

    ``arrays`` (a file's arrays by name) makes every weight be checked
    against the file before it is created, so that a config asking for a
    huge layer fails before any memory is taken.
    """
    from gradstep.layers import LAYERS
    from gradstep.layers.base import checking_new_weights

    cls = LAYERS.lookup_class(config["class_name"])
    if arrays is None:
        model = cls.from_config(config["config"], seed=seed)
    else:
        with checking_new_weights(_declared_weight_check(config, arrays)):
            model = cls.from_config(config["config"], seed=seed)
    model.build_from_config(config.get("build_config"))  # a subclassed model's trace
    return model


def model_from_json(json_string: str, custom_objects=None):
    """The model that ``model.to_json()`` described (new weights, not compiled).
    ``custom_objects`` (name -> class) gives back layers of yours that are not
    registered with ``register_keras_serializable``."""
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as error:
        raise ValueError(f"model_from_json: the string is not valid JSON ({error})") from None
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(
            "model_from_json: expected the JSON of a model, {'class_name': ..., 'config': {...}}, "
            f"received {str(json_string)[:100]!r}"
        )
    with custom_object_scope({**registry.scope_objects(), **(custom_objects or {})}):
        return model_from_config(config)


def _declared_weight_check(model_config: dict[str, Any], arrays: dict[str, np.ndarray]):
    """The check ``add_weight`` runs while a file's model is built: each new
    weight must have the shape of the file's array for it."""
    entries = model_config["config"].get("layers", [])
    if model_config["class_name"] == "Sequential":  # its Input is not one of its layers
        entries = [entry for entry in entries if entry.get("class_name") != "InputLayer"]
    names = [entry.get("config", {}).get("name") for entry in entries]
    index_of = {name: index for index, name in enumerate(names)}
    used: dict[str, int] = {}

    def check(layer, name: str, shape: tuple) -> None:
        index = index_of.get(layer.name)
        if index is None:
            return  # a layer inside a nested model: checked once built
        position = used.get(layer.name, 0)
        key = f"layers/{index}/vars/{position}"
        if key not in arrays:
            raise _Mismatch(
                f"layer {index} ({layer.name!r}) has a weight {name!r} of shape {shape}, but the "
                f"file holds no array {key!r}"
            )
        if arrays[key].shape != shape:
            raise _Mismatch(
                f"array {key!r} has shape {arrays[key].shape}, but weight {name!r} of layer "
                f"{index} ({layer.name!r}) has shape {shape} in the architecture"
            )
        used[layer.name] = position + 1

    return check


class _Mismatch(ValueError):
    """An array that does not fit the architecture (reported as it is)."""


def _checked_weights(model, contents) -> list[np.ndarray]:
    """The file's weight arrays in ``model.get_weights()`` order, each checked
    against the model's own weight (name, shape, dtype)."""
    weights, expected = [], set()
    for index, layer in enumerate(model.layers):
        for position, target in enumerate(layer.weights):
            key = f"layers/{index}/vars/{position}"
            expected.add(key)
            value = contents.arrays.get(key)
            if value is None:
                contents.fail(
                    f"the file holds no array {key!r} for weight {position} of layer {index} "
                    f"({layer.name!r}, shape {target.shape}, dtype {target.dtype})"
                )
            if value.shape != target.shape or value.dtype != target.dtype:
                contents.fail(
                    f"array {key!r} has shape {value.shape} and dtype {value.dtype}, but weight "
                    f"{position} of layer {index} ({layer.name!r}) has shape {target.shape} and "
                    f"dtype {target.dtype}"
                )
            weights.append(value)
    unexpected = sorted(
        name for name in contents.arrays if name.startswith("layers/") and name not in expected
    )
    foreign = sorted(
        name for name in contents.arrays if not name.startswith(("layers/", "optimizer/"))
    )
    if unexpected or foreign:
        contents.fail(
            f"the file holds arrays that the model has no place for: {(unexpected + foreign)[:5]} "
            f"(the model has {len(model.layers)} layers and {len(weights)} weights)"
        )
    return weights


def _optimizer_state(contents) -> dict[str, np.ndarray]:
    prefix = "optimizer/"
    state = {
        name[len(prefix) :]: value
        for name, value in contents.arrays.items()
        if name.startswith(prefix)
    }
    if state and contents.compile_config is None:
        contents.fail("the file holds optimizer arrays but no compile settings")
    return state


def _restore_training_state(model, contents) -> None:
    """The file's generator states into the model (checked in full first)."""
    state = contents.training_state
    contents.guard("training_state is not valid", lambda: model.set_training_state(state))


class _Contents:
    """A file's parts after the layout checks: arrays and parsed metadata."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, Any]):
        self.path = path
        self.arrays = arrays
        self.model_config = metadata["model_config"]
        self.compile_config = metadata["compile_config"]
        self.training_state = metadata["training_state"]

    def fail(self, problem: str) -> NoReturn:
        _fail(self.path, problem)

    def guard(self, what: str, action):
        """Run ``action`` on the file's data; any error it raises becomes a ValueError.

        The data come from the file, so any exception a constructor raises on
        them (TypeError, KeyError, ...) means "bad file", not "bug".
        """
        try:
            return action()
        except _Mismatch as error:
            self.fail(str(error))
        except Exception as error:
            self.fail(f"{what}: {type(error).__name__}: {error}")


def _read_model_file(filepath) -> _Contents | dict[str, bytes]:
    """A gradstep file's contents; for a ``.keras`` archive, those of its
    gradstep member, or (an archive Keras wrote) its members, checked."""
    if not isinstance(filepath, str | os.PathLike):
        raise TypeError(f"filepath must be a str or a path, received {filepath!r}")
    from gradstep import keras_archive

    if not keras_archive.is_archive(filepath):
        return _read(filepath)
    members = keras_archive.read_members(filepath)
    if keras_archive.NATIVE not in members:
        return members
    return read_native(members[keras_archive.NATIVE], Path(filepath))


def _read(filepath) -> _Contents:
    if not isinstance(filepath, str | os.PathLike):
        raise TypeError(f"filepath must be a str or a path, received {filepath!r}")
    path = Path(filepath)
    with open(path, "rb") as handle:
        return read_native(handle.read(), path)


def read_native(blob: bytes, path) -> _Contents:
    """A gradstep file's contents (``blob``: the whole file, from ``path``), checked."""
    size = len(blob)
    prefix = blob[:8]
    _check_prefix(prefix, size, path)
    header_size = int.from_bytes(prefix, "little")
    header = _parse_json(blob[8 : 8 + header_size], "the header", path)
    _expect(header, dict, "the header", path)
    raw_metadata = header.pop("__metadata__", None)
    entries = _check_layout(header, size - 8 - header_size, path)
    metadata = _check_metadata(raw_metadata, path)
    arrays = _decode(blob, entries, path)
    return _Contents(path, arrays, metadata)


def _fail(path: Path, problem: str) -> NoReturn:
    raise ValueError(f"Cannot load {path}: {problem}")


def _check_prefix(prefix: bytes, size: int, path) -> None:
    if prefix[:2] == b"PK":
        _fail(path, "it is a zip archive (a Keras .keras file?), not a gradstep file")
    if prefix[:4] == b"\x89HDF":
        _fail(path, "it is an HDF5 file (a Keras .h5 file?), not a gradstep file")
    if len(prefix) < 8:
        _fail(
            path, f"the file is truncated: {size} bytes, fewer than the 8 that give the header size"
        )
    header_size = int.from_bytes(prefix, "little")
    if header_size > MAX_HEADER_BYTES:
        _fail(
            path,
            f"the header declares {header_size} bytes, more than the limit of "
            f"{MAX_HEADER_BYTES}: the file is oversized or not a gradstep file",
        )
    if 8 + header_size > size:
        _fail(
            path,
            f"the file is truncated: the header declares {header_size} bytes, but only "
            f"{size - 8} follow the header size",
        )


def _parse_json(raw: bytes | str, what: str, path):
    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate key among {keys[:10]}")
        return dict(pairs)

    def no_constants(name):
        raise ValueError(f"{name} is not valid JSON")

    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        _fail(path, f"{what} is not valid JSON: {str(error)[:200]}")


def _check_layout(header: dict, data_size: int, path) -> dict[str, tuple[str, tuple]]:
    """Each array's dtype, shape and byte range, checked: the ranges must tile
    the data exactly (no overlap, no gap, nothing past the end, nothing after)."""
    entries, spans = {}, []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            _fail(
                path,
                f"array {name!r} has a malformed header entry {str(entry)[:100]}: "
                "expected dtype, shape and data_offsets",
            )
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            _fail(path, f"array {name!r} has dtype {dtype!r}; expected one of {', '.join(_DTYPES)}")
        if not _is_list_of_naturals(shape) or len(shape) > 32:
            _fail(
                path,
                f"array {name!r} has shape {shape!r}; expected a list of non-negative integers",
            )
        if not _is_list_of_naturals(offsets) or len(offsets) != 2 or offsets[0] > offsets[1]:
            _fail(
                path,
                f"array {name!r} has data_offsets {offsets!r}; expected [begin, end], begin <= end",
            )
        begin, end = offsets
        if end > data_size:
            _fail(
                path,
                f"the file is truncated: array {name!r} ends at byte {end} of the data, "
                f"which holds {data_size} bytes",
            )
        needed = math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize
        if end - begin != needed:
            _fail(
                path,
                f"array {name!r} of shape {tuple(shape)} and dtype {dtype} needs {needed} bytes, "
                f"but its data_offsets [{begin}, {end}] span {end - begin}",
            )
        entries[name] = (dtype, tuple(shape))
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin < position:
            _fail(path, f"array {name!r} at bytes [{begin}, {end}) overlaps the array before it")
        if begin > position:
            _fail(path, f"bytes [{position}, {begin}) before array {name!r} belong to no array")
        position = end
    if position < data_size:
        _fail(
            path,
            f"the file is oversized: {data_size - position} bytes follow the last array "
            f"(the arrays account for {position} of {data_size} data bytes)",
        )
    return entries


def _is_list_of_naturals(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, int) and not isinstance(item, bool) and item >= 0 for item in value
    )


def _check_metadata(raw, path) -> dict[str, Any]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        _fail(path, "the header has no __metadata__ of strings: it is not a gradstep file")
    if raw.get("format") != FORMAT:
        _fail(
            path,
            f"the metadata's format is {raw.get('format')!r}, expected {FORMAT!r}: "
            "a safetensors file that gradstep did not write",
        )
    if raw.get("format_version") not in READABLE_VERSIONS:
        _fail(
            path,
            f"format_version {raw.get('format_version')!r} is not one this gradstep reads "
            f"({', '.join(repr(v) for v in READABLE_VERSIONS)})",
        )
    missing = [key for key in _METADATA_KEYS if key not in raw]
    if missing:
        _fail(path, f"the metadata lacks {missing}")
    parsed = {key: _parse_json(raw[key], f"metadata {key!r}", path) for key in _METADATA_KEYS}
    parsed["format_version"] = raw["format_version"]
    if raw["format_version"] == "1":  # a Sequential's config, without its class name
        parsed["model_config"] = {"class_name": "Sequential", "config": parsed["model_config"]}
    _check_model_config(parsed["model_config"], path)
    if parsed["compile_config"] is not None:
        _check_compile_config(parsed["compile_config"], path)
    _expect(parsed["training_state"], dict, "training_state", path)
    seed = parsed["training_state"].get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        _fail(
            path, f"training_state.seed must be a non-negative integer or null, received {seed!r}"
        )
    return parsed


def _check_model_config(model_config, path) -> None:
    _expect(model_config, dict, "model_config", path)
    _expect(model_config.get("class_name"), str, "model_config.class_name", path)
    _expect(model_config.get("config"), dict, "model_config.config", path)
    config = model_config["config"]
    if model_config["class_name"] not in ("Sequential", "Functional"):
        return  # a model of your own (save_weights): only load_weights reads this file
    _expect(config.get("layers"), list, "model_config.layers", path)
    for index, entry in enumerate(config["layers"]):
        where = f"model_config.layers[{index}]"
        _expect(entry, dict, where, path)
        _expect(entry.get("class_name"), str, f"{where}.class_name", path)
        _expect(entry.get("config"), dict, f"{where}.config", path)
    shape = config.get("build_input_shape")
    if shape is not None and not (
        isinstance(shape, list)
        and len(shape) >= 2
        and shape[0] is None
        and _is_list_of_naturals([d for d in shape[1:] if d is not None])
    ):
        _fail(
            path,
            f"model_config.build_input_shape must be [null, dimension, ...], received {shape!r}",
        )


def _check_compile_config(config, path) -> None:
    _expect(config, dict, "compile_config", path)
    _check_class_entry(config.get("optimizer"), "compile_config.optimizer", path)
    loss = config.get("loss")
    if isinstance(loss, list):
        entries = {f"compile_config.loss[{i}]": e for i, e in enumerate(loss)}
    elif isinstance(loss, dict) and "class_name" not in loss:
        entries = {f"compile_config.loss[{k!r}]": e for k, e in loss.items()}
    else:
        entries = {"compile_config.loss": loss}
    for where, entry in entries.items():
        if entry is not None:  # None: no loss (compile without one)
            _check_class_entry(entry, where, path)
    if not isinstance(config.get("metrics"), list | dict):
        _fail(
            path,
            "compile_config.metrics must be a JSON list or object, received "
            f"{config.get('metrics')!r}",
        )


def _check_class_entry(entry, where: str, path) -> None:
    _expect(entry, dict, where, path)
    _expect(entry.get("class_name"), str, f"{where}.class_name", path)
    _expect(entry.get("config"), dict, f"{where}.config", path)


def _expect(value, kind: type, where: str, path: Path) -> None:
    if not isinstance(value, kind):
        _fail(
            path,
            f"{where} must be a JSON {'object' if kind is dict else kind.__name__}, "
            f"received {str(value)[:100]}",
        )


def _decode(blob: bytes, entries: dict[str, tuple[str, tuple]], path) -> dict[str, np.ndarray]:
    import safetensors.numpy

    try:
        arrays = safetensors.numpy.load(blob)
    except Exception as error:  # safetensors's own errors are not ValueErrors
        _fail(path, f"safetensors could not read the arrays: {error}")
    for name, (dtype, shape) in entries.items():
        array = arrays.get(name)
        if array is None or array.shape != shape or _DTYPE_CODES.get(array.dtype) != dtype:
            _fail(
                path,
                f"array {name!r} does not decode to the dtype {dtype} and shape {shape} declared",
            )
    return arrays
