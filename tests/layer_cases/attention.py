"""Attention layers: MultiHeadAttention called as the Keras examples call it,
``mha(x, x)`` (self-attention; with ``use_causal_mask``, with Embedding's
mask, over a 2-D grid with ``attention_axes``), and Attention /
AdditiveAttention merging a query branch and a value branch.

Masked tokens come from a vocabulary of 3 over 5 steps (seed 1): every
sample keeps at least one unmasked step."""

MASKED = ("Embedding", {"input_dim": 3, "output_dim": 4, "mask_zero": True})
TOKENS = {"input_shape": (5,), "inputs": {"tokens": 3}, "seed": 1}
POOL_DENSE = [("GlobalAveragePooling1D", {}), ("Dense", {"units": 2})]


def _attend(name, attention, **extra):
    """Attention merging two Dense(4) branches of the same input (query, value)."""
    return {
        "name": name,
        "branches": [[("Dense", {"units": 4})], [("Dense", {"units": 4})]],
        "merge": attention,
        "layers": [("Dense", {"units": 2})],
        "input_shape": (5, 3),
        **extra,
    }


CASES = [
    {
        "name": "mha_self",
        "layers": [("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, {})],
        "input_shape": (5, 4),
    },
    {
        "name": "mha_causal",
        "layers": [
            ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, {"use_causal_mask": True})
        ],
        "input_shape": (5, 4),
    },
    {
        "name": "mha_value_dim_output_shape_no_bias",
        "layers": [
            (
                "MultiHeadAttention",
                {
                    "num_heads": 3,
                    "key_dim": 2,
                    "value_dim": 2,
                    "output_shape": 3,
                    "use_bias": False,
                },
                {},
            )
        ],
        "input_shape": (4, 4),
        "optimizer": ("Adam", {"learning_rate": 0.01}),
    },
    {
        "name": "mha_embedding_mask",
        "layers": [
            MASKED,
            ("MultiHeadAttention", {"num_heads": 2, "key_dim": 2}, {}),
            *POOL_DENSE,
        ],
        **TOKENS,
    },
    {
        "name": "mha_embedding_mask_causal",
        "layers": [
            MASKED,
            ("MultiHeadAttention", {"num_heads": 2, "key_dim": 2}, {"use_causal_mask": True}),
            *POOL_DENSE,
        ],
        **TOKENS,
    },
    {
        "name": "mha_attention_axes_grid",
        "layers": [
            ("MultiHeadAttention", {"num_heads": 2, "key_dim": 2, "attention_axes": [2]}, {})
        ],
        "input_shape": (2, 3, 4),
        "batch": 2,
    },
    {
        "name": "mha_regularized",
        "layers": [
            (
                "MultiHeadAttention",
                {
                    "num_heads": 2,
                    "key_dim": 2,
                    "kernel_regularizer": "l2",
                    "bias_regularizer": "l2",
                },
                {},
            )
        ],
        "input_shape": (3, 4),
    },
    _attend("attention_dot", ("Attention", {})),
    _attend("attention_dot_scale", ("Attention", {"use_scale": True})),
    _attend("attention_concat_scale", ("Attention", {"use_scale": True, "score_mode": "concat"})),
    _attend("additive_attention", ("AdditiveAttention", {})),
    _attend("additive_attention_no_scale", ("AdditiveAttention", {"use_scale": False})),
    {
        "name": "attention_masked",
        "branches": [[MASKED], [MASKED]],
        "merge": ("Attention", {"use_scale": True}),
        "layers": POOL_DENSE,
        **TOKENS,
    },
    {
        "name": "additive_attention_masked",
        "branches": [[MASKED], [MASKED]],
        "merge": ("AdditiveAttention", {}),
        "layers": POOL_DENSE,
        **TOKENS,
    },
]
