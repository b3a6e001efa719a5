"""Rescaling and Normalization, before or after a Dense so that the training
steps move weights through the layer's slope. Normalization's adapt() is
compared with Keras in tests/layers/test_preprocessing.py; here it has its
statistics given, or Keras's initial weights (mean 0, variance 1, count 0)."""

DENSE = ("Dense", {"units": 4})

CASES = [
    {
        "name": "rescaling",
        "layers": [("Rescaling", {"scale": 1.0 / 255}), DENSE],
        "input_shape": (3,),
        "inputs": "positive",
    },
    {
        "name": "rescaling_offset_per_channel",
        "layers": [("Rescaling", {"scale": [0.5, 2.0, -1.0], "offset": -1.0}), DENSE],
        "input_shape": (2, 3),
    },
    {
        "name": "rescaling_between_layers",
        "layers": [DENSE, ("Rescaling", {"scale": 3.0, "offset": [0.5, 0.0, -0.5, 1.0]})],
        "input_shape": (3,),
    },
    {
        "name": "normalization_given",
        "layers": [
            ("Normalization", {"mean": [1.0, -2.0, 0.5], "variance": [4.0, 0.25, 0.5]}),
            DENSE,
        ],
        "input_shape": (3,),
    },
    {
        "name": "normalization_scalars_axis_none",
        "layers": [("Normalization", {"axis": None, "mean": 0.5, "variance": 2.0}), DENSE],
        "input_shape": (2, 3),
    },
    {
        "name": "normalization_two_axes",
        "layers": [
            (
                "Normalization",
                {"axis": (1, 2), "mean": [[0.0, 1.0, 2.0]], "variance": [[1.0, 2.0, 3.0]]},
            ),
            DENSE,
        ],
        "input_shape": (2, 3),
    },
    {
        "name": "normalization_weights",
        "layers": [("Normalization", {}), DENSE],
        "input_shape": (3,),
    },
    {
        "name": "normalization_inverted_after_dense",
        "layers": [
            DENSE,
            (
                "Normalization",
                {"mean": [1.0, 2.0, 3.0, 4.0], "variance": [1.0, 4.0, 9.0, 0.5], "invert": True},
            ),
        ],
        "input_shape": (3,),
    },
]
