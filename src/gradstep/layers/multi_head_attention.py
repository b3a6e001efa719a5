"""Multi-head attention (Keras's ``MultiHeadAttention``), its backward written out.

Forward, for a query ``x_q`` (``T`` steps, ``dim`` features), a value
``x_v`` and a key ``x_k`` (``S`` steps each; ``x_k = x_v`` when no key is
given), with ``H`` heads::

    Q = x_q W_q + b_q       (T, H, key_dim): one projection per head
    K = x_k W_k + b_k       (S, H, key_dim)
    V = x_v W_v + b_v       (S, H, value_dim)
    A_h = (Q_h / sqrt(key_dim)) K_h^T      (T, S): the scaled dot products
    P_h = softmax(A_h) over S, 0 where the attention mask is False
    O_h = dropout(P_h) V_h                 (T, value_dim)
    y = sum_h O_h W_o[h] + b_o             (T, dim), or ``output_shape``

Backward, from ``G = dL/dy``::

    dL/dW_o[h] = O_h^T G,  dL/dO_h = G W_o[h]^T
    dL/dP_h = dL/dO_h V_h^T (times the dropout mask),  dL/dV_h = P_h^T dL/dO_h
    dL/dA_h = P_h * (dL/dP_h - rowsum(P_h * dL/dP_h))     the softmax's Jacobian
    dL/dQ_h = dL/dA_h K_h / sqrt(key_dim),  dL/dK_h = dL/dA_h^T Q_h / sqrt(key_dim)
    dL/dW_q = x_q^T dL/dQ,  dL/db_q = sum dL/dQ,  dL/dx_q = dL/dQ W_q^T  (and so for K, V)

A masked score is replaced by -1e9 (its softmax weight is 0) and its weight
set to 0, as Keras does: no slope reaches it. The weights keep Keras's
layout and order: ``query``, ``key``, ``value`` and ``attention_output``
each hold a ``kernel`` and a ``bias``, of shapes ``(dim, H, key_dim)`` and
``(H, key_dim)`` ... ``(H, value_dim, dim)`` and ``(dim,)``.

Calls: ``mha(query, value, key=None, attention_mask=None,
return_attention_scores=False, training=None, use_causal_mask=False)``. In a
graph the call is one node whose inputs are ``[query, value]``, then
``key`` and ``attention_mask`` when given; which ones were given, and
``use_causal_mask``, are kept on the layer (one setting per layer).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from gradstep import constraints, initializers, regularizers
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_fraction

#: The score Keras gives a masked position before the softmax.
_MASKED_SCORE = -1.0e9


class _CallLayout(NamedTuple):
    """Which of the optional inputs a call gave, its causal flag, and whether
    its graph node also outputs the attention scores."""

    key: bool
    attention_mask: bool
    causal: bool
    scores: bool = False


class _Projection(Layer):
    """The weights of one of Keras's ``EinsumDense`` projections inside
    ``MultiHeadAttention`` (``kernel`` and ``bias``); the attention layer
    does the arithmetic."""

    def __init__(self, kernel_shape, bias_shape, options: dict, name: str, dtype, rng):
        super().__init__(name=name, dtype=dtype)
        self.rng = rng
        self.kernel = self.add_weight(
            shape=kernel_shape,
            initializer=options["kernel_initializer"],
            name="kernel",
            regularizer=options["kernel_regularizer"],
            constraint=options["kernel_constraint"],
        )
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(
                shape=bias_shape,
                initializer=options["bias_initializer"],
                name="bias",
                regularizer=options["bias_regularizer"],
                constraint=options["bias_constraint"],
            )
        self.built = True

    def apply(self, x: np.ndarray, bound: int) -> np.ndarray:
        """``x``'s last ``bound`` axes times the kernel's first ``bound``, plus the bias."""
        inner = int(np.prod(self.kernel.shape[:bound]))
        outer = self.kernel.shape[bound:]
        flat = x.reshape(-1, inner) @ self.kernel.reshape(inner, -1)
        if self.bias is not None:
            flat += self.bias.reshape(-1)
        return flat.reshape(*x.shape[: x.ndim - bound], *outer)

    def slopes(self, x: np.ndarray, grad: np.ndarray, bound: int, input_gradient: bool):
        """The slopes of ``apply``: at ``x`` (None unless ``input_gradient``), and the weights'."""
        inner = int(np.prod(self.kernel.shape[:bound]))
        flat_x = x.reshape(-1, inner)
        flat_grad = grad.reshape(flat_x.shape[0], -1)
        weights = {"kernel": (flat_x.T @ flat_grad).reshape(self.kernel.shape)}
        if self.bias is not None:
            weights["bias"] = flat_grad.sum(axis=0).reshape(self.bias.shape)
        grad_x = None
        if input_gradient:
            grad_x = (flat_grad @ self.kernel.reshape(inner, -1).T).reshape(x.shape)
        return grad_x, weights


class _Saved(NamedTuple):
    inputs: list
    query: np.ndarray  # (N, H, T, key_dim), scaled by 1/sqrt(key_dim)
    key: np.ndarray  # (N, H, S, key_dim)
    value: np.ndarray  # (N, H, S, value_dim)
    softmax: np.ndarray  # (N, H, T, S)
    weights: np.ndarray  # the softmax after dropout
    keep: np.ndarray | None  # the dropout's scaled keep mask
    combined: np.ndarray  # (B, ..., H, value_dim): the heads' outputs
    mask: np.ndarray | None  # (N, H, T, S) booleans, or None
    output_shape: tuple = ()


@LAYERS.register("MultiHeadAttention")
class MultiHeadAttention(Layer):
    """Keras's MultiHeadAttention (see the module's docstring for the equations).

    Args:
        num_heads: number of attention heads.
        key_dim: size of each head's query and key.
        value_dim: size of each head's value (``key_dim`` when None).
        dropout: fraction of the attention weights dropped in training.
        use_bias: whether the four projections have biases.
        output_shape: the shape of each output step (the query's last axis when None).
        attention_axes: the axes attention runs over (all but the batch and
            feature axes when None).
        sliding_window: attend only to keys less than this many steps away.
        kernel_initializer: for the four projections' kernels.
        bias_initializer: for the four projections' biases.
        kernel_regularizer: for the four projections' kernels.
        bias_regularizer: for the four projections' biases.
        kernel_constraint: for the four projections' kernels.
        bias_constraint: for the four projections' biases.
        seed: seed of the dropout's own generator (else the model's).
    """

    supports_masking = True
    forward_takes_mask = True
    draws_noise = True

    def __init__(
        self,
        num_heads,
        key_dim,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_shape=None,
        attention_axes=None,
        sliding_window=None,
        flash_attention=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        use_gate=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        label = f"MultiHeadAttention layer {self.name!r}"
        if activity_regularizer is not None:
            # Keras applies it to each of the four projections' outputs.
            raise ValueError(f"{label}: activity_regularizer is not supported by gradstep")
        self.num_heads = _positive_int(num_heads, "num_heads", label)
        self.key_dim = _positive_int(key_dim, "key_dim", label)
        if value_dim is not None:
            value_dim = _positive_int(value_dim, "value_dim", label)
        self.value_dim = value_dim or self.key_dim
        self.dropout = check_fraction(dropout, f"{label} dropout")
        self.use_bias = bool(use_bias)
        if use_gate:
            raise ValueError(f"{label}: use_gate=True is not supported by gradstep")
        if flash_attention:
            raise ValueError(f"{label}: flash_attention is not supported by gradstep (NumPy)")
        self.use_gate = False
        self.output_shape_arg = _output_shape(output_shape, label)
        self.attention_axes_arg = _attention_axes(attention_axes, label)
        if sliding_window is not None:
            sliding_window = _positive_int(sliding_window, "sliding_window", label)
        self.sliding_window = sliding_window
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._layout: _CallLayout | None = None

    # --- calling ----------------------------------------------------------------------
    def __call__(
        self,
        query,
        value=None,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
        mask=None,
    ):
        """Keras's call: ``mha(query, value, key=None, attention_mask=None,
        return_attention_scores=False, training=None, use_causal_mask=False)``.
        In an eager call, ``query_mask``/``value_mask``/``key_mask`` give the
        inputs' masks (in a graph they come from the layers that make them)."""
        if value is None:
            raise TypeError(
                f"MultiHeadAttention layer {self.name!r} needs a value: call it as "
                "mha(query, value) (mha(x, x) for self-attention)"
            )
        if mask is not None and not isinstance(mask, list | tuple):
            raise TypeError(
                f"MultiHeadAttention layer {self.name!r}: mask must be a list of masks "
                f"[query_mask, value_mask, ...], received {type(mask).__name__}"
            )
        from gradstep import graph

        inputs = [query, value] + [t for t in (key, attention_mask) if t is not None]
        symbolic = graph.is_symbolic(inputs)
        scores = bool(return_attention_scores) if symbolic else self._graph_scores()
        layout = _CallLayout(key is not None, attention_mask is not None, use_causal_mask, scores)
        self._fix_layout(layout)
        masks = list(mask) if mask is not None else None
        if masks is None and any(m is not None for m in (query_mask, value_mask, key_mask)):
            masks = [query_mask, value_mask, key_mask, None][: len(inputs)]
            if key is None:
                masks = masks[:2]
        if return_attention_scores and not symbolic:
            return self._with_scores(inputs, masks, training)
        result = super().__call__(inputs, training=training, mask=masks)
        if self._graph_scores() and not symbolic:
            return result[0]  # an eager call of a layer whose graph node outputs scores
        return result

    def _graph_scores(self) -> bool:
        return self._layout is not None and self._layout.scores

    #: The keyword arguments of its calls a saved graph may hold (besides ``training``).
    call_keywords = ("key", "attention_mask", "use_causal_mask", "return_attention_scores")

    def call_arguments(self, tensors: list):
        """A graph node's call as Keras writes it in a saved file: ``args``
        ``[query, value]`` and ``kwargs`` with ``key``, ``attention_mask`` and
        ``use_causal_mask`` when given."""
        layout = self._layout or _CallLayout(False, False, False)
        rest = list(tensors[2:])
        kwargs = {}
        if layout.key:
            kwargs["key"] = rest.pop(0)
        if layout.attention_mask:
            kwargs["attention_mask"] = rest.pop(0)
        if layout.causal:
            kwargs["use_causal_mask"] = True
        if layout.scores:
            kwargs["return_attention_scores"] = True
        return tensors[:2], kwargs

    def _fix_layout(self, layout: _CallLayout) -> None:
        layout = _CallLayout(
            layout.key, layout.attention_mask, bool(layout.causal), bool(layout.scores)
        )
        if self._layout is not None and layout != self._layout:
            raise ValueError(
                f"MultiHeadAttention layer {self.name!r} was called with key/attention_mask/"
                f"use_causal_mask/return_attention_scores given as {tuple(self._layout)} before "
                f"and now as "
                f"{tuple(layout)}: gradstep keeps one call layout per layer; use two layers"
            )
        self._layout = layout

    def _with_scores(self, inputs, masks, training):

        if any(_traced(x) for x in inputs):
            raise ValueError(
                f"MultiHeadAttention layer {self.name!r}: return_attention_scores=True is "
                "supported on arrays and symbolic tensors, not inside a traced call"
            )
        arrays = self._as_arrays(inputs)
        shapes = [tuple(a.shape) for a in arrays]
        self.build_once([(None, *s[1:]) for s in shapes])
        self.check_input_shape(shapes)
        if masks is not None:
            masks = [None if m is None else np.asarray(m, bool) for m in masks]
        output, saved = self.forward(arrays, training=bool(training), mask=masks)
        if self._graph_scores():
            return tuple(output)
        plan = _HeadsPlan.from_saved(saved, self.attention_axes)
        return output, saved.softmax.reshape(plan.keras_scores)

    # --- shapes and weights -----------------------------------------------------------
    def _split_shapes(self, input_shape):
        """``(query, value, key, attention_mask)`` shapes from a call's list."""
        layout = self._layout or _CallLayout(len(input_shape) > 2, False, False)
        rest = list(input_shape[2:])
        key = rest.pop(0) if layout.key else input_shape[1]
        mask = rest.pop(0) if layout.attention_mask else None
        return input_shape[0], input_shape[1], key, mask

    def check_input_shape(self, input_shape):
        label = f"MultiHeadAttention layer {self.name!r}"
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(f"{label} needs a query and a value, received shape {input_shape}")
        query, value, key, _ = self._split_shapes(input_shape)
        if len(query) < 3 or len(value) < 3:
            raise ValueError(
                f"{label} needs query and value of shape (batch, steps..., dim), received "
                f"query shape {query} and value shape {value}"
            )
        if tuple(value[1:-1]) != tuple(key[1:-1]):
            raise ValueError(
                f"{label}: all dimensions of value and key, except the last one, must be "
                f"equal. Received: value_shape={value} and key_shape={key}"
            )
        if self.built and query[-1] != self._query.kernel.shape[0]:
            raise ValueError(
                f"{label} was built for queries of {self._query.kernel.shape[0]} features, "
                f"received query shape {query}"
            )

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        query, value, key, _ = self._split_shapes(input_shape)
        options = {
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "kernel_regularizer": self.kernel_regularizer,
            "bias_regularizer": self.bias_regularizer,
            "kernel_constraint": self.kernel_constraint,
            "bias_constraint": self.bias_constraint,
        }
        heads, key_dim, value_dim = self.num_heads, self.key_dim, self.value_dim
        output_shape = self.output_shape_arg or (query[-1],)

        def bias(shape):
            return shape if self.use_bias else None

        def make(kernel_shape, bias_shape, options, name):
            return _Projection(kernel_shape, bias_shape, options, name, self.dtype, self.rng)

        self._query = make((query[-1], heads, key_dim), bias((heads, key_dim)), options, "query")
        self._key = make((key[-1], heads, key_dim), bias((heads, key_dim)), options, "key")
        self._value = make(
            (value[-1], heads, value_dim), bias((heads, value_dim)), options, "value"
        )
        self._output = make(
            (heads, value_dim, *output_shape), bias(output_shape), options, "attention_output"
        )
        rank = len(query) + 1  # of the projected query (batch, ..., heads, key_dim)
        if self.attention_axes_arg is None:
            self.attention_axes = tuple(range(1, rank - 2))
        else:
            self.attention_axes = tuple(
                a if a >= 0 else rank - 1 + a for a in self.attention_axes_arg
            )
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        query = tuple(input_shape[0])
        if self.output_shape_arg:
            output = query[:-1] + tuple(self.output_shape_arg)
        else:
            output = query
        if not self._graph_scores():
            return output
        return [output, self._scores_shape(query, self._split_shapes(input_shape)[2])]

    def _scores_shape(self, query, key):
        """Keras's shape of the attention scores: ``(B, <other axes>, heads,
        <query's attention axes>, <key's attention axes>)``."""
        axes = self.attention_axes
        others = [i for i in range(1, len(query) - 1) if i not in axes]
        return (
            *[query[i] for i in (0, *others)],
            self.num_heads,
            *[query[i] for i in axes],
            *[key[i] for i in axes],
        )

    def compute_mask(self, inputs, mask=None):
        """The query's mask goes on to the output, as in Keras (the scores, when
        they are an output too, carry none)."""
        output_mask = None if mask is None else mask[0]
        return [output_mask, None] if self._graph_scores() else output_mask

    # --- the two passes ---------------------------------------------------------------
    def forward(self, inputs, training=False, mask=None):
        query_in, value_in, key_in, attention_mask = self._split_inputs(inputs)
        masks = self._split_masks(mask, len(inputs))
        query = self._query.apply(query_in, 1)  # (B, ..., H, key_dim)
        key = self._key.apply(key_in, 1)
        value = self._value.apply(value_in, 1)
        scale = query.dtype.type(1.0 / math.sqrt(self.key_dim))
        plan = _HeadsPlan(query.shape, key.shape, self.attention_axes)
        query_heads = plan.query_heads(query * scale)
        key_heads = plan.key_heads(key)
        value_heads = plan.key_heads(value)
        scores = query_heads @ np.swapaxes(key_heads, -1, -2)  # (N, H, T, S)
        full_mask = self._attention_mask(query_in, value_in, masks, attention_mask, scores, plan)
        if full_mask is not None:
            scores = np.where(full_mask, scores, scores.dtype.type(_MASKED_SCORE))
        softmax = _softmax(scores)
        if full_mask is not None:
            softmax = np.where(full_mask, softmax, 0).astype(scores.dtype)
        weights, keep = softmax, None
        if training and self.dropout > 0:
            draw = self._init_generator().random(softmax.shape) >= self.dropout
            keep = draw.astype(softmax.dtype) / softmax.dtype.type(1 - self.dropout)
            weights = softmax * keep
        combined = plan.query_back(weights @ value_heads)  # (B, ..., H, value_dim)
        output = self._output.apply(combined, 2)
        saved = _Saved(
            [query_in, value_in, key_in, attention_mask],
            query_heads,
            key_heads,
            value_heads,
            softmax,
            weights,
            keep,
            combined,
            full_mask,
            output.shape,
        )
        if self._graph_scores():
            return [output, softmax.reshape(plan.keras_scores)], saved
        return output, saved

    def _split_inputs(self, inputs):
        layout = self._layout or _CallLayout(len(inputs) > 2, False, False)
        rest = list(inputs[2:])
        key = rest.pop(0) if layout.key else inputs[1]
        attention_mask = rest.pop(0) if layout.attention_mask else None
        return inputs[0], inputs[1], key, attention_mask

    def _split_masks(self, mask, count):
        """``(query_mask, value_mask, key_mask)``: Keras's masks of the inputs."""
        if mask is None:
            return None, None, None
        mask = list(mask) + [None] * (count - len(mask))
        key_mask = mask[2] if self._layout is not None and self._layout.key else None
        return mask[0], mask[1], key_mask

    def _attention_mask(self, query, value, masks, attention_mask, scores, plan):
        """Keras's ``_compute_attention_mask`` (query, value and key masks,
        causal and sliding-window masks, and the given ``attention_mask``,
        all and-ed), broadcast to the scores' ``(N, H, T, S)``, or None."""
        query_mask, value_mask, key_mask = masks
        combined = None

        def both(a, b):
            return b if a is None else np.logical_and(a, b)

        if query_mask is not None:
            combined = np.asarray(query_mask, bool)[..., None]
        for mask in (value_mask, key_mask):
            if mask is not None:
                combined = both(combined, np.expand_dims(np.asarray(mask, bool), -2))
        steps_q, steps_v = query.shape[1], value.shape[1]
        rows = np.arange(steps_q)[None, :, None]
        cols = np.arange(steps_v)[None, None, :]
        if self._layout is not None and self._layout.causal:
            combined = both(combined, rows >= cols)
        if self.sliding_window is not None:
            combined = both(combined, np.abs(rows - cols) < self.sliding_window)
        if attention_mask is not None:
            attention_mask = np.asarray(attention_mask) != 0
            combined = (
                attention_mask if combined is None else np.logical_and(attention_mask, combined)
            )
        if combined is None:
            return None
        return plan.mask_heads(combined, scores.shape)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        """The slopes; for a node that also outputs the scores, ``grad_wrt_output``
        is ``[slope at the output, slope at the scores]`` (either may be None),
        and the scores' slope joins the softmax's."""
        grad_probabilities = None
        if self._graph_scores():
            grad_wrt_output, grad_probabilities = grad_wrt_output
            if grad_wrt_output is None:
                grad_wrt_output = np.zeros(saved.output_shape, saved.combined.dtype)
        plan = _HeadsPlan.from_saved(saved, self.attention_axes)
        grad_combined, output_grads = self._output.slopes(saved.combined, grad_wrt_output, 2, True)
        grad_heads = plan.query_heads(grad_combined)  # (N, H, T, value_dim)
        grad_value_heads = np.swapaxes(saved.weights, -1, -2) @ grad_heads
        grad_weights = grad_heads @ np.swapaxes(saved.value, -1, -2)
        if saved.keep is not None:
            grad_weights = grad_weights * saved.keep
        if grad_probabilities is not None:
            grad_weights = grad_weights + grad_probabilities.reshape(saved.softmax.shape)
        # softmax * (grad_weights - sum(grad_weights * softmax)), in one array
        grad_scores = np.multiply(grad_weights, saved.softmax)
        total = grad_scores.sum(axis=-1, keepdims=True)
        np.subtract(grad_weights, total, out=grad_scores)
        grad_scores *= saved.softmax
        scale = saved.query.dtype.type(1.0 / math.sqrt(self.key_dim))
        grad_query = plan.query_back(grad_scores @ saved.key) * scale
        grad_key = plan.key_back(np.swapaxes(grad_scores, -1, -2) @ saved.query)
        grad_value = plan.key_back(grad_value_heads)
        query_in, value_in, key_in, _ = saved.inputs
        weight_grads = {f"attention_output/{n}": g for n, g in output_grads.items()}
        input_grads = []
        for projection, x, grad in (
            (self._query, query_in, grad_query),
            (self._value, value_in, grad_value),
            (self._key, key_in, grad_key),
        ):
            grad_x, own = projection.slopes(x, grad, 1, input_gradient)
            weight_grads.update({f"{projection.name}/{n}": g for n, g in own.items()})
            input_grads.append(grad_x)
        if not input_gradient:
            return None, weight_grads
        grad_q, grad_v, grad_k = input_grads
        if self._layout is not None and self._layout.key:
            grads = [grad_q, grad_v, grad_k]
        else:
            grads = [grad_q, grad_v + grad_k]
        if self._layout is not None and self._layout.attention_mask:
            grads.append(np.zeros(np.shape(saved.inputs[3])))  # a mask is constant: slope 0
        return grads, weight_grads

    # --- configuration ----------------------------------------------------------------
    def get_config(self):
        config_ = super().get_config()
        if self.built:
            config_["dtype"] = self._query.kernel.dtype.name
        return {
            **config_,
            "activity_regularizer": None,
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "value_dim": self.value_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "use_gate": self.use_gate,
            "output_shape": self.output_shape_arg,
            "attention_axes": self.attention_axes if self.built else self.attention_axes_arg,
            "sliding_window": self.sliding_window,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        if config_.get("activity_regularizer") is None:
            config_.pop("activity_regularizer", None)
        if config_.get("attention_axes") is not None:
            config_["attention_axes"] = tuple(config_["attention_axes"])
        return cls(**config_)


class _HeadsPlan:
    """How projected tensors ``(B, <other axes>, <attention axes>, H, d)``
    become ``(N, H, steps, d)`` stacks of matrices: the axes that are not
    attended over join the batch, the attention axes flatten into one."""

    def __init__(self, query_shape, key_shape, attention_axes):
        rank = len(query_shape)
        self.axes = tuple(attention_axes)
        others = [i for i in range(1, rank - 2) if i not in self.axes]
        self.perm = (0, *others, rank - 2, *self.axes, rank - 1)
        self.inverse = tuple(np.argsort(self.perm))
        self.query_shape = tuple(query_shape)
        self.key_shape = tuple(key_shape)
        self.batch = int(np.prod([query_shape[i] for i in (0, *others)]))
        self.heads = query_shape[-2]
        self.query_steps = int(np.prod([query_shape[i] for i in self.axes]))
        self.key_steps = int(np.prod([key_shape[i] for i in self.axes]))
        self.keras_scores = (
            *[query_shape[i] for i in (0, *others)],
            self.heads,
            *[query_shape[i] for i in self.axes],
            *[key_shape[i] for i in self.axes],
        )

    @classmethod
    def from_saved(cls, saved: _Saved, attention_axes):
        query_in, _, key_in, _ = saved.inputs
        heads = saved.query.shape[1]
        query_shape = (*query_in.shape[:-1], heads, saved.query.shape[-1])
        key_shape = (*key_in.shape[:-1], heads, saved.key.shape[-1])
        return cls(query_shape, key_shape, attention_axes)

    def _to_heads(self, x, steps):
        return np.ascontiguousarray(x.transpose(self.perm)).reshape(
            self.batch, self.heads, steps, x.shape[-1]
        )

    def _back(self, x, shape):
        permuted = tuple(shape[i] for i in self.perm[:-1]) + (x.shape[-1],)
        return x.reshape(permuted).transpose(self.inverse)

    def query_heads(self, x):
        return self._to_heads(x, self.query_steps)

    def key_heads(self, x):
        return self._to_heads(x, self.key_steps)

    def query_back(self, x):
        return self._back(x, self.query_shape)

    def key_back(self, x):
        return self._back(x, self.key_shape)

    def mask_heads(self, mask, scores_shape):
        """A mask in Keras's layout (without the heads axis, as Keras's
        attention mask) broadcast to ``(N, H, T, S)``."""
        while mask.ndim < len(self.keras_scores):
            mask = np.expand_dims(mask, -2 * len(self.axes) - 1)
        try:
            mask = np.broadcast_to(mask, self.keras_scores)
        except ValueError:
            raise ValueError(
                f"attention_mask of shape {mask.shape} does not broadcast to the attention "
                f"scores' shape {self.keras_scores} (batch, heads, query steps, key steps)"
            ) from None
        return mask.reshape(scores_shape)


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Over the last axis, in one array (the scores are large: N H T S)."""
    shifted = np.subtract(scores, scores.max(axis=-1, keepdims=True))
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted


def _traced(x) -> bool:
    from gradstep.ops.tape import Traced

    return isinstance(x, Traced)


def _positive_int(value, argument: str, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(
            f"{label}: invalid value for argument {argument}, expected a positive integer, "
            f"received {argument}={value!r}"
        )
    return int(value)


def _output_shape(value, label: str):
    if value is None or value == ():
        return None
    if isinstance(value, int | np.integer):
        return (int(value),)
    try:
        return tuple(int(d) for d in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{label}: invalid output_shape {value!r}; when given it must be an int, a tuple "
            "or a list of ints"
        ) from None


def _attention_axes(value, label: str):
    if value is None:
        return None
    if isinstance(value, int | np.integer):
        return (int(value),)
    if not isinstance(value, list | tuple):
        raise ValueError(
            f"{label}: attention_axes must be an int, list, or tuple, received "
            f"attention_axes={value!r}"
        )
    return tuple(int(a) for a in value)
