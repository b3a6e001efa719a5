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
name too (the file's root ``vars`` for the outer model).

Only the weights are written and read: the optimizer's state is left out
(Keras's ``optimizer/vars`` are ignored when reading), as are the random
generators' states. Reading checks every path, shape and dtype before any
weight changes; on any problem the model is left as it was.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

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
            entries.append((f"{group}/vars", layer.name, list(layer.weights)))
    return entries


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


def dataset_paths(entries) -> list[str]:
    """Every group and dataset path the layout makes (h5py's ``visit`` order: sorted)."""
    paths = set()
    for group, _, weights in entries:
        parts = group.split("/")
        paths.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        paths.update(f"{group}/{index}" for index in range(len(weights)))
    return sorted(paths)


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
                group = file.require_group(group_path)
                group.attrs["name"] = name
                for index, weight in enumerate(weights):
                    group.create_dataset(str(index), data=np.asarray(weight))
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
    values = []
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
                values.append(np.asarray(dataset[()], dtype=target.dtype))
    model.set_weights(values)


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
            "Reading and writing .weights.h5 files needs h5py: pip install 'gradstep[h5]'"
        ) from None
    return h5py
