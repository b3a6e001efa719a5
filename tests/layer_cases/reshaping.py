"""Reshaping layers (and Flatten's data_format) between Dense layers, so
that training reaches the slopes they pass back."""

CHANNELS_FIRST = {"data_format": "channels_first"}


def _between(layer, input_shape, units=2, flatten=False, **case):
    """Input -> Dense(units) -> the layer -> [Flatten] -> Dense(1) (on the
    last axis when not flattened: small weights, small fixtures)."""
    layers = [("Dense", {"units": units}), layer]
    layers += [("Flatten", {})] if flatten else []
    return {
        "layers": [*layers, ("Dense", {"units": 1})],
        "input_shape": input_shape,
        "batch": 2,
        **case,
    }


CASES = [
    {"name": "reshape", **_between(("Reshape", {"target_shape": (3, 4)}), (6,), 12)},
    {
        "name": "reshape_unknown_axis",
        **_between(("Reshape", {"target_shape": (-1, 2)}), (2, 6), 4, flatten=True),
    },
    {"name": "permute", **_between(("Permute", {"dims": (2, 1)}), (3, 4), 5)},
    {
        "name": "permute_3d",
        **_between(("Permute", {"dims": (3, 1, 2)}), (2, 3, 4), 3, flatten=True),
    },
    {"name": "repeat_vector", **_between(("RepeatVector", {"n": 3}), (4,), 3)},
    {"name": "zero_padding1d", **_between(("ZeroPadding1D", {"padding": (1, 2)}), (5, 3), 2)},
    {
        "name": "zero_padding1d_channels_first",
        **_between(("ZeroPadding1D", {"padding": 2, **CHANNELS_FIRST}), (3, 5), 4),
    },
    {"name": "zero_padding2d", **_between(("ZeroPadding2D", {}), (3, 4, 2), 2)},
    {
        "name": "zero_padding2d_pairs_channels_first",
        **_between(
            ("ZeroPadding2D", {"padding": ((1, 0), (2, 1)), **CHANNELS_FIRST}), (2, 3, 4), 3
        ),
    },
    {"name": "cropping1d", **_between(("Cropping1D", {"cropping": (2, 1)}), (6, 3), 2)},
    {"name": "cropping2d", **_between(("Cropping2D", {"cropping": 1}), (4, 5, 2), 2)},
    {
        "name": "cropping2d_pairs_channels_first",
        **_between(("Cropping2D", {"cropping": ((0, 2), (1, 0)), **CHANNELS_FIRST}), (2, 5, 4), 3),
    },
    {"name": "up_sampling1d", **_between(("UpSampling1D", {"size": 3}), (4, 3), 2)},
    {"name": "up_sampling2d_nearest", **_between(("UpSampling2D", {"size": (2, 3)}), (3, 2, 2), 2)},
    {
        "name": "up_sampling2d_nearest_channels_first",
        **_between(("UpSampling2D", {"size": 2, **CHANNELS_FIRST}), (2, 3, 2), 3),
    },
    {
        "name": "up_sampling2d_bilinear",
        **_between(("UpSampling2D", {"size": (2, 3), "interpolation": "bilinear"}), (2, 3, 2), 2),
    },
    {
        "name": "up_sampling2d_bilinear_channels_first",
        **_between(
            ("UpSampling2D", {"size": 3, "interpolation": "bilinear", **CHANNELS_FIRST}),
            (2, 3, 2),
            3,
        ),
    },
    {
        "name": "up_sampling2d_bicubic",
        **_between(("UpSampling2D", {"size": 2, "interpolation": "bicubic"}), (3, 2, 1), 2),
    },
    {
        "name": "up_sampling2d_lanczos3",
        **_between(("UpSampling2D", {"size": (3, 2), "interpolation": "lanczos3"}), (2, 3, 1), 2),
    },
    {
        "name": "flatten_channels_first",
        **_between(("Flatten", CHANNELS_FIRST), (3, 4, 2), 3),
    },
]
