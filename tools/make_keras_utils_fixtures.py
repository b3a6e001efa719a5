"""Golden values from Keras 3 for keras.utils: tests/fixtures/utils.json.

- ``pad_sequences``: Keras's output for each case below;
- ``normalize``: Keras's output (its NumPy path) for each case;
- ``split_dataset``: which samples land left and right. Keras's
  ``split_dataset`` returns tf.data datasets and needs TensorFlow, which the
  reference virtualenv lacks; so this records the two parts it is made of:
  Keras's own split sizes (``_rescale_dataset_split_sizes``) and the order
  that its shuffle gives (``random.seed(seed); random.shuffle(samples)``, as in
  ``_split_dataset_tf``), then slices as it does (the first ``left`` samples,
  the last ``right``).

Run with the reference virtualenv (Keras 3 + JAX), from the repository:
    KERAS_BACKEND=jax python tools/make_keras_utils_fixtures.py
"""

import json
import os
import random

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.src.utils.dataset_utils import _rescale_dataset_split_sizes  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "utils.json")

SEQUENCES = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9], [10, 11]]
PAD_CASES = [
    {},
    {"maxlen": 3},
    {"maxlen": 3, "truncating": "post"},
    {"maxlen": 4, "padding": "post"},
    {"maxlen": 2, "padding": "post", "truncating": "post", "value": -1},
    {"maxlen": 6, "value": 7, "dtype": "float32"},
    {"dtype": "float64", "value": 0.5},
    {"dtype": "int32", "value": 0.5},
]
FLOAT_SEQUENCES = [[0.25, 1.5], [2.75, -1.0, 3.5]]
VECTOR_SEQUENCES = [[[1, 2], [3, 4], [5, 6]], [[7, 8]]]

NORMALIZE_INPUT = [[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, -2.0, 2.0]]
NORMALIZE_CASES = [{}, {"order": 1}, {"axis": 0}, {"axis": 1, "order": np.inf}, {"order": 3}]

SPLIT_CASES = [
    {"left_size": 0.8},
    {"right_size": 0.3},
    {"left_size": 4},
    {"right_size": 3},
    {"left_size": 0.5, "right_size": 0.2},
    {"left_size": 3, "right_size": 2},
    {"left_size": 0.75, "shuffle": True, "seed": 7},
    {"left_size": 5, "right_size": 4, "shuffle": True, "seed": 123},
]
SPLIT_LENGTH = 10


def pad(arguments, sequences):
    output = keras.utils.pad_sequences(sequences, **arguments)
    return {"arguments": arguments, "sequences": sequences, "output": output.tolist(),
            "dtype": str(output.dtype)}  # fmt: skip


def split(arguments):
    samples = list(range(SPLIT_LENGTH))
    if arguments.get("shuffle"):
        random.seed(arguments["seed"])  # what _split_dataset_tf does
        random.shuffle(samples)
    left, right = _rescale_dataset_split_sizes(
        arguments.get("left_size"), arguments.get("right_size"), SPLIT_LENGTH
    )
    return {"arguments": arguments, "left": samples[:left], "right": samples[-right:]}


def main() -> None:
    contents = {
        "keras_version": keras.__version__,
        "generated_by": "tools/make_keras_utils_fixtures.py",
        "pad_sequences": [pad(case, SEQUENCES) for case in PAD_CASES]
        + [pad({"dtype": "float32", "maxlen": 2}, FLOAT_SEQUENCES)]
        + [pad({"maxlen": 2, "padding": "post"}, VECTOR_SEQUENCES)],
        "normalize_input": NORMALIZE_INPUT,
        "normalize": [
            {
                "arguments": {k: ("inf" if v == np.inf else v) for k, v in case.items()},
                "output": keras.utils.normalize(np.array(NORMALIZE_INPUT), **case).tolist(),
            }
            for case in NORMALIZE_CASES
        ],
        "split_length": SPLIT_LENGTH,
        "split_dataset": [split(case) for case in SPLIT_CASES],
    }
    with open(PATH, "w") as file:
        json.dump(contents, file, indent=1)
        file.write("\n")
    print(PATH)


if __name__ == "__main__":
    main()
