"""Keras 2's legacy ``.h5`` full-model files (``tf.keras`` ``model.save("x.h5")``),
read without running code (CVE-2025-9905: Keras's own loader ran a ``Lambda``
layer's bytecode from such files whatever ``safe_mode`` said).

The file's root attribute ``model_config`` holds the architecture (JSON, Keras
2's form), ``training_config`` the compile settings, and the group
``model_weights/<layer name>`` each layer's weights, listed in order by its
``weight_names`` attribute. The config goes through the same checks and
translation as a ``.keras`` archive's (``gradstep.keras_reading``), after
Keras 2's names are put in Keras 3's (``batch_input_shape``, a one-axis list
for BatchNormalization's ``axis``). The weights are checked in count, shape
and dtype before any is set. The optimizer's state is not carried over: Keras
2 kept it by variable names that differ between its optimizer generations.
Needs h5py (the ``h5`` extra).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gradstep.keras_archive import fail

MAGIC = b"\x89HDF\r\n\x1a\n"


def is_legacy_h5(path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(8) == MAGIC


def load_model(path: Path, custom_objects=None, compile=True):  # noqa: A002
    """The model of a Keras 2 ``.h5`` full-model file."""
    import io

    from gradstep import keras_reading
    from gradstep.h5_weights import _h5py

    h5py = _h5py()
    try:
        file = h5py.File(io.BytesIO(Path(path).read_bytes()), "r")
    except Exception as error:  # h5py's errors on damaged files are of many kinds
        fail(path, f"it is not a readable HDF5 file: {error}")
    with file:
        config = _attribute_json(file, "model_config", path)
        if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
            fail(path, "its model_config is not a model's {'class_name', 'config'}")
        config = _keras3_form(config)
        training = _attribute_json(file, "training_config", path, required=False)
        if compile and isinstance(training, dict):
            config["compile_config"] = _compile_config(training)
        model = keras_reading.model_from_keras_config(config, path, custom_objects, compile)
        values = _checked_values(file, model, path)
    model.set_weights(values)
    return model


def _attribute_json(file, name: str, path, required: bool = True):
    raw = file.attrs.get(name)
    if raw is None:
        if required:
            fail(path, f"it has no {name!r} attribute: not a Keras full-model .h5 file")
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(str(raw))
    except ValueError as error:
        fail(path, f"its {name} is not valid JSON: {error}")


def _keras3_form(value):
    """Keras 2's config with Keras 3's names, recursively."""
    if isinstance(value, list):
        return [_keras3_form(item) for item in value]
    if not isinstance(value, dict):
        return value
    value = {key: _keras3_form(item) for key, item in value.items()}
    config = value.get("config")
    if value.get("class_name") == "InputLayer" and isinstance(config, dict):
        if "batch_input_shape" in config:
            config["batch_shape"] = config.pop("batch_input_shape")
    for key in ("input_layers", "output_layers"):  # one input or output: Keras 3's flat form
        ends = value.get(key)
        if isinstance(ends, list) and len(ends) == 1 and isinstance(ends[0], list):
            value[key] = ends[0]
    if isinstance(value.get("inbound_nodes"), list):
        value["inbound_nodes"] = [_node(node) for node in value["inbound_nodes"]]
    if value.get("class_name") == "BatchNormalization" and isinstance(config, dict):
        axis = config.get("axis")
        if isinstance(axis, list) and len(axis) == 1:
            config["axis"] = axis[0]
    return value


def _node(node):
    """Keras 2's ``[[layer, node, tensor, kwargs], ...]`` as Keras 3's
    ``{"args": [tensor or [tensors]], "kwargs": {...}}``."""
    if not isinstance(node, list) or not all(isinstance(t, list) and len(t) >= 3 for t in node):
        return node
    tensors = [
        {"class_name": "__keras_tensor__", "config": {"keras_history": list(t[:3])}} for t in node
    ]
    kwargs = node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
    return {"args": [tensors[0] if len(tensors) == 1 else tensors], "kwargs": kwargs}


def _compile_config(training: dict[str, Any]) -> dict[str, Any]:
    optimizer = dict(training.get("optimizer_config") or {})
    class_name = str(optimizer.get("class_name", "")).split(">")[-1]
    options = {
        key: value
        for key, value in (optimizer.get("config") or {}).items()
        if key not in ("jit_compile", "is_legacy_optimizer", "decay")
    }
    options["name"] = str(options.get("name", class_name)).lower()
    return {
        "optimizer": {"class_name": class_name, "config": options},
        "loss": training.get("loss"),
        "metrics": _metric_names(training.get("metrics")),
        "loss_weights": training.get("loss_weights"),
    }


def _metric_names(metrics) -> list:
    """Keras 2's metrics (nested per output, MeanMetricWrapper entries) as names."""
    names = []
    for item in metrics or []:
        if isinstance(item, list):
            names += _metric_names(item)
        elif isinstance(item, dict) and item.get("class_name") == "MeanMetricWrapper":
            names.append((item.get("config") or {}).get("name"))
        elif item is not None:
            names.append(item)
    return names


def _checked_values(file, model, path) -> list[np.ndarray]:
    """Each layer's weights from ``model_weights/<name>``, in
    ``model.get_weights()`` order, checked."""
    import h5py

    group = file.get("model_weights", getlink=False)
    if not isinstance(group, h5py.Group):
        fail(path, "it has no model_weights group")
    values = []
    for layer in model.layers:
        weights = layer.weights
        if not weights:
            continue
        names = _weight_names(group, layer.name, path)
        if len(names) != len(weights):
            fail(
                path,
                f"layer {layer.name!r} has {len(weights)} weights, the file lists {len(names)} "
                f"for it ({names[:6]})",
            )
        for name, target in zip(names, weights, strict=True):
            dataset = _dataset(group, f"{layer.name}/{name}", path)
            if dataset.shape != target.shape or dataset.dtype != target.dtype:
                fail(
                    path,
                    f"weight {name!r} has shape {dataset.shape} and dtype {dataset.dtype}, "
                    f"layer {layer.name!r} needs shape {target.shape} and dtype {target.dtype}",
                )
            values.append(np.asarray(dataset[()]))
    return values


def _weight_names(group, layer_name: str, path) -> list[str]:
    import h5py

    if group.get(layer_name, getlink=True, getclass=True) is not h5py.HardLink:
        fail(path, f"model_weights has no group for layer {layer_name!r}")
    names = group[layer_name].attrs.get("weight_names")
    if names is None:
        fail(path, f"model_weights/{layer_name} lists no weight_names")
    return [name.decode() if isinstance(name, bytes) else str(name) for name in names]


def _dataset(group, name: str, path):
    import h5py

    node = group
    for part in name.split("/"):
        if node.get(part, getlink=True, getclass=True) is not h5py.HardLink:
            fail(path, f"model_weights/{name} is missing or a link")
        node = node[part]
    if not isinstance(node, h5py.Dataset) or node.external or node.is_virtual:
        fail(path, f"model_weights/{name} is not an array stored in the file")
    return node
