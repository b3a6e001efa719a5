"""Golden configs from Keras 3 for initializers: tests/fixtures/initializers.json.

For each (class name, arguments) below, the ``get_config()`` of Keras's
initializer; for each string name, the class Keras's ``initializers.get``
gives. tests/test_initializers.py checks gradstep's against them. The values
themselves are not recorded: Keras draws them with its backend's generator,
gradstep with NumPy's, so the test checks their distributions instead.

Run with the reference virtualenv (Keras 3 + JAX), from the repository:
    KERAS_BACKEND=jax python tools/make_keras_initializer_fixtures.py
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "initializers.json")

CASES = [
    ("Zeros", {}),
    ("Ones", {}),
    ("Constant", {}),
    ("Constant", {"value": 0.25}),
    ("Identity", {}),
    ("Identity", {"gain": 2.0}),
    ("RandomNormal", {}),
    ("RandomNormal", {"mean": 1.0, "stddev": 0.5, "seed": 3}),
    ("RandomUniform", {}),
    ("RandomUniform", {"minval": -1.0, "maxval": 2.0, "seed": 7}),
    ("TruncatedNormal", {}),
    ("TruncatedNormal", {"mean": 0.5, "stddev": 2.0, "seed": 1}),
    ("VarianceScaling", {}),
    ("VarianceScaling", {"scale": 0.1, "mode": "fan_avg", "distribution": "uniform", "seed": 4}),
    ("VarianceScaling", {"mode": "fan_out", "distribution": "untruncated_normal"}),
    ("VarianceScaling", {"distribution": "normal", "input_axes": [0], "output_axes": [1]}),
    ("GlorotUniform", {}),
    ("GlorotNormal", {"seed": 5}),
    ("HeUniform", {}),
    ("HeNormal", {"seed": 2}),
    ("LecunUniform", {}),
    ("LecunNormal", {"seed": 9}),
    ("Orthogonal", {}),
    ("Orthogonal", {"gain": 0.5, "seed": 11}),
]

# Keras 3.15 fails on get("constant") (its from_config wants a value), so it is not here.
NAMES = [
    "zeros", "Zeros", "zero", "ones", "one", "identity", "IdentityInitializer",
    "random_normal", "normal", "RandomNormal", "random_uniform", "uniform", "truncated_normal",
    "TruncatedNormal", "variance_scaling", "glorot_uniform", "GlorotUniform", "glorot_normal",
    "he_uniform", "he_normal", "lecun_uniform", "lecun_normal", "orthogonal",
    "OrthogonalInitializer",
]  # fmt: skip


def main() -> None:
    configs = []
    for class_name, arguments in CASES:
        initializer = getattr(keras.initializers, class_name)(**arguments)
        configs.append(
            {
                "class_name": class_name,
                "arguments": arguments,
                "config": json.loads(json.dumps(initializer.get_config())),
                "serialized": json.loads(json.dumps(keras.initializers.serialize(initializer))),
            }
        )
    names = {name: type(keras.initializers.get(name)).__name__ for name in NAMES}
    contents = {
        "keras_version": keras.__version__,
        "generated_by": "tools/make_keras_initializer_fixtures.py",
        "configs": configs,
        "names": names,
    }
    with open(PATH, "w") as file:
        json.dump(contents, file, indent=1)
        file.write("\n")
    print(f"{PATH}: {len(configs)} configs, {len(names)} names")


if __name__ == "__main__":
    main()
