"""Conv1DTranspose over its window arguments (kernel sizes odd and even,
strides 1 to 3, both paddings, output_padding, dilation, both data formats),
with activations, a regularizer and a constraint."""

L2 = {"class_name": "L2", "config": {"l2": 0.05}}
MAX_NORM = {"class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": [0, 1]}}
FIRST = {"data_format": "channels_first"}


def _case(name, config, input_shape, **extra):
    """One Conv1DTranspose on inputs of ``input_shape``, batch 2 (small goldens)."""
    return {
        "name": name,
        "layers": [("Conv1DTranspose", config)],
        "input_shape": input_shape,
        "batch": 2,
        **extra,
    }


CASES = [
    _case("conv1d_transpose_valid", {"filters": 2, "kernel_size": 3}, (4, 2)),
    _case(
        "conv1d_transpose_same_stride2_relu",
        {
            "filters": 3,
            "kernel_size": 3,
            "strides": 2,
            "padding": "same",
            "activation": "relu",
            "bias_initializer": "ones",
        },
        (3, 2),
    ),
    _case(
        "conv1d_transpose_valid_stride3_even_kernel",
        {"filters": 2, "kernel_size": 2, "strides": 3},
        (3, 2),
    ),
    _case(
        "conv1d_transpose_same_output_padding",
        {"filters": 2, "kernel_size": 4, "strides": 3, "padding": "same", "output_padding": 2},
        (3, 2),
    ),
    _case(
        "conv1d_transpose_valid_output_padding_channels_first",
        {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1, **FIRST},
        (2, 3),
    ),
    _case(
        "conv1d_transpose_dilated_same_tanh",
        {
            "filters": 2,
            "kernel_size": 3,
            "dilation_rate": 2,
            "padding": "same",
            "activation": "tanh",
        },
        (5, 2),
    ),
    _case(
        "conv1d_transpose_regularized_constrained_no_bias",
        {
            "filters": 2,
            "kernel_size": 2,
            "strides": 2,
            "use_bias": False,
            "kernel_regularizer": L2,
            "kernel_constraint": MAX_NORM,
        },
        (3, 2),
        optimizer=("SGD", {"learning_rate": 0.5}),
    ),
]
