"""ONNX converters of BatchNormalization, LayerNormalization and
GroupNormalization, written with elementwise ops and reductions (so that any
axis works, as in Keras)."""

from __future__ import annotations

import numpy as np

from gradstep.export.onnx_graph import Call, OnnxGraph, converts, refuse
from gradstep.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
)


def _along(values: np.ndarray, input_shape, axes) -> np.ndarray:
    """A weight over ``axes`` of the input, shaped to broadcast against it (as
    Keras reshapes it: the axes keep their sizes, in the input's order)."""
    shape = [1] * len(input_shape)
    for axis in axes:
        shape[axis] = input_shape[axis]
    return values.reshape(shape)


@converts(BatchNormalization, mask_free_at_inference=True)
def batch_normalization(graph: OnnxGraph, call: Call) -> str:
    """Inference: ``x * scale + shift`` with ``scale = gamma / sqrt(moving_variance
    + epsilon)`` and ``shift = beta - moving_mean * scale``, folded here in float64."""
    config = call.layer.get_config()
    weights = {name: value.astype(np.float64) for name, value in call.layer.named_weights()}
    scale = weights.get("gamma", 1.0) / np.sqrt(weights["moving_variance"] + config["epsilon"])
    shift = weights.get("beta", 0.0) - weights["moving_mean"] * scale
    axes = [config["axis"]] if isinstance(config["axis"], int) else config["axis"]
    axes = [axis % call.rank for axis in axes]
    scaled = graph.op("Mul", call.x, graph.constant(_along(scale, call.shape, axes), "scale"))
    return graph.op("Add", scaled, graph.constant(_along(shift, call.shape, axes), "shift"))


def _standardize(graph: OnnxGraph, x: str, axes, epsilon: float, centre: bool = True) -> str:
    """``(x - mean) / sqrt(variance + epsilon)`` over ``axes`` (with
    ``centre=False``, ``x / sqrt(variance + epsilon)``: the RMS scaling of
    Keras's LayerNormalization, which divides by the variance all the same)."""
    centred = graph.op("Sub", x, graph.reduce("ReduceMean", x, axes))
    variance = graph.reduce("ReduceMean", graph.op("Mul", centred, centred), axes)
    deviation = graph.op("Sqrt", graph.op("Add", variance, graph.scalar(epsilon)))
    return graph.op("Div", centred if centre else x, deviation)


def _affine(graph: OnnxGraph, y: str, weights: dict, input_shape, axes) -> str:
    if "gamma" in weights:
        gamma = _along(weights["gamma"], input_shape, axes)
        y = graph.op("Mul", y, graph.constant(gamma, "gamma"))
    if "beta" in weights:
        beta = _along(weights["beta"], input_shape, axes)
        y = graph.op("Add", y, graph.constant(beta, "beta"))
    return y


@converts(LayerNormalization)
def layer_normalization(graph: OnnxGraph, call: Call) -> str:
    config = call.layer.get_config()
    axes = [a % call.rank for a in config["axis"]]
    y = _standardize(graph, call.x, axes, config["epsilon"], centre=not config["rms_scaling"])
    return _affine(graph, y, dict(call.layer.named_weights()), call.shape, axes)


@converts(GroupNormalization)
def group_normalization(graph: OnnxGraph, call: Call) -> str:
    """The channel axis split into ``(groups, channels / groups)``, each group
    standardized over its channels and every other non-batch axis, the
    channels merged back, then ``gamma`` and ``beta`` per channel."""
    config = call.layer.get_config()
    rank, axis = call.rank, config["axis"] % call.rank
    groups, channels = config["groups"], call.shape[axis]
    sizes = [-1 if size is None else size for size in call.shape[1:]]
    if sizes.count(-1) > 1:
        raise refuse(call.layer, "at most one size of its input (but the batch) may be unknown")
    grouped = [0, *sizes[: axis - 1], groups, channels // groups, *sizes[axis:]]
    x = graph.reshape(call.x, grouped)
    statistic_axes = [a for a in range(1, rank + 1) if a != axis]
    y = _standardize(graph, x, statistic_axes, config["epsilon"])
    y = graph.reshape(y, [0, *sizes])
    return _affine(graph, y, dict(call.layer.named_weights()), call.shape, [axis])
