"""Golden values from Keras 3 for layers: tests/layer_cases/<family>.py ->
tests/fixtures/layers/<family>.json.

For each case (see tests/layer_cases/__init__.py) this builds Input -> the
case's layers in Keras, with Keras's own initial weights (seeded), and records:
the data, the initial weights (all of them, in ``get_weights`` order), each
layer's ``get_config()`` once built, the output in inference mode
(``predict``), the output of one training-mode call
(``model(x, training=True)``; skipped for a case with ``train: False``, and
left out when it equals ``predict`` to the bit, as for most layers), and
after ``steps`` steps of training (``fit`` with the whole batch, no shuffling)
the weights, the loss history and ``evaluate``. gradstep's test starts from
the same weights and must reach the same numbers.

Run with the reference virtualenv (Keras 3 + JAX), from the repository:
    KERAS_BACKEND=jax python tools/make_keras_layer_fixtures.py [family ...]
(every family under tests/layer_cases when none is named).
"""

import importlib
import json
import os
import pkgutil
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(HERE, os.pardir, "tests")
sys.path.insert(0, TESTS)
import layer_cases  # noqa: E402  (the cases the test uses too)


def plain(value):
    """Arrays as nested lists: integers as they are, floats rounded to float32
    and written with the fewest digits that read back as the same float32
    (at most 9 significant digits: half the size of a float64's 17)."""
    array = np.asarray(value)
    if array.dtype.kind in "iu":
        return array.tolist()
    singles = array.astype(np.float32)
    shortest = [float(str(number)) for number in singles.ravel()]
    return np.array(shortest, dtype=object).reshape(singles.shape).tolist()


def record(case: dict) -> dict:
    case = layer_cases.complete(case)
    keras.utils.set_random_seed(case["seed"])
    model = layer_cases.build(case, keras)
    x = layer_cases.inputs_for(case, np)
    y = layer_cases.targets_for(case, model.output.shape, np)
    initial = model.get_weights()
    result = {
        "name": case["name"],
        "x": plain(x),
        "y": plain(y),
        "initial_weights": [plain(w) for w in initial],
        "predict": plain(model.predict(x, verbose=0)),
        "configs": [
            json.loads(json.dumps(model.get_layer(f"layer_{index}").get_config()))
            for index in range(len(case["layers"]))
        ],
    }
    if case["train"]:
        training_output = plain(model(x, training=True))
        if training_output != result["predict"]:  # else the test compares with predict
            result["training_output"] = training_output
        model.set_weights(initial)  # the call may have moved statistics
        class_name, config = case["optimizer"]
        model.compile(
            optimizer=getattr(keras.optimizers, class_name)(**config),
            loss=case["loss"],
            metrics=case["metrics"],
        )
        history = model.fit(
            x, y, batch_size=case["batch"], epochs=case["steps"], shuffle=False, verbose=0
        )
        result["loss"] = [float(v) for v in history.history["loss"]]
        result["weights"] = [plain(w) for w in model.get_weights()]
        evaluated = model.evaluate(x, y, batch_size=case["batch"], verbose=0)
        result["evaluate"] = plain(evaluated) if case["metrics"] else float(evaluated)
    return result


def main(families: list[str]) -> None:
    if not families:
        families = [m.name for m in pkgutil.iter_modules(layer_cases.__path__)]
    for family in families:
        cases = importlib.import_module(f"layer_cases.{family}").CASES
        path = os.path.join(TESTS, "fixtures", "layers", f"{family}.json")
        contents = {
            "keras_version": keras.__version__,
            "jax_version": jax.__version__,
            "numpy_version": np.__version__,
            "generated_by": "tools/make_keras_layer_fixtures.py",
            "cases": [record(case) for case in cases],
        }
        with open(path, "w") as file:
            json.dump(contents, file, separators=(",", ":"))
            file.write("\n")
        print(f"{path}: {len(cases)} cases")


if __name__ == "__main__":
    main(sys.argv[1:])
