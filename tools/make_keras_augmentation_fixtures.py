"""Golden values from Keras 3 for the geometric augmentation layers
(RandomRotation, RandomZoom, RandomTranslation, RandomCrop) with a fixed
transformation -> tests/fixtures/augmentation_keras.json.

Their draws come from Keras's random generator, which gradstep does not
reproduce; what must agree is the deterministic half: for a given
transformation, the output. Each case of tests/augmentation_cases.py builds
the Keras layer, turns the case's transformation into Keras's form with the
layer's own code (RandomRotation's ``_compute_affine_matrix``) and calls the
layer's ``transform_images`` with ``training=True``; a case marked
``"call": "training"`` calls the layer itself in training. Recorded: the
output and ``get_config()``.

Run with the reference virtualenv (Keras 3 + JAX), from the repository:
    KERAS_BACKEND=jax /tmp/ref/bin/python tools/make_keras_augmentation_fixtures.py
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))
from augmentation_cases import CASES, case_input  # noqa: E402


def keras_transformation(layer, case, images):
    """The case's transformation as the Keras layer's ``transform_images`` takes it."""
    given = case["transformation"]
    if case["layer"] == "RandomCrop":
        return tuple(given)
    if case["layer"] == "RandomRotation":
        angle = np.asarray(given["angle"], dtype="float32")
        count = len(angle)
        h_axis, w_axis = (2, 3) if layer.data_format == "channels_first" else (1, 2)
        matrix = layer._compute_affine_matrix(
            center_x=0.5,
            center_y=0.5,
            angle=angle,
            translate_x=np.zeros(count, "float32"),
            translate_y=np.zeros(count, "float32"),
            scale=np.ones(count, "float32"),
            shear_x=np.zeros(count, "float32"),
            shear_y=np.zeros(count, "float32"),
            height=images.shape[h_axis],
            width=images.shape[w_axis],
        )
        return {"rotation_matrix": matrix}
    return {key: np.asarray(value, dtype="float32") for key, value in given.items()}


def main() -> None:
    results = []
    for case in CASES:
        layer = getattr(keras.layers, case["layer"])(**case["config"])
        images = case_input(case, np)
        if case.get("call") == "training":
            output = layer(images, training=True)
        else:
            transformation = keras_transformation(layer, case, images)
            output = layer.transform_images(images, transformation, training=True)
        output = np.asarray(output)
        results.append(
            {
                "name": case["name"],
                "output": output.astype(np.float64).round(8).tolist(),
                "config": json.loads(json.dumps(layer.get_config())),
            }
        )
    path = os.path.join(HERE, os.pardir, "tests", "fixtures", "augmentation_keras.json")
    with open(path, "w") as file:
        json.dump({"keras_version": keras.__version__, "cases": results}, file)
        file.write("\n")
    print(f"{path}: {len(results)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
