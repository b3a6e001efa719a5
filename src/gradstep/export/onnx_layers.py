"""ONNX converters of the core, reshaping, merging, embedding, preprocessing
and regularization layers (the convolutions, pooling and normalizations are
in ``onnx_convolutional`` and ``onnx_normalization``; the activations in
``onnx_activations``). One function per layer kind; each returns the name of
the value that holds the layer's output."""

from __future__ import annotations

import numpy as np

from gradstep.export import onnx_activations, onnx_convolutional, onnx_normalization
from gradstep.export.onnx_activations import apply_activation
from gradstep.export.onnx_graph import (
    ONNX_TYPES,
    Call,
    OnnxGraph,
    converts,
    file_dtype,
    makes_mask,
    refuse,
)
from gradstep.layers.core import Dense, Flatten
from gradstep.layers.embedding import Embedding
from gradstep.layers.masking import Masking
from gradstep.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from gradstep.layers.preprocessing import Normalization, Rescaling
from gradstep.layers.regularization import (
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from gradstep.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
    resize_weights,
)

#: Modules whose converters register with the ones below (imported for that).
REGISTERED_WITH = (onnx_activations, onnx_convolutional, onnx_normalization)


def weights_of(layer) -> dict[str, np.ndarray]:
    """The layer's weights by name (``kernel``, ``bias``, ...)."""
    return dict(layer.named_weights())


# --- core ---------------------------------------------------------------------------------
@converts(Dense)
def dense(graph: OnnxGraph, call: Call) -> str:
    """``activation(x @ kernel + bias)``; MatMul contracts the last axis of an
    input of any rank, as Dense does."""
    weights = weights_of(call.layer)
    y = graph.op("MatMul", call.x, graph.constant(weights["kernel"], "kernel"))
    if "bias" in weights:
        y = graph.op("Add", y, graph.constant(weights["bias"], "bias"))
    return apply_activation(graph, y, call.layer.activation, call.layer)


@converts(Dropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
@converts(GaussianDropout, GaussianNoise, ActivityRegularization)
def identity_at_inference(graph: OnnxGraph, call: Call) -> str:
    """Noise and dropout act in training only; a penalty does not change the output."""
    return call.x


@converts(Flatten)
def flatten(graph: OnnxGraph, call: Call) -> str:
    """``(n, ...) -> (n, -1)``; channels first move last first, as in Keras."""
    x = call.x
    if call.layer.get_config()["data_format"] == "channels_first" and call.rank > 2:
        x = graph.transpose(x, (0, *range(2, call.rank), 1))
    return graph.op("Flatten", x, axis=1)


@converts(Reshape)
def reshape(graph: OnnxGraph, call: Call) -> str:
    return graph.reshape(call.x, [0, *call.layer.get_config()["target_shape"]])


@converts(Permute)
def permute(graph: OnnxGraph, call: Call) -> str:
    return graph.transpose(call.x, (0, *call.layer.get_config()["dims"]))


@converts(RepeatVector)
def repeat_vector(graph: OnnxGraph, call: Call) -> str:
    """``(n, f) -> (n, repeats, f)``: a new axis, broadcast by Expand."""
    column = graph.op("Unsqueeze", call.x, graph.ints([1]))
    return graph.op("Expand", column, graph.ints([1, call.layer.get_config()["n"], 1]))


# --- padding, cropping, upsampling ----------------------------------------------------------
def _spatial_axes(rank: int, data_format: str) -> list[int]:
    """The spatial axes of a ``rank``-dimensional input in ``data_format``."""
    return list(range(2, rank)) if data_format == "channels_first" else list(range(1, rank - 1))


def _pairs(value, count: int) -> list[tuple[int, int]]:
    """``(before, after)`` per axis, from a config's ``(b, a)`` or ``((b, a), ...)``."""
    if count == 1:
        return [tuple(value)]
    return [tuple(pair) for pair in value]


@converts(ZeroPadding1D, ZeroPadding2D)
def zero_padding(graph: OnnxGraph, call: Call) -> str:
    config = call.layer.get_config()
    axes = _spatial_axes(call.rank, config["data_format"])
    before, after = [0] * call.rank, [0] * call.rank
    for axis, (start, end) in zip(axes, _pairs(config["padding"], len(axes)), strict=True):
        before[axis], after[axis] = start, end
    return graph.op("Pad", call.x, graph.ints(before + after, "pads"), mode="constant")


@converts(Cropping1D, Cropping2D)
def cropping(graph: OnnxGraph, call: Call) -> str:
    config = call.layer.get_config()
    axes = _spatial_axes(call.rank, config.get("data_format", "channels_last"))
    pairs = _pairs(config["cropping"], len(axes))
    ends = [-after if after else np.iinfo(np.int64).max for _, after in pairs]
    return graph.slice(call.x, [before for before, _ in pairs], ends, axes)


def _repeat(graph: OnnxGraph, layer, x: str, shape: tuple, axis: int, times: int) -> str:
    """Each entry along ``axis`` ``times`` times in a row (``np.repeat``):
    a new axis after it, broadcast, then merged into it."""
    if any(size is None for i, size in enumerate(shape) if i not in (0, axis)):
        raise refuse(layer, "its input's sizes (but the batch and the repeated axis) must be known")
    expanded = graph.op("Unsqueeze", x, graph.ints([axis + 1]))
    target = [1] * (len(shape) + 1)
    target[axis + 1] = times
    tiled = graph.op("Expand", expanded, graph.ints(target))
    merged = [0 if i == 0 else -1 if i == axis else size for i, size in enumerate(shape)]
    return graph.reshape(tiled, merged)


@converts(UpSampling1D)
def upsampling_1d(graph: OnnxGraph, call: Call) -> str:
    return _repeat(graph, call.layer, call.x, call.shape, 1, call.layer.get_config()["size"])


@converts(UpSampling2D)
def upsampling_2d(graph: OnnxGraph, call: Call) -> str:
    """``'nearest'`` repeats rows and columns; the other interpolations are
    the matrices of ``resize_weights`` applied along each axis (Einsum)."""
    config = call.layer.get_config()
    x, shape = call.x, list(call.shape)
    letters = "abcd"
    for axis, factor in zip(_spatial_axes(4, config["data_format"]), config["size"], strict=True):
        if shape[axis] is None:
            raise refuse(call.layer, "its input's spatial sizes must be known")
        if config["interpolation"] == "nearest":
            x = _repeat(graph, call.layer, x, tuple(shape), axis, factor)
        else:
            matrix = graph.constant(resize_weights(shape[axis], factor, config["interpolation"]))
            result = letters[:axis] + "o" + letters[axis + 1 :]
            x = graph.op("Einsum", matrix, x, equation=f"o{letters[axis]},{letters}->{result}")
        shape[axis] *= factor
    return x


# --- merging --------------------------------------------------------------------------------
def _pairwise(graph: OnnxGraph, op_type: str, values: list[str]) -> str:
    result = values[0]
    for value in values[1:]:
        result = graph.op(op_type, result, value)
    return result


@converts(Add)
def add(graph: OnnxGraph, call: Call) -> str:
    return _pairwise(graph, "Add", call.inputs)


@converts(Subtract)
def subtract(graph: OnnxGraph, call: Call) -> str:
    return graph.op("Sub", call.inputs[0], call.inputs[1])


def _spread(graph: OnnxGraph, mask) -> str | None:
    """A mask over an input's leading axes, with a last axis to broadcast."""
    return None if mask is None else graph.op("Unsqueeze", mask, graph.ints([-1]))


def _masks_of(call: Call) -> list:
    return list(call.masks) if call.masks else [None] * len(call.inputs)


@converts(Multiply, takes_masks=True)
def multiply(graph: OnnxGraph, call: Call) -> str:
    """The product; under masks a masked entry counts as 1, and where every
    input is masked the output is 0 (Keras's)."""
    masks = [_spread(graph, m) for m in _masks_of(call)]
    filled = [
        x if kept is None else graph.op("Where", kept, x, graph.scalar(1.0))
        for x, kept in zip(call.inputs, masks, strict=True)
    ]
    output = _pairwise(graph, "Mul", filled)
    if all(kept is not None for kept in masks):
        output = graph.op("Where", _pairwise(graph, "Or", masks), output, graph.scalar(0.0))
    return output


def _extremum(graph: OnnxGraph, call: Call, op_type: str) -> str:
    """Pairwise from the first input; under masks (Keras's), a masked entry
    of the new input takes the running value, then a masked entry of the
    running value (while every input so far is masked) the new input's."""
    masks = [_spread(graph, m) for m in _masks_of(call)]
    output, output_kept = call.inputs[0], masks[0]
    for x, kept in zip(call.inputs[1:], masks[1:], strict=True):
        chosen_x = x if kept is None else graph.op("Where", kept, x, output)
        chosen = output if output_kept is None else graph.op("Where", output_kept, output, chosen_x)
        both = kept is not None and output_kept is not None
        output_kept = graph.op("Or", output_kept, kept) if both else None
        output = graph.op(op_type, chosen, chosen_x)
    return output


@converts(Average)
def average(graph: OnnxGraph, call: Call) -> str:
    total = _pairwise(graph, "Add", call.inputs)
    return graph.op("Div", total, graph.scalar(len(call.inputs)))


@converts(Maximum, takes_masks=True)
def maximum(graph: OnnxGraph, call: Call) -> str:
    return _extremum(graph, call, "Max")


@converts(Minimum, takes_masks=True)
def minimum(graph: OnnxGraph, call: Call) -> str:
    return _extremum(graph, call, "Min")


@makes_mask(Add, Subtract, Multiply, Average, Maximum, Minimum)
def merged_mask(graph: OnnxGraph, call: Call):
    """Keras's: the entries unmasked in any input, when every input is masked."""
    masks = _masks_of(call)
    if any(m is None for m in masks):
        return None
    return _pairwise(graph, "Or", masks)


@converts(Concatenate)
def concatenate(graph: OnnxGraph, call: Call) -> str:
    return graph.op("Concat", *call.inputs, axis=call.layer.get_config()["axis"] % call.rank)


@makes_mask(Concatenate)
def concatenated_mask(graph: OnnxGraph, call: Call) -> str:
    """Keras's: each input's mask (all true for an unmasked input) spread over
    its last axis, joined along ``axis``, then any entry of the last axis.
    (A mask covers an input's axes but the last, as every mask gradstep makes.)"""
    spread = []
    for x, mask in zip(call.inputs, _masks_of(call), strict=True):
        full_shape = graph.op("Shape", x)
        if mask is None:
            mask = graph.constant(np.ones(()), "kept", dtype=bool)
        else:
            mask = graph.op("Unsqueeze", mask, graph.ints([-1]))
        spread.append(graph.op("Cast", graph.op("Expand", mask, full_shape), to=1))
    joined = graph.op("Concat", *spread, axis=call.layer.get_config()["axis"] % call.rank)
    return graph.op("Cast", graph.reduce("ReduceMax", joined, [-1], keepdims=False), to=9)


# --- embedding, masking, preprocessing ------------------------------------------------------
@converts(Embedding)
def embedding(graph: OnnxGraph, call: Call) -> str:
    """The rows of ``embeddings`` that the indices pick (float indices cast to int64)."""
    table = graph.constant(weights_of(call.layer)["embeddings"], "embeddings")
    indices = call.x
    if np.dtype(call.dtypes[0]).kind == "f":
        indices = graph.op("Cast", indices, to=7)  # INT64
    return graph.op("Gather", table, indices, axis=0)


@makes_mask(Embedding)
def embedding_mask(graph: OnnxGraph, call: Call) -> str:
    """``tokens != 0`` (Embedding's ``mask_zero``)."""
    dtype = file_dtype(call.dtypes[0])
    zero = graph.constant(np.zeros(()), "zero", dtype=dtype)
    return graph.op("Not", graph.op("Equal", call.x, zero))


def _kept_steps(graph: OnnxGraph, call: Call) -> str:
    """``any(x != mask_value, axis=-1, keepdims=True)`` as 0 or 1."""
    value = graph.scalar(call.layer.get_config()["mask_value"])
    differs = graph.op("Cast", graph.op("Not", graph.op("Equal", call.x, value)), to=1)
    return graph.reduce("ReduceMax", differs, [-1])


@converts(Masking)
def masking(graph: OnnxGraph, call: Call) -> str:
    """``x * any(x != mask_value, axis=-1)``: the steps equal to the mask
    value everywhere become zeros."""
    return graph.op("Mul", call.x, _kept_steps(graph, call))


@makes_mask(Masking)
def masking_mask(graph: OnnxGraph, call: Call) -> str:
    kept = graph.op("Squeeze", _kept_steps(graph, call), graph.ints([-1]))
    return graph.op("Cast", kept, to=ONNX_TYPES["bool"])


@converts(Rescaling)
def rescaling(graph: OnnxGraph, call: Call) -> str:
    config = call.layer.get_config()
    x = call.x
    if np.dtype(call.dtypes[0]).kind != "f":
        x = graph.op("Cast", x, to=1)  # FLOAT
    scaled = graph.op("Mul", x, graph.constant(np.asarray(config["scale"], np.float32), "scale"))
    return graph.op("Add", scaled, graph.constant(np.asarray(config["offset"], np.float32)))


@converts(Normalization)
def normalization(graph: OnnxGraph, call: Call) -> str:
    """``(x - mean) / deviation`` (``mean + x * deviation`` when inverted),
    ``deviation = max(sqrt(variance), 1e-7)``. The statistics are read off
    the layer itself: its forward pass on zeros gives ``-mean / deviation``
    (or ``mean``) and, as what it keeps for backward, the deviation, both
    laid out to broadcast against the input."""
    layer = call.layer
    if any(size is None for size in call.shape[1:]):
        raise refuse(layer, "its input's sizes (but the batch) must be known")
    zeros = np.zeros((1, *call.shape[1:]), dtype=np.float32)
    shifted, deviation = layer.forward(zeros, training=False)
    deviation = np.broadcast_to(deviation, shifted.shape)
    x = call.x
    if np.dtype(call.dtypes[0]).kind != "f":
        x = graph.op("Cast", x, to=1)
    if layer.get_config()["invert"]:
        spread = graph.op("Mul", x, graph.constant(deviation, "deviation"))
        return graph.op("Add", spread, graph.constant(shifted, "mean"))
    mean = graph.constant(-shifted.astype(np.float64) * deviation, "mean")
    return graph.op("Div", graph.op("Sub", x, mean), graph.constant(deviation, "deviation"))
