"""Weight and activity regularizers and weight constraints, on Dense."""

L2 = {"class_name": "L2", "config": {"l2": 0.05}}
L1L2 = {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}}
ORTHOGONAL = {"class_name": "OrthogonalRegularizer", "config": {"factor": 0.1, "mode": "rows"}}

CASES = [
    {
        "name": "kernel_l2",
        "layers": [("Dense", {"units": 3, "kernel_regularizer": L2})],
        "input_shape": (5,),
    },
    {
        "name": "kernel_and_bias_named",
        "layers": [
            (
                "Dense",
                {
                    "units": 3,
                    "bias_initializer": "ones",
                    "kernel_regularizer": "l1",
                    "bias_regularizer": "l2",
                },
            )
        ],
        "input_shape": (5,),
    },
    {
        "name": "activity_l1l2",
        "layers": [
            ("Dense", {"units": 4, "activation": "tanh", "activity_regularizer": L1L2}),
            ("Dense", {"units": 2}),
        ],
        "input_shape": (5,),
        "batch": 6,
    },
    {
        "name": "orthogonal_rows",
        "layers": [("Dense", {"units": 4, "kernel_regularizer": ORTHOGONAL})],
        "input_shape": (3,),
    },
    {
        "name": "orthogonal_columns",
        "layers": [
            (
                "Dense",
                {
                    "units": 4,
                    "kernel_regularizer": {
                        "class_name": "OrthogonalRegularizer",
                        "config": {"factor": 0.2, "mode": "columns"},
                    },
                },
            )
        ],
        "input_shape": (6,),
    },
    {
        "name": "max_norm",
        "layers": [
            (
                "Dense",
                {
                    "units": 3,
                    "kernel_constraint": {
                        "class_name": "MaxNorm",
                        "config": {"max_value": 0.5, "axis": 0},
                    },
                },
            )
        ],
        "input_shape": (5,),
        "optimizer": ("SGD", {"learning_rate": 0.5}),
    },
    {
        "name": "non_neg_and_unit_norm",
        "layers": [
            (
                "Dense",
                {
                    "units": 3,
                    "kernel_constraint": "non_neg",
                    "bias_constraint": "unit_norm",
                    "bias_initializer": "ones",
                },
            )
        ],
        "input_shape": (5,),
    },
    {
        "name": "min_max_norm",
        "layers": [
            (
                "Dense",
                {
                    "units": 3,
                    "kernel_constraint": {
                        "class_name": "MinMaxNorm",
                        "config": {"min_value": 0.4, "max_value": 0.6, "rate": 0.5, "axis": 0},
                    },
                },
            )
        ],
        "input_shape": (5,),
        "optimizer": ("Adam", {"learning_rate": 0.05}),
    },
    {
        "name": "activity_regularization_layer",
        "layers": [("Dense", {"units": 4}), ("ActivityRegularization", {"l1": 0.05, "l2": 0.1})],
        "input_shape": (3,),
    },
]
