"""ONNX converters of the convolutions and the pooling layers.

ONNX's Conv, ConvTranspose and pools take channels first, ``(n, c, *spatial)``,
and kernels ``(out, in / groups, *window)``; Keras's layers default to
channels last and keep kernels ``(*window, in / groups, out)``. So a
channels-last input is transposed to channels first and back, and each kernel
is transposed once, here, into ONNX's layout.

Padding is written out explicitly, as Keras computes it: ``'same'`` pads
``max((ceil(n / s) - 1) s + (k - 1) d + 1 - n, 0)`` entries, the odd one at
the end; ``'causal'`` pads ``(k - 1) d`` at the start. A spatial size that is
unknown until the model runs gets ONNX's ``SAME_UPPER``, the same rule.
"""

from __future__ import annotations

import math

import numpy as np

from gradstep.export.onnx_activations import apply_activation
from gradstep.export.onnx_graph import Call, OnnxGraph, converts
from gradstep.layers.convolutional import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    DepthwiseConv2D,
    SeparableConv2D,
)
from gradstep.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)


def _channels_first(graph: OnnxGraph, x: str, rank: int, data_format: str) -> str:
    if data_format == "channels_first":
        return x
    return graph.transpose(x, (0, rank - 1, *range(1, rank - 1)))


def _channels_back(graph: OnnxGraph, y: str, rank: int, data_format: str) -> str:
    if data_format == "channels_first":
        return y
    return graph.transpose(y, (0, *range(2, rank), 1))


def _spatial_sizes(call: Call, data_format: str) -> list:
    return list(call.shape[2:] if data_format == "channels_first" else call.shape[1:-1])


def _onnx_kernel(kernel: np.ndarray) -> np.ndarray:
    """Keras's ``(*window, a, b)`` as ONNX's ``(b, a, *window)``."""
    window = kernel.ndim - 2
    return np.transpose(kernel, (window + 1, window, *range(window)))


def padding_attributes(sizes, window, strides, dilations, padding: str) -> dict:
    """ONNX's ``pads`` (all starts, then all ends) for Keras's ``padding``."""
    if padding == "valid":
        return {"pads": [0] * (2 * len(window))}
    if padding == "causal":
        return {"pads": [(window[0] - 1) * dilations[0], 0]}
    if any(size is None for size in sizes):
        return {"auto_pad": "SAME_UPPER"}
    starts, ends = [], []
    for size, k, s, d in zip(sizes, window, strides, dilations, strict=True):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        starts.append(total // 2)
        ends.append(total - total // 2)
    return {"pads": starts + ends}


def _convolve(graph: OnnxGraph, call: Call, kernel: np.ndarray, bias, group: int) -> str:
    """Conv of the layer's input with a kernel already in ONNX's layout,
    the layer's activation after it."""
    config = call.layer.get_config()
    data_format = config["data_format"]
    window = list(kernel.shape[2:])
    attributes = padding_attributes(
        _spatial_sizes(call, data_format),
        window,
        config["strides"],
        config["dilation_rate"],
        config["padding"],
    )
    inputs = [_channels_first(graph, call.x, call.rank, data_format), graph.constant(kernel)]
    if bias is not None:
        inputs.append(graph.constant(bias, "bias"))
    y = graph.op(
        "Conv",
        *inputs,
        kernel_shape=window,
        strides=list(config["strides"]),
        dilations=list(config["dilation_rate"]),
        group=group,
        **attributes,
    )
    y = _channels_back(graph, y, call.rank, data_format)
    return apply_activation(graph, y, call.layer.activation, call.layer)


@converts(Conv1D, Conv2D)
def convolution(graph: OnnxGraph, call: Call) -> str:
    weights = dict(call.layer.named_weights())
    kernel = _onnx_kernel(weights["kernel"])
    return _convolve(graph, call, kernel, weights.get("bias"), call.layer.get_config()["groups"])


def _depthwise_kernel(kernel: np.ndarray) -> np.ndarray:
    """``(kh, kw, c, m)`` as ONNX's ``(c m, 1, kh, kw)``: output channel
    ``c * m + j`` is input channel ``c`` through its ``j``-th filter."""
    kh, kw, channels, multiplier = kernel.shape
    flat = kernel.reshape(kh, kw, channels * multiplier)
    return np.transpose(flat, (2, 0, 1))[:, np.newaxis]


@converts(DepthwiseConv2D)
def depthwise_convolution(graph: OnnxGraph, call: Call) -> str:
    weights = dict(call.layer.named_weights())
    kernel = weights["kernel"]
    return _convolve(graph, call, _depthwise_kernel(kernel), weights.get("bias"), kernel.shape[2])


@converts(SeparableConv2D)
def separable_convolution(graph: OnnxGraph, call: Call) -> str:
    """A depthwise convolution (no bias, no activation), then a 1x1 one."""
    weights = dict(call.layer.named_weights())
    config = call.layer.get_config()
    data_format = config["data_format"]
    depthwise = _depthwise_kernel(weights["depthwise_kernel"])
    attributes = padding_attributes(
        _spatial_sizes(call, data_format),
        list(depthwise.shape[2:]),
        config["strides"],
        config["dilation_rate"],
        config["padding"],
    )
    x = _channels_first(graph, call.x, call.rank, data_format)
    x = graph.op(
        "Conv",
        x,
        graph.constant(depthwise, "depthwise_kernel"),
        kernel_shape=list(depthwise.shape[2:]),
        strides=list(config["strides"]),
        dilations=list(config["dilation_rate"]),
        group=weights["depthwise_kernel"].shape[2],
        **attributes,
    )
    inputs = [x, graph.constant(_onnx_kernel(weights["pointwise_kernel"]), "pointwise_kernel")]
    if "bias" in weights:
        inputs.append(graph.constant(weights["bias"], "bias"))
    y = graph.op("Conv", *inputs, kernel_shape=[1, 1])
    y = _channels_back(graph, y, call.rank, data_format)
    return apply_activation(graph, y, call.layer.activation, call.layer)


def transpose_padding(kernel: int, stride: int, dilation: int, padding: str, output_padding):
    """ONNX ConvTranspose's ``(pad_start, pad_end, output_padding)`` on one
    axis for Keras's arguments. Keras (on JAX) pads the stride-dilated input
    by ``(left, right)`` and convolves; the full transposed convolution is
    ``left = right = k - 1``, so ONNX crops ``k - 1 - left`` at the start and
    ``k - 1 - right`` at the end (a negative crop: extra outputs at the end)."""
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        left, right = k - 1, k - 1 + extra
    else:
        total = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, k - 1)
        right = total - left
    start, end = k - 1 - left, k - 1 - right
    return start, max(end, 0), max(-end, 0)


@converts(Conv1DTranspose, Conv2DTranspose)
def transposed_convolution(graph: OnnxGraph, call: Call) -> str:
    weights = dict(call.layer.named_weights())
    config = call.layer.get_config()
    data_format = config["data_format"]
    kernel = _onnx_kernel(weights["kernel"])  # (in, out, *window)
    window = list(kernel.shape[2:])
    output_padding = config["output_padding"] or [None] * len(window)
    starts, ends, extras = zip(
        *(
            transpose_padding(k, s, d, config["padding"], p)
            for k, s, d, p in zip(
                window, config["strides"], config["dilation_rate"], output_padding, strict=True
            )
        ),
        strict=True,
    )
    inputs = [_channels_first(graph, call.x, call.rank, data_format), graph.constant(kernel)]
    if "bias" in weights:
        inputs.append(graph.constant(weights["bias"], "bias"))
    y = graph.op(
        "ConvTranspose",
        *inputs,
        kernel_shape=window,
        strides=list(config["strides"]),
        dilations=list(config["dilation_rate"]),
        pads=list(starts) + list(ends),
        output_padding=list(extras),
    )
    y = _channels_back(graph, y, call.rank, data_format)
    return apply_activation(graph, y, call.layer.activation, call.layer)


# --- pooling --------------------------------------------------------------------------------
def _pool(graph: OnnxGraph, call: Call, op_type: str, **extra) -> str:
    config = call.layer.get_config()
    data_format = config["data_format"]
    window, strides = list(config["pool_size"]), list(config["strides"])
    attributes = padding_attributes(
        _spatial_sizes(call, data_format), window, strides, [1] * len(window), config["padding"]
    )
    x = _channels_first(graph, call.x, call.rank, data_format)
    y = graph.op(op_type, x, kernel_shape=window, strides=strides, **attributes, **extra)
    return _channels_back(graph, y, call.rank, data_format)


@converts(MaxPooling1D, MaxPooling2D)
def max_pooling(graph: OnnxGraph, call: Call) -> str:
    return _pool(graph, call, "MaxPool")


@converts(AveragePooling1D, AveragePooling2D)
def average_pooling(graph: OnnxGraph, call: Call) -> str:
    """The padding of ``'same'`` is left out of each average, as in Keras."""
    return _pool(graph, call, "AveragePool", count_include_pad=0)


def _global_pool(graph: OnnxGraph, call: Call, op_type: str) -> str:
    config = call.layer.get_config()
    if config["data_format"] == "channels_first":
        axes = list(range(2, call.rank))
    else:
        axes = list(range(1, call.rank - 1))
    return graph.reduce(op_type, call.x, axes, keepdims=bool(config["keepdims"]))


@converts(GlobalAveragePooling1D, GlobalAveragePooling2D, takes_masks=True)
def global_average_pooling(graph: OnnxGraph, call: Call) -> str:
    """The mean over the steps (the pixels); under a mask, over the unmasked
    steps: ``sum(x * mask) / sum(mask)``."""
    mask = call.masks[0] if call.masks else None
    if mask is None:
        return _global_pool(graph, call, "ReduceMean")
    first = call.layer.get_config()["data_format"] == "channels_first"
    steps_axis, feature_axis = (2, 1) if first else (1, 2)
    kept = graph.op("Cast", graph.op("Unsqueeze", mask, graph.ints([feature_axis])), to=1)
    keepdims = bool(call.layer.get_config()["keepdims"])
    total = graph.reduce("ReduceSum", graph.op("Mul", call.x, kept), [steps_axis], keepdims)
    count = graph.reduce("ReduceSum", kept, [steps_axis], keepdims)
    return graph.op("Div", total, count)


@converts(GlobalMaxPooling1D, GlobalMaxPooling2D)
def global_max_pooling(graph: OnnxGraph, call: Call) -> str:
    return _global_pool(graph, call, "ReduceMax")
