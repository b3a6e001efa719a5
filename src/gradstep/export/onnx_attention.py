"""ONNX converters of MultiHeadAttention, Attention and AdditiveAttention:
Einsum and MatMul for the products, Softmax for the weights.

MultiHeadAttention follows its module's equations with Keras's einsum
layout: the projections keep the inputs' axes, ``(B, *axes, H, d)``; the
scores are ``(B, *other axes, H, *query attention axes, *key attention
axes)``, softmax over the key's attention axes (with
``return_attention_scores=True`` these weights are a second output). A
masked score (the inputs' masks, causal, sliding window, ``attention_mask``;
over one attention axis or several) becomes -1e9 before the softmax and its
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


def _mha_mask(graph: OnnxGraph, call: Call, given: dict, score_shape: tuple, count: int):
    """The boolean mask of the scores (True: counts), or None, as gradstep's
    (Keras's) MultiHeadAttention combines it: the query's mask ``(B, *axes,
    1)``, the value's and key's ``(B, ..., 1, S)``, the causal and
    sliding-window masks ``(1, T, S)`` (T and S: the lengths of axis 1) and
    the ``attention_mask`` input, and-ed with broadcasting; then, for each
    axis it lacks of the scores' rank, an axis inserted before the query's
    attention axes (the heads first), so that it broadcasts over the scores
    ``(B, *other axes, H, *query attention axes, *key attention axes)``."""
    layer = call.layer
    masks = list(call.masks) if call.masks else [None] * len(call.inputs)
    parts = []  # (ONNX value, its shape: None for a size known when the model runs)
    if masks[0] is not None:
        parts.append((graph.op("Unsqueeze", masks[0], graph.ints([-1])), (*call.shape[:-1], 1)))
    steps_masks = [1] + ([given["key"]] if "key" in given else [])
    for position in steps_masks:
        if masks[position] is not None:
            shape = call.shapes[position]
            unsqueezed = graph.op("Unsqueeze", masks[position], graph.ints([-2]))
            parts.append((unsqueezed, (*shape[:-2], 1, shape[-2])))
    static = _static_mask(layer, given, (call.shape[1], call.shapes[1][1]), layer.get_config())
    if static is not None:
        parts.append((graph.constant(static[None], "causal_mask", dtype=bool), static[None].shape))
    if "attention_mask" in given:
        position = given["attention_mask"]
        zero = graph.constant(np.zeros(()), "zero", dtype=np.dtype(call.dtypes[position]))
        allowed = graph.op("Not", graph.op("Equal", call.inputs[position], zero))
        parts.append((allowed, tuple(call.shapes[position])))
    if not parts:
        return None
    mask, shape = parts[0]
    for value, value_shape in parts[1:]:
        mask, shape = graph.op("And", mask, value), _broadcast(layer, shape, value_shape)
    axis = -2 * count - 1  # before the query's and key's ``count`` attention axes
    while len(shape) < len(score_shape):
        if len(shape) + 1 < -axis:
            raise refuse(
                layer,
                f"its mask of shape {shape} (causal, sliding-window or the inputs' masks) has "
                f"too few axes for scores over {count} attention axes {score_shape}: predict "
                "fails the same way",
            )
        mask = graph.op("Unsqueeze", mask, graph.ints([axis]))
        at = len(shape) + 1 + axis
        shape = (*shape[:at], 1, *shape[at:])
    _broadcast(layer, shape, score_shape, scores=True)
    return mask


def _broadcast(layer, a: tuple, b: tuple, scores: bool = False) -> tuple:
    """NumPy's broadcast of shapes ``a`` and ``b`` (None: known when the model
    runs); with ``scores``, ``a`` (a mask) must broadcast to ``b``, the scores."""
    rank = max(len(a), len(b))
    padded = zip((1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b), strict=True)
    shape = []
    for x, y in padded:
        if x == 1 or x == y:
            shape.append(y)
        elif y == 1 and not scores:
            shape.append(x)
        elif x is None or y is None:
            shape.append(y if x is None else x)
        elif scores:
            raise refuse(
                layer,
                f"its mask (the inputs' masks, causal, sliding-window and attention_mask "
                f"combined) of shape {a} does not broadcast to the attention scores' shape {b} "
                "(batch, other axes, heads, query attention axes, key attention axes): predict "
                "fails the same way",
            )
        else:
            raise refuse(
                layer,
                f"its masks (the inputs' masks, causal, sliding-window, attention_mask) of "
                f"shapes {a} and {b} do not broadcast together: predict fails the same way",
            )
    return tuple(shape)


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
def multi_head_attention(graph: OnnxGraph, call: Call) -> str | list[str]:
    """The attention's output; with ``return_attention_scores=True`` also
    the softmax weights, ``(B, *other axes, H, *query attention axes, *key
    attention axes)`` (0 where masked), as Keras returns them."""
    layer = call.layer
    config = layer.get_config()
    weights = dict(layer.named_weights())
    # Which inputs the call gave: call_arguments lays out the node's tensors as Keras's call.
    positions = [str(i) for i in range(len(call.inputs))]
    _, given = layer.call_arguments(positions)
    with_scores = bool(given.pop("return_attention_scores", False))
    given = {k: int(v) if k != "use_causal_mask" else v for k, v in given.items()}
    query, value = call.inputs[0], call.inputs[1]
    key = call.inputs[given["key"]] if "key" in given else value
    key_shape = call.shapes[given["key"]] if "key" in given else call.shapes[1]
    rank = call.rank
    attention_axes = [a % rank for a in config["attention_axes"]]
    # Einsum letters: b batch, i features, h heads, j per-head features, w.. outputs;
    # the query's axes 1 .. rank - 2 are c, d, ..., the key's attended axes p, q, ...
    query_letters = "cdefg"[: rank - 2]
    key_letters = "".join(
        "pqrst"[n] if axis in attention_axes else letter
        for n, (axis, letter) in enumerate(zip(range(1, rank - 1), query_letters, strict=True))
    )
    other_axes = [axis for axis in range(1, rank - 1) if axis not in attention_axes]
    others = "".join(query_letters[a - 1] for a in other_axes)
    attended_q = "".join(query_letters[a - 1] for a in attention_axes)
    attended_k = "".join(key_letters[a - 1] for a in attention_axes)
    q = _project(graph, query, query_letters, weights, "query")
    k = _project(graph, key, key_letters, weights, "key")
    v = _project(graph, value, key_letters, weights, "value")
    q = graph.op("Mul", q, graph.scalar(1.0 / math.sqrt(config["key_dim"])))
    score_axes = f"b{others}h{attended_q}{attended_k}"
    scores = graph.op("Einsum", q, k, equation=f"b{query_letters}hj,b{key_letters}hj->{score_axes}")
    score_shape = (
        call.shape[0],
        *(call.shape[a] for a in other_axes),
        config["num_heads"],
        *(call.shape[a] for a in attention_axes),
        *(key_shape[a] for a in attention_axes),
    )
    count = len(attention_axes)
    mask = _mha_mask(graph, call, given, score_shape, count)
    if mask is not None:
        scores = graph.op("Where", mask, scores, graph.scalar(MASKED_SCORE))
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
    return [output, weights_] if with_scores else output


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
