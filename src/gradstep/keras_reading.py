"""Reading the ``.keras`` archives that Keras 3 writes (``load_model``,
``load_weights``), without running anything from the file.

``config.json`` is first scanned (``refuse_code``): a ``Lambda`` layer, a
function or class given as code (``__lambda__``, pickled bytes), and any
class that is neither gradstep's nor given through ``custom_objects`` (or
registered) is refused with its name and the reason. The config is then put
in gradstep's form (``gradstep_entry``: Keras's ``module``,
``registered_name``, ``build_config`` and ``DTypePolicy`` entries dropped, an
``InputLayer``'s ``batch_shape`` as ``shape``) and the model is rebuilt by
gradstep's registries alone. Its weights come from ``model.weights.h5``, or
from ``model.weights.npz`` read without unpickling (``gradstep.keras_npz``):
each group and dataset is checked (no links, no external or virtual data; the
count, shape and dtype of each weight the config made) before any is set.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from gradstep import keras_archive, registry
from gradstep.keras_archive import fail

#: Keys of Keras's configs that say nothing gradstep's layers take, when they
#: hold these values (Keras's defaults).
_DROPPED_WHEN = {"quantization_config": None, "sparse": False, "ragged": False, "optional": False}
_OP_MARK = "__keras_operation__"
_CODE_CLASSES = {
    "Lambda": "a Lambda layer holds Python code (its function's bytecode), which gradstep "
    "never runs: rebuild the model in gradstep with gradstep.layers.Lambda and a "
    "function registered with register_keras_serializable, then load_weights",
    "__lambda__": "a Python lambda stored as code, which gradstep never runs",
    "__bytes__": "raw bytes (pickled Python objects?), which gradstep never unpickles",
}


def load_model(members: dict[str, bytes], path: Path, custom_objects=None, compile=True):  # noqa: A002
    """The model of an archive that Keras wrote (``members``: checked by
    ``keras_archive.members_of``)."""
    config = _config(members, path)
    model = model_from_keras_config(config, path, custom_objects, compile)
    weights = weights_store(members, path)
    values = _reading(weights, lambda: checked_weight_values(weights, model, path))
    state = None
    if model.compiled:
        state = _reading(weights, lambda: optimizer_state(weights, model, path))
    model.set_weights(values)
    if state is not None:
        model.optimizer.set_state(state, *_trained(model))
    return model


def model_from_keras_config(config: dict, path, custom_objects=None, compile=True):  # noqa: A002
    """A new gradstep model (compiled when ``compile`` and the config has
    compile settings) from Keras's ``serialize_keras_object`` form of a
    model, after ``refuse_code``. ``path`` names the source in errors."""
    from gradstep.serialization import custom_object_scope

    objects = {**registry.scope_objects(), **(custom_objects or {})}
    refuse_code(config, objects, path)
    model_config = {
        "class_name": "Functional" if config["class_name"] == "Model" else config["class_name"],
        "config": gradstep_config(config["config"]),
    }
    if isinstance(model_config["config"].get("layers"), list):
        layers = model_config["config"]["layers"]
        model_config["config"]["layers"] = _without_unused_mask_ops(layers)
    with custom_object_scope(objects):
        model = _guard(path, "config.json does not describe a model gradstep can rebuild",
                       lambda: _model_from_config(model_config))  # fmt: skip
    compile_config = config.get("compile_config")
    if compile and compile_config:
        settings = gradstep_compile_config(compile_config, path)
        _guard(path, "compile_config does not hold settings gradstep knows",
               lambda: model.compile_from_config(settings, custom_objects))  # fmt: skip
    return model


def load_weights(model, members: dict[str, bytes], path: Path) -> None:
    """The weights of a Keras-written archive into ``model`` (same architecture),
    all checked first; the optimizer's state too when the model is compiled
    with the same optimizer class."""
    if not model.built:
        raise ValueError(
            f"Model {model.name!r} is not built, so it has no weights to load into: give its "
            "first layer input_shape or call model.build(input_shape) first"
        )
    weights = weights_store(members, path)
    values = _reading(weights, lambda: checked_weight_values(weights, model, path))
    state = None
    compile_config = _config(members, path).get("compile_config") or {}
    saved = (compile_config.get("optimizer") or {}).get("class_name")
    if model.optimizer is not None and saved == type(model.optimizer).__name__:
        state = _reading(weights, lambda: optimizer_state(weights, model, path))
    model.set_weights(values)
    if state is not None:
        model.optimizer.set_state(state, *_trained(model))


def _reading(weights, action):
    """Run ``action`` on the weights member: h5py's errors on a damaged file
    (OSError, KeyError, ...) become this file's ValueError."""
    try:
        return action()
    except keras_archive.ArchiveError:
        raise
    except Exception as error:  # the data come from the file: any error means a bad file
        fail(weights.path, f"{weights.member} cannot be read (damaged?): {error}")


def _model_from_config(model_config: dict[str, Any]):
    """The model class from the ``LAYERS`` registry, built from its config
    (``saving.model_from_config``'s path; this module does not import saving,
    which imports it)."""
    from gradstep.layers import LAYERS

    model = LAYERS.lookup_class(model_config["class_name"]).from_config(model_config["config"])
    model.build_from_config(model_config.get("build_config"))
    return model


def _config(members, path) -> dict[str, Any]:
    if keras_archive.CONFIG not in members:
        fail(path, f"the archive has no {keras_archive.CONFIG} (members: {sorted(members)[:10]})")
    config = keras_archive.parse_json(members[keras_archive.CONFIG], "config.json", path)
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        fail(path, "config.json is not a model's {'class_name', 'config'} object")
    if not isinstance(config.get("class_name"), str):
        fail(path, "config.json has no class_name")
    return config


def _guard(path, what: str, action):
    try:
        return action()
    except Exception as error:  # the data come from the file: any error means a bad file
        fail(path, f"{what}: {type(error).__name__}: {error}")


def _trained(model):
    named = model.named_weights(trainable_only=True)
    return [weight for _, weight in named], [name for name, _ in named]


# --- the config ---------------------------------------------------------------------
def refuse_code(config, objects: dict[str, Any], path, where: str = "config.json") -> None:
    """Refuse a config that holds code or names a class gradstep does not know."""
    if isinstance(config, list):
        for index, item in enumerate(config):
            refuse_code(item, objects, path, f"{where}[{index}]")
        return
    if not isinstance(config, dict):
        return
    class_name = config.get("class_name")
    if isinstance(class_name, str):
        name = config.get("registered_name") or class_name
        if class_name in _CODE_CLASSES and name not in objects:
            fail(path, f"{where} holds {class_name!r}: {_CODE_CLASSES[class_name]}")
        if class_name == "function":
            _refuse_unknown_function(config, objects, path, where)
        elif _unknown_class(config, class_name, name, objects):
            fail(
                path,
                f"{where} names the class {name!r} (module {config.get('module')!r}), which "
                "gradstep does not have. A file never brings code with it: pass your class as "
                f"custom_objects={{{name!r}: YourClass}} or register it with "
                "register_keras_serializable",
            )
    for key, value in config.items():
        refuse_code(value, objects, path, f"{where}.{key}")


def _unknown_class(config: dict, class_name: str, name: str, objects) -> bool:
    """A layer or model class gradstep lacks, or an object of a module of
    your own (not Keras's) that was not given or registered."""
    from gradstep.layers import LAYERS

    if name in objects or class_name in objects or name in registry.registered_objects():
        return False
    module = config.get("module")
    if not isinstance(module, str):
        return False  # gradstep's own form: its registries name what they lack
    if not module.startswith("keras"):
        return True
    if module.startswith("keras.layers") or class_name in ("Sequential", "Functional", "Model"):
        return not LAYERS.has_class(class_name)
    return False


def _refuse_unknown_function(config, objects, path, where) -> None:
    from gradstep import activations, losses

    name = config.get("config")
    module = config.get("module") or ""
    if not isinstance(name, str):
        fail(path, f"{where} is a function given as {str(name)[:80]}, not by name")
    if name in objects or name in registry.registered_objects():
        return
    if module.startswith("keras.") and (name in activations.ACTIVATIONS or name in losses.LOSSES):
        return
    fail(
        path,
        f"{where} names the function {name!r} (module {module!r}), which gradstep does not "
        f"have: pass it as custom_objects={{{name!r}: your_function}} (a file never brings code)",
    )


def gradstep_config(config):
    """A Keras config in gradstep's form (recursively): each object entry
    without Keras's bookkeeping, dtype policies as their dtype's name, an
    InputLayer's batch_shape as shape."""
    if isinstance(config, list):
        return [gradstep_config(item) for item in config]
    if not isinstance(config, dict):
        return config
    if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        return (config.get("config") or {}).get("name")
    if "class_name" in config and isinstance(config.get("config"), dict):
        return gradstep_entry(config)
    return {
        key: gradstep_config(value)
        for key, value in config.items()
        if key != "shared_object_id" and not (key in _DROPPED_WHEN and value == _DROPPED_WHEN[key])
    }


def gradstep_entry(entry: dict[str, Any]) -> dict[str, Any]:
    kept = {
        key: value
        for key, value in entry.items()
        if key not in ("module", "registered_name", "build_config", "shared_object_id")
    }
    if str(entry.get("module", "")).startswith("keras.src.ops"):
        kept[_OP_MARK] = True
    if entry.get("registered_name") and entry["registered_name"] != entry["class_name"]:
        kept["class_name"] = entry["registered_name"]
    config = gradstep_config(entry["config"])
    if entry["class_name"] == "InputLayer" and "batch_shape" in config:
        config["shape"] = list(config.pop("batch_shape"))[1:]
        config.pop("batch_size", None)
    if isinstance(config.get("layers"), list):
        config["layers"] = _without_unused_mask_ops(config["layers"])
    kept["config"] = config
    if isinstance(entry.get("inbound_nodes"), list):
        kept["inbound_nodes"] = [_node(node) for node in kept["inbound_nodes"]]
    return kept


def _node(node):
    """An inbound node without Keras's ``mask`` keyword: gradstep passes masks
    along the graph itself, from the layer that makes them (Embedding's
    ``mask_zero``, Masking), where Keras's config holds the mask as a tensor
    of its own ``NotEqual`` node."""
    if isinstance(node, dict) and isinstance(node.get("kwargs"), dict):
        kwargs = {k: v for k, v in node["kwargs"].items() if k != "mask"}
        return {**node, "kwargs": kwargs}
    return node


def _without_unused_mask_ops(layers: list) -> list:
    """The functional config's layers without Keras's operation nodes (such as
    ``NotEqual``, ``Any``) that only made masks: once ``mask`` keywords are
    dropped, nothing takes their outputs."""
    layers = list(layers)
    while True:
        consumed = json.dumps([entry.get("inbound_nodes") for entry in layers])
        unused = [
            entry
            for entry in layers
            if entry.get(_OP_MARK) and f'"keras_history": ["{entry.get("name")}", ' not in consumed
        ]
        if not unused:
            break
        layers = [entry for entry in layers if all(entry is not u for u in unused)]
    return [{k: v for k, v in entry.items() if k != _OP_MARK} for entry in layers]


def gradstep_compile_config(config, path) -> dict[str, Any]:
    """Keras's compile_config as gradstep's ``compile_from_config`` takes it."""
    if not isinstance(config, dict) or not isinstance(config.get("optimizer"), dict | str):
        fail(path, "config.json's compile_config has no optimizer")
    settings = gradstep_config(config)
    if isinstance(settings["optimizer"], str):
        settings["optimizer"] = {"class_name": settings["optimizer"], "config": {}}
    for key in ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss"):
        settings.pop(key, None)
    settings.setdefault("loss", None)
    if settings.get("metrics") is None:
        settings["metrics"] = []
    return settings


# --- the weights --------------------------------------------------------------------
def weights_store(members, path):
    """The archive's weights, ``model.weights.h5`` or ``model.weights.npz``
    (read without unpickling, ``gradstep.keras_npz``), as a store of arrays
    by HDF5 group path (``layers/dense/vars``) and index."""
    if keras_archive.WEIGHTS_H5 in members:
        return _H5Weights(h5_file(members, path), path)
    if keras_archive.WEIGHTS_NPZ in members:
        from gradstep import keras_npz

        return _NpzWeights(keras_npz.read_weights(members[keras_archive.WEIGHTS_NPZ], path), path)
    fail(path, f"the archive has no {keras_archive.WEIGHTS_H5} or {keras_archive.WEIGHTS_NPZ}")


class _H5Weights:
    member = keras_archive.WEIGHTS_H5

    def __init__(self, file, path):
        self.file, self.path = file, path

    def keys(self, group_path: str) -> list[str]:
        return _stored_keys(self.file, group_path, self.path)

    def array(self, group_path: str, key: str):
        """The dataset (read lazily: its shape is checked before its data are read)."""
        return _dataset(self.file, group_path, key, self.path)


class _NpzWeights:
    """Keras's npz holds, for HDF5's group ``<path>/vars``, the entry ``<path>``
    (``__root__`` for the file's root ``vars``)."""

    member = keras_archive.WEIGHTS_NPZ

    def __init__(self, contents: dict[str, dict[str, np.ndarray]], path):
        self.contents, self.path = contents, path

    def _entry(self, group_path: str) -> dict[str, np.ndarray]:
        key = "__root__" if group_path == "vars" else group_path.removesuffix("/vars")
        return self.contents.get(key, {})

    def keys(self, group_path: str) -> list[str]:
        return list(self._entry(group_path))

    def array(self, group_path: str, key: str):
        return self._entry(group_path).get(key)


def h5_file(members, path):
    """``model.weights.h5`` opened read-only from memory."""
    from gradstep.h5_weights import _h5py

    h5py = _h5py()
    try:
        return h5py.File(io.BytesIO(members[keras_archive.WEIGHTS_H5]), "r")
    except Exception as error:  # h5py raises OSError, OverflowError, ... on damaged files
        fail(path, f"{keras_archive.WEIGHTS_H5} is not a readable HDF5 file: {error}")


def _dataset(file, group_path: str, key: str, path):
    """The dataset ``group_path/key``, refusing links, external and virtual data."""
    import h5py

    node = file
    for part in [*group_path.split("/"), key]:
        kind = node.get(part, getclass=True, getlink=True)
        if kind in (h5py.SoftLink, h5py.ExternalLink):
            fail(path, f"{keras_archive.WEIGHTS_H5} has a link at {group_path}/{key}")
        if kind is None:
            return None
        node = node[part]
    if not isinstance(node, h5py.Dataset):
        fail(path, f"{group_path}/{key} in {keras_archive.WEIGHTS_H5} is not an array")
    if node.external or node.is_virtual:
        fail(path, f"array {group_path}/{key} keeps its data outside the file")
    return node


def checked_weight_values(weights_store, model, path) -> list[np.ndarray]:
    """The store's arrays in ``model.get_weights()`` order, each checked."""
    from gradstep import h5_weights

    values = {}
    for group_path, name, weights in h5_weights.keras_layout(model):
        stored = weights_store.keys(group_path)
        if weights and sorted(stored) != sorted(str(i) for i in range(len(weights))):
            fail(
                path,
                f"layer {name!r} has {len(weights)} weights, but {group_path} in "
                f"{weights_store.member} holds {len(stored)} arrays {sorted(stored)[:8]}",
            )
        if not weights and stored:
            fail(path, f"layer {name!r} has no weights, but {group_path} holds {len(stored)}")
        for index, target in enumerate(weights):
            array = weights_store.array(group_path, str(index))
            values[id(target)] = _checked(array, f"{group_path}/{index}", target, name, path)
    return h5_weights.in_weights_order(model, values)


def _stored_keys(file, group_path: str, path) -> list[str]:
    import h5py

    node = file
    for part in group_path.split("/"):
        kind = node.get(part, getclass=True, getlink=True)
        if kind in (h5py.SoftLink, h5py.ExternalLink):
            fail(path, f"{keras_archive.WEIGHTS_H5} has a link at {group_path}")
        if kind is None:
            return []
        node = node[part]
    return list(node.keys()) if isinstance(node, h5py.Group) else []


def _checked(dataset, where: str, target, name, path) -> np.ndarray:
    """The array (an HDF5 dataset or an array), of the weight's shape and
    dtype; an integer weight (a count) may come in another integer dtype
    (Keras on JAX keeps int32) and is cast when no value changes."""
    index = where.rsplit("/", 1)[-1]
    both_integers = dataset.dtype.kind in "iu" and np.dtype(target.dtype).kind in "iu"
    if dataset.shape == target.shape and both_integers:
        value = np.asarray(dataset[()])
        cast = value.astype(target.dtype)
        if np.array_equal(cast, value):
            return cast
    if dataset.shape != target.shape or dataset.dtype != target.dtype:
        fail(
            path,
            f"array {where} has shape {dataset.shape} and dtype {dataset.dtype}, "
            f"but weight {index} of layer {name!r} has shape {target.shape} and dtype "
            f"{target.dtype} in the config's model",
        )
    return np.asarray(dataset[()])


def optimizer_state(weights_store, model, path) -> dict[str, np.ndarray] | None:
    """The optimizer's state from Keras's ``optimizer/vars``, checked; None
    (with a warning) when Keras's layout of it is not one gradstep maps."""
    stored = weights_store.keys("optimizer/vars")
    if not stored:
        return None
    arrays = [weights_store.array("optimizer/vars", str(i)) for i in range(len(stored))]
    if any(array is None for array in arrays):
        fail(path, f"optimizer/vars holds arrays {sorted(stored)[:8]}, not 0..{len(stored) - 1}")
    return state_from_keras_arrays(model, [np.asarray(array[()]) for array in arrays], path)


def state_from_keras_arrays(model, arrays: list[np.ndarray], path):
    """gradstep's optimizer state from Keras's ``optimizer.variables`` values,
    checked on a copy of the optimizer; None when there is nothing to carry
    over (Keras's optimizer was never built) or it is not mapped (a warning)."""
    import warnings

    from gradstep import keras_optimizer_state

    if not arrays or (len(arrays) <= 2 and int(np.asarray(arrays[0])) == 0):
        return None  # Keras's optimizer had not been built: a fresh one
    variables, names = _trained(model)
    # which per-variable slots gradstep has for these weights (Muon's, Adafactor's vary)
    template = model.optimizer.state_template(variables, names)
    state = keras_optimizer_state.from_keras(model.optimizer, arrays, len(variables), template)
    if state is None:
        warnings.warn(
            f"{path}: the state of Keras's {type(model.optimizer).__name__} ({len(arrays)} "
            "arrays) is not one gradstep maps; the optimizer starts afresh",
            stacklevel=4,
        )
        return None
    try:
        probe = type(model.optimizer).from_config(model.optimizer.get_config())
        probe.set_state(state, *_trained(model))
    except ValueError as error:
        fail(path, f"the optimizer's arrays do not fit the model: {error}")
    return state
