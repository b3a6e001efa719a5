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
from gradstep.export.onnx_graph import Call, OnnxGraph, converts, makes_mask, refuse
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


def _both(graph: OnnxGraph, a, b):
    return b if a is None else graph.op("And", a, b)


def _mha_mask(graph: OnnxGraph, call: Call, given: dict, lengths, score_rank: int):
    """The boolean mask of the scores (True: counts) as Keras combines it:
    the query's, value's and key's masks, the causal and sliding-window
    masks and the ``attention_mask`` input, in Keras's ``(B, T, S)`` layout,
    with ones for the heads (and any other axes) after the batch; or None."""
    layer = call.layer
    config = layer.get_config()
    masks = list(call.masks) if call.masks else [None] * len(call.inputs)
    input_masks = [masks[0], masks[1], masks[given["key"]] if "key" in given else None]
    if any(m is not None for m in input_masks) and call.rank != 3:
        raise refuse(layer, "masks of inputs of rank other than 3 are not exported")
    mask = None
    if input_masks[0] is not None:
        mask = graph.op("Unsqueeze", input_masks[0], graph.ints([-1]))  # (B, T, 1)
    for steps_mask in input_masks[1:]:
        if steps_mask is not None:
            mask = _both(graph, mask, graph.op("Unsqueeze", steps_mask, graph.ints([-2])))
    if "attention_mask" in given:
        value = call.inputs[given["attention_mask"]]
        dtype = np.dtype(call.dtypes[given["attention_mask"]])
        zero = graph.constant(np.zeros(()), "zero", dtype=dtype)
        mask = _both(graph, mask, graph.op("Not", graph.op("Equal", value, zero)))
    static = _static_mask(layer, given, lengths, config)
    if mask is not None and score_rank > 3:  # the heads (and other axes) after the batch
        mask = graph.op("Unsqueeze", mask, graph.ints(list(range(1, score_rank - 2))))
    if static is not None:
        mask = _both(graph, mask, graph.constant(static, "causal_mask", dtype=bool))
    return mask


def _static_mask(layer, given: dict, lengths, config):
    """The causal and sliding-window masks, ``(T, S)``, or None."""
    causal, window = given.get("use_causal_mask"), config.get("sliding_window")
    if not causal and window is None:
        return None
    steps_q, steps_k = lengths
    if steps_q is None or steps_k is None:
        raise refuse(layer, "a causal or sliding-window mask needs known sequence lengths")
    rows, cols = np.arange(steps_q)[:, None], np.arange(steps_k)[None, :]
    static = np.ones((steps_q, steps_k), dtype=bool)
    if causal:
        static &= rows >= cols
    if window is not None:
        static &= np.abs(rows - cols) < window
    return static


@converts(MultiHeadAttention, takes_masks=True)
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
    masked = "use_causal_mask" in given or "attention_mask" in given or any(call.masks)
    if len(attention_axes) != 1 and (masked or config.get("sliding_window") is not None):
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
    mask = _mha_mask(graph, call, given, lengths, len(score_axes))
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


@converts(Attention, AdditiveAttention, takes_masks=True)
def attention(graph: OnnxGraph, call: Call) -> str:
    """``softmax(scores) @ value``; a score of a masked value step (or, with
    ``use_causal_mask``, of a later step) loses 1e9 first, and the outputs
    of masked query steps are 0, as in Keras."""
    layer = call.layer
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[2] if len(call.inputs) == 3 else value
    masks = list(call.masks) if call.masks else [None] * len(call.inputs)
    scores = _attention_scores(graph, layer, query, key)
    kept = None
    if masks[1] is not None:
        kept = graph.op("Unsqueeze", masks[1], graph.ints([-2]))  # (B, 1, Tv)
    if layer.use_causal_mask:
        steps_q, steps_v = call.shapes[0][1], call.shapes[1][1]
        if steps_q is None or steps_v is None:
            raise refuse(layer, "a causal mask needs known sequence lengths")
        causal = np.arange(steps_q)[:, None] >= np.arange(steps_v)[None, :]
        kept = _both(graph, kept, graph.constant(causal, "causal_mask", dtype=bool))
    if kept is not None:
        lowered = graph.op("Sub", scores, graph.scalar(-MASKED_SCORE))
        scores = graph.op("Where", kept, scores, lowered)
    output = graph.op("MatMul", graph.op("Softmax", scores, axis=-1), value)
    if masks[0] is not None:
        query_kept = graph.op("Unsqueeze", masks[0], graph.ints([-1]))
        output = graph.op("Where", query_kept, output, graph.scalar(0.0))
    return output


@makes_mask(MultiHeadAttention, Attention, AdditiveAttention)
def query_mask(graph: OnnxGraph, call: Call):
    """The query's mask goes on to the output (Keras's)."""
    return call.masks[0] if call.masks else None
