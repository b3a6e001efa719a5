"""Cases of the deterministic preprocessing layers, run in Keras by
tools/make_keras_preprocessing_fixtures.py and in gradstep by
tests/layers/test_preprocessing_lookup.py and test_image_preprocessing.py."""

CASES = [
    {
        "name": "discretization_int",
        "layer": "Discretization",
        "config": {"bin_boundaries": [0.0, 1.0, 2.0]},
        "input": ("normal", (4, 5)),
    },
    {
        "name": "discretization_one_hot",
        "layer": "Discretization",
        "config": {"bin_boundaries": [-0.5, 0.5], "output_mode": "one_hot"},
        "input": ("normal", (4, 1)),
    },
    {
        "name": "discretization_multi_hot",
        "layer": "Discretization",
        "config": {"bin_boundaries": [-0.5, 0.0, 0.5], "output_mode": "multi_hot"},
        "input": ("normal", (3, 6)),
    },
    {
        "name": "discretization_count",
        "layer": "Discretization",
        "config": {"bin_boundaries": [-0.5, 0.0, 0.5], "output_mode": "count"},
        "input": ("normal", (3, 6)),
    },
    {
        "name": "discretization_adapt",
        "layer": "Discretization",
        "config": {"num_bins": 4, "epsilon": 0.01},
        "adapt": ("normal", (50, 3)),
        "input": ("normal", (4, 3)),
    },
    {
        "name": "discretization_adapt_coarse",
        "layer": "Discretization",
        "config": {"num_bins": 5, "epsilon": 0.1},
        "adapt": ("normal", (400,)),
        "input": ("normal", (4, 3)),
    },
    {
        "name": "category_multi_hot",
        "layer": "CategoryEncoding",
        "config": {"num_tokens": 5},
        "input": ("tokens", (4, 3), 5),
    },
    {
        "name": "category_one_hot",
        "layer": "CategoryEncoding",
        "config": {"num_tokens": 4, "output_mode": "one_hot"},
        "input": ("tokens", (5,), 4),
    },
    {
        "name": "category_one_hot_last_axis_1",
        "layer": "CategoryEncoding",
        "config": {"num_tokens": 4, "output_mode": "one_hot"},
        "input": ("tokens", (5, 1), 4),
    },
    {
        "name": "category_count",
        "layer": "CategoryEncoding",
        "config": {"num_tokens": 6, "output_mode": "count"},
        "input": ("tokens", (3, 7), 6),
    },
    {
        "name": "resize_bilinear_up",
        "layer": "Resizing",
        "config": {"height": 7, "width": 5},
        "input": ("normal", (2, 4, 3, 2)),
    },
    {
        "name": "resize_bilinear_down",
        "layer": "Resizing",
        "config": {"height": 3, "width": 2},
        "input": ("normal", (2, 7, 5, 2)),
    },
    {
        "name": "resize_nearest",
        "layer": "Resizing",
        "config": {"height": 5, "width": 3, "interpolation": "nearest"},
        "input": ("normal", (2, 3, 7, 1)),
    },
    {
        "name": "resize_crop_to_aspect",
        "layer": "Resizing",
        "config": {"height": 4, "width": 4, "crop_to_aspect_ratio": True},
        "input": ("normal", (2, 6, 9, 1)),
    },
    {
        "name": "resize_pad_to_aspect",
        "layer": "Resizing",
        "config": {"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 0.5},
        "input": ("normal", (2, 3, 8, 1)),
    },
    {
        "name": "resize_channels_first",
        "layer": "Resizing",
        "config": {"height": 5, "width": 4, "data_format": "channels_first"},
        "input": ("normal", (2, 2, 3, 6)),
    },
    {
        "name": "center_crop",
        "layer": "CenterCrop",
        "config": {"height": 3, "width": 2},
        "input": ("normal", (2, 6, 5, 2)),
    },
    {
        "name": "center_crop_smaller_input",
        "layer": "CenterCrop",
        "config": {"height": 6, "width": 4},
        "input": ("normal", (2, 4, 5, 1)),
    },
]


def _draw(spec, numpy, seed):
    rng = numpy.random.default_rng(seed)
    if spec[0] == "tokens":
        return rng.integers(0, spec[2], size=spec[1]).astype("int32")
    return rng.normal(size=spec[1]).astype("float32")


def case_input(case, numpy):
    return _draw(case["input"], numpy, 0)


def case_adapt(case, numpy):
    return _draw(case["adapt"], numpy, 1)
