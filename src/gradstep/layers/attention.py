"""Attention over a sequence: ``Attention`` (Luong's dot product, or a
``concat`` score) and ``AdditiveAttention`` (Bahdanau's), called on
``[query, value]`` or ``[query, value, key]``.

Forward, for a query ``q`` (``Tq`` steps), keys ``k`` and values ``v``
(``Tv`` steps each; ``k = v`` when no key is given)::

    S = score(q, k)                  (Tq, Tv): one score per query and key step
    S = S - 1e9 where masked         (value mask, causal mask)
    P = softmax(S) over Tv           each query step's weights over the values
    O = P @ v                        (Tq, dim): the weighted mean of the values
    O = 0 where the query is masked

The scores: ``dot``, ``S = s * q k^T`` (``s`` the learned ``scale`` when
``use_scale``, else 1); ``concat``, ``S = c * sum_d tanh(s * (q + k))``;
additive, ``S = sum_d w_d tanh(q_d + k_d)``.

Backward, from ``G = dL/dO``::

    dL/dP = G v^T,  dL/dv = P^T G
    dL/dS = P * (dL/dP - rowsum(dL/dP * P))     the softmax's Jacobian
    dot:      dL/dq = s dL/dS k,  dL/dk = s dL/dS^T q,  dL/ds = sum(dL/dS * q k^T)
    additive: with T = tanh(q + k), dL/dZ = dL/dS w (1 - T^2), and dL/dq
              (dL/dk) its sum over the key (query) steps; dL/dw = sum dL/dS T

A masked score gets (almost) no weight, so its slope ``P * (...)`` is zero.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_fraction

#: What Keras subtracts from a masked score before the softmax.
_MASKED_SCORE = 1.0e9


class _Saved(NamedTuple):
    query: np.ndarray
    value: np.ndarray
    key: np.ndarray
    score_parts: tuple  # what the score's backward needs
    weights: np.ndarray  # P, after dropout
    dropout: np.ndarray | None  # the dropout's scaled keep mask
    softmax: np.ndarray  # P, before dropout
    query_mask: np.ndarray | None
    key_given: bool


@LAYERS.register("Attention")
class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention (Keras's).

    Args:
        use_scale: learn a scalar ``scale`` that multiplies the scores.
        score_mode: ``'dot'`` (``q k^T``) or ``'concat'`` (``sum tanh(q + k)``,
            times a learned scalar ``concat_score_weight``).
        dropout: fraction of the attention weights to drop in training.
        seed: seed of the dropout's own generator (else the model's).

    Called on ``[query, value]`` or ``[query, value, key]``, of shapes
    ``(batch, Tq, dim)``, ``(batch, Tv, dim)``, ``(batch, Tv, dim)``; also
    ``mask=[query_mask, value_mask]``, ``return_attention_scores`` (eager calls
    only) and ``use_causal_mask``.
    """

    supports_masking = True
    forward_takes_mask = True
    draws_noise = True

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: invalid value for argument "
                f"score_mode, expected one of {{'dot', 'concat'}}, received "
                f"score_mode={score_mode!r}"
            )
        self.score_mode = score_mode
        self.dropout = check_fraction(dropout, f"{type(self).__name__} layer {self.name!r} dropout")
        self.seed = seed
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.use_causal_mask = False
        self._call_fixed = False

    # --- calling ----------------------------------------------------------------------
    def __call__(
        self,
        inputs,
        mask=None,
        training=None,
        return_attention_scores=False,
        use_causal_mask=False,
    ):
        """Keras's ``layer([query, value(, key)], mask=..., training=...,
        return_attention_scores=..., use_causal_mask=...)``."""
        self._check_list(inputs, mask)
        self._fix_causal(use_causal_mask)
        if return_attention_scores:
            return self._with_scores(inputs, mask, training)
        return super().__call__(list(inputs), training=training, mask=mask)

    def _fix_causal(self, use_causal_mask) -> None:
        """A layer's calls in a graph share one ``use_causal_mask`` (gradstep
        keeps call options on the layer)."""
        use_causal_mask = bool(use_causal_mask)
        if self._call_fixed and use_causal_mask != self.use_causal_mask:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} was called with "
                f"use_causal_mask={self.use_causal_mask} before, and now with "
                f"use_causal_mask={use_causal_mask}: gradstep keeps one setting per layer; "
                "use two layers"
            )
        self.use_causal_mask = use_causal_mask
        self._call_fixed = True

    def _with_scores(self, inputs, mask, training):
        from gradstep import graph

        if graph.is_symbolic(inputs):
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: return_attention_scores=True is "
                "supported in eager calls (on arrays) only; gradstep's graph nodes have one output"
            )
        arrays = self._as_arrays(list(inputs))
        shapes = [tuple(a.shape) for a in arrays]
        self.build_once([(None, *s[1:]) for s in shapes])
        self.check_input_shape(shapes)
        masks = None if mask is None else [None if m is None else np.asarray(m, bool) for m in mask]
        output, saved = self.forward(arrays, training=bool(training), mask=masks)
        return output, saved.weights

    def _check_list(self, inputs, mask) -> None:
        name = type(self).__name__
        if not isinstance(inputs, list | tuple):
            raise ValueError(
                f"{name} layer {self.name!r} must be called on a list of inputs, namely "
                f"[query, value] or [query, value, key]. Received: {type(inputs).__name__}"
            )
        if len(inputs) not in (2, 3):
            raise ValueError(
                f"{name} layer {self.name!r} accepts an inputs list of length 2 or 3, namely "
                f"[query, value] or [query, value, key]. Received length: {len(inputs)}"
            )
        if mask is not None and (not isinstance(mask, list | tuple) or len(mask) not in (2, 3)):
            raise ValueError(
                f"{name} layer {self.name!r}: mask must be a list [query_mask, value_mask] "
                f"(of length 2 or 3), received {mask!r}"
            )

    # --- shapes and weights -----------------------------------------------------------
    def check_input_shape(self, input_shape):
        name = type(self).__name__
        if not isinstance(input_shape, list) or len(input_shape) not in (2, 3):
            raise ValueError(
                f"{name} layer {self.name!r} must be called on [query, value] or "
                f"[query, value, key], received input shape {input_shape}"
            )
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        if any(len(s) < 3 for s in (query, value, key)):
            raise ValueError(
                f"{name} layer {self.name!r} needs query, value and key of shape "
                f"(batch, steps, dim), received shapes {input_shape}"
            )
        if query[-1] != key[-1] and None not in (query[-1], key[-1]):
            raise ValueError(
                f"{name} layer {self.name!r}: query and key must have the same last dimension, "
                f"received query shape {query} and key shape {key}"
            )
        if key[-2] != value[-2] and None not in (key[-2], value[-2]):
            raise ValueError(
                f"{name} layer {self.name!r}: key and value must have the same number of steps, "
                f"received key shape {key} and value shape {value}"
            )

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                shape=(), initializer="ones", name="concat_score_weight"
            )
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], input_shape[1][-1])

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    # --- the two passes ---------------------------------------------------------------
    def forward(self, inputs, training=False, mask=None):
        query, value = inputs[0], inputs[1]
        key_given = len(inputs) == 3
        key = inputs[2] if key_given else value
        query_mask = value_mask = None
        if mask is not None:
            query_mask, value_mask = mask[0], mask[1]
        scores, parts = self._scores(query, key)
        scores_mask = self._scores_mask(scores.shape, value_mask)
        if scores_mask is not None:
            scores = np.where(scores_mask, scores, scores - scores.dtype.type(_MASKED_SCORE))
        softmax = _softmax(scores)
        weights, keep = softmax, None
        if training and self.dropout > 0:
            draw = self._init_generator().random(softmax.shape) >= self.dropout
            keep = draw.astype(softmax.dtype) / softmax.dtype.type(1 - self.dropout)
            weights = softmax * keep
        output = weights @ value
        if query_mask is not None:
            output = np.where(query_mask[..., None], output, 0).astype(output.dtype)
        saved = _Saved(query, value, key, parts, weights, keep, softmax, query_mask, key_given)
        return output, saved

    def _scores_mask(self, scores_shape, value_mask):
        """True where a score counts: the value's unmasked steps, and with
        ``use_causal_mask`` the keys at or before each query step."""
        mask = None if value_mask is None else value_mask[..., None, :]
        if self.use_causal_mask:
            steps_q, steps_v = scores_shape[-2], scores_shape[-1]
            causal = np.arange(steps_q)[:, None] >= np.arange(steps_v)[None, :]
            mask = causal if mask is None else np.logical_and(mask, causal)
        return mask

    def _scores(self, query, key):
        """The scores ``(..., Tq, Tv)`` and what their backward needs."""
        if self.score_mode == "dot":
            raw = query @ np.swapaxes(key, -1, -2)
            if self.scale is None:
                return raw, (raw,)
            return raw * self.scale, (raw,)
        summed = query[..., :, None, :] + key[..., None, :, :]
        scale = 1 if self.scale is None else self.scale
        tanh = np.tanh(scale * summed)
        total = tanh.sum(axis=-1)
        return self.concat_score_weight * total, (summed, tanh, total)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        grad = grad_wrt_output
        if saved.query_mask is not None:
            grad = np.where(saved.query_mask[..., None], grad, 0).astype(grad.dtype)
        grad_value = np.swapaxes(saved.weights, -1, -2) @ grad
        grad_weights = grad @ np.swapaxes(saved.value, -1, -2)
        if saved.dropout is not None:
            grad_weights = grad_weights * saved.dropout
        grad_scores = _softmax_backward(saved.softmax, grad_weights)
        grad_query, grad_key, weight_grads = self._scores_backward(saved, grad_scores)
        if not input_gradient:
            return None, weight_grads
        if saved.key_given:
            return [grad_query, grad_value, grad_key], weight_grads
        return [grad_query, grad_value + grad_key], weight_grads

    def _scores_backward(self, saved, grad_scores):
        query, key = saved.query, saved.key
        if self.score_mode == "dot":
            (raw,) = saved.score_parts
            weight_grads = {}
            if self.scale is not None:
                weight_grads["scale"] = np.sum(grad_scores * raw).astype(raw.dtype)
                grad_scores = grad_scores * self.scale
            return grad_scores @ key, np.swapaxes(grad_scores, -1, -2) @ query, weight_grads
        summed, tanh, total = saved.score_parts
        weight_grads = {"concat_score_weight": np.sum(grad_scores * total).astype(total.dtype)}
        grad_tanh = (self.concat_score_weight * grad_scores)[..., None]
        grad_inside = grad_tanh * (1 - tanh * tanh)
        if self.scale is not None:
            weight_grads["scale"] = np.sum(grad_inside * summed).astype(total.dtype)
            grad_inside = grad_inside * self.scale
        return grad_inside.sum(axis=-2), grad_inside.sum(axis=-3), weight_grads

    def get_config(self):
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
            "seed": self.seed,
        }


@LAYERS.register("AdditiveAttention")
class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention (Keras's):
    ``S = sum_d scale_d tanh(q_d + k_d)``, with a learned ``scale`` of shape
    ``(dim,)`` when ``use_scale`` (the default)."""

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        self.scale = None
        if self.use_scale:
            dim = input_shape[0][-1]
            self.scale = self.add_weight(shape=(dim,), initializer="glorot_uniform", name="scale")
        Layer.build(self, input_shape)

    def _scores(self, query, key):
        tanh = np.tanh(query[..., :, None, :] + key[..., None, :, :])
        if self.scale is None:
            return tanh.sum(axis=-1), (tanh,)
        return tanh @ self.scale, (tanh,)

    def _scores_backward(self, saved, grad_scores):
        (tanh,) = saved.score_parts
        weight_grads = {}
        if self.scale is not None:
            flat = tanh.reshape(-1, tanh.shape[-1])
            weight_grads["scale"] = grad_scores.reshape(-1) @ flat
            grad_tanh = grad_scores[..., None] * self.scale
        else:
            grad_tanh = np.broadcast_to(grad_scores[..., None], tanh.shape)
        grad_inside = grad_tanh * (1 - tanh * tanh)
        return grad_inside.sum(axis=-2), grad_inside.sum(axis=-3), weight_grads

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _softmax_backward(softmax: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """``dL/dS = P * (dL/dP - sum_j dL/dP_j P_j)``: the softmax's Jacobian
    ``diag(P) - P P^T`` applied to the slope at its output."""
    return softmax * (grad - np.sum(grad * softmax, axis=-1, keepdims=True))
