"""SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout: their training
pass draws noise that cannot match Keras's random numbers, so the goldens
hold the inference output (the input itself) and the configs; the noise
itself is tested in tests/layers/test_regularization.py."""

CASES = [
    {
        "name": "spatial_dropout_1d",
        "layers": [("SpatialDropout1D", {"rate": 0.3})],
        "input_shape": (3, 2),
        "train": False,
    },
    {
        "name": "spatial_dropout_2d_channels_last",
        "layers": [("SpatialDropout2D", {"rate": 0.5, "seed": 4})],
        "input_shape": (2, 2, 3),
        "train": False,
    },
    {
        "name": "spatial_dropout_2d_channels_first",
        "layers": [("SpatialDropout2D", {"rate": 0.25, "data_format": "channels_first"})],
        "input_shape": (3, 2, 2),
        "train": False,
    },
    {
        "name": "spatial_dropout_3d",
        "layers": [("SpatialDropout3D", {"rate": 0.1, "data_format": "channels_last"})],
        "input_shape": (2, 2, 2, 2),
        "batch": 2,
        "train": False,
    },
    {
        "name": "gaussian_noise",
        "layers": [("Dense", {"units": 3}), ("GaussianNoise", {"stddev": 0.4, "seed": 7})],
        "input_shape": (4,),
        "train": False,
    },
    {
        "name": "gaussian_dropout",
        "layers": [("Dense", {"units": 3}), ("GaussianDropout", {"rate": 0.2})],
        "input_shape": (4,),
        "train": False,
    },
]
