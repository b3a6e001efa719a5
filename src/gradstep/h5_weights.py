"""Keras 3's ``.weights.h5`` files: ``model.save_weights("x.weights.h5")``
writes Keras's HDF5 layout, so that Keras's ``model.load_weights`` reads it,
and ``load_weights`` reads the files Keras writes. Needs h5py (the ``h5``
extra).

Keras's layout (``keras/src/saving/saving_lib.py``, ``_save_state``) is the
walk of the model's layers: each layer gets the group
``layers/<class name in snake case>`` (``dense``, ``dense_1``, ... numbered
within its model, in ``model.layers`` order; a nested model's layers under
``layers/<its group>/layers/...``) holding a ``vars`` group whose ``name``
attribute is the layer's name and whose datasets ``0``, ``1``, ... are its
weights in ``get_weights`` order. Each model has a ``vars`` group with its
name too (the file's root ``vars`` for the outer model). A layer that holds
layers has theirs under the attribute that holds them (``lstm/cell/vars``,
``bidirectional/forward_layer/cell/vars``, ``time_distributed/layer/vars``,
``multi_head_attention/query_dense/vars``): ``layer_layout``. The same layout
is the ``model.weights.h5`` member of a ``.keras`` archive.

Only the weights are written and read: the optimizer's state is left out
(Keras's ``optimizer/vars`` are ignored when reading), as are the random
generators' states. Reading checks every path, shape and dtype before any
weight changes; on any problem the model is left as it was.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from pathlib import Path
from typing import Any

import numpy as np

SUFFIX = ".weights.h5"


def is_h5_weights_path(filepath) -> bool:
    return isinstance(filepath, str | os.PathLike) and str(filepath).endswith(SUFFIX)


def to_snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``Conv2D -> conv2d``, ``InputLayer -> input_layer``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def keras_layout(model, prefix: str = "") -> list[tuple[str, str, list[np.ndarray]]]:
    """``(group path, name attribute, weights)`` of each ``vars`` group that
    Keras writes for ``model``, in Keras's order."""
    entries = [(f"{prefix}vars", model.name, [])]
    used: dict[str, int] = {}
    for layer in model.layers:
        group = f"{prefix}layers/{_unique(to_snake_case(type(layer).__name__), used)}"
        if _is_model(layer):
            entries += keras_layout(layer, f"{group}/")
        else:
            entries += layer_layout(layer, group)
    return entries


def layer_layout(layer, group: str) -> list[tuple[str, str, list[np.ndarray]]]:
    """The ``vars`` groups of one layer under ``group``, as Keras's walk of its
    attributes makes them: the layer's own weights in ``group/vars``, then each
    layer it holds under the attribute's name (``lstm/cell``,
    ``bidirectional/forward_layer/cell``), in Keras's order of attribute names
    (sorted, private ones last); a list of layers as a container
    (``cell/cells/lstm_cell``). MultiHeadAttention, whose four projections are
    weights of its own in gradstep and layers in Keras, is told apart."""
    if type(layer).__name__ == "MultiHeadAttention":
        return _attention_layout(layer, group)
    sublayers = _sublayers_by_attribute(layer)
    held = {
        id(weight)
        for _, items in sublayers
        for item in (items if isinstance(items, list) else [items])
        for weight in item.weights
    }
    own = [weight for weight in layer.weights if id(weight) not in held]
    entries = [(f"{group}/vars", layer.name, own)]
    for attribute, items in sublayers:
        if isinstance(items, list):
            used: dict[str, int] = {}
            for item in items:
                name = _unique(to_snake_case(type(item).__name__), used)
                entries += layer_layout(item, f"{group}/{attribute}/{name}")
        else:
            entries += layer_layout(items, f"{group}/{attribute}")
    return entries


def _sublayers_by_attribute(layer) -> list[tuple[str, Any]]:
    """``(attribute, layer or list of layers)`` for the layers ``layer`` holds,
    in the order Keras visits them, each layer once."""
    found, seen = [], set()
    attributes = sorted(vars(layer), key=lambda name: f"~{name}" if name.startswith("_") else name)
    for attribute in attributes:
        value = getattr(layer, attribute)
        if _is_layer(value) and id(value) not in seen and value is not layer:
            seen.add(id(value))
            found.append((attribute, value))
        elif (
            isinstance(value, list)
            and value
            and all(_is_layer(item) for item in value)
            and attribute != "_sublayers"
        ):
            seen.update(id(item) for item in value)
            found.append((attribute, list(value)))
    return found


def _is_layer(value) -> bool:
    return hasattr(value, "named_weights") and hasattr(value, "get_config")


def _attention_layout(layer, group: str):
    """Keras's MultiHeadAttention holds query_dense, key_dense, value_dense and
    output_dense layers (visited in that sorted order: key, output, query,
    value); gradstep's holds their kernels (and biases) itself, in Keras's
    ``get_weights`` order (query, key, value, output)."""
    weights = list(layer.weights)
    per = 2 if layer.use_bias else 1
    if len(weights) != 4 * per:
        raise ValueError(
            f"Layer {layer.name!r}: expected {4 * per} weights for Keras's layout, "
            f"has {len(weights)}"
        )
    indices = np.split(np.arange(len(weights)), 4)
    parts = dict(zip(("query", "key", "value", "output"), indices, strict=True))
    names = {"query": "query", "key": "key", "value": "value", "output": "attention_output"}
    return [(f"{group}/vars", layer.name, [])] + [
        (f"{group}/{part}_dense/vars", names[part], [weights[i] for i in parts[part]])
        for part in ("key", "output", "query", "value")
    ]


def _is_model(layer) -> bool:
    """A model used as a layer (its layers get groups of their own); by its
    ``get_layer``, so that this module does not import the models package."""
    return callable(getattr(layer, "get_layer", None))


def _unique(name: str, used: dict[str, int]) -> str:
    """Keras's ``_get_unique_name``: ``dense``, then ``dense_1``, ``dense_2``."""
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def in_weights_order(model, values_by_id: dict[int, np.ndarray]) -> list[np.ndarray]:
    """``values_by_id`` (by ``id`` of the weight they are for, as
    ``keras_layout`` gives them) in ``model.get_weights()`` order: Keras's
    layout visits a layer's parts in its own order (MultiHeadAttention's key
    projection before its query projection)."""
    return [values_by_id[id(weight)] for weight in model.weights]


def dataset_paths(entries) -> list[str]:
    """Every group and dataset path the layout makes (h5py's ``visit`` order: sorted)."""
    paths = set()
    for group, _, weights in entries:
        parts = group.split("/")
        paths.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        paths.update(f"{group}/{index}" for index in range(len(weights)))
    return sorted(paths)


def keras_weights_blob(model, optimizer_variables=None) -> bytes:
    """``model.weights.h5`` of a ``.keras`` archive: the weights in Keras's
    layout, and ``optimizer_variables`` (Keras's ``optimizer.variables``
    order) under ``optimizer/vars`` when given."""
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        for group_path, name, weights in keras_layout(model):
            _write_group(file, group_path, name, weights)
        if optimizer_variables is not None:
            name = model.optimizer.get_config().get("name", "optimizer")
            _write_group(file, "optimizer/vars", name, optimizer_variables)
    return buffer.getvalue()


def _write_group(file, group_path: str, name: str, weights) -> None:
    group = file.require_group(group_path)
    group.attrs["name"] = name
    for index, weight in enumerate(weights):
        group.create_dataset(str(index), data=np.asarray(weight))


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write ``model``'s weights to ``filepath`` (``*.weights.h5``) in Keras's
    layout, atomically (a temporary file beside it, renamed over it)."""
    h5py = _h5py()
    if not model.built:
        raise ValueError(
            "You are saving a model that has not yet been built. Try building the model first "
            "by calling it on some data or by using `build()`."
        )
    path = Path(filepath)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists and overwrite=False")
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with h5py.File(temporary, "w") as file:
            for group_path, name, weights in keras_layout(model):
                _write_group(file, group_path, name, weights)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_weights(model, filepath) -> None:
    """Copy the weights of a Keras 3 (or gradstep) ``.weights.h5`` file into
    ``model``, which must be built with the same architecture. Every array is
    checked (present, same shape; cast to the weight's dtype) before any is
    copied."""
    h5py = _h5py()
    path = Path(filepath)
    if not model.built:
        raise ValueError(
            f"Model {model.name!r} is not built, so it has no weights to load into: give its "
            "first layer input_shape or call model.build(input_shape) first"
        )
    with open(path, "rb") as handle:
        if handle.read(8) != b"\x89HDF\r\n\x1a\n":
            raise ValueError(f"Cannot load {path}: it is not an HDF5 file")
    layout = keras_layout(model)
    values = {}
    with h5py.File(path, "r") as file:
        for group_path, name, weights in layout:
            if not weights:
                continue
            group = file.get(group_path)
            if not isinstance(group, h5py.Group):
                _fail(path, f"it has no group {group_path!r} for layer {name!r}", file)
            stored = sorted(key for key in group if isinstance(group[key], h5py.Dataset))
            if stored != sorted(str(i) for i in range(len(weights))):
                _fail(
                    path,
                    f"group {group_path!r} holds arrays {stored}, but layer {name!r} has "
                    f"{len(weights)} weights",
                    file,
                )
            for index, target in enumerate(weights):
                dataset = group[str(index)]
                if dataset.shape != target.shape:
                    _fail(
                        path,
                        f"array {group_path}/{index} has shape {dataset.shape}, but weight "
                        f"{index} of layer {name!r} has shape {target.shape}",
                        file,
                    )
                if dataset.dtype.kind not in "fiu":
                    _fail(path, f"array {group_path}/{index} has dtype {dataset.dtype}", file)
                values[id(target)] = np.asarray(dataset[()], dtype=target.dtype)
    model.set_weights(in_weights_order(model, values))


def _fail(path, problem: str, file) -> None:
    groups = []
    file.visit(lambda name: groups.append(name) if name.endswith("/vars") else None)
    raise ValueError(
        f"Cannot load {path}: {problem}. Is it a file of the same architecture? "
        f"Its layers: {[g[: -len('/vars')] for g in groups][:20]}"
    )


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "Keras's HDF5 files (.weights.h5, the weights inside a .keras archive, Keras 2's "
            ".h5) need h5py: pip install 'gradstep[h5]'. gradstep's own .gradstep files need "
            "only NumPy and safetensors"
        ) from None
    return h5py
