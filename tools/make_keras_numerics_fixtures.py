"""Float64 golden values from Keras 3 ops for activations, losses and optimizers.

Produces tests/fixtures/keras_numerics.json:
  {"generated_by", "keras_version", "jax_version", "numpy_version",
   "floatx": "float64", "epsilon",
   "activations": {name: {"function", "kwargs", "x", "y", "G", "vjp"}},
   "activation_defaults": {...},
   "losses": [{"name", "class", "config", "y_true", "y_pred", "value",
               "values_none", "grad", "keras_config"}],
   "optimizers": [{"name", "class", "config", "initial", "gradients",
                   "trajectory", "keras_config"}]}

"vjp" is the gradient of sum(f(x) * G) with respect to x (jax.vjp).
"grad" is the gradient of the default-reduced loss with respect to y_pred.
"trajectory"[i] is the variable after the (i+1)-th apply_gradients call.
All values are float64 (JAX runs with x64 enabled, Keras floatx float64).

Keras 3 on JAX/torch silently demotes float64 to float32 wherever an op
calls keras.backend.result_type (e.g. ops.tanh, ops.power, ops.sin), because
keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE maps "float64" to
"float32" on every backend except TensorFlow. To get genuine float64 goldens
this script gives that map TensorFlow's entry ("float64" stays "float64")
while computing; it also computes everything once unpatched and records the
largest relative difference per entry under "unpatched_jax_max_rel_diff".

Run with the reference virtualenv (Keras 3 + JAX):
    KERAS_BACKEND=jax python tools/make_keras_numerics_fixtures.py
"""

import inspect
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JSON_PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "keras_numerics.json")
GENERATED_BY = "tools/make_keras_numerics_fixtures.py"


def tolist(a):
    return np.asarray(a, dtype=np.float64).tolist()


def f64(a):
    return jnp.asarray(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------- activations

ACTIVATION_X = [
    [-3.5, -1.0, 0.0, 0.5, 2.0],
    [4.0, -0.25, 1.0, -2.0, 3.0],
    [-3.0, 0.1, -0.5, 6.0, -10.0],
]

# (entry name, keras.activations name, kwargs). Defaults are Keras's own.
ACTIVATIONS = [
    ("linear", "linear", {}),
    ("relu", "relu", {}),
    ("sigmoid", "sigmoid", {}),
    ("tanh", "tanh", {}),
    ("softmax", "softmax", {}),
    ("leaky_relu", "leaky_relu", {}),
    ("elu", "elu", {}),
    ("selu", "selu", {}),
    ("gelu", "gelu", {}),
    ("gelu_approximate", "gelu", {"approximate": True}),
    ("softplus", "softplus", {}),
    ("softsign", "softsign", {}),
    ("swish", "swish", {}),
    ("silu", "silu", {}),
    ("exponential", "exponential", {}),
    ("hard_sigmoid", "hard_sigmoid", {}),
    ("relu6", "relu6", {}),
    ("hard_silu", "hard_silu", {}),
    ("mish", "mish", {}),
    ("celu", "celu", {}),
    ("log_softmax", "log_softmax", {}),
]


def activation_case(function, kwargs, x, g):
    fn = keras.activations.get(function)
    y, vjp = jax.vjp(lambda t: jnp.asarray(fn(t, **kwargs), jnp.float64), x)
    return {
        "function": function,
        "kwargs": kwargs,
        "x": tolist(x),
        "y": tolist(y),
        "G": tolist(g),
        "vjp": tolist(vjp(g)[0]),
    }


def activations():
    x = f64(ACTIVATION_X)
    g = f64(np.random.default_rng(2024).normal(size=x.shape))
    return {name: activation_case(function, kwargs, x, g) for name, function, kwargs in ACTIVATIONS}


def default_kwargs(fn):
    return {
        k: p.default
        for k, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def activation_defaults():
    """Keyword defaults of the activation functions and related layers."""
    names = sorted({function for _, function, _ in ACTIVATIONS})
    out = {name: default_kwargs(keras.activations.get(name)) for name in names}
    out["layers.LeakyReLU"] = default_kwargs(keras.layers.LeakyReLU.__init__)
    out["layers.ELU"] = default_kwargs(keras.layers.ELU.__init__)
    out["ops.gelu"] = default_kwargs(keras.ops.gelu)
    return out


# ---------------------------------------------------------------- losses

BCE_TRUE = [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.3, 0.0]]
BCE_PROBS = [[0.0, 1.0], [1.0, 0.0], [0.3, 0.9], [0.5, 1e-9], [0.7, 0.2]]
BCE_LOGITS = [[-1000.0, 1000.0], [1000.0, -1000.0], [0.5, -2.0], [3.0, 0.0], [-0.7, 1.5]]
CCE_TRUE = [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
CCE_PROBS = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]
CCE_UNNORMALIZED = [[2.0, 1.0, 1.0], [0.5, 0.5, 1.0], [0.2, 0.3, 0.5], [0.1, 0.3, 0.2]]
CCE_LOGITS = [[5.0, -1.0, 0.0], [-1000.0, 1000.0, 0.0], [0.2, 0.3, 0.5], [1.0, -2.0, 3.0]]
SPARSE_TRUE = [0, 0, 2, 1]


def mse_data():
    rng = np.random.default_rng(7)
    return rng.normal(size=(4, 3)).tolist(), rng.normal(size=(4, 3)).tolist()


def loss_specs():
    """(case name, class name, config as passed, y_true, y_pred)."""
    mse_true, mse_pred = mse_data()
    return [
        ("mse", "MeanSquaredError", {}, mse_true, mse_pred),
        ("bce_probs", "BinaryCrossentropy", {}, BCE_TRUE, BCE_PROBS),
        ("bce_logits", "BinaryCrossentropy", {"from_logits": True}, BCE_TRUE, BCE_LOGITS),
        ("cce_probs", "CategoricalCrossentropy", {}, CCE_TRUE, CCE_PROBS),
        ("cce_unnormalized_probs", "CategoricalCrossentropy", {}, CCE_TRUE, CCE_UNNORMALIZED),
        ("cce_logits", "CategoricalCrossentropy", {"from_logits": True}, CCE_TRUE, CCE_LOGITS),
        (
            "cce_probs_smoothing",
            "CategoricalCrossentropy",
            {"label_smoothing": 0.1},
            CCE_TRUE,
            CCE_PROBS,
        ),
        (
            "cce_logits_smoothing",
            "CategoricalCrossentropy",
            {"from_logits": True, "label_smoothing": 0.1},
            CCE_TRUE,
            CCE_LOGITS,
        ),
        ("scce_probs", "SparseCategoricalCrossentropy", {}, SPARSE_TRUE, CCE_PROBS),
        (
            "scce_probs_column_labels",
            "SparseCategoricalCrossentropy",
            {},
            [[v] for v in SPARSE_TRUE],
            CCE_PROBS,
        ),
        (
            "scce_logits",
            "SparseCategoricalCrossentropy",
            {"from_logits": True},
            SPARSE_TRUE,
            CCE_LOGITS,
        ),
    ]


def loss_case(name, cls_name, config, y_true, y_pred):
    cls = getattr(keras.losses, cls_name)
    reduced = cls(**config)
    unreduced = cls(reduction="none", **config)
    t = np.asarray(y_true, dtype=np.int64 if "Sparse" in cls_name else np.float64)
    p = f64(y_pred)
    value, grad = jax.value_and_grad(lambda q: reduced(t, q))(p)
    return {
        "name": name,
        "class": cls_name,
        "config": config,
        "y_true": t.tolist(),
        "y_pred": tolist(p),
        "value": float(value),
        "values_none": tolist(unreduced(t, p)),
        "grad": tolist(grad),
        "keras_config": reduced.get_config(),
    }


def losses():
    return [loss_case(*spec) for spec in loss_specs()]


# ---------------------------------------------------------------- optimizers

OPTIMIZERS = [
    ("sgd_default", "SGD", {}),
    ("sgd_momentum", "SGD", {"momentum": 0.9}),
    ("sgd_nesterov", "SGD", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    ("adam_default", "Adam", {}),
    ("adam_amsgrad", "Adam", {"amsgrad": True}),
    ("rmsprop_default", "RMSprop", {}),
    ("rmsprop_centered", "RMSprop", {"centered": True}),
    ("rmsprop_momentum", "RMSprop", {"momentum": 0.5}),
]
INITIAL = [1.0, -2.0, 3.0]


def optimizer_gradients(steps=20):
    return np.random.default_rng(12345).normal(size=(steps, len(INITIAL)))


def optimizer_case(name, cls_name, config, gradients):
    optimizer = getattr(keras.optimizers, cls_name)(**config)
    variable = keras.Variable(np.asarray(INITIAL), dtype="float64")
    trajectory = []
    for g in gradients:
        optimizer.apply_gradients([(f64(g), variable)])
        trajectory.append(tolist(variable.value))
    return {
        "name": name,
        "class": cls_name,
        "config": config,
        "initial": INITIAL,
        "gradients": tolist(gradients),
        "trajectory": trajectory,
        "keras_config": jsonable_config(optimizer.get_config()),
    }


def jsonable_config(config):
    return {
        k: (v if isinstance(v, (str, int, float, bool, type(None))) else repr(v))
        for k, v in config.items()
    }


def optimizers():
    gradients = optimizer_gradients()
    return [
        optimizer_case(name, cls_name, config, gradients) for name, cls_name, config in OPTIMIZERS
    ]


# ---------------------------------------------------------------- float64


def set_float64_demotion(enabled):
    """Keras's JAX/torch promotion rule (float64 -> float32) on or off."""
    from keras.src.backend.common import dtypes

    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float32" if enabled else "float64"


def compute_all():
    return {"activations": activations(), "losses": losses(), "optimizers": optimizers()}


def max_rel_diff(a, b):
    """Largest |a - b| / max(|b|, 1e-300) over the numeric leaves of a and b."""
    if isinstance(a, dict):
        return max([max_rel_diff(a[k], b[k]) for k in a] or [0.0])
    if isinstance(a, list) and a and isinstance(a[0], (list, dict, float, int)):
        return max(max_rel_diff(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, float):
        return abs(a - b) / max(abs(b), 1e-300)
    return 0.0


def unpatched_differences(unpatched, patched):
    out = {
        "activations": {
            name: max_rel_diff(unpatched["activations"][name], entry)
            for name, entry in patched["activations"].items()
        }
    }
    for section in ("losses", "optimizers"):
        out[section] = {
            e["name"]: max_rel_diff(u, e)
            for u, e in zip(unpatched[section], patched[section], strict=True)
        }
    return out


# ---------------------------------------------------------------- main


def main():
    keras.config.set_floatx("float64")
    set_float64_demotion(True)
    unpatched = compute_all()
    set_float64_demotion(False)
    patched = compute_all()
    out = {
        "generated_by": GENERATED_BY,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax_version": jax.__version__,
        "numpy_version": np.__version__,
        "floatx": keras.config.floatx(),
        "epsilon": keras.config.epsilon(),
        "float64_demotion_patched": True,
        "activation_defaults": activation_defaults(),
        **patched,
        "unpatched_jax_max_rel_diff": unpatched_differences(unpatched, patched),
    }
    os.makedirs(os.path.dirname(JSON_PATH), exist_ok=True)
    with open(JSON_PATH, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"wrote {os.path.normpath(JSON_PATH)}", file=sys.stderr)


if __name__ == "__main__":
    main()
