"""Golden values from Keras 3 for the deterministic preprocessing layers that
run without TensorFlow: Discretization (given and adapted boundaries),
CategoryEncoding, Resizing and CenterCrop -> tests/fixtures/preprocessing_keras.json.

Each case is a layer (class name, config), optional ``adapt`` data and an
input; recorded: the output, and the layer's ``get_config()``. (Hashing,
IntegerLookup and StringLookup need TensorFlow in Keras 3, which the
reference environment does not have: their tests use Keras's documented
outputs instead.)

Run with the reference virtualenv (Keras 3 + JAX), from the repository:
    KERAS_BACKEND=jax /tmp/ref/bin/python tools/make_keras_preprocessing_fixtures.py
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))
from preprocessing_cases import CASES, case_adapt, case_input  # noqa: E402


def main() -> None:
    results = []
    for case in CASES:
        layer = getattr(keras.layers, case["layer"])(**case["config"])
        if "adapt" in case:
            # What Keras's adapt does for an array (adapt itself first checks
            # for a tf.data.Dataset, which needs TensorFlow).
            layer.reset_state()
            layer.update_state(case_adapt(case, np))
            layer.finalize_state()
        output = np.asarray(layer(case_input(case, np)))
        results.append(
            {
                "name": case["name"],
                "output": output.astype(np.float64).tolist(),
                "dtype": str(output.dtype),
                "config": json.loads(json.dumps(layer.get_config())),
            }
        )
    path = os.path.join(HERE, os.pardir, "tests", "fixtures", "preprocessing_keras.json")
    with open(path, "w") as file:
        json.dump({"keras_version": keras.__version__, "cases": results}, file)
        file.write("\n")
    print(f"{path}: {len(results)} cases")


if __name__ == "__main__":
    main()
