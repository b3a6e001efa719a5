"""Golden values from Keras 3 for subclassed layers, models, losses and metrics.

Produces tests/fixtures/keras_subclassing.json. Each case builds a model from
tests/subclassing_models.py (the code the test runs on gradstep too),
installs initial weights drawn from numpy.random.default_rng(seed) in
``model.weights`` order, trains with shuffle=False and records the initial
and final weights, History.history and predict().

Run with the reference virtualenv (Keras 3 + JAX):
    KERAS_BACKEND=jax python tools/make_keras_subclassing_fixtures.py
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "keras_subclassing.json")
sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))
import subclassing_models  # noqa: E402  (the programs the test runs too)

CASES = [
    {
        "name": "custom_layer_adam",
        "model": "custom_layer_model",
        "loss": "categorical_crossentropy",
        "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
        "x_shape": [12, 4],
        "y": "one_hot_3",
        "epochs": 2,
        "batch_size": 4,
    },
    {
        "name": "subclassed_model_sgd",
        "model": "subclassed_model",
        "loss": "mse",
        "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.1, "momentum": 0.5}},
        "x_shape": [10, 4],
        "y": "regression_1",
        "epochs": 3,
        "batch_size": 5,
    },
    {
        "name": "quantile_loss_rmsprop",
        "model": "subclassed_model",
        "loss": "quantile_loss",
        "optimizer": {"class_name": "RMSprop", "config": {"learning_rate": 0.01}},
        "x_shape": [10, 4],
        "y": "regression_1",
        "epochs": 2,
        "batch_size": 4,
        "metrics": ["mean_gap_metric"],
    },
    {
        "name": "compute_loss_override_adam",
        "model": "compute_loss_model",
        "loss": None,
        "optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
        "x_shape": [10, 4],
        "y": "regression_1",
        "epochs": 2,
        "batch_size": 5,
    },
    {
        "name": "endpoint_layer_sgd",
        "model": "endpoint_model",
        "loss": None,
        "targets_as_input": True,
        "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.1}},
        "x_shape": [12, 4],
        "y": "binary_1",
        "epochs": 2,
        "batch_size": 4,
    },
]


def data(case, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=case["x_shape"]).astype("float32")
    if case["y"] == "one_hot_3":
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=len(x))]
    elif case["y"] == "binary_1":
        y = rng.integers(0, 2, size=(len(x), 1)).astype("float32")
    else:
        y = rng.normal(size=(len(x), 1)).astype("float32")
    return x, y


def initial_weights(model, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()]


def run(case):
    keras.utils.set_random_seed(0)
    x, y = data(case)
    model = getattr(subclassing_models, case["model"])(keras)
    inputs, targets = ([x, y], None) if case.get("targets_as_input") else (x, y)
    model(inputs[:1] if targets is not None else [x[:1], y[:1]])  # builds a subclassed model
    start = initial_weights(model)
    model.set_weights(start)
    loss = case["loss"]
    if loss == "quantile_loss":
        loss = subclassing_models.quantile_loss(keras)
    metrics = [getattr(subclassing_models, m)(keras) for m in case.get("metrics", [])]
    model.compile(optimizer=keras.optimizers.get(case["optimizer"]), loss=loss, metrics=metrics)
    validation = None if targets is None else (x[:4], y[:4])
    history = model.fit(
        inputs,
        targets,
        epochs=case["epochs"],
        batch_size=case["batch_size"],
        shuffle=False,
        verbose=0,
        validation_data=validation,
    )
    return {
        **case,
        "x": x.tolist(),
        "y_true": y.tolist(),
        "initial_weights": [w.tolist() for w in start],
        "weight_shapes": [list(w.shape) for w in start],
        "final_weights": [np.asarray(w).tolist() for w in model.get_weights()],
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "predict": np.asarray(model.predict(inputs, verbose=0)).tolist(),
    }


def main():
    fixture = {
        "keras_version": keras.__version__,
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "generated_by": "tools/make_keras_subclassing_fixtures.py",
        "cases": [run(case) for case in CASES],
    }
    with open(PATH, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
