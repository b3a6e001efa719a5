"""Float64 golden parameters from Keras 3 and PyTorch optimizers, 50 steps.

Produces tests/fixtures/keras_optimizers.json:
  {"generated_by", "keras_version", "keras_backend", "jax_version", "torch_version",
   "numpy_version", "float64_demotion_patched": true, "steps", "snapshot_steps",
   "variables": [{"path", "initial"}],            # the parameters, in order
   "gradients": [[step 1 gradient per variable], ...],
   "keras": [{"name", "class", "config", "exclude_from_weight_decay",
              "snapshots", "iterations", "keras_config"}],
   "torch": [{"name", "class", "kwargs", "snapshots"},     # a constant learning rate
             {"name", "class", "kwargs", "scheduler", "learning_rates", "momenta",
              "snapshots"}],                            # a changing one
   "lbfgs": [{"name", "kwargs", "problem", "initial", "calls",
              "losses", "snapshots"}]}

"snapshots"[i] holds every parameter after "snapshot_steps"[i] calls of the
optimizer (apply_gradients in Keras, step() in PyTorch) on the fixed
"gradients" sequence. A learning-rate schedule in a "config" is written as
{"class_name", "config"} (gradstep's schedules have Keras's names).

Keras runs on JAX with x64 enabled, floatx float64, and Keras's float64 ->
float32 demotion switched off as in tools/make_keras_numerics_fixtures.py, so
every value is genuine float64; each step is the optimizer's stateless_apply
compiled with jax.jit, as Keras's JAX trainer runs it. The variables carry paths such as
"dense/kernel" (Keras's exclude_from_weight_decay reads the name "kernel",
Muon the path).

PyTorch runs each torch.optim optimizer on leaf tensors of float64 whose .grad
is set to the same gradients (torch's defaults unless stated in "kwargs").
A case with a "scheduler" ({"class_name", "kwargs"} of a
torch.optim.lr_scheduler class, stepped after every optimizer step) changes
the learning rate (and, with cycle_momentum, the momentum) every step;
"learning_rates"[i] and "momenta"[i] are the group's "lr" and "momentum"
that step i + 1 used, so a test needs no scheduler to replay it.
L-BFGS minimizes fixed problems with a closure: "rosenbrock" (f(x, y) =
(1 - x)^2 + 100 (y - x^2)^2) and "mlp" (Dense(4, tanh) -> Dense(2), mean
squared error on 16 samples; "problem" holds the data and the initial weights
as gradstep arrays, kernel (inputs, units)); "snapshots"[i] and "losses"[i]
(the loss step() returns) after the (i+1)-th step() call.

Run with the reference virtualenv (Keras 3 + JAX, torch):
    KERAS_BACKEND=jax python tools/make_keras_optimizer_fixtures.py
"""

import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras.src import backend  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JSON_PATH = os.path.join(HERE, os.pardir, "tests", "fixtures", "keras_optimizers.json")
GENERATED_BY = "tools/make_keras_optimizer_fixtures.py"

STEPS = 50
SNAPSHOT_STEPS = [1, 2, 10, 50]

# (path, shape): a wide and a tall matrix, a vector, a 3-D tensor and an
# "embedding" matrix, so that Adafactor factors and Muon chooses both ways.
VARIABLES = [
    ("dense/kernel", (3, 4)),
    ("dense/bias", (4,)),
    ("output/kernel", (5, 2)),
    ("conv/kernel", (2, 3, 2)),
    ("embedding/embeddings", (4, 3)),
]

SCHEDULE = {
    "class_name": "ExponentialDecay",
    "config": {"initial_learning_rate": 0.05, "decay_steps": 10, "decay_rate": 0.5},
}


def initial_values():
    rng = np.random.default_rng(20241126)
    return [rng.normal(size=shape) for _, shape in VARIABLES]


def gradient_sequence():
    """50 steps of gradients; their scale changes over time so that epsilon,
    clipping and the moments' decay all matter."""
    rng = np.random.default_rng(777)
    steps = []
    for step in range(STEPS):
        scale = 10.0 ** (-(step % 4)) if step % 7 else 3.0
        steps.append([rng.normal(size=shape) * scale for _, shape in VARIABLES])
    return steps


# ---------------------------------------------------------------- Keras cases

# A learning rate that moves the weights visibly in 50 steps, per optimizer.
MOVING_RATE = {
    "SGD": 0.05,
    "RMSprop": 0.01,
    "Adam": 0.05,
    "AdamW": 0.05,
    "Adagrad": 0.1,
    "Adadelta": 1.0,
    "Adamax": 0.05,
    "Nadam": 0.05,
    "Lion": 0.01,
    "Ftrl": 0.1,
    "Adafactor": 0.05,
    "Lamb": 0.05,
    "Muon": 0.02,
    "ScheduleFreeAdamW": 0.05,
}

COMMON_OPTIONS = [
    ("moving", {}),
    ("weight_decay", {"weight_decay": 0.05}),
    ("clipnorm", {"clipnorm": 0.5}),
    ("clipvalue", {"clipvalue": 0.3}),
    ("global_clipnorm", {"global_clipnorm": 1.0}),
    ("ema", {"use_ema": True, "ema_momentum": 0.9}),
    ("ema_overwrite", {"use_ema": True, "ema_momentum": 0.8, "ema_overwrite_frequency": 7}),
    ("accumulation", {"gradient_accumulation_steps": 3}),
]

OWN_OPTIONS = {
    "SGD": [
        ("momentum", {"momentum": 0.9}),
        ("nesterov", {"momentum": 0.9, "nesterov": True}),
        ("momentum_accumulation", {"momentum": 0.5, "gradient_accumulation_steps": 2}),
    ],
    "RMSprop": [
        ("momentum", {"momentum": 0.9}),
        ("centered", {"centered": True}),
        ("centered_momentum", {"centered": True, "momentum": 0.5, "rho": 0.8}),
    ],
    "Adam": [("amsgrad", {"amsgrad": True}), ("betas", {"beta_1": 0.5, "beta_2": 0.9})],
    "AdamW": [("amsgrad", {"amsgrad": True}), ("strong_decay", {"weight_decay": 0.5})],
    "Adagrad": [("no_initial", {"initial_accumulator_value": 0.0, "epsilon": 1e-3})],
    "Adadelta": [("rho", {"rho": 0.9, "epsilon": 1e-6})],
    "Adamax": [("betas", {"beta_1": 0.8, "beta_2": 0.99})],
    "Nadam": [("betas", {"beta_1": 0.8, "beta_2": 0.99})],
    "Lion": [("betas", {"beta_1": 0.5, "beta_2": 0.9})],
    "Ftrl": [
        ("l1", {"l1_regularization_strength": 0.05}),
        ("l2", {"l2_regularization_strength": 0.1, "beta": 0.5}),
        ("shrinkage", {"l2_shrinkage_regularization_strength": 0.1}),
        ("power", {"learning_rate_power": -0.3, "initial_accumulator_value": 0.5}),
        ("fixed_rate", {"learning_rate_power": 0.0}),
    ],
    "Adafactor": [
        ("absolute_step", {"relative_step": False, "learning_rate": 0.5}),
        ("clip", {"clip_threshold": 0.1, "epsilon_2": 0.1, "beta_2_decay": -0.5}),
    ],
    "Lamb": [("betas", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3})],
    "Muon": [
        ("no_nesterov", {"nesterov": False}),
        ("no_rms_rate", {"rms_rate": None}),
        ("exclude_layers", {"exclude_layers": ["output"], "adam_lr_ratio": 0.1}),
        ("embeddings_muon", {"exclude_embeddings": False, "ns_steps": 3, "momentum": 0.9}),
        ("weight_decays", {"weight_decay": 0.1, "adam_weight_decay": 0.2}),
    ],
    "ScheduleFreeAdamW": [
        ("warmup", {"warmup_steps": 10}),
        ("betas", {"beta_1": 0.5, "beta_2": 0.99, "epsilon": 1e-3}),
    ],
}

# (case name, class, config, exclude_from_weight_decay var_names)
EXCLUSIONS = [
    ("AdamW_exclude_bias", "AdamW", {"learning_rate": 0.05, "weight_decay": 0.5}, ["bias"]),
    ("SGD_exclude_kernel", "SGD", {"learning_rate": 0.05, "weight_decay": 0.5}, ["kernel"]),
]


def keras_specs():
    specs = []
    for class_name, rate in MOVING_RATE.items():
        specs.append((f"{class_name}_default", class_name, {}, None))
        for option, config in COMMON_OPTIONS:
            specs.append(
                (f"{class_name}_{option}", class_name, {"learning_rate": rate, **config}, None)
            )
        specs.append((f"{class_name}_schedule", class_name, {"learning_rate": SCHEDULE}, None))
        for option, config in OWN_OPTIONS.get(class_name, []):
            specs.append(
                (f"{class_name}_{option}", class_name, {"learning_rate": rate, **config}, None)
            )
    specs.extend(EXCLUSIONS)
    return specs


def keras_learning_rate(value):
    if isinstance(value, dict):
        cls = getattr(keras.optimizers.schedules, value["class_name"])
        return cls(**value["config"])
    return value


def keras_variables(values):
    variables = []
    for (path, _), value in zip(VARIABLES, values, strict=True):
        scope, name = path.split("/")
        with backend.name_scope(scope):
            variables.append(keras.Variable(np.array(value), name=name, dtype="float64"))
    return variables


def keras_case(name, class_name, config, exclude, values, gradients):
    print(f"keras {name}", file=sys.stderr, flush=True)
    arguments = dict(config)
    if "learning_rate" in arguments:
        arguments["learning_rate"] = keras_learning_rate(arguments["learning_rate"])
    optimizer = getattr(keras.optimizers, class_name)(**arguments)
    if exclude is not None:
        optimizer.exclude_from_weight_decay(var_names=exclude)
    variables = keras_variables(values)
    optimizer.build(variables)
    # As Keras's JAX trainer does: the optimizer's stateless_apply, compiled once.
    apply = jax.jit(optimizer.stateless_apply)
    trainable = [v.value for v in variables]
    state = [v.value for v in optimizer.variables]
    snapshots = []
    for step, step_gradients in enumerate(gradients, start=1):
        trainable, state = apply(state, [jnp.asarray(g) for g in step_gradients], trainable)
        if step in SNAPSHOT_STEPS:
            snapshots.append([np.asarray(v, dtype=np.float64).tolist() for v in trainable])
    for variable, value in zip(optimizer.variables, state, strict=True):
        variable.assign(value)
    return {
        "name": name,
        "class": class_name,
        "config": config,
        "exclude_from_weight_decay": exclude,
        "snapshots": snapshots,
        "iterations": int(optimizer.iterations),
        "keras_config": jsonable(optimizer.get_config()),
    }


def jsonable(config):
    return {
        k: (v if isinstance(v, (str, int, float, bool, list, type(None))) else repr(v))
        for k, v in config.items()
    }


# ---------------------------------------------------------------- PyTorch cases

TORCH_CASES = [
    ("SGD_default", "SGD", {"lr": 0.05}),
    ("SGD_momentum", "SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD_nesterov", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("RMSprop_default", "RMSprop", {}),
    ("RMSprop_momentum", "RMSprop", {"momentum": 0.9}),
    ("RMSprop_centered", "RMSprop", {"centered": True, "momentum": 0.5, "alpha": 0.9}),
    ("RMSprop_eps0", "RMSprop", {"eps": 0.0, "centered": True}),
    ("Adam_default", "Adam", {}),
    ("Adam_moving", "Adam", {"lr": 0.05}),
    ("Adam_amsgrad", "Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam_eps0", "Adam", {"lr": 0.05, "eps": 0.0}),
    ("AdamW_default", "AdamW", {}),
    ("AdamW_moving", "AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("Adagrad_default", "Adagrad", {}),
    ("Adagrad_moving", "Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}),
    ("Adagrad_eps0", "Adagrad", {"lr": 0.1, "eps": 0.0, "initial_accumulator_value": 0.1}),
    ("Adadelta_default", "Adadelta", {}),
    ("Adadelta_rho", "Adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-7}),
    ("Adamax_default", "Adamax", {}),
    ("Adamax_eps0", "Adamax", {"lr": 0.05, "eps": 0.0}),
    ("NAdam_keras_schedule", "NAdam", {"lr": 0.05, "momentum_decay": 1.0, "eps": 1e-7}),
    ("NAdam_default", "NAdam", {}),
]

# A learning rate that changes every step: where PyTorch's momentum buffer
# (the rate outside it) and Keras's velocity (the rate inside it) part.
TORCH_SCHEDULED_CASES = [
    (
        "SGD_momentum_onecycle",
        "SGD",
        {"lr": 0.05, "momentum": 0.9},
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": STEPS, "cycle_momentum": False}),
    ),
    (
        "SGD_nesterov_exponential",
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
        ("ExponentialLR", {"gamma": 0.93}),
    ),
    (
        "SGD_nesterov_onecycle_cycled_momentum",
        "SGD",
        {"lr": 0.05, "momentum": 0.9, "nesterov": True},
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": STEPS}),
    ),
    (
        "RMSprop_momentum_onecycle",
        "RMSprop",
        {"momentum": 0.9},
        ("OneCycleLR", {"max_lr": 0.01, "total_steps": STEPS, "cycle_momentum": False}),
    ),
    (
        "RMSprop_momentum_step",
        "RMSprop",
        {"lr": 0.01, "momentum": 0.9},
        ("StepLR", {"step_size": 10, "gamma": 0.5}),
    ),
    (
        "RMSprop_centered_momentum_cyclic",
        "RMSprop",
        {"centered": True, "momentum": 0.9, "alpha": 0.9},
        (
            "CyclicLR",
            {
                "base_lr": 1e-3,
                "max_lr": 1e-2,
                "step_size_up": 5,
                "base_momentum": 0.5,
                "max_momentum": 0.9,
            },
        ),
    ),
]


def run_torch(class_name, kwargs, scheduler, values, gradients):
    """PyTorch's parameters at SNAPSHOT_STEPS, and the learning rate and the
    momentum that each step used."""
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    optimizer = getattr(torch.optim, class_name)(params, **kwargs)
    lr_scheduler = None
    if scheduler is not None:
        scheduler_class, scheduler_kwargs = scheduler
        lr_scheduler = getattr(torch.optim.lr_scheduler, scheduler_class)(
            optimizer, **scheduler_kwargs
        )
    snapshots, learning_rates, momenta = [], [], []
    for step, step_gradients in enumerate(gradients, start=1):
        for p, g in zip(params, step_gradients, strict=True):
            p.grad = torch.tensor(g, dtype=torch.float64)
        group = optimizer.param_groups[0]
        learning_rates.append(float(group["lr"]))
        momenta.append(float(group.get("momentum", 0.0)))
        optimizer.step()
        if lr_scheduler is not None:
            lr_scheduler.step()
        if step in SNAPSHOT_STEPS:
            snapshots.append([p.detach().numpy().astype(np.float64).tolist() for p in params])
    return snapshots, learning_rates, momenta


def torch_case(name, class_name, kwargs, values, gradients):
    snapshots, _, _ = run_torch(class_name, kwargs, None, values, gradients)
    return {"name": name, "class": class_name, "kwargs": kwargs, "snapshots": snapshots}


def torch_scheduled_case(name, class_name, kwargs, scheduler, values, gradients):
    print(f"torch {name}", file=sys.stderr, flush=True)
    snapshots, learning_rates, momenta = run_torch(class_name, kwargs, scheduler, values, gradients)
    scheduler_class, scheduler_kwargs = scheduler
    return {
        "name": name,
        "class": class_name,
        "kwargs": kwargs,
        "scheduler": {"class_name": scheduler_class, "kwargs": scheduler_kwargs},
        "learning_rates": learning_rates,
        "momenta": momenta,
        "snapshots": snapshots,
    }


# ---------------------------------------------------------------- L-BFGS

LBFGS_CASES = [
    ("rosenbrock_wolfe", "rosenbrock", {"line_search_fn": "strong_wolfe"}, 4),
    ("rosenbrock_fixed", "rosenbrock", {"lr": 0.01, "max_iter": 10}, 5),
    (
        "rosenbrock_history",
        "rosenbrock",
        {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 7},
        6,
    ),
    # three calls: on this non-convex problem round-off grows about 30-fold
    # per call (the same path, the same evaluations), so later calls compare
    # round-off rather than the algorithm
    ("mlp_wolfe", "mlp", {"line_search_fn": "strong_wolfe", "history_size": 3}, 3),
    ("mlp_fixed", "mlp", {"lr": 0.2, "max_iter": 15, "history_size": 5}, 4),
]


def mlp_problem():
    rng = np.random.default_rng(31)
    x = rng.normal(size=(16, 3))
    y = np.stack([np.sin(x[:, 0]) + x[:, 1], x[:, 2] * x[:, 0]], axis=1)
    weights = [
        rng.normal(size=(3, 4)) * 0.5,
        np.zeros(4),
        rng.normal(size=(4, 2)) * 0.5,
        np.zeros(2),
    ]
    return {"x": x.tolist(), "y": y.tolist(), "weights": [w.tolist() for w in weights]}


def rosenbrock_problem():
    return {"initial": [[-1.5, 2.0]]}


def lbfgs_case(name, problem_name, kwargs, calls):
    if problem_name == "rosenbrock":
        problem = rosenbrock_problem()
        params = [torch.tensor(problem["initial"][0], dtype=torch.float64, requires_grad=True)]

        def loss_fn():
            x, y = params[0][0], params[0][1]
            return (1 - x) ** 2 + 100 * (y - x**2) ** 2
    else:
        problem = mlp_problem()
        x = torch.tensor(problem["x"], dtype=torch.float64)
        y = torch.tensor(problem["y"], dtype=torch.float64)
        params = [
            torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in problem["weights"]
        ]

        def loss_fn():
            hidden = torch.tanh(x @ params[0] + params[1])
            return torch.mean((hidden @ params[2] + params[3] - y) ** 2)

    optimizer = torch.optim.LBFGS(params, **kwargs)

    def closure():
        optimizer.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    losses, snapshots = [], []
    for _ in range(calls):
        losses.append(float(optimizer.step(closure)))
        snapshots.append([p.detach().numpy().astype(np.float64).tolist() for p in params])
    state = optimizer.state[params[0]]
    return {
        "name": name,
        "kwargs": kwargs,
        "problem_name": problem_name,
        "problem": problem,
        "calls": calls,
        "losses": losses,
        "snapshots": snapshots,
        "func_evals": int(state["func_evals"]),
        "n_iter": int(state["n_iter"]),
    }


# ---------------------------------------------------------------- main


def set_float64_demotion(enabled):
    """Keras's JAX/torch promotion rule (float64 -> float32) on or off."""
    from keras.src.backend.common import dtypes

    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float32" if enabled else "float64"


def main():
    keras.config.set_floatx("float64")
    set_float64_demotion(False)
    torch.set_default_dtype(torch.float64)
    values = initial_values()
    gradients = gradient_sequence()
    keras_cases = [keras_case(*spec, values, gradients) for spec in keras_specs()]
    torch_cases = [torch_case(*spec, values, gradients) for spec in TORCH_CASES]
    torch_cases += [
        torch_scheduled_case(*spec, values, gradients) for spec in TORCH_SCHEDULED_CASES
    ]
    lbfgs_cases = [lbfgs_case(*spec) for spec in LBFGS_CASES]
    out = {
        "generated_by": GENERATED_BY,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax_version": jax.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "float64_demotion_patched": True,
        "steps": STEPS,
        "snapshot_steps": SNAPSHOT_STEPS,
        "variables": [
            {"path": path, "initial": value.tolist()}
            for (path, _), value in zip(VARIABLES, values, strict=True)
        ],
        "gradients": [[g.tolist() for g in step] for step in gradients],
        "keras": keras_cases,
        "torch": torch_cases,
        "lbfgs": lbfgs_cases,
    }
    os.makedirs(os.path.dirname(JSON_PATH), exist_ok=True)
    with open(JSON_PATH, "w") as fh:
        json.dump(out, fh, separators=(",", ":"))
        fh.write("\n")
    print(
        f"wrote {os.path.normpath(JSON_PATH)}: {len(keras_cases)} Keras, {len(torch_cases)} "
        f"PyTorch, {len(lbfgs_cases)} L-BFGS cases",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
