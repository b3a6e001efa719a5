"""Embedding, alone and in small text models, with and without mask_zero.

Tokens are drawn in [0, vocabulary): with seed 0 and a vocabulary of 6 the
batch of 4 x 5 tokens holds three 0s (padding under mask_zero) and tokens
used up to six times, so the table's slope sums repeated rows. Under
mask_zero the mask reaches the loss (and the metric) through Dense and
Activation, which pass it on, and stops at Flatten, which does not.
"""

L2 = {"class_name": "L2", "config": {"l2": 0.05}}

CASES = [
    {
        "name": "lookup",
        "layers": [("Embedding", {"input_dim": 6, "output_dim": 3})],
        "input_shape": (5,),
        "inputs": {"tokens": 6},
    },
    {
        "name": "repeated_tokens",
        "layers": [("Embedding", {"input_dim": 3, "output_dim": 2})],
        "input_shape": (8,),
        "inputs": {"tokens": 3},
        "optimizer": ("Adam", {"learning_rate": 0.05}),
    },
    {
        "name": "token_grid_float_input",
        "layers": [("Embedding", {"input_dim": 5, "output_dim": 2}), ("Dense", {"units": 1})],
        "input_shape": (2, 3),
        "inputs": {"tokens": 5},
        "input_dtype": "float32",
    },
    {
        "name": "regularized_and_constrained",
        "layers": [
            (
                "Embedding",
                {
                    "input_dim": 6,
                    "output_dim": 4,
                    "embeddings_initializer": "glorot_uniform",
                    "embeddings_regularizer": L2,
                    "embeddings_constraint": {
                        "class_name": "MaxNorm",
                        "config": {"max_value": 0.6, "axis": 1},
                    },
                },
            )
        ],
        "input_shape": (5,),
        "inputs": {"tokens": 6},
        "optimizer": ("SGD", {"learning_rate": 0.5}),
    },
    {
        "name": "mask_zero_dense",
        "layers": [
            ("Embedding", {"input_dim": 6, "output_dim": 4, "mask_zero": True}),
            ("Dense", {"units": 2}),
        ],
        "input_shape": (5,),
        "inputs": {"tokens": 6},
        "metrics": ["mae"],
    },
    {
        "name": "mask_zero_dense_tanh_dense",
        "layers": [
            ("Embedding", {"input_dim": 6, "output_dim": 4, "mask_zero": True}),
            ("Dense", {"units": 3}),
            ("Activation", {"activation": "tanh"}),
            ("Dense", {"units": 1}),
        ],
        "input_shape": (5,),
        "inputs": {"tokens": 6},
        "optimizer": ("Adam", {"learning_rate": 0.02}),
    },
    {
        "name": "mask_zero_softmax_tagger",
        "layers": [
            ("Embedding", {"input_dim": 6, "output_dim": 4, "mask_zero": True}),
            ("Dense", {"units": 3, "activation": "softmax"}),
        ],
        "input_shape": (5,),
        "inputs": {"tokens": 6},
        "loss": "sparse_categorical_crossentropy",
        "targets": {"classes": 3},
        "metrics": ["accuracy"],
        "optimizer": ("SGD", {"learning_rate": 1.0}),
    },
    {
        "name": "mask_zero_flatten_classifier",
        "layers": [
            ("Embedding", {"input_dim": 6, "output_dim": 3, "mask_zero": True}),
            ("Flatten", {}),
            ("Dense", {"units": 4, "activation": "relu"}),
            ("Dense", {"units": 2}),
        ],
        "input_shape": (5,),
        "inputs": {"tokens": 6},
    },
]
