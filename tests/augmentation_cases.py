"""Cases of the geometric augmentation layers with a fixed transformation (the
deterministic half of a training call), run in Keras by
tools/make_keras_augmentation_fixtures.py and in gradstep by
tests/layers/test_image_preprocessing.py.

``transformation`` is in Keras's form: rotation angles in degrees, zoom
factors, translations ``[dx, dy]`` in pixels, a crop's ``(top, left)``; a case
with ``"call": "training"`` instead calls the layer with ``training=True``
(RandomCrop on images not larger than its target, which is deterministic)."""

CASES = [
    {
        "name": "rotation_reflect_bilinear",
        "layer": "RandomRotation",
        "config": {"factor": 0.25},
        "input": (2, 5, 6, 2),
        "transformation": {"angle": [30.0, -75.0]},
    },
    {
        "name": "rotation_wrap_nearest",
        "layer": "RandomRotation",
        "config": {"factor": (-0.5, 0.6), "fill_mode": "wrap", "interpolation": "nearest"},
        "input": (2, 5, 6, 2),
        "transformation": {"angle": [100.0, 200.0]},
    },
    {
        "name": "rotation_constant_bilinear",
        "layer": "RandomRotation",
        "config": {"factor": 0.2, "fill_mode": "constant", "fill_value": 0.5},
        "input": (2, 6, 5, 1),
        "transformation": {"angle": [45.0, -10.0]},
    },
    {
        "name": "rotation_nearest_fill",
        "layer": "RandomRotation",
        "config": {"factor": 0.5, "fill_mode": "nearest"},
        "input": (2, 5, 6, 2),
        "transformation": {"angle": [170.0, 15.0]},
    },
    {
        "name": "rotation_channels_first",
        "layer": "RandomRotation",
        "config": {
            "factor": 0.4,
            "fill_mode": "constant",
            "interpolation": "nearest",
            "data_format": "channels_first",
        },
        "input": (2, 2, 5, 6),
        "transformation": {"angle": [62.0, -121.0]},
    },
    {
        "name": "zoom_in_reflect",
        "layer": "RandomZoom",
        "config": {"height_factor": (-0.4, -0.1), "width_factor": 0.5},
        "input": (2, 5, 6, 2),
        "transformation": {"height_zoom": [[0.7], [0.8]], "width_zoom": [[0.75], [0.6]]},
    },
    {
        "name": "zoom_out_constant_nearest",
        "layer": "RandomZoom",
        "config": {"height_factor": 0.5, "fill_mode": "constant", "interpolation": "nearest"},
        "input": (2, 5, 6, 2),
        "transformation": {"height_zoom": [[1.5], [1.3]], "width_zoom": [[1.5], [1.3]]},
    },
    {
        "name": "zoom_wrap",
        "layer": "RandomZoom",
        "config": {"height_factor": 0.3, "width_factor": (0.1, 0.4), "fill_mode": "wrap"},
        "input": (2, 6, 5, 1),
        "transformation": {"height_zoom": [[1.25], [0.9]], "width_zoom": [[1.35], [1.1]]},
    },
    {
        "name": "translation_constant_bilinear",
        "layer": "RandomTranslation",
        "config": {
            "height_factor": 0.3,
            "width_factor": 0.4,
            "fill_mode": "constant",
            "fill_value": 0.25,
        },
        "input": (2, 5, 6, 2),
        "transformation": {"translations": [[1.5, -0.7], [-2.25, 1.0]]},
    },
    {
        "name": "translation_wrap_nearest",
        "layer": "RandomTranslation",
        "config": {
            "height_factor": (-0.5, 0.5),
            "width_factor": 0.5,
            "fill_mode": "wrap",
            "interpolation": "nearest",
        },
        "input": (2, 5, 6, 2),
        "transformation": {"translations": [[2.0, 1.0], [-1.6, -2.4]]},
    },
    {
        "name": "translation_reflect_channels_first",
        "layer": "RandomTranslation",
        "config": {"height_factor": 0.6, "width_factor": 0.6, "data_format": "channels_first"},
        "input": (2, 2, 5, 6),
        "transformation": {"translations": [[3.3, -2.9], [-4.1, 2.2]]},
    },
    {
        "name": "crop_window",
        "layer": "RandomCrop",
        "config": {"height": 3, "width": 4, "seed": 1},
        "input": (2, 5, 6, 2),
        "transformation": (1, 2),
    },
    {
        "name": "crop_channels_first",
        "layer": "RandomCrop",
        "config": {"height": 2, "width": 3, "seed": 1, "data_format": "channels_first"},
        "input": (2, 2, 5, 6),
        "transformation": (3, 0),
    },
    {
        "name": "crop_smaller_input_resizes",
        "layer": "RandomCrop",
        "config": {"height": 6, "width": 6, "seed": 1},
        "input": (2, 4, 5, 1),
        "call": "training",
    },
    {
        "name": "crop_equal_height_centers",
        "layer": "RandomCrop",
        "config": {"height": 4, "width": 3, "seed": 1},
        "input": (2, 4, 6, 1),
        "call": "training",
    },
]


def case_input(case, numpy):
    """Distinct values in [0, 1) without a random generator (the same in every NumPy)."""
    count = int(numpy.prod(case["input"]))
    values = (numpy.arange(count) * 37 % 101) / 101.0
    return values.reshape(case["input"]).astype("float32")
