"""Write Keras 3's op names and its outputs on small fixed inputs.

Run with the Keras virtualenv:
    KERAS_BACKEND=jax /tmp/ref/bin/python tools/make_keras_ops_fixtures.py
writes tests/fixtures/keras_ops.json (names) and tests/fixtures/keras_ops_outputs.json.
"""

from __future__ import annotations

import json
import pathlib
import sys

import keras
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from tests.ops.parity_cases import PARITY_CASES  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def _plain(value):
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    array = np.asarray(value)
    # Nine significant digits hold a float32 exactly; fewer keep the file small.
    values = np.vectorize(lambda v: float(f"{v:.9g}"), otypes=[np.float64])(
        array.astype(np.float64)
    )
    return {"dtype": array.dtype.name, "value": values.tolist()}


def main() -> None:
    names = sorted(n for n in dir(keras.ops) if not n.startswith("_"))
    (FIXTURES / "keras_ops.json").write_text(
        json.dumps({"keras_version": keras.__version__, "ops": names}, indent=0) + "\n"
    )
    outputs = {}
    for name, call in PARITY_CASES:
        try:
            outputs[name] = _plain(call(keras.ops))
        except Exception as error:  # a case Keras rejects is reported, not recorded
            print(f"{name}: {type(error).__name__}: {error}", file=sys.stderr)
    (FIXTURES / "keras_ops_outputs.json").write_text(
        json.dumps({"keras_version": keras.__version__, "outputs": outputs}) + "\n"
    )


if __name__ == "__main__":
    main()
