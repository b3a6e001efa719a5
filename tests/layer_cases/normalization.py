"""BatchNormalization, LayerNormalization and GroupNormalization.

BatchNormalization's cases compare, besides the outputs, the moving
statistics after the training steps (they are among ``get_weights()``) and
a training-mode output (batch statistics); ``evaluate`` after ``fit`` uses
the moving statistics. The random initializers give gamma and beta (and in
the frozen case the moving mean) values other than ones and zeros.
"""

RANDOM_AFFINE = {"gamma_initializer": "random_normal", "beta_initializer": "random_uniform"}

CASES = [
    # --- BatchNormalization -----------------------------------------------------------
    {
        "name": "batch_norm_defaults",
        "layers": [("BatchNormalization", {})],
        "input_shape": (3,),
    },
    {
        "name": "batch_norm_momentum",
        "layers": [("BatchNormalization", {"momentum": 0.8, **RANDOM_AFFINE})],
        "input_shape": (5,),
        "batch": 6,
    },
    {
        "name": "batch_norm_channels_last_4d",
        "layers": [("BatchNormalization", {"momentum": 0.5, **RANDOM_AFFINE})],
        "input_shape": (3, 3, 2),
        "batch": 3,
    },
    {
        "name": "batch_norm_channels_first_4d",
        "layers": [("BatchNormalization", {"axis": 1, "momentum": 0.5, **RANDOM_AFFINE})],
        "input_shape": (2, 3, 3),
        "batch": 3,
    },
    {
        "name": "batch_norm_middle_axis_3d",
        "layers": [("BatchNormalization", {"axis": -2, "momentum": 0.7, "epsilon": 0.01})],
        "input_shape": (3, 4),
        "batch": 2,
    },
    {
        "name": "batch_norm_no_center",
        "layers": [("BatchNormalization", {"center": False, "momentum": 0.6, **RANDOM_AFFINE})],
        "input_shape": (4,),
    },
    {
        "name": "batch_norm_no_scale",
        "layers": [("BatchNormalization", {"scale": False, "momentum": 0.6, **RANDOM_AFFINE})],
        "input_shape": (4,),
    },
    {
        "name": "batch_norm_no_center_no_scale",
        "layers": [
            ("Dense", {"units": 3}),
            ("BatchNormalization", {"center": False, "scale": False}),
        ],
        "input_shape": (4,),
    },
    {
        "name": "batch_norm_in_mlp",
        "layers": [
            ("Dense", {"units": 4}),
            ("BatchNormalization", {"momentum": 0.9}),
            ("Activation", {"activation": "relu"}),
            ("Dense", {"units": 2}),
        ],
        "input_shape": (5,),
        "batch": 8,
        "steps": 4,
        # Not Adam: the slope at the bias of a Dense before BatchNormalization is
        # zero but for round-off, which Adam would scale up to whole steps.
        "optimizer": ("SGD", {"learning_rate": 0.2}),
    },
    {
        "name": "batch_norm_frozen",
        "layers": [
            ("Dense", {"units": 3}),
            (
                "BatchNormalization",
                {
                    "trainable": False,
                    "momentum": 0.5,
                    "moving_mean_initializer": "random_uniform",
                    **RANDOM_AFFINE,
                },
            ),
            ("Dense", {"units": 2}),
        ],
        "input_shape": (4,),
    },
    {
        "name": "batch_norm_batch_of_one",
        "layers": [("Dense", {"units": 3}), ("BatchNormalization", {"momentum": 0.5})],
        "input_shape": (4,),
        "batch": 1,
    },
    {
        "name": "batch_norm_regularized_constrained",
        "layers": [
            (
                "BatchNormalization",
                {
                    "gamma_regularizer": "l2",
                    "beta_regularizer": {"class_name": "L1", "config": {"l1": 0.05}},
                    "gamma_constraint": "non_neg",
                    "momentum": 0.5,
                    **RANDOM_AFFINE,
                },
            )
        ],
        "input_shape": (4,),
        "optimizer": ("SGD", {"learning_rate": 0.5}),
    },
    {
        "name": "batch_norm_renorm",
        "layers": [
            ("Dense", {"units": 3}),
            (
                "BatchNormalization",
                {
                    "renorm": True,
                    "renorm_clipping": {"rmax": 1.5, "rmin": 0.7, "dmax": 0.2},
                    "renorm_momentum": 0.6,
                    "momentum": 0.8,
                    **RANDOM_AFFINE,
                },
            ),
        ],
        "input_shape": (4,),
        "batch": 5,
    },
    {
        "name": "batch_norm_renorm_unclipped_no_scale",
        "layers": [("BatchNormalization", {"renorm": True, "scale": False, "momentum": 0.5})],
        "input_shape": (2, 3),
        "batch": 3,
    },
    # --- LayerNormalization -----------------------------------------------------------
    {
        "name": "layer_norm_2d",
        "layers": [("LayerNormalization", RANDOM_AFFINE)],
        "input_shape": (5,),
    },
    {
        "name": "layer_norm_4d_last_axis",
        "layers": [("LayerNormalization", {"epsilon": 0.01, **RANDOM_AFFINE})],
        "input_shape": (3, 2, 4),
        "batch": 2,
    },
    {
        "name": "layer_norm_4d_all_axes",
        "layers": [("LayerNormalization", {"axis": [1, 2, 3], **RANDOM_AFFINE})],
        "input_shape": (2, 3, 2),
        "batch": 3,
    },
    {
        "name": "layer_norm_mixed_sign_axes",
        "layers": [("LayerNormalization", {"axis": [1, -1], **RANDOM_AFFINE})],
        "input_shape": (2, 3, 4),
        "batch": 2,
    },
    {
        "name": "layer_norm_rms_scaling",
        "layers": [("LayerNormalization", {"rms_scaling": True, **RANDOM_AFFINE})],
        "input_shape": (6,),
    },
    {
        "name": "layer_norm_in_mlp_no_center_no_scale",
        "layers": [
            ("Dense", {"units": 4}),
            ("LayerNormalization", {"center": False, "scale": False}),
            ("Dense", {"units": 2}),
        ],
        "input_shape": (3,),
    },
    # --- GroupNormalization -----------------------------------------------------------
    {
        "name": "group_norm_2d",
        "layers": [("GroupNormalization", {"groups": 2, **RANDOM_AFFINE})],
        "input_shape": (6,),
    },
    {
        "name": "group_norm_4d_channels_last",
        "layers": [("GroupNormalization", {"groups": 2, **RANDOM_AFFINE})],
        "input_shape": (3, 3, 4),
        "batch": 2,
    },
    {
        "name": "group_norm_4d_channels_first",
        "layers": [("GroupNormalization", {"groups": 3, "axis": 1, **RANDOM_AFFINE})],
        "input_shape": (6, 2, 2),
        "batch": 2,
    },
    {
        "name": "group_norm_instance",
        "layers": [("GroupNormalization", {"groups": -1, "epsilon": 0.01, **RANDOM_AFFINE})],
        "input_shape": (4, 3),
        "batch": 3,
    },
    {
        "name": "group_norm_one_group_no_affine",
        "layers": [
            ("Dense", {"units": 4}),
            ("GroupNormalization", {"groups": 1, "center": False, "scale": False}),
            ("Dense", {"units": 2}),
        ],
        "input_shape": (3,),
    },
]
