"""Pooling layers between Dense layers (so that training reaches the slopes
they pass back): windows that tile the input, overlap, skip entries, or are
padded ('same'); both data formats; and the global poolings."""


def _pooled(pool, input_shape=(5, 4, 2), units=3, head=True, **case):
    """Input -> Dense(units) -> the pooling layer -> [Flatten -> Dense(2)]."""
    layers = [("Dense", {"units": units}), pool]
    if head:
        layers += [("Flatten", {}), ("Dense", {"units": 2})]
    return {"layers": layers, "input_shape": input_shape, "batch": 2, **case}


CHANNELS_FIRST = {"data_format": "channels_first"}

CASES = [
    # MaxPooling2D
    {"name": "max2d_default", **_pooled(("MaxPooling2D", {}))},
    {"name": "max2d_tiles_exactly", **_pooled(("MaxPooling2D", {"pool_size": 2}), (4, 6, 1))},
    {
        "name": "max2d_same_3x3_stride2",
        **_pooled(("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"})),
    },
    {
        "name": "max2d_overlapping_stride1",
        **_pooled(("MaxPooling2D", {"pool_size": (2, 3), "strides": 1})),
    },
    {
        "name": "max2d_stride_beyond_window",
        **_pooled(("MaxPooling2D", {"pool_size": 2, "strides": 3})),
    },
    {
        "name": "max2d_same_at_the_end",
        **_pooled(("MaxPooling2D", {"padding": "same"}), head=False),
    },
    {
        "name": "max2d_channels_first_same",
        **_pooled(
            (
                "MaxPooling2D",
                {"pool_size": (3, 2), "strides": (1, 2), "padding": "same", **CHANNELS_FIRST},
            ),
            (2, 5, 4),
            units=4,
        ),
    },
    # AveragePooling2D
    {"name": "avg2d_2x2", **_pooled(("AveragePooling2D", {"pool_size": 2}))},
    {
        "name": "avg2d_same_3x3_stride2",
        **_pooled(("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"})),
    },
    {
        "name": "avg2d_same_overlapping",
        **_pooled(("AveragePooling2D", {"pool_size": (3, 2), "strides": 1, "padding": "same"})),
    },
    {
        "name": "avg2d_channels_first_valid_strided",
        **_pooled(
            ("AveragePooling2D", {"pool_size": 2, "strides": (1, 3), **CHANNELS_FIRST}),
            (2, 4, 7),
            units=4,
        ),
    },
    # 1D
    {"name": "max1d_default", **_pooled(("MaxPooling1D", {}), (7, 2))},
    {
        "name": "max1d_same_3_stride2",
        **_pooled(("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}), (7, 2)),
    },
    {
        "name": "max1d_channels_first_overlapping",
        **_pooled(
            ("MaxPooling1D", {"pool_size": 3, "strides": 1, **CHANNELS_FIRST}), (2, 7), units=6
        ),
    },
    {
        "name": "avg1d_same_4_stride1",
        **_pooled(("AveragePooling1D", {"pool_size": 4, "strides": 1, "padding": "same"}), (7, 2)),
    },
    {
        "name": "avg1d_channels_first",
        **_pooled(
            ("AveragePooling1D", {"pool_size": 2, "padding": "same", **CHANNELS_FIRST}),
            (2, 7),
            units=5,
        ),
    },
    # global poolings
    {"name": "global_avg2d", **_pooled(("GlobalAveragePooling2D", {}), head=False)},
    {
        "name": "global_avg2d_channels_first_keepdims",
        **_pooled(("GlobalAveragePooling2D", {"keepdims": True, **CHANNELS_FIRST}), (2, 5, 4), 4),
    },
    {"name": "global_avg1d", **_pooled(("GlobalAveragePooling1D", {}), (7, 2))},
    {"name": "global_max2d", **_pooled(("GlobalMaxPooling2D", {}), head=False)},
    {
        "name": "global_max1d_channels_first_keepdims",
        **_pooled(("GlobalMaxPooling1D", {"keepdims": True, **CHANNELS_FIRST}), (2, 7), units=5),
    },
    {"name": "global_max1d", **_pooled(("GlobalMaxPooling1D", {}), (7, 2), head=False)},
]
