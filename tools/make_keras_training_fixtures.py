"""Golden values from Keras 3 for training small Sequential models.

Produces:
  tests/fixtures/keras_training.json
      {"keras_version", "jax_version", "numpy_version", "generated_by",
       "summary_reference", "cases": [...]}
      Each case trains a small Sequential model from fixed initial weights with
      shuffle=False and records the data, the initial and final weights, the
      full History.history dict, evaluate() and predict() results.
  tests/fixtures/keras_reference_digits.npz
      Initial (w0..w3) and final (f0..f3) weights of the reference digits
      model, plus x, y and predict(x) for the 256 training samples.
      Plain float32 / int64 arrays: loads with np.load(..., allow_pickle=False).

Everything is deterministic: data and initial weights come from
numpy.random.default_rng(fixed seed) and are installed with model.set_weights.

Run with the reference virtualenv (Keras 3 + JAX, scikit-learn):
    KERAS_BACKEND=jax python tools/make_keras_training_fixtures.py
"""

import contextlib
import io
import json
import os
import sys
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, os.pardir, "tests", "fixtures")
JSON_PATH = os.path.join(FIXTURES, "keras_training.json")
NPZ_PATH = os.path.join(FIXTURES, "keras_reference_digits.npz")
GENERATED_BY = "tools/make_keras_training_fixtures.py"


# ---------------------------------------------------------------- helpers


def f32_list(a):
    """Nested lists of Python floats, each the shortest repr of a float32.

    Converting back with np.asarray(..., dtype=np.float32) restores the
    exact float32 values.
    """
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 0:
        return float(str(np.float32(a)))
    return [f32_list(v) for v in a]


def to_jsonable(value):
    """History values, evaluate() results etc. as float32-rounded floats."""
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return f32_list(value)


def glorot_kernel(rng, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def initial_weights(rng, layer_specs):
    """Kernel (in, out) then bias for each layer, as float32 arrays."""
    weights = []
    fan_in = layer_specs[0]["input_dim"]
    for spec in layer_specs:
        weights.append(glorot_kernel(rng, fan_in, spec["units"]))
        weights.append(rng.uniform(-0.1, 0.1, size=spec["units"]).astype(np.float32))
        fan_in = spec["units"]
    return weights


def build_model(layer_specs):
    keras.backend.clear_session()
    model = keras.Sequential()
    model.add(keras.Input(shape=(layer_specs[0]["input_dim"],)))
    for spec in layer_specs:
        model.add(keras.layers.Dense(spec["units"], activation=spec["activation"]))
    return model


def make_optimizer(name, config):
    return getattr(keras.optimizers, name)(**config)


# ---------------------------------------------------------------- data


def normal_x(rng, n, d):
    return rng.normal(size=(n, d)).astype(np.float32)


def data_sparse(rng, n, d, classes):
    x = normal_x(rng, n, d)
    return x, rng.integers(0, classes, size=n).astype(np.int64)


def data_regression(rng, n, d, out):
    x = normal_x(rng, n, d)
    w = rng.normal(size=(d, out))
    y = np.sin(x @ w) + 0.1 * rng.normal(size=(n, out))
    return x, y.astype(np.float32)


def data_binary(rng, n, d):
    x = normal_x(rng, n, d)
    y = x[:, :1] + 0.5 * x[:, 1:2] + 0.3 * rng.normal(size=(n, 1)) > 0
    return x, y.astype(np.float32)


def data_onehot(rng, n, d, classes):
    x = normal_x(rng, n, d)
    labels = rng.integers(0, classes, size=n)
    return x, np.eye(classes, dtype=np.float32)[labels]


# ---------------------------------------------------------------- cases


def dense(units, activation, input_dim=None):
    spec = {"units": units, "activation": activation}
    if input_dim is not None:
        spec["input_dim"] = input_dim
    return spec


def case_specs():
    """Case definitions; "data" is (function, args) called with a seeded rng."""
    return [
        dict(
            name="adam_sparse_cce",
            seed=101,
            layers=[dense(16, "relu", 8), dense(4, "softmax")],
            optimizer=("Adam", {}),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            batch_size=16,
            epochs=3,
            validation_split=0.0,
            data=(data_sparse, (64, 8, 4)),
        ),
        dict(
            name="sgd_momentum_mse",
            seed=102,
            layers=[dense(8, "tanh", 5), dense(2, "linear")],
            optimizer=("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
            loss="mse",
            metrics=["mae", "mse"],
            batch_size=10,
            epochs=3,
            validation_split=0.0,
            data=(data_regression, (50, 5, 2)),
        ),
        dict(
            name="sgd_plain_mse_partial_batch",
            seed=103,
            layers=[dense(8, "tanh", 5), dense(2, "linear")],
            optimizer=("SGD", {}),
            loss="mse",
            metrics=["mae", "mse"],
            batch_size=16,
            epochs=3,
            validation_split=0.0,
            data=(data_regression, (53, 5, 2)),
        ),
        dict(
            name="sgd_nesterov_bce",
            seed=104,
            layers=[dense(6, "sigmoid", 4), dense(1, "sigmoid")],
            optimizer=("SGD", {"learning_rate": 0.1, "momentum": 0.5, "nesterov": True}),
            loss="binary_crossentropy",
            metrics=["accuracy"],
            batch_size=8,
            epochs=4,
            validation_split=0.0,
            data=(data_binary, (40, 4)),
        ),
        dict(
            name="rmsprop_cce",
            seed=105,
            layers=[dense(12, "elu", 6), dense(3, "softmax")],
            optimizer=("RMSprop", {}),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
            batch_size=8,
            epochs=3,
            validation_split=0.0,
            data=(data_onehot, (44, 6, 3)),
        ),
        dict(
            name="adam_validation",
            seed=106,
            layers=[dense(16, "relu", 8), dense(4, "softmax")],
            optimizer=("Adam", {}),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            batch_size=16,
            epochs=2,
            validation_split=0.25,
            data=(data_sparse, (64, 8, 4)),
        ),
    ]


def train(spec, x, y, weights):
    """Build, compile and fit; returns (model, history dict)."""
    model = build_model(spec["layers"])
    model.set_weights(weights)
    name, config = spec["optimizer"]
    model.compile(
        optimizer=make_optimizer(name, config), loss=spec["loss"], metrics=list(spec["metrics"])
    )
    history = model.fit(
        x,
        y,
        batch_size=spec["batch_size"],
        epochs=spec["epochs"],
        validation_split=spec["validation_split"],
        shuffle=False,
        verbose=0,
    )
    return model, history.history


def record(spec, x, y, weights, model, history):
    name, config = spec["optimizer"]
    evaluate = model.evaluate(x, y, batch_size=spec["batch_size"], verbose=0)
    evaluate_dict = model.evaluate(x, y, batch_size=spec["batch_size"], verbose=0, return_dict=True)
    y_out = y.tolist() if y.dtype.kind == "i" else f32_list(y)
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
        "x": f32_list(x),
        "y": y_out,
        "y_dtype": str(y.dtype),
        "initial_weights": [f32_list(w) for w in weights],
        "final_weights": [f32_list(w) for w in model.get_weights()],
        "history": to_jsonable(history),
        "history_keys": list(history.keys()),
        "evaluate": to_jsonable(evaluate),
        "evaluate_dict": to_jsonable(evaluate_dict),
        "metrics_names": list(model.metrics_names),
        "predict": f32_list(model.predict(x[:5], verbose=0)),
    }


def run_case(spec):
    rng = np.random.default_rng(spec["seed"])
    func, args = spec["data"]
    x, y = func(rng, *args)
    weights = initial_weights(rng, spec["layers"])
    model, history = train(spec, x, y, weights)
    return record(spec, x, y, weights, model, history)


# ---------------------------------------------------------------- digits

DIGITS_SPEC = dict(
    name="reference_digits_subset",
    seed=107,
    layers=[dense(512, "relu", 64), dense(10, "softmax")],
    optimizer=("Adam", {}),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
    batch_size=32,
    epochs=2,
    validation_split=0.0,
)


def digits_subset(n=256):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data[:n] / 16.0).astype(np.float32)
    return x, digits.target[:n].astype(np.int64)


def run_digits_case():
    """Like run_case, but weights and full predictions go to the npz file."""
    spec = DIGITS_SPEC
    x, y = digits_subset()
    weights = initial_weights(np.random.default_rng(spec["seed"]), spec["layers"])
    model, history = train(spec, x, y, weights)
    entry = record(spec, x, y, weights, model, history)
    final = model.get_weights()
    arrays = {f"w{i}": w for i, w in enumerate(weights)}
    arrays.update({f"f{i}": np.asarray(w, np.float32) for i, w in enumerate(final)})
    arrays["x"] = x
    arrays["y"] = y
    arrays["predict"] = np.asarray(model.predict(x, verbose=0), np.float32)
    np.savez_compressed(NPZ_PATH, **arrays)
    for key in ("x", "y", "initial_weights", "final_weights"):
        del entry[key]
    entry["data"] = "sklearn.datasets.load_digits(): first 256 samples, x = data / 16 (float32)"
    entry["arrays_file"] = os.path.basename(NPZ_PATH)
    entry["arrays"] = sorted(arrays)
    return entry


def summary_reference():
    """Text printed by model.summary() for the reference model in Keras 3."""
    keras.backend.clear_session()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.Sequential()
        model.add(keras.layers.Dense(512, activation="relu", input_shape=(64,)))
        model.add(keras.layers.Dense(10, activation="softmax"))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        model.summary()
    return buffer.getvalue()


# ---------------------------------------------------------------- main


def main():
    keras.config.set_floatx("float32")
    cases = [run_case(spec) for spec in case_specs()]
    cases.append(run_digits_case())
    out = {
        "generated_by": GENERATED_BY,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "summary_reference": summary_reference(),
        "cases": cases,
    }
    os.makedirs(FIXTURES, exist_ok=True)
    with open(JSON_PATH, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    for case in cases:
        print(f"{case['name']}: history keys {case['history_keys']}", file=sys.stderr)
    print(f"wrote {os.path.normpath(JSON_PATH)} and {os.path.normpath(NPZ_PATH)}", file=sys.stderr)


if __name__ == "__main__":
    main()
