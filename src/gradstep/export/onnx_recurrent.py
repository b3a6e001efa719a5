"""ONNX converters of the recurrent layers: LSTM, GRU and SimpleRNN (and
``RNN`` of their cells) through ONNX's LSTM, GRU and RNN ops; Bidirectional;
TimeDistributed.

ONNX's recurrent ops take the sequence first, ``(steps, batch, features)``,
and weights ``(gates * units, features)`` per direction; Keras keeps
``kernel (features, gates * units)`` and ``recurrent_kernel (units, gates *
units)``. The gate orders differ for LSTM: Keras ``[i, f, c, o]``, ONNX
``[i, o, f, c]``; GRU's ``[z, r, h]`` is the same in both, and Keras's
``reset_after=True`` (its default, two biases) is ONNX's
``linear_before_reset=1``. ``go_backwards`` reverses the steps before the
op, so that with ``return_sequences`` the outputs come in the order Keras
gives them (the order they were computed in).
"""

from __future__ import annotations

import numpy as np

from gradstep import activations as gs
from gradstep.export.onnx_graph import Call, OnnxGraph, convert_layer, converts, refuse
from gradstep.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    TimeDistributed,
)

#: gradstep activation class -> ONNX's name for it in the recurrent ops.
RECURRENT_ACTIVATIONS = {
    gs.Sigmoid: "Sigmoid",
    gs.Tanh: "Tanh",
    gs.ReLU: "Relu",
    gs.Softsign: "Softsign",
    gs.Softplus: "Softplus",
}


def _activation_names(layer, *activations) -> list[str]:
    names = []
    for activation in activations:
        name = RECURRENT_ACTIVATIONS.get(type(activation))
        if name is None:
            raise refuse(
                layer,
                f"ONNX's recurrent ops take only {sorted(RECURRENT_ACTIVATIONS.values())} "
                f"activations, not {activation!r}",
            )
        names.append(name)
    return names


def _gates(matrix: np.ndarray, order, gates: int) -> np.ndarray:
    """The columns of ``matrix`` (gate blocks side by side) in ``order``, as
    ONNX's ``(1, gates * units, rows)``."""
    blocks = np.split(matrix, gates, axis=-1)
    return np.concatenate([blocks[i] for i in order], axis=-1).T[np.newaxis]


def _bias(input_bias: np.ndarray, recurrent_bias: np.ndarray | None = None) -> np.ndarray:
    """ONNX's ``B``, ``(1, 2 * gates * units)``: the input bias, then the recurrent one."""
    if recurrent_bias is None:
        recurrent_bias = np.zeros_like(input_bias)
    return np.concatenate([input_bias, recurrent_bias])[np.newaxis]


def _cell_op(layer):
    """``(op type, W, R, B, attributes)`` of the layer's cell, in ONNX's layout."""
    cell = layer.cell
    weights = dict(cell.named_weights())
    kernel, recurrent = weights["kernel"], weights["recurrent_kernel"]
    bias = weights.get("bias")
    units = recurrent.shape[0]
    if type(cell) is LSTMCell:
        order = (0, 3, 1, 2)  # Keras's [i, f, c, o] as ONNX's [i, o, f, c]
        names = _activation_names(layer, cell.recurrent_activation, cell.activation)
        attributes = {"activations": [names[0], names[1], names[1]]}
        w, r = _gates(kernel, order, 4), _gates(recurrent, order, 4)
        b = None if bias is None else _bias(np.concatenate([np.split(bias, 4)[i] for i in order]))
        return "LSTM", w, r, b, {"hidden_size": units, **attributes}
    if type(cell) is GRUCell:
        order = (0, 1, 2)  # [z, r, h] in both
        names = _activation_names(layer, cell.recurrent_activation, cell.activation)
        w, r = _gates(kernel, order, 3), _gates(recurrent, order, 3)
        reset_after = bool(cell.get_config()["reset_after"])
        if bias is None:
            b = None
        elif reset_after:
            b = _bias(bias[0], bias[1])
        else:
            b = _bias(bias)
        attributes = {"activations": names, "linear_before_reset": int(reset_after)}
        return "GRU", w, r, b, {"hidden_size": units, **attributes}
    if type(cell) is SimpleRNNCell:
        names = _activation_names(layer, cell.activation)
        b = None if bias is None else _bias(bias)
        return (
            "RNN",
            kernel.T[np.newaxis],
            recurrent.T[np.newaxis],
            b,
            {
                "hidden_size": units,
                "activations": names,
            },
        )
    raise refuse(layer, f"its cell {type(cell).__name__} has no ONNX recurrent op")


def recurrent(graph: OnnxGraph, layer, x: str) -> str:
    """``layer`` (an RNN of one LSTM, GRU or SimpleRNN cell) on ``x``,
    ``(batch, steps, features)``: its last output, or every step's."""
    config = layer.get_config()
    if config.get("stateful"):
        raise refuse(layer, "it is stateful: its states carry over between batches")
    op_type, w, r, b, attributes = _cell_op(layer)
    steps_first = graph.transpose(x, (1, 0, 2))
    if config.get("go_backwards"):
        steps_first = graph.reverse(steps_first, 0)
    inputs = [steps_first, graph.constant(w, "W"), graph.constant(r, "R")]
    if b is not None:
        inputs.append(graph.constant(b, "B"))
    every_step, last = graph.op(op_type, *inputs, outputs=2, **attributes)
    if config.get("return_sequences"):
        squeezed = graph.op("Squeeze", every_step, graph.ints([1]))  # (steps, batch, units)
        return graph.transpose(squeezed, (1, 0, 2))
    return graph.op("Squeeze", last, graph.ints([0]))


@converts(LSTM, GRU, SimpleRNN, RNN)
def recurrent_layer(graph: OnnxGraph, call: Call) -> str:
    if len(call.inputs) > 1:
        raise refuse(call.layer, "it is called with an initial_state")
    return recurrent(graph, call.layer, call.x)


@converts(Bidirectional)
def bidirectional(graph: OnnxGraph, call: Call) -> str:
    """The forward layer, and the backward layer on the reversed steps (its
    outputs flipped back into the input's order), merged."""
    layer = call.layer
    forward = recurrent(graph, layer.forward_layer, call.x)
    backward = recurrent(graph, layer.backward_layer, call.x)
    if layer.backward_layer.get_config()["return_sequences"]:
        backward = graph.reverse(backward, 1)
    mode = layer.get_config()["merge_mode"]
    if mode == "concat":
        return graph.op("Concat", forward, backward, axis=-1)
    if mode == "sum":
        return graph.op("Add", forward, backward)
    if mode == "mul":
        return graph.op("Mul", forward, backward)
    if mode == "ave":
        return graph.op("Mul", graph.op("Add", forward, backward), graph.scalar(0.5))
    raise refuse(layer, f"merge_mode={mode!r} gives two outputs; the export writes one per layer")


@converts(TimeDistributed)
def time_distributed(graph: OnnxGraph, call: Call) -> str:
    """The wrapped layer on every step: ``(batch, steps, *rest)`` as
    ``(batch * steps, *rest)``, then the steps split off again."""
    inner = call.layer.layer
    rest = list(call.shape[2:])
    if any(size is None for size in rest):
        raise refuse(call.layer, "the sizes of its input after the steps must be known")
    merged = graph.reshape(call.x, [-1, *rest])
    inner_output = tuple(inner.compute_output_shape((None, *rest)))
    if any(size is None for size in inner_output[1:]):
        raise refuse(call.layer, "the wrapped layer's output sizes must be known")
    inner_call = Call(inner, [merged], [(None, *rest)], call.dtypes[:1], inner_output)
    y = convert_layer(graph, inner_call)
    batch_and_steps = graph.slice(graph.op("Shape", call.x), [0], [2], [0])
    target = graph.op("Concat", batch_and_steps, graph.ints(inner_output[1:]), axis=0)
    return graph.op("Reshape", y, target)
