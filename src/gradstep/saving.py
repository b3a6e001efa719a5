"""Saving and loading models: one file, data only, written atomically.

``model.save("model.keras")`` writes one safetensors file. Its arrays are the
weights (``layers/<i>/vars/<j>``: weight ``j`` of layer ``i``), the optimizer's
state (``optimizer/iterations`` and ``optimizer/<slot>/<j>``); its string
metadata holds JSON for the architecture, the compile settings and the states
of the model's random generators, so that training resumes to the bit.

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

FORMAT = "gradstep"
FORMAT_VERSION = "1"
EXTENSIONS = (".keras", ".gradstep", ".safetensors")
# A gradstep header is a few hundred bytes per layer; anything near this cap is
# not a gradstep file, and reading it whole would only waste memory.
MAX_HEADER_BYTES = 16 * 2**20
_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I64": np.int64}
_DTYPE_CODES = {np.dtype(dtype): code for code, dtype in _DTYPES.items()}
_GENERATOR_NAMES = ("init", "shuffle", "dropout")
_METADATA_KEYS = ("model_config", "compile_config", "training_state")
_CHUNK_BYTES = 2**20


# --- saving ---------------------------------------------------------------------------
def save_model(model, filepath, overwrite: bool = True) -> None:
    """Write ``model`` (architecture, compile settings, weights, optimizer state
    and random generator states) to ``filepath`` (``.keras``, ``.gradstep`` or
    ``.safetensors``), atomically."""
    path = _save_path(filepath, overwrite)
    import safetensors.numpy

    arrays, metadata = _contents(model)
    _write_atomic(path, safetensors.numpy.save(arrays, metadata=metadata))


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Keras's ``save_weights``: the same file as ``save_model`` (the weights,
    and the optimizer and generator states needed to resume training)."""
    save_model(model, filepath, overwrite)


def _save_path(filepath, overwrite: bool) -> Path:
    if not isinstance(filepath, str | os.PathLike):
        raise TypeError(f"filepath must be a str or a path, received {filepath!r}")
    path = Path(filepath)
    if not path.name.endswith(EXTENSIONS):
        hint = (
            " gradstep writes safetensors, not HDF5: name it e.g. 'model.weights.safetensors'."
            if path.suffix in (".h5", ".hdf5")
            else ""
        )
        raise ValueError(
            f"filepath must end in {', '.join(EXTENSIONS)}, received {str(filepath)!r}.{hint}"
        )
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists and overwrite=False")
    return path


def _contents(model) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and the metadata strings of ``model``'s file."""
    arrays = {}
    for index, layer in enumerate(model.layers):
        for position, weight in enumerate(layer.weights):
            arrays[f"layers/{index}/vars/{position}"] = np.ascontiguousarray(weight)
    compile_config = model.get_compile_config()
    if compile_config is not None and model.optimizer.built:
        _check_optimizer_state_fits(model)
        for name, value in model.optimizer.get_state().items():
            arrays[f"optimizer/{name}"] = value
    model_config = _with_weight_dtypes(model)
    _check_configs_resolve(model_config, compile_config, _custom_objects(model))
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gradstep_version": _version(),
        "model_config": _to_json(model_config, "the model's config"),
        "compile_config": _to_json(compile_config, "the compile settings"),
        "training_state": _to_json(_training_state(model), "the training state"),
    }
    return arrays, metadata


def _with_weight_dtypes(model) -> dict[str, Any]:
    """The model's config, with each layer's weight dtype written out, so that
    the file does not depend on ``floatx()`` at load time."""
    config = model.get_config()
    entries = config["layers"][1:] if _has_input_layer(config) else config["layers"]
    for entry, layer in zip(entries, model.layers, strict=True):
        if layer.weights and entry["config"].get("dtype") is None:
            entry["config"]["dtype"] = layer.weights[0].dtype.name
    return config


def _has_input_layer(config: dict[str, Any]) -> bool:
    layers = config["layers"]
    return bool(layers) and layers[0]["class_name"] == "InputLayer"


def _custom_objects(model) -> dict[str, Any]:
    """The model's own losses and metrics (not built in), by the names their
    file will hold: what ``load_model(custom_objects=...)`` will need."""
    from gradstep import losses

    if not model.compiled:
        return {}
    custom = {}
    loss = model.loss
    if isinstance(loss, losses.LossFunctionWrapper):
        custom[getattr(loss.fn, "__name__", "")] = loss.fn
    elif not losses.LOSSES.holds_class(type(loss)):
        custom[type(loss).__name__] = type(loss)
    for metric in model._metric_identifiers:
        if callable(metric) and not isinstance(metric, str):
            custom[getattr(metric, "__name__", "")] = metric
    return custom


def _check_configs_resolve(model_config, compile_config, custom_objects) -> None:
    """Refuse to write a file that could not be loaded: every layer and optimizer
    class must be one that loading finds in a registry, and the loss must come
    back from its config (given the model's own loss function or class, which
    ``load_model(custom_objects=...)`` will need)."""
    from gradstep import losses, optimizers
    from gradstep.layers import LAYERS

    try:
        for entry in model_config["layers"]:
            LAYERS.lookup_class(entry["class_name"]).from_config(entry["config"])
        if compile_config is not None:
            optimizers.deserialize(compile_config["optimizer"])
            losses.deserialize(compile_config["loss"], custom_objects)
    except (TypeError, ValueError, KeyError) as error:
        raise ValueError(
            f"This model cannot be saved: its configuration would not load back ({error}). "
            "Only registered (built-in) layers, activations, initializers, losses and "
            "optimizers can be saved."
        ) from error


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
    return model.trainable_weights, model._weight_paths()


def _training_state(model) -> dict[str, Any]:
    """The seed and every generator's state: what makes ``fit`` continue exactly."""
    own_generators = {
        index: layer.rng.bit_generator.state
        for index, layer in _layers_with_own_generator(model).items()
    }
    return {
        "seed": model.seed,
        "generators": {
            name: model._generators[name].bit_generator.state for name in _GENERATOR_NAMES
        },
        "layer_generators": own_generators,
    }


def _to_json(value, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"This model cannot be saved: {what} holds a value that is not plain data ({error}); "
            "e.g. a learning rate or a metric given as a Python function"
        ) from error


def _version() -> str:
    from gradstep import __version__

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
    contents = _read(filepath)
    declared = {name: array.shape for name, array in contents.arrays.items()}
    model = contents.guard(
        "model_config does not describe a model that can be rebuilt",
        lambda: model_from_config(
            contents.model_config, contents.training_state.get("seed"), declared
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
    _checked_generators(model, contents)()
    model.set_weights(weights)
    return model


def load_weights(model, filepath) -> None:
    """Copy the weights saved in ``filepath`` into ``model`` (built, with the same
    architecture), with the optimizer's state when the model is compiled with
    the same optimizer class, and the random generators' states.

    Everything is checked first: on any error the model is left unchanged.
    """
    contents = _read(filepath)
    if not model.built:
        shape = contents.model_config.get("build_input_shape")
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
    commit_generators = _checked_generators(model, contents)
    model.set_weights(weights)
    if load_optimizer:
        model.optimizer.set_state(state, *_optimizer_variables(model))
    commit_generators()


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


def model_from_config(config: dict[str, Any], seed=None, declared_shapes=None):
    """A Sequential model from ``Sequential.get_config()``, built when the config
    records ``build_input_shape``. Class names resolve only through ``LAYERS``.

    ``declared_shapes`` (array name -> shape, from a file) makes every weight be
    checked against the file before it is created, so that a config asking for
    a huge layer fails before any memory is taken.
    """
    from gradstep.layers import LAYERS, InputLayer
    from gradstep.models import Sequential

    layers = [
        LAYERS.lookup_class(entry["class_name"]).from_config(entry["config"])
        for entry in config["layers"]
    ]
    weighted = [layer for layer in layers if not isinstance(layer, InputLayer)]
    if declared_shapes is not None:
        for index, layer in enumerate(weighted):
            _guard_weight_creation(layer, index, declared_shapes)
    model = Sequential(
        layers, trainable=config.get("trainable", True), name=config.get("name"), seed=seed
    )
    shape = config.get("build_input_shape")
    if shape is not None:
        shape = tuple(shape)
        if model.built and model.input_shape != shape:
            raise ValueError(
                f"build_input_shape {shape} contradicts the input shape {model.input_shape} "
                "that the layers declare"
            )
        model.build(shape)
    for layer in weighted:
        layer.__dict__.pop("add_weight", None)
    return model


def _guard_weight_creation(layer, index: int, declared_shapes: dict[str, tuple]) -> None:
    """Shadow ``layer.add_weight`` for the time of ``build``: each weight's shape
    is compared with the file's array before the weight is allocated."""
    create = layer.add_weight
    created = []

    def add_weight(shape, initializer, name):
        key = f"layers/{index}/vars/{len(created)}"
        shape = tuple(shape)
        if key not in declared_shapes:
            raise _Mismatch(
                f"layer {index} ({layer.name!r}) has a weight {name!r} of shape {shape}, but the "
                f"file holds no array {key!r}"
            )
        if declared_shapes[key] != shape:
            raise _Mismatch(
                f"array {key!r} has shape {declared_shapes[key]}, but weight {name!r} of layer "
                f"{index} ({layer.name!r}) has shape {shape} in the architecture"
            )
        created.append(name)
        return create(shape, initializer, name)

    layer.add_weight = add_weight


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


def _checked_generators(model, contents):
    """Check every saved generator state; return the function that applies them."""
    state = contents.training_state
    saved = state.get("generators")
    _expect(saved, dict, "training_state.generators", contents.path)
    if set(saved) != set(_GENERATOR_NAMES):
        contents.fail(
            f"training_state.generators must hold the states of {list(_GENERATOR_NAMES)}, "
            f"received {sorted(saved)}"
        )
    targets = [(model._generators[name], saved[name], f"generator {name!r}") for name in saved]
    own = state.get("layer_generators", {})
    _expect(own, dict, "training_state.layer_generators", contents.path)
    owners = _layers_with_own_generator(model)
    for index, generator_state in own.items():
        if index not in owners:
            contents.fail(
                f"training_state.layer_generators names layer {index!r}; the layers with a "
                f"generator of their own are {sorted(owners)}"
            )
        targets.append((owners[index].rng, generator_state, f"the generator of layer {index}"))
    for generator, generator_state, what in targets:
        _check_generator_state(generator, generator_state, what, contents)

    def commit():
        for generator, generator_state, _ in targets:
            generator.bit_generator.state = generator_state

    return commit


def _layers_with_own_generator(model) -> dict:
    """Layers (by index, as a string) whose generator is not one of the model's
    (e.g. ``Dropout(seed=...)``)."""
    shared = [id(generator) for generator in model._generators.values()]
    return {
        str(index): layer
        for index, layer in enumerate(model.layers)
        if layer.rng is not None and id(layer.rng) not in shared
    }


def _check_generator_state(generator, state, what: str, contents) -> None:
    """Same structure as the generator's own state (keys, ints), and accepted by a
    fresh generator of the same kind: NumPy alone would truncate floats silently."""
    template = generator.bit_generator.state
    if not _same_structure(template, state):
        contents.fail(
            f"training_state holds a malformed state for {what}: expected the structure of "
            f"{_describe(template)}, received {str(state)[:200]}"
        )
    probe = type(generator.bit_generator)()
    try:
        probe.state = state
    except (TypeError, ValueError, OverflowError) as error:
        contents.fail(f"training_state holds an invalid state for {what}: {error}")


def _same_structure(template, value) -> bool:
    if isinstance(template, dict):
        return (
            isinstance(value, dict)
            and set(value) == set(template)
            and all(_same_structure(template[key], value[key]) for key in template)
        )
    if isinstance(template, str):
        return value == template
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _describe(template) -> str:
    if isinstance(template, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in template.items()) + "}"
    return repr(template) if isinstance(template, str) else "int"


# --- reading and checking the file ----------------------------------------------------
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


def _read(filepath) -> _Contents:
    if not isinstance(filepath, str | os.PathLike):
        raise TypeError(f"filepath must be a str or a path, received {filepath!r}")
    path = Path(filepath)
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        prefix = handle.read(8)
        _check_prefix(prefix, size, path)
        header_size = int.from_bytes(prefix, "little")
        header = _parse_json(handle.read(header_size), "the header", path)
        _expect(header, dict, "the header", path)
        raw_metadata = header.pop("__metadata__", None)
        entries = _check_layout(header, size - 8 - header_size, path)
        handle.seek(0)
        blob = handle.read()
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
    if raw.get("format_version") != FORMAT_VERSION:
        _fail(
            path,
            f"format_version {raw.get('format_version')!r} is not one this gradstep reads "
            f"({FORMAT_VERSION!r})",
        )
    missing = [key for key in _METADATA_KEYS if key not in raw]
    if missing:
        _fail(path, f"the metadata lacks {missing}")
    parsed = {key: _parse_json(raw[key], f"metadata {key!r}", path) for key in _METADATA_KEYS}
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


def _check_model_config(config, path) -> None:
    _expect(config, dict, "model_config", path)
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
    for part in ("optimizer", "loss"):
        _expect(config.get(part), dict, f"compile_config.{part}", path)
        _expect(config[part].get("class_name"), str, f"compile_config.{part}.class_name", path)
        _expect(config[part].get("config"), dict, f"compile_config.{part}.config", path)
    _expect(config.get("metrics"), list, "compile_config.metrics", path)


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
