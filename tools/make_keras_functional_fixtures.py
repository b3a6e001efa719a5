"""Golden values from Keras 3 for functional models (``keras.Model(inputs, outputs)``).

Produces tests/fixtures/keras_functional.json:
    {"keras_version", "jax_version", "numpy_version", "generated_by", "cases": [...]}

Each case builds a functional model with named layers (from
tests/functional_models.py, which the test uses too), installs initial
weights drawn from numpy.random.default_rng(seed) (by layer name), trains it
with shuffle=False and records: the order of ``model.layers``, the initial and
final weights (by layer name), the full History.history, evaluate() (as a
dict) and predict() on the training inputs. The data are in the case too.

Run with the reference virtualenv (Keras 3 + JAX):
    KERAS_BACKEND=jax python tools/make_keras_functional_fixtures.py
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "keras_functional.json")
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))
import functional_models  # noqa: E402  (the builders the test uses too)


def plain(value):
    """Arrays and numbers as nested lists of float32-rounded floats."""
    if isinstance(value, dict):
        return {key: plain(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    array = np.asarray(value)
    if array.dtype.kind in "iu":
        return array.tolist()
    array = array.astype(np.float32)
    if array.ndim == 0:
        return float(str(array))
    return [plain(v) for v in array]


CASES = [
    {
        "name": "two_inputs_shared_residual_sgd",
        "build": functional_models.two_inputs_shared_residual,
        "inputs": {"a": (4,), "b": (3,)},
        "targets": "regression2",
        "compile": {"optimizer": ("SGD", {"learning_rate": 0.05}), "loss": "mse"},
        "epochs": 3,
        "batch_size": 8,
    },
    {
        "name": "two_inputs_shared_residual_adam",
        "build": functional_models.two_inputs_shared_residual,
        "inputs": {"a": (4,), "b": (3,)},
        "targets": "regression2",
        "compile": {"optimizer": ("Adam", {"learning_rate": 0.01}), "loss": "mse"},
        "epochs": 3,
        "batch_size": 8,
    },
    {
        "name": "two_outputs_weighted_with_metrics",
        "build": functional_models.two_outputs,
        "inputs": {"features": (6,)},
        "targets": "label_and_score",
        "compile": {
            "optimizer": ("Adam", {"learning_rate": 0.01}),
            "loss": {"label": "sparse_categorical_crossentropy", "score": "mse"},
            "loss_weights": {"label": 1.0, "score": 0.5},
            "metrics": {"label": ["accuracy"], "score": ["mae"]},
        },
        "epochs": 3,
        "batch_size": 8,
    },
    {
        "name": "every_merge_layer",
        "build": functional_models.every_merge,
        "inputs": {"a": (3,), "b": (3,)},
        "targets": "regression1",
        "compile": {"optimizer": ("SGD", {"learning_rate": 0.1}), "loss": "mse"},
        "epochs": 2,
        "batch_size": 8,
    },
    {
        "name": "shared_at_two_depths",
        "build": functional_models.shared_at_two_depths,
        "inputs": {"x": (4,)},
        "targets": "regression1",
        "compile": {"optimizer": ("Adam", {"learning_rate": 0.02}), "loss": "mse"},
        "epochs": 3,
        "batch_size": 8,
    },
]

CASES += [
    {
        "name": "encoder_decoder_states",
        "build": functional_models.encoder_decoder,
        "inputs": {"encoder_inputs": (5, 3), "decoder_inputs": (6, 2)},
        "targets": "sequence2",
        "compile": {"optimizer": ("Adam", {"learning_rate": 0.01}), "loss": "mse"},
        "epochs": 2,
        "batch_size": 8,
    },
    {
        "name": "attention_scores_as_features",
        "build": functional_models.attention_scores_as_features,
        "inputs": {"x": (4, 6)},
        "targets": "regression2",
        # SGD: the key projection's bias has slope 0 (a softmax ignores a shift of
        # its scores), and Adam would turn each framework's round-off there into
        # whole steps of the learning rate.
        "compile": {"optimizer": ("SGD", {"learning_rate": 0.1}), "loss": "mse"},
        "epochs": 2,
        "batch_size": 8,
    },
    {
        "name": "recurrent_states_as_features",
        "build": functional_models.recurrent_states_as_features,
        "inputs": {"x": (5, 3)},
        "targets": "regression2",
        "compile": {"optimizer": ("SGD", {"learning_rate": 0.05}), "loss": "mse"},
        "epochs": 2,
        "batch_size": 8,
    },
]

SAMPLES = 32


def data(case, rng):
    inputs = {
        name: rng.normal(size=(SAMPLES, *shape)).astype(np.float32)
        for name, shape in case["inputs"].items()
    }
    if case["targets"] == "label_and_score":
        targets = {
            "label": rng.integers(0, 3, size=SAMPLES).astype(np.int64),
            "score": rng.normal(size=(SAMPLES, 1)).astype(np.float32),
        }
    elif case["targets"].startswith("sequence"):
        width = int(case["targets"][-1])
        steps = case["inputs"]["decoder_inputs"][0]
        targets = {"y": rng.normal(size=(SAMPLES, steps, width)).astype(np.float32)}
    else:
        width = int(case["targets"][-1])
        targets = {"y": rng.normal(size=(SAMPLES, width)).astype(np.float32)}
    return inputs, targets


def initial_weights(model, rng):
    """New weights for every layer, uniform in [-0.6, 0.6] (biases too, so that
    their slopes matter), by layer name."""
    weights = {}
    for layer in model.layers:
        values = [rng.uniform(-0.6, 0.6, size=w.shape).astype(np.float32) for w in layer.weights]
        layer.set_weights(values)
        if values:
            weights[layer.name] = values
    return weights


def run(case, seed):
    rng = np.random.default_rng(seed)
    model = case["build"](keras)
    inputs, targets = data(case, rng)
    start = initial_weights(model, rng)
    settings = dict(case["compile"])
    optimizer_name, optimizer_config = settings.pop("optimizer")
    model.compile(
        optimizer=getattr(keras.optimizers, optimizer_name)(**optimizer_config), **settings
    )
    x = [inputs[t.name] for t in model.inputs] if len(inputs) > 1 else next(iter(inputs.values()))
    y = targets if len(targets) > 1 else targets["y"]
    history = model.fit(
        x, y, epochs=case["epochs"], batch_size=case["batch_size"], shuffle=False, verbose=0
    )
    return {
        "name": case["name"],
        "compile": {"optimizer": [optimizer_name, optimizer_config], **settings},
        "epochs": case["epochs"],
        "batch_size": case["batch_size"],
        "layer_order": [layer.name for layer in model.layers],
        "inputs": plain(inputs),
        "targets": plain(targets),
        "initial_weights": plain(start),
        "final_weights": plain(
            {layer.name: layer.get_weights() for layer in model.layers if layer.weights}
        ),
        "history": plain(history.history),
        "evaluate": plain(
            model.evaluate(x, y, batch_size=case["batch_size"], verbose=0, return_dict=True)
        ),
        "predict": plain(model.predict(x, batch_size=case["batch_size"], verbose=0)),
    }


def main():
    cases = [run(case, seed) for seed, case in enumerate(CASES)]
    fixture = {
        "generated_by": "tools/make_keras_functional_fixtures.py",
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    with open(PATH, "w", encoding="utf-8") as handle:
        json.dump(fixture, handle, separators=(",", ":"))
    print(f"wrote {len(cases)} cases to {os.path.relpath(PATH)}")


if __name__ == "__main__":
    main()
