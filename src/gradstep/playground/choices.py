"""What the page may choose, and its checked form: the playground's config.

A config is a plain dict (JSON from the page). ``validate_config`` fills in
the defaults and raises a ``ValueError`` naming the field for anything else.
Its fields (``DEFAULT_CONFIG`` holds the defaults, Playground's where it has one):

- ``dataset`` (a name of ``datasets.DATASETS``, or ``"csv"`` for an uploaded
  file), ``samples``, ``noise``, ``test_ratio``, ``data_seed``: the data;
- ``features``: the inputs, names from ``datasets.FEATURES``;
- ``hidden_layers``: units per hidden layer (``[4, 2]``; ``[]`` is a linear model);
- ``activation``: the hidden layers' activation;
- ``loss``: a loss that fits the task (``LOSSES``), which decides the output
  activation (sigmoid for cross-entropy, tanh for hinge, none for regression);
  ``None`` takes the task's first;
- ``optimizer`` (a name of gradstep's catalogue) and ``optimizer_options``
  (its hyperparameters, ``catalog()["optimizers"]`` lists them with defaults);
- ``learning_rate``; ``schedule`` (``"none"`` or a name of ``SCHEDULES``) and
  ``schedule_options`` (its arguments; the learning rate fills its first);
- ``batch_size``;
- ``regularization`` (``"none"``, ``"l1"``, ``"l2"``, on every kernel) and
  ``regularization_rate``; ``dropout`` (a rate after each hidden layer);
- ``seed``: the initial weights, the dropout masks and the batch order
  (``None``: the session draws one).
"""

from __future__ import annotations

import copy
import inspect

from gradstep import activations, layers, regularizers
from gradstep.models.sequential import Sequential
from gradstep.optimizers import OPTIMIZERS, Optimizer, schedules
from gradstep.playground.datasets import (
    CLASSIFICATION,
    DATASETS,
    FEATURES,
    REGRESSION,
    check_features,
)
from gradstep.validation import check_int, check_real, is_int, is_real

#: The losses that fit each task, each with the output layer's activation.
LOSSES = {
    CLASSIFICATION: {
        "binary_crossentropy": "sigmoid",
        "binary_focal_crossentropy": "sigmoid",
        "mean_squared_error": "sigmoid",
        "mean_absolute_error": "sigmoid",
        "hinge": "tanh",
        "squared_hinge": "tanh",
    },
    REGRESSION: {
        "mean_squared_error": "linear",
        "mean_absolute_error": "linear",
        "huber": "linear",
        "log_cosh": "linear",
    },
}
ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear", "leaky_relu", "elu", "selu", "gelu", "silu"]
ACTIVATIONS += ["softplus", "softsign"]
REGULARIZATIONS = ["none", "l1", "l2"]
MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 8
MAX_SEED = 2**31 - 1
MAX_SAMPLES = 10000

#: Each schedule: the argument the learning rate fills (None: the schedule's
#: own values give the rates) and the other arguments with the page's defaults.
SCHEDULES = {
    "exponential_decay": (
        "initial_learning_rate",
        {"decay_steps": 100, "decay_rate": 0.5, "staircase": False},
    ),
    "inverse_time_decay": (
        "initial_learning_rate",
        {"decay_steps": 100, "decay_rate": 0.5, "staircase": False},
    ),
    "polynomial_decay": (
        "initial_learning_rate",
        {"decay_steps": 1000, "end_learning_rate": 0.0001, "power": 1.0, "cycle": False},
    ),
    "cosine_decay": ("initial_learning_rate", {"decay_steps": 1000, "alpha": 0.0}),
    "cosine_decay_restarts": (
        "initial_learning_rate",
        {"first_decay_steps": 200, "t_mul": 2.0, "m_mul": 1.0, "alpha": 0.0},
    ),
    "piecewise_constant": (None, {"boundaries": [500, 1000], "values": [0.03, 0.01, 0.003]}),
    "linear_warmup": ("learning_rate", {"warmup_steps": 100, "start_factor": 1 / 3}),
    "one_cycle": (
        "max_lr",
        {"total_steps": 1000, "pct_start": 0.3, "div_factor": 25.0, "cycle_momentum": False},
    ),
    "cyclic": ("base_lr", {"max_lr": 0.1, "step_size_up": 200, "cycle_momentum": False}),
    "inverse_scaling": ("initial_learning_rate", {"power_t": 0.5}),
}

DEFAULT_CONFIG = {
    "dataset": "circle",
    "samples": 400,
    "noise": 0.0,
    "test_ratio": 0.5,
    "data_seed": 0,
    "features": ["x1", "x2"],
    "hidden_layers": [4, 2],
    "activation": "tanh",
    "loss": None,
    "optimizer": "sgd",
    "optimizer_options": {},
    "learning_rate": 0.03,
    "schedule": "none",
    "schedule_options": {},
    "batch_size": 10,
    "regularization": "none",
    "regularization_rate": 0.0,
    "dropout": 0.0,
    "seed": None,
}
_BASE_OPTIONS = set(inspect.signature(Optimizer.__init__).parameters) - {"weight_decay"}


# --- the catalogue -----------------------------------------------------------------------
def optimizer_classes() -> dict[str, type]:
    """Every optimizer of gradstep's catalogue once, by its first registered name."""
    found: dict[str, type] = {}
    for name in OPTIMIZERS.names():
        cls = OPTIMIZERS.lookup(name)
        if cls not in found.values():
            found[name] = cls
    return found


def optimizer_hyperparameters(cls: type) -> dict[str, object]:
    """An optimizer's own numeric and boolean arguments, with their defaults
    (the learning rate aside: the config has it)."""
    options = {}
    for parameter in inspect.signature(cls.__init__).parameters.values():
        default = parameter.default
        if parameter.name in _BASE_OPTIONS or parameter.name == "self":
            continue
        if isinstance(default, bool) or is_real(default):
            options[parameter.name] = default
    return options


def schedule_class(name: str) -> type:
    return schedules.SCHEDULES.lookup(name, "schedule")


def catalog() -> dict:
    """Everything the page offers, as plain data (JSON)."""
    return {
        "datasets": [{"name": name, "task": task} for name, (task, _) in DATASETS.items()]
        + [{"name": "csv", "task": None}],
        "features": list(FEATURES),
        "activations": list(ACTIVATIONS),
        "losses": {task: list(losses) for task, losses in LOSSES.items()},
        "optimizers": [
            {
                "name": name,
                "class_name": cls.__name__,
                "learning_rate": inspect.signature(cls.__init__)
                .parameters["learning_rate"]
                .default,
                "hyperparameters": optimizer_hyperparameters(cls),
                "full_batch": bool(cls.full_batch),
            }
            for name, cls in optimizer_classes().items()
        ],
        "schedules": [
            {
                "name": name,
                "class_name": schedule_class(name).__name__,
                "learning_rate_argument": rate_argument,
                "arguments": copy.deepcopy(arguments),
            }
            for name, (rate_argument, arguments) in SCHEDULES.items()
        ],
        "regularizations": list(REGULARIZATIONS),
        "limits": {"hidden_layers": MAX_HIDDEN_LAYERS, "units": MAX_UNITS, "seed": MAX_SEED},
        "defaults": copy.deepcopy(DEFAULT_CONFIG),
    }


# --- checking a config -------------------------------------------------------------------
def validate_config(config, task: str | None = None) -> dict:
    """``config`` checked, with every missing field at its default.

    Args:
        config: a dict of fields (see the module's docstring).
        task: the task of an uploaded CSV file, which ``dataset="csv"`` needs
            (None: no file was uploaded).

    Raises:
        ValueError: naming the field, what it must be and what it was.
    """
    if not isinstance(config, dict):
        raise ValueError(f"config must be a JSON object, received {type(config).__name__}")
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ValueError(
            f"config has no field {unknown[0]!r}; its fields are {', '.join(DEFAULT_CONFIG)}"
        )
    checked = {**copy.deepcopy(DEFAULT_CONFIG), **copy.deepcopy(config)}
    task = _check_data(checked, task)
    checked["features"] = check_features(checked["features"], "config.features")
    checked["hidden_layers"] = _check_hidden_layers(checked["hidden_layers"])
    _check_choice(checked, "activation", ACTIVATIONS)
    if checked["loss"] is None:
        checked["loss"] = next(iter(LOSSES[task]))
    _check_choice(checked, "loss", list(LOSSES[task]), f" for a {task} set")
    _check_choice(checked, "optimizer", list(optimizer_classes()))
    checked["learning_rate"] = float(
        check_real(
            checked["learning_rate"], "config.learning_rate", low=0, high=10, include_low=False
        )
    )
    checked["optimizer_options"] = _check_options(
        checked["optimizer_options"],
        optimizer_hyperparameters(optimizer_classes()[checked["optimizer"]]),
        "config.optimizer_options",
    )
    _check_schedule(checked)
    checked["batch_size"] = _check_count(checked["batch_size"], "config.batch_size", 1, MAX_SAMPLES)
    _check_choice(checked, "regularization", REGULARIZATIONS)
    checked["regularization_rate"] = float(
        check_real(checked["regularization_rate"], "config.regularization_rate", low=0, high=10)
    )
    checked["dropout"] = float(check_real(checked["dropout"], "config.dropout", low=0, high=0.9))
    if checked["seed"] is not None:
        checked["seed"] = _check_count(checked["seed"], "config.seed", 0, MAX_SEED)
    build_optimizer(checked)  # the optimizer's own checks, named by field
    return checked


def task_of(config: dict, csv_task: str | None = None) -> str:
    """The task of the config's data set."""
    return csv_task if config["dataset"] == "csv" else DATASETS[config["dataset"]][0]


def _check_data(checked: dict, csv_task: str | None) -> str:
    if checked["dataset"] == "csv":
        if csv_task is None:
            raise ValueError("config.dataset is 'csv', but no CSV file was uploaded")
    else:
        _check_choice(checked, "dataset", list(DATASETS) + ["csv"])
    checked["samples"] = _check_count(checked["samples"], "config.samples", 10, MAX_SAMPLES)
    checked["noise"] = float(check_real(checked["noise"], "config.noise", low=0, high=1))
    checked["test_ratio"] = float(
        check_real(checked["test_ratio"], "config.test_ratio", low=0.1, high=0.9)
    )
    checked["data_seed"] = _check_count(checked["data_seed"], "config.data_seed", 0, MAX_SEED)
    return task_of(checked, csv_task)


def _check_count(value, field: str, minimum: int, maximum: int) -> int:
    """An integer field in [minimum, maximum], named in the error otherwise."""
    value = check_int(value, field, minimum=minimum)
    if value > maximum:
        raise ValueError(f"{field} must be at most {maximum}, received {value}")
    return value


def _check_choice(checked: dict, field: str, allowed: list[str], where: str = "") -> None:
    if checked[field] not in allowed:
        raise ValueError(
            f"config.{field} must be one of {', '.join(allowed)}{where}, "
            f"received {checked[field]!r}"
        )


def _check_hidden_layers(hidden) -> list[int]:
    if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN_LAYERS:
        raise ValueError(
            f"config.hidden_layers must be a list of at most {MAX_HIDDEN_LAYERS} unit counts, "
            f"received {hidden!r}"
        )
    for units in hidden:
        if not is_int(units) or not 1 <= units <= MAX_UNITS:
            raise ValueError(
                f"config.hidden_layers holds {units!r}; each layer needs 1 to {MAX_UNITS} units"
            )
    return [int(units) for units in hidden]


def _check_options(options, defaults: dict, field: str) -> dict:
    """``options`` over ``defaults``, each of its default's kind."""
    if not isinstance(options, dict):
        raise ValueError(f"{field} must be an object, received {options!r}")
    for name, value in options.items():
        if name not in defaults:
            known = ", ".join(defaults) or "none"
            raise ValueError(f"{field} has no option {name!r}; its options are: {known}")
        _check_kind(value, defaults[name], f"{field}.{name}")
    return {**copy.deepcopy(defaults), **options}


def _check_kind(value, default, field: str) -> None:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        expected = "true or false"
    elif is_int(default) and not isinstance(default, float):
        ok = is_int(value)
        expected = "an integer"
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(
            is_real(v) and v == v and abs(v) != float("inf") for v in value
        )
        expected = "a list of numbers"
    else:
        ok = is_real(value) and value == value and abs(value) != float("inf")
        expected = "a finite number"
    if not ok:
        raise ValueError(f"{field} must be {expected}, received {value!r}")


def _check_schedule(checked: dict) -> None:
    if checked["schedule"] == "none":
        checked["schedule_options"] = _check_options(
            checked["schedule_options"], {}, "config.schedule_options"
        )
        return
    _check_choice(checked, "schedule", ["none", *SCHEDULES])
    _, defaults = SCHEDULES[checked["schedule"]]
    checked["schedule_options"] = _check_options(
        checked["schedule_options"], defaults, "config.schedule_options"
    )
    build_schedule(checked)


# --- building ----------------------------------------------------------------------------
def build_schedule(config: dict):
    """The config's learning rate: a float, or a gradstep schedule."""
    if config["schedule"] == "none":
        return config["learning_rate"]
    rate_argument, _ = SCHEDULES[config["schedule"]]
    arguments = dict(config["schedule_options"])
    if rate_argument is not None:
        arguments[rate_argument] = config["learning_rate"]
    try:
        return schedule_class(config["schedule"])(**arguments)
    except (TypeError, ValueError) as error:
        raise ValueError(f"config.schedule_options: {error}") from None


def build_optimizer(config: dict) -> Optimizer:
    cls = optimizer_classes()[config["optimizer"]]
    try:
        return cls(learning_rate=build_schedule(config), **config["optimizer_options"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"config.optimizer_options: {error}") from None


def output_activation(config: dict, task: str) -> str:
    return LOSSES[task][config["loss"]]


def build_model(config: dict, task: str, seed: int) -> Sequential:
    """The network: the features in, ``hidden_layers`` Dense layers (each
    followed by Dropout when ``dropout`` > 0), one output unit; its initial
    weights and dropout masks drawn from ``seed``; compiled with the
    config's loss and optimizer."""
    regularizer = _regularizer(config)
    stack = [layers.Input(shape=(len(config["features"]),), name="features")]
    for number, units in enumerate(config["hidden_layers"], start=1):
        stack.append(
            layers.Dense(
                units,
                activation=config["activation"],
                kernel_regularizer=regularizer,
                name=f"hidden_{number}",
            )
        )
        if config["dropout"] > 0:
            stack.append(layers.Dropout(config["dropout"], name=f"dropout_{number}"))
    stack.append(
        layers.Dense(
            1,
            activation=output_activation(config, task),
            kernel_regularizer=regularizer,
            name="output",
        )
    )
    model = Sequential(stack, seed=seed, name="playground")
    model.compile(optimizer=build_optimizer(config), loss=config["loss"])
    return model


def _regularizer(config: dict):
    rate = config["regularization_rate"]
    if config["regularization"] == "none" or rate == 0:
        return None
    return regularizers.L1(rate) if config["regularization"] == "l1" else regularizers.L2(rate)


def activation_function(name: str):
    """The NumPy function of an activation name (for drawing the neurons)."""
    return activations.get(name)
