"""Golden Keras 3 ``.weights.h5`` files: tests/fixtures/keras_weights/.

For each model of tests/keras_weights_models.py this builds it in Keras (seeded),
writes ``<name>.weights.h5`` with Keras's ``save_weights``, and records in
``<name>.json`` its weights (``get_weights`` order) and the file's group and
dataset paths. tests/test_h5_weights.py loads the files into gradstep's
models and checks the weights, and that gradstep writes the same paths.

It then checks the other direction here, where Keras is installed: gradstep
(imported from src/) writes the same model's weights, and Keras's
``load_weights`` reads them back equal.

Run with the reference virtualenv (Keras 3 + JAX + h5py), from the repository:
    KERAS_BACKEND=jax python tools/make_keras_h5_fixtures.py
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, os.pardir, "tests")
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(HERE, os.pardir, "src"))
import gradstep  # noqa: E402
from keras_weights_models import MODELS  # noqa: E402

OUT = os.path.join(TESTS, "fixtures", "keras_weights")


def paths(filename) -> list[str]:
    found = []
    with h5py.File(filename, "r") as file:
        file.visit(found.append)
    return sorted(found)


def record(name, build) -> None:
    keras.utils.set_random_seed(1)
    model = build(keras)
    weights = model.get_weights()
    # Moving statistics away from 0 and 1, so that their order is checked too.
    weights = [w + np.float32(0.125 * i) for i, w in enumerate(weights)]
    model.set_weights(weights)
    filename = os.path.join(OUT, f"{name}.weights.h5")
    model.save_weights(filename)
    contents = {
        "keras_version": keras.__version__,
        "generated_by": "tools/make_keras_h5_fixtures.py",
        "paths": paths(filename),
        "weights": [w.tolist() for w in weights],
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as file:
        json.dump(contents, file)
        file.write("\n")
    check_keras_reads_gradstep(name, build, weights)
    print(f"{filename}: {len(weights)} arrays, {os.path.getsize(filename)} bytes")


def check_keras_reads_gradstep(name, build, weights) -> None:
    mine = build(gradstep)
    mine.set_weights(weights)
    with tempfile.TemporaryDirectory() as folder:
        filename = os.path.join(folder, f"{name}.weights.h5")
        mine.save_weights(filename)
        assert paths(filename) == paths(os.path.join(OUT, f"{name}.weights.h5")), name
        theirs = build(keras)
        theirs.load_weights(filename)
    for got, want in zip(theirs.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)
    print(f"{name}: Keras's load_weights reads gradstep's file to the same weights")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for name, build in MODELS.items():
        record(name, build)


if __name__ == "__main__":
    main()
