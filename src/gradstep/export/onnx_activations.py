"""Activations in ONNX: each of ``gradstep.activations`` as ONNX nodes, and
the activation layers (Activation, ReLU, LeakyReLU, ELU, Softmax, PReLU).

``apply_activation(graph, x, activation, layer)`` is what Dense, the
convolutions and the recurrent layers call for their ``activation``; each
function below writes the formula of the activation's docstring.
"""

from __future__ import annotations

import math

import numpy as np

from gradstep import activations as gs
from gradstep.export.onnx_graph import Call, OnnxGraph, converts, refuse
from gradstep.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from gradstep.layers.core import Activation


def _gelu(graph: OnnxGraph, x: str, activation) -> str:
    half_x = graph.op("Mul", x, graph.scalar(0.5))
    if activation.approximate:  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = graph.op("Mul", graph.op("Mul", x, x), x)
        inner = graph.op("Add", x, graph.op("Mul", cube, graph.scalar(0.044715)))
        tanh = graph.op("Tanh", graph.op("Mul", inner, graph.scalar(math.sqrt(2 / math.pi))))
        return graph.op("Mul", half_x, graph.op("Add", tanh, graph.scalar(1.0)))
    erf = graph.op("Erf", graph.op("Mul", x, graph.scalar(1 / math.sqrt(2))))  # exact
    return graph.op("Mul", half_x, graph.op("Add", erf, graph.scalar(1.0)))


def softmax(graph: OnnxGraph, x: str, axis) -> str:
    """Softmax over one axis (ONNX's op), or over several: ``exp(x - max) / sum``."""
    if isinstance(axis, int):
        return graph.op("Softmax", x, axis=axis)
    axes = list(axis)
    shifted = graph.op("Sub", x, graph.reduce("ReduceMax", x, axes))
    exp = graph.op("Exp", shifted)
    return graph.op("Div", exp, graph.reduce("ReduceSum", exp, axes))


#: Activation class -> function(graph, x, activation) -> ONNX value.
ACTIVATIONS = {
    gs.Linear: lambda graph, x, a: x,
    gs.ReLU: lambda graph, x, a: graph.op("Relu", x),
    gs.Sigmoid: lambda graph, x, a: graph.op("Sigmoid", x),
    gs.Tanh: lambda graph, x, a: graph.op("Tanh", x),
    gs.Softmax: lambda graph, x, a: softmax(graph, x, a.axis),
    gs.LeakyReLU: lambda graph, x, a: graph.op("LeakyRelu", x, alpha=float(a.negative_slope)),
    gs.ELU: lambda graph, x, a: graph.op("Elu", x, alpha=float(a.alpha)),
    gs.SELU: lambda graph, x, a: graph.op(
        "Selu", x, alpha=1.6732632423543772848170429916717, gamma=1.0507009873554804934193349852946
    ),
    gs.GELU: _gelu,
    gs.Softplus: lambda graph, x, a: graph.op("Softplus", x),
    gs.Softsign: lambda graph, x, a: graph.op("Softsign", x),
    gs.SiLU: lambda graph, x, a: graph.op("Mul", x, graph.op("Sigmoid", x)),
    gs.Exponential: lambda graph, x, a: graph.op("Exp", x),
    gs.HardSigmoid: lambda graph, x, a: graph.op("HardSigmoid", x, alpha=1 / 6, beta=0.5),
}


def apply_activation(graph: OnnxGraph, x: str, activation, layer) -> str:
    """``activation(x)`` in ONNX (``activation`` one of ``gradstep.activations``'s)."""
    if activation is None:
        return x
    write = ACTIVATIONS.get(type(activation))
    if write is None:
        raise refuse(
            layer,
            f"its activation {activation!r} is a function of yours; the export writes "
            f"only gradstep's activations ({sorted(gs.ACTIVATIONS.names())})",
        )
    return write(graph, x, activation)


@converts(Activation)
def activation_layer(graph: OnnxGraph, call: Call) -> str:
    return apply_activation(graph, call.x, call.layer.activation, call.layer)


@converts(ReLU)
def relu_layer(graph: OnnxGraph, call: Call) -> str:
    """Keras's ``relu(x, negative_slope, max_value, threshold)``, step by step:
    ``x * (x > threshold)`` (or ``max(x, 0)``), clipped at ``max_value``, minus
    ``negative_slope * relu(threshold - x)``."""
    config = call.layer.get_config()
    slope, top, threshold = config["negative_slope"], config["max_value"], config["threshold"]
    x = call.x
    if slope and top is None and threshold == 0:
        return graph.op("LeakyRelu", x, alpha=float(slope))
    if threshold:
        above = graph.op("Cast", graph.op("Greater", x, graph.scalar(threshold)), to=1)
        y = graph.op("Mul", x, above)
    else:
        y = graph.op("Relu", x)
    if top is not None:
        y = graph.op("Clip", y, graph.scalar(0.0), graph.scalar(top))
    if slope:
        below = graph.op("Relu", graph.op("Sub", graph.scalar(threshold), x))
        y = graph.op("Sub", y, graph.op("Mul", below, graph.scalar(slope)))
    return y


@converts(LeakyReLU)
def leaky_relu_layer(graph: OnnxGraph, call: Call) -> str:
    return graph.op("LeakyRelu", call.x, alpha=float(call.layer.get_config()["negative_slope"]))


@converts(ELU)
def elu_layer(graph: OnnxGraph, call: Call) -> str:
    return graph.op("Elu", call.x, alpha=float(call.layer.get_config()["alpha"]))


@converts(Softmax)
def softmax_layer(graph: OnnxGraph, call: Call) -> str:
    return softmax(graph, call.x, call.layer.get_config()["axis"])


@converts(PReLU)
def prelu_layer(graph: OnnxGraph, call: Call) -> str:
    """``x`` where positive, else ``alpha * x`` (alpha broadcast over the batch)."""
    alpha = dict(call.layer.named_weights())["alpha"]
    return graph.op("PRelu", call.x, graph.constant(np.asarray(alpha), "alpha"))
