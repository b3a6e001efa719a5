"""Embedding: token indices in, one learned vector per token out.

Forward, with ``E`` the ``embeddings`` table of shape ``(input_dim,
output_dim)`` and ``t`` an array of token indices: ``y[..., :] = E[t[...], :]``,
a row lookup. Backward, with ``g`` the slope at ``y``: row ``v`` of the
table's slope is the sum of ``g`` over every position holding token ``v``
(``dE[v] = sum_{i: t_i = v} g_i``; a token used twice gets both slopes, rows
of tokens not in the batch get zero). The tokens are integers, so there is
no slope at the input.

With ``mask_zero=True`` token 0 is padding: the output carries the mask
``t != 0``, which the layers after it pass on (Keras's masking; see
``Layer.supports_masking``) and which leaves padded positions out of the loss
and the metrics.
"""

from __future__ import annotations

import warnings

import numpy as np

from gradstep import constraints, initializers, regularizers
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_bool, check_positive_int


@LAYERS.register("Embedding")
class Embedding(Layer):
    """Turns token indices in ``[0, input_dim)`` into vectors of ``output_dim`` numbers.

    Inputs of shape ``(batch, ...)`` (integers, or floats holding whole
    numbers) give outputs of shape ``(batch, ..., output_dim)``. A token
    outside ``[0, input_dim)`` or a fractional one raises a ValueError naming
    the layer, the token and the valid range (Keras on JAX would return NaN
    for a token past the end, wrap a negative one and truncate a fraction).

    Args:
        input_dim: the vocabulary size, the largest token index + 1.
        output_dim: the size of each token's vector.
        embeddings_initializer: Defaults to ``'uniform'`` (uniform in
            [-0.05, 0.05], as Keras).
        embeddings_regularizer: a penalty on the table added to the loss, or None.
        embeddings_constraint: applied to the table after each optimizer step, or None.
        mask_zero: whether token 0 is padding, masked out downstream (then
            ``input_dim`` counts it: the vocabulary size + 1).
        weights: an initial table of shape ``(input_dim, output_dim)`` (or a
            list holding it); the layer is built with it at once.

    Keras's ``lora_rank``, ``lora_alpha`` and ``quantization_config`` (LoRA and
    quantization, which gradstep does not have) accept only None; its
    deprecated ``input_length`` is ignored with Keras's warning.
    """

    integer_inputs = True

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        weights=None,
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        input_dim = check_positive_int(input_dim, "Embedding input_dim (the vocabulary size)")
        output_dim = check_positive_int(output_dim, "Embedding output_dim")
        for argument, value in (
            ("lora_rank", lora_rank),
            ("lora_alpha", lora_alpha),
            ("quantization_config", quantization_config),
        ):
            if value is not None:
                raise ValueError(
                    f"Embedding {argument}: gradstep has no LoRA or quantization, so it must be "
                    f"None, received {value!r}"
                )
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = check_bool(mask_zero, "mask_zero")
        # As Keras: only a layer that makes a mask passes masks on.
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build_once(None)
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            (self.input_dim, self.output_dim),
            self.embeddings_initializer,
            name="embeddings",
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )
        self.built = True
        if input_shape is not None:
            super().build(input_shape)

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 1:
            raise ValueError(
                f"Embedding layer {self.name!r} needs one tensor of token indices with a batch "
                f"axis, received input shape {input_shape}"
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def forward(self, x, training=False):
        tokens = self.token_indices(x)
        return np.take(self.embeddings, tokens, axis=0), tokens

    def backward(self, tokens, grad_wrt_output, input_gradient=True):
        if not self.trainable:
            return None, {}
        return None, {"embeddings": self._scatter_rows(tokens, grad_wrt_output)}

    def _scatter_rows(self, tokens, grad_wrt_output):
        """``dE[v] = sum of the slopes of the positions holding token v``, by
        ``np.add.at`` on the flattened table: one entry per (token, column),
        NumPy's fast one-dimensional path (a repeated token accumulates).
        benchmarks/bench_embedding.py measures it against the alternatives."""
        width = self.output_dim
        keys = (tokens.reshape(-1, 1) * width + np.arange(width)).ravel()
        slope = np.zeros(self.input_dim * width, dtype=self.embeddings.dtype)
        np.add.at(slope, keys, grad_wrt_output.reshape(-1).astype(slope.dtype, copy=False))
        return slope.reshape(self.input_dim, width)

    def compute_mask(self, inputs, mask=None):
        """``inputs != 0`` with ``mask_zero``, else None (Keras's)."""
        if not self.mask_zero:
            return None
        return np.not_equal(inputs, 0)

    def token_indices(self, x) -> np.ndarray:
        """``x`` as an array of indices into the table (``np.intp``), checked:
        whole numbers in ``[0, input_dim)``, else a ValueError naming the layer,
        the first bad token, where it is, and the valid range."""
        x = np.asarray(x)
        if x.dtype.kind == "f":
            whole = np.isfinite(x) & (x == np.floor(x))
            if not whole.all():
                self._refuse(x, ~whole, "token indices must be whole numbers")
        elif x.dtype.kind not in "biu":
            raise TypeError(
                f"Embedding layer {self.name!r} needs token indices (integers), received an "
                f"array of dtype {x.dtype}"
            )
        if x.size and (x.min() < 0 or x.max() >= self.input_dim):
            self._refuse(x, (x < 0) | (x >= self.input_dim), "token indices must be")
        return x.astype(np.intp, copy=False)

    def _refuse(self, x, bad, rule: str):
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"Embedding layer {self.name!r} received token {x[position].item()!r} at index "
            f"{position} ({int(np.count_nonzero(bad))} of its {x.size} tokens are bad): {rule} "
            f"in [0, {self.input_dim}), the range of input_dim={self.input_dim}"
        )

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
        }
