"""Golden training runs from Keras 3 with the callbacks that change training:
EarlyStopping, ReduceLROnPlateau and LearningRateScheduler.

Produces tests/fixtures/keras_callbacks.json:
  {"generated_by", "keras_version", "keras_backend", "jax_version", "numpy_version",
   "cases": [{"name", "seed", "layers", "optimizer", "loss", "metrics", "batch_size",
              "epochs", "validation_split", "shuffle": false, "callback": {"class_name",
              "config"}, "x", "y", "y_dtype", "initial_weights", "final_weights",
              "history", "history_keys", "stopped_epoch", "best_epoch"}]}

Each case trains a small Sequential model from fixed initial weights with
shuffle=False (so gradstep can replay it exactly) and one callback. The
history shows which epochs ran and, for the learning-rate callbacks, the
'learning_rate' key Keras 3 adds to the epoch logs. A plain fit has no
'learning_rate' key (see keras_training.json). LearningRateScheduler cases use
the named schedule functions in SCHEDULE_FUNCTIONS; the test defines the same.

Run with the reference virtualenv (Keras 3 + JAX):
    KERAS_BACKEND=jax python tools/make_keras_callback_fixtures.py
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from make_keras_training_fixtures import (  # noqa: E402
    build_model,
    data_regression,
    data_sparse,
    dense,
    f32_list,
    initial_weights,
    to_jsonable,
)

JSON_PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "keras_callbacks.json")
GENERATED_BY = "tools/make_keras_callback_fixtures.py"

SCHEDULE_FUNCTIONS = {
    # halve the rate at every odd epoch
    "halve_on_odd_epochs": lambda epoch, lr: lr * 0.5 if epoch % 2 else lr,
    # Keras's docstring example: constant for 3 epochs, then exp(-0.1) per epoch
    "exp_decay_after_3": lambda epoch, lr: lr if epoch < 3 else lr * float(np.exp(-0.1)),
}


def case_specs():
    regression = dict(
        layers=[dense(8, "tanh", 5), dense(1, "linear")],
        loss="mse",
        metrics=["mae"],
        batch_size=10,
        data=(data_regression, (60, 5, 1)),
    )
    overfit = dict(
        layers=[dense(32, "relu", 8), dense(4, "softmax")],
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        batch_size=8,
        validation_split=0.5,
        data=(data_sparse, (64, 8, 4)),
    )
    return [
        dict(
            name="reduce_lr_on_plateau",
            seed=201,
            optimizer=("SGD", {"learning_rate": 0.3}),
            epochs=14,
            validation_split=0.0,
            callback=(
                "ReduceLROnPlateau",
                dict(
                    monitor="loss", factor=0.5, patience=1, min_delta=0.01, cooldown=1, min_lr=0.02
                ),
            ),
            **regression,
        ),
        dict(
            name="reduce_lr_on_plateau_val_mae",
            seed=202,
            optimizer=("Adam", {"learning_rate": 0.05}),
            epochs=12,
            validation_split=0.3,
            callback=("ReduceLROnPlateau", dict(monitor="val_mae", factor=0.2, patience=2)),
            **regression,
        ),
        dict(
            name="early_stopping_restore_best_weights",
            seed=203,
            optimizer=("Adam", {"learning_rate": 0.003}),
            epochs=40,
            callback=(
                "EarlyStopping",
                dict(monitor="val_loss", patience=3, restore_best_weights=True),
            ),
            **overfit,
        ),
        dict(
            name="early_stopping_val_accuracy_start_from_epoch",
            seed=204,
            optimizer=("Adam", {"learning_rate": 0.02}),
            epochs=40,
            callback=(
                "EarlyStopping",
                dict(monitor="val_accuracy", patience=2, start_from_epoch=4, min_delta=0.01),
            ),
            **overfit,
        ),
        dict(
            name="early_stopping_baseline",
            seed=205,
            optimizer=("SGD", {"learning_rate": 0.5}),
            epochs=20,
            validation_split=0.0,
            callback=(
                "EarlyStopping",
                dict(monitor="loss", patience=3, baseline=0.12, restore_best_weights=True),
            ),
            **regression,
        ),
        dict(
            name="learning_rate_scheduler_halve_on_odd_epochs",
            seed=206,
            optimizer=("SGD", {"learning_rate": 0.2, "momentum": 0.5}),
            epochs=6,
            validation_split=0.0,
            callback=("LearningRateScheduler", dict(schedule="halve_on_odd_epochs")),
            **regression,
        ),
        dict(
            name="learning_rate_scheduler_keras_docstring",
            seed=207,
            optimizer=("Adam", {"learning_rate": 0.01}),
            epochs=6,
            validation_split=0.0,
            callback=("LearningRateScheduler", dict(schedule="exp_decay_after_3")),
            **regression,
        ),
    ]


def make_callback(class_name, config):
    config = dict(config)
    if class_name == "LearningRateScheduler":
        config["schedule"] = SCHEDULE_FUNCTIONS[config["schedule"]]
    return getattr(keras.callbacks, class_name)(**config)


def run_case(spec):
    rng = np.random.default_rng(spec["seed"])
    func, args = spec["data"]
    x, y = func(rng, *args)
    weights = initial_weights(rng, spec["layers"])
    model = build_model(spec["layers"])
    model.set_weights(weights)
    name, config = spec["optimizer"]
    model.compile(
        optimizer=getattr(keras.optimizers, name)(**config),
        loss=spec["loss"],
        metrics=list(spec["metrics"]),
    )
    callback = make_callback(*spec["callback"])
    history = model.fit(
        x,
        y,
        batch_size=spec["batch_size"],
        epochs=spec["epochs"],
        validation_split=spec["validation_split"],
        shuffle=False,
        verbose=0,
        callbacks=[callback],
    )
    class_name, callback_config = spec["callback"]
    return {
        "name": spec["name"],
        "seed": spec["seed"],
        "layers": spec["layers"],
        "optimizer": {"name": name, "config": config},
        "loss": spec["loss"],
        "metrics": spec["metrics"],
        "batch_size": spec["batch_size"],
        "epochs": spec["epochs"],
        "validation_split": spec["validation_split"],
        "shuffle": False,
        "callback": {"class_name": class_name, "config": callback_config},
        "x": f32_list(x),
        "y": y.tolist() if y.dtype.kind == "i" else f32_list(y),
        "y_dtype": str(y.dtype),
        "initial_weights": [f32_list(w) for w in weights],
        "final_weights": [f32_list(w) for w in model.get_weights()],
        "history": to_jsonable(history.history),
        "history_keys": list(history.history),
        "stopped_epoch": getattr(callback, "stopped_epoch", None),
        "best_epoch": getattr(callback, "best_epoch", None),
        "final_learning_rate": float(np.float32(model.optimizer.learning_rate)),
    }


def main():
    keras.config.set_floatx("float32")
    cases = [run_case(spec) for spec in case_specs()]
    out = {
        "generated_by": GENERATED_BY,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    with open(JSON_PATH, "w") as handle:
        json.dump(out, handle, indent=1)
        handle.write("\n")
    for case in cases:
        epochs = len(case["history"]["loss"])
        learning_rates = case["history"].get("learning_rate")
        print(
            f"{case['name']}: {epochs} epochs, stopped {case['stopped_epoch']}, "
            f"best {case['best_epoch']}, keys {case['history_keys']}, lr {learning_rates}",
            file=sys.stderr,
        )
    print(f"wrote {os.path.normpath(JSON_PATH)}", file=sys.stderr)


if __name__ == "__main__":
    main()
