"""ONNX converters of MultiHeadAttention, Attention and AdditiveAttention:
Einsum and MatMul for the products, Softmax for the weights.

MultiHeadAttention follows its module's equations with Keras's einsum
layout: the projections keep the inputs' axes, ``(B, *axes, H, d)``; the
scores are ``(B, *other axes, H, *query attention axes, *key attention
axes)``, softmax over the key's attention axes. A masked score (causal,
sliding window, ``attention_mask``) becomes -1e9 before the softmax and its
weight 0 after, as in gradstep's forward pass.
"""

from __future__ import annotations

import math

import numpy as np

from gradstep.export.onnx_activations import softmax
from gradstep.export.onnx_graph import Call, OnnxGraph, converts, refuse
from gradstep.layers.attention import AdditiveAttention, Attention
from gradstep.layers.multi_head_attention import MultiHeadAttention

#: The score a masked position gets before the softmax (Keras's).
MASKED_SCORE = -1.0e9


def _project(graph: OnnxGraph, x: str, axes: str, weights: dict, name: str) -> str:
    """``x W + b`` of one of the projections: ``(B, *axes, dim) -> (B, *axes, H, d)``."""
    kernel = graph.constant(weights[f"{name}/kernel"], f"{name}_kernel")
    y = graph.op("Einsum", x, kernel, equation=f"b{axes}i,ihj->b{axes}hj")
    if f"{name}/bias" in weights:
        y = graph.op("Add", y, graph.constant(weights[f"{name}/bias"], f"{name}_bias"))
    return y


def _mha_mask(graph: OnnxGraph, call: Call, layer, given: dict, lengths):
    """The boolean mask of the scores (True: counts), laid out as Keras's
    ``(B, T, S)`` attention mask with the heads axis added, or None."""
    steps_q, steps_k = lengths
    config = layer.get_config()
    mask = None
    static = np.ones((steps_q, steps_k), dtype=bool) if steps_q and steps_k else None
    if given.get("use_causal_mask") or config.get("sliding_window") is not None:
        if static is None:
            raise refuse(layer, "a causal or sliding-window mask needs known sequence lengths")
        rows, cols = np.arange(steps_q)[:, None], np.arange(steps_k)[None, :]
        if given.get("use_causal_mask"):
            static &= rows >= cols
        if config.get("sliding_window") is not None:
            static &= np.abs(rows - cols) < config["sliding_window"]
        mask = graph.constant(static, "causal_mask", dtype=bool)
    if "attention_mask" in given:
        value = call.inputs[given["attention_mask"]]
        zero = graph.constant(np.zeros((), np.dtype(call.dtypes[given["attention_mask"]])))
        given_mask = graph.op("Not", graph.op("Equal", value, zero))
        given_mask = graph.op("Unsqueeze", given_mask, graph.ints([1]))  # the heads axis
        mask = given_mask if mask is None else graph.op("And", given_mask, mask)
    return mask


@converts(MultiHeadAttention)
def multi_head_attention(graph: OnnxGraph, call: Call) -> str:
    layer = call.layer
    config = layer.get_config()
    weights = dict(layer.named_weights())
    # Which inputs the call gave: call_arguments lays out the node's tensors as Keras's call.
    positions = [str(i) for i in range(len(call.inputs))]
    _, given = layer.call_arguments(positions)
    given = {k: int(v) if k != "use_causal_mask" else v for k, v in given.items()}
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[given["key"]] if "key" in given else value
    rank = call.rank
    attention_axes = [a % rank for a in config["attention_axes"]]
    if len(attention_axes) != 1 and ("use_causal_mask" in given or "attention_mask" in given):
        raise refuse(layer, "masks over several attention axes are not exported")
    # Einsum letters: b batch, i features, h heads, j per-head features, w.. outputs;
    # the query's axes 1 .. rank - 2 are c, d, ..., the key's attended axes p, q, ...
    query_letters = "cdefg"[: rank - 2]
    key_letters = "".join(
        "pqrst"[n] if axis in attention_axes else letter
        for n, (axis, letter) in enumerate(zip(range(1, rank - 1), query_letters, strict=True))
    )
    others = "".join(
        letter
        for axis, letter in zip(range(1, rank - 1), query_letters, strict=True)
        if axis not in attention_axes
    )
    attended_q = "".join(query_letters[a - 1] for a in attention_axes)
    attended_k = "".join(key_letters[a - 1] for a in attention_axes)
    q = _project(graph, query, query_letters, weights, "query")
    k = _project(graph, key, key_letters, weights, "key")
    v = _project(graph, value, key_letters, weights, "value")
    q = graph.op("Mul", q, graph.scalar(1.0 / math.sqrt(config["key_dim"])))
    score_axes = f"b{others}h{attended_q}{attended_k}"
    scores = graph.op("Einsum", q, k, equation=f"b{query_letters}hj,b{key_letters}hj->{score_axes}")
    lengths = (call.shape[attention_axes[0]], call.shapes[1][attention_axes[0]])
    mask = _mha_mask(graph, call, layer, given, lengths)
    if mask is not None:
        scores = graph.op("Where", mask, scores, graph.scalar(MASKED_SCORE))
    count = len(attention_axes)
    softmax_axes = list(range(len(score_axes) - count, len(score_axes)))
    weights_ = softmax(graph, scores, -1 if count == 1 else softmax_axes)
    if mask is not None:
        weights_ = graph.op("Where", mask, weights_, graph.scalar(0.0))
    combined = graph.op(
        "Einsum", weights_, v, equation=f"{score_axes},b{key_letters}hj->b{query_letters}hj"
    )
    kernel = weights["attention_output/kernel"]
    outputs = "wxyz"[: kernel.ndim - 2]
    output = graph.op(
        "Einsum",
        combined,
        graph.constant(kernel, "output_kernel"),
        equation=f"b{query_letters}hj,hj{outputs}->b{query_letters}{outputs}",
    )
    if "attention_output/bias" in weights:
        bias = graph.constant(weights["attention_output/bias"], "output_bias")
        output = graph.op("Add", output, bias)
    return output


def _attention_scores(graph: OnnxGraph, layer, query: str, key: str) -> str:
    """``(B, Tq, Tv)`` scores of Attention (dot or concat) and AdditiveAttention."""
    weights = dict(layer.named_weights())
    if type(layer) is Attention and layer.get_config()["score_mode"] == "dot":
        scores = graph.op("MatMul", query, graph.transpose(key, (0, 2, 1)))
        if "scale" in weights:
            scores = graph.op("Mul", scores, graph.constant(weights["scale"], "scale"))
        return scores
    summed = graph.op(
        "Add",
        graph.op("Unsqueeze", query, graph.ints([2])),  # (B, Tq, 1, d)
        graph.op("Unsqueeze", key, graph.ints([1])),  # (B, 1, Tv, d)
    )
    if type(layer) is AdditiveAttention:
        tanh = graph.op("Tanh", summed)
        if "scale" in weights:
            return graph.op("MatMul", tanh, graph.constant(weights["scale"], "scale"))
        return graph.reduce("ReduceSum", tanh, [-1], keepdims=False)
    if "scale" in weights:
        summed = graph.op("Mul", summed, graph.constant(weights["scale"], "scale"))
    total = graph.reduce("ReduceSum", graph.op("Tanh", summed), [-1], keepdims=False)
    return graph.op("Mul", total, graph.constant(weights["concat_score_weight"], "weight"))


@converts(Attention, AdditiveAttention)
def attention(graph: OnnxGraph, call: Call) -> str:
    """``softmax(scores) @ value``; with ``use_causal_mask`` the later keys'
    scores lose 1e9 first, as in Keras."""
    layer = call.layer
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[2] if len(call.inputs) == 3 else value
    scores = _attention_scores(graph, layer, query, key)
    if layer.use_causal_mask:
        steps_q, steps_v = call.shapes[0][1], call.shapes[1][1]
        if steps_q is None or steps_v is None:
            raise refuse(layer, "a causal mask needs known sequence lengths")
        later = np.arange(steps_q)[:, None] < np.arange(steps_v)[None, :]
        penalty = graph.constant(later * -MASKED_SCORE, "causal_penalty")
        scores = graph.op("Sub", scores, penalty)
    return graph.op("MatMul", graph.op("Softmax", scores, axis=-1), value)
