"""The activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU), each after
a Dense so that the training steps move weights through the layer's slope."""

DENSE = ("Dense", {"units": 4})
RANDOM_ALPHA = "glorot_uniform"  # alphas of both signs, some large

CASES = [
    {"name": "relu", "layers": [DENSE, ("ReLU", {})], "input_shape": (3,)},
    {
        "name": "relu_all_options",
        "layers": [
            ("Dense", {"units": 6}),
            ("ReLU", {"max_value": 0.6, "negative_slope": 0.2, "threshold": 0.1}),
        ],
        "input_shape": (3,),
    },
    {
        "name": "relu_leaky_branch",
        "layers": [DENSE, ("ReLU", {"negative_slope": 0.1})],
        "input_shape": (3,),
    },
    {"name": "relu6", "layers": [DENSE, ("ReLU", {"max_value": 6.0})], "input_shape": (3,)},
    {"name": "leaky_relu_default", "layers": [DENSE, ("LeakyReLU", {})], "input_shape": (3,)},
    {
        "name": "leaky_relu_slope",
        "layers": [DENSE, ("LeakyReLU", {"negative_slope": 0.05})],
        "input_shape": (2, 3),
    },
    {"name": "elu", "layers": [DENSE, ("ELU", {})], "input_shape": (3,)},
    {"name": "elu_alpha", "layers": [DENSE, ("ELU", {"alpha": 0.4})], "input_shape": (3,)},
    {"name": "softmax", "layers": [DENSE, ("Softmax", {})], "input_shape": (3,)},
    {
        "name": "softmax_axis_1",
        "layers": [DENSE, ("Softmax", {"axis": 1})],
        "input_shape": (3, 2),
    },
    {
        "name": "softmax_two_axes",
        "layers": [DENSE, ("Softmax", {"axis": [1, 2]})],
        "input_shape": (3, 2),
    },
    {
        "name": "softmax_cross_entropy",
        "layers": [DENSE, ("Softmax", {})],
        "input_shape": (3,),
        "loss": "sparse_categorical_crossentropy",
        "targets": {"classes": 4},
    },
    {
        "name": "prelu_default_zeros",
        "layers": [DENSE, ("PReLU", {})],
        "input_shape": (3,),
    },
    {
        "name": "prelu_random_alpha",
        "layers": [DENSE, ("PReLU", {"alpha_initializer": RANDOM_ALPHA})],
        "input_shape": (2, 3),
    },
    {
        "name": "prelu_shared_axes",
        "layers": [
            DENSE,
            (
                "PReLU",
                {
                    "alpha_initializer": RANDOM_ALPHA,
                    "shared_axes": [1, 2],
                    "alpha_regularizer": "l2",
                    "alpha_constraint": "non_neg",
                },
            ),
        ],
        "input_shape": (3, 2, 2),
    },
    {
        "name": "prelu_shared_int",
        "layers": [DENSE, ("PReLU", {"alpha_initializer": "ones", "shared_axes": 1})],
        "input_shape": (3, 2),
    },
]
