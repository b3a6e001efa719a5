"""Convolutions: Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D and
Conv2DTranspose over a grid of their window arguments (kernel sizes odd, even
and non-square; strides 1 to 3; paddings; dilations; groups; both data
formats), with activations, regularizers and constraints, and a small
convnet trained with cross-entropy (softmax fused with the loss)."""

L2 = {"class_name": "L2", "config": {"l2": 0.05}}
MAX_NORM = {"class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": [0, 1, 2]}}
ADAM = ("Adam", {"learning_rate": 0.01})
FIRST = {"data_format": "channels_first"}


def _case(name, class_name, config, input_shape, **extra):
    """One layer on inputs of ``input_shape``, batch 2 (small goldens)."""
    return {
        "name": name,
        "layers": [(class_name, config)],
        "input_shape": input_shape,
        "batch": 2,
        **extra,
    }


CONV1D = [
    _case("conv1d_valid", "Conv1D", {"filters": 3, "kernel_size": 3}, (7, 2)),
    _case(
        "conv1d_same_stride2_relu",
        "Conv1D",
        {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same", "activation": "relu"},
        (9, 2),
    ),
    _case(
        "conv1d_causal_dilated_tanh",
        "Conv1D",
        {
            "filters": 2,
            "kernel_size": 3,
            "padding": "causal",
            "dilation_rate": 2,
            "activation": "tanh",
        },
        (8, 3),
    ),
    _case(
        "conv1d_groups_channels_first",
        "Conv1D",
        {"filters": 4, "kernel_size": 2, "groups": 2, **FIRST},
        (4, 6),
    ),
    _case(
        "conv1d_stride3_same_no_bias",
        "Conv1D",
        {"filters": 2, "kernel_size": 2, "strides": 3, "padding": "same", "use_bias": False},
        (10, 2),
    ),
]

CONV2D = [
    _case("conv2d_valid", "Conv2D", {"filters": 3, "kernel_size": 3}, (5, 5, 2)),
    _case(
        "conv2d_same_stride2_nonsquare_relu",
        "Conv2D",
        {
            "filters": 3,
            "kernel_size": (2, 3),
            "strides": 2,
            "padding": "same",
            "activation": "relu",
            "bias_initializer": "ones",
        },
        (5, 6, 2),
    ),
    _case(
        "conv2d_dilated_same",
        "Conv2D",
        {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
        (5, 6, 2),
    ),
    _case(
        "conv2d_dilated_nonsquare_valid",
        "Conv2D",
        {"filters": 2, "kernel_size": (3, 2), "dilation_rate": (1, 2)},
        (6, 7, 2),
    ),
    _case(
        "conv2d_groups_channels_first",
        "Conv2D",
        {"filters": 4, "kernel_size": (3, 2), "strides": (1, 2), "groups": 2, **FIRST},
        (4, 5, 4),
    ),
    _case(
        "conv2d_stride3_even_kernel",
        "Conv2D",
        {"filters": 2, "kernel_size": 4, "strides": 3, "activation": "sigmoid"},
        (7, 8, 1),
    ),
    _case(
        "conv2d_same_channels_first_stride2",
        "Conv2D",
        {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", **FIRST},
        (2, 6, 7),
    ),
    _case(
        "conv2d_regularized_constrained",
        "Conv2D",
        {
            "filters": 3,
            "kernel_size": 2,
            "kernel_regularizer": L2,
            "bias_regularizer": "l1",
            "activity_regularizer": "l2",
            "kernel_constraint": MAX_NORM,
            "bias_initializer": "ones",
        },
        (4, 4, 2),
        optimizer=("SGD", {"learning_rate": 0.5}),
    ),
    _case(
        "conv2d_softmax_crossentropy",
        "Conv2D",
        {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "softmax"},
        (4, 4, 2),
        loss="sparse_categorical_crossentropy",
        targets={"classes": 4},
        optimizer=ADAM,
    ),
    {
        "name": "small_convnet",
        "layers": [
            ("Conv2D", {"filters": 4, "kernel_size": 3, "activation": "relu"}),
            ("Conv2D", {"filters": 3, "kernel_size": 2, "strides": 2, "activation": "relu"}),
            ("Dense", {"units": 5, "activation": "softmax"}),  # on each position
        ],
        "input_shape": (7, 7, 1),
        "loss": "sparse_categorical_crossentropy",
        "targets": {"classes": 5},
        "optimizer": ADAM,
        "steps": 4,
    },
]

DEPTHWISE = [
    _case("depthwise_valid", "DepthwiseConv2D", {"kernel_size": 3}, (5, 5, 2)),
    _case(
        "depthwise_multiplier2_same_stride2_relu",
        "DepthwiseConv2D",
        {
            "kernel_size": 3,
            "depth_multiplier": 2,
            "strides": 2,
            "padding": "same",
            "activation": "relu",
            "bias_initializer": "ones",
        },
        (5, 6, 2),
    ),
    _case(
        "depthwise_channels_first_dilated_nonsquare",
        "DepthwiseConv2D",
        {"kernel_size": (2, 3), "dilation_rate": 2, "depth_multiplier": 2, **FIRST},
        (2, 5, 6),
    ),
    _case(
        "depthwise_strided_and_dilated",
        "DepthwiseConv2D",
        {"kernel_size": 2, "strides": 2, "dilation_rate": 2, "padding": "same"},
        (5, 5, 2),
    ),
    _case(
        "depthwise_regularized_constrained",
        "DepthwiseConv2D",
        {
            "kernel_size": 2,
            "depthwise_regularizer": L2,
            "bias_regularizer": "l2",
            "depthwise_constraint": "non_neg",
            "bias_initializer": "ones",
        },
        (4, 4, 2),
    ),
]

SEPARABLE = [
    _case("separable_valid", "SeparableConv2D", {"filters": 4, "kernel_size": 3}, (5, 5, 2)),
    _case(
        "separable_multiplier2_same_stride2_tanh",
        "SeparableConv2D",
        {
            "filters": 3,
            "kernel_size": (3, 2),
            "depth_multiplier": 2,
            "strides": 2,
            "padding": "same",
            "activation": "tanh",
        },
        (5, 6, 2),
    ),
    _case(
        "separable_channels_first_dilated",
        "SeparableConv2D",
        {"filters": 2, "kernel_size": 2, "dilation_rate": 2, **FIRST},
        (2, 5, 5),
    ),
    _case(
        "separable_regularized_constrained",
        "SeparableConv2D",
        {
            "filters": 3,
            "kernel_size": 2,
            "pointwise_regularizer": L2,
            "depthwise_regularizer": "l1",
            "pointwise_constraint": "unit_norm",
            "bias_constraint": "non_neg",
            "bias_initializer": "ones",
        },
        (4, 4, 2),
    ),
]

TRANSPOSE = [
    _case("transpose_valid", "Conv2DTranspose", {"filters": 2, "kernel_size": 3}, (3, 3, 2)),
    _case(
        "transpose_same_stride2_relu",
        "Conv2DTranspose",
        {
            "filters": 3,
            "kernel_size": 3,
            "strides": 2,
            "padding": "same",
            "activation": "relu",
            "bias_initializer": "ones",
        },
        (2, 3, 2),
    ),
    _case(
        "transpose_valid_stride2_odd_kernel",
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2},
        (2, 3, 2),
    ),
    _case(
        "transpose_valid_stride3_even_kernel",
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 2, "strides": 3},
        (2, 2, 2),
    ),
    _case(
        "transpose_same_output_padding_nonsquare",
        "Conv2DTranspose",
        {
            "filters": 2,
            "kernel_size": (3, 4),
            "strides": (2, 3),
            "padding": "same",
            "output_padding": (1, 2),
        },
        (2, 3, 2),
    ),
    _case(
        "transpose_valid_output_padding_channels_first",
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1, **FIRST},
        (2, 2, 3),
    ),
    _case(
        "transpose_dilated_same",
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
        (4, 5, 2),
    ),
    _case(
        "transpose_same_even_kernel_stride2",
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same", "activation": "tanh"},
        (2, 3, 2),
    ),
    _case(
        "transpose_regularized_constrained",
        "Conv2DTranspose",
        {
            "filters": 2,
            "kernel_size": 2,
            "strides": 2,
            "kernel_regularizer": "l2",
            "bias_regularizer": L2,
            "kernel_constraint": MAX_NORM,
        },
        (2, 3, 2),
        optimizer=("SGD", {"learning_rate": 0.5}),
    ),
]

CASES = CONV1D + CONV2D + DEPTHWISE + SEPARABLE + TRANSPOSE
