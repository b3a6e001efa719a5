"""The page's run as a program, and its model as a file.

``gradstep_script``, ``keras_script`` and ``pytorch_script`` write a Python
program that rebuilds the data, the network and the training run of a
session (the same batches in the same order, see ``session.py``) and prints
the final losses. The gradstep program reproduces the page's final loss
from the same seed. The Keras and PyTorch programs start from the page's
initial weights (written into the program) and take the same batches, so
they follow the page's run up to their frameworks' round-off, except where
noted in the program: their dropout masks are their own, and PyTorch's
optimizers put epsilon where PyTorch does.

``keras_file`` and ``onnx_file`` write the trained model with gradstep's
own ``model.save`` (a Keras 3 ``.keras`` archive) and ONNX export.
``export(session, kind)`` gives any of the five as a file to download.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from gradstep.playground import choices
from gradstep.playground.datasets import PlaneData

#: kind -> (file name, media type)
KINDS = {
    "gradstep": ("playground_gradstep.py", "text/x-python"),
    "keras": ("playground_keras.py", "text/x-python"),
    "pytorch": ("playground_pytorch.py", "text/x-python"),
    "keras-model": ("playground.keras", "application/octet-stream"),
    "onnx": ("playground.onnx", "application/octet-stream"),
}

_FEATURE_CODE = {
    "x1": "points[:, 0]",
    "x2": "points[:, 1]",
    "x1^2": "points[:, 0] * points[:, 0]",
    "x2^2": "points[:, 1] * points[:, 1]",
    "x1*x2": "points[:, 0] * points[:, 1]",
    "sin(x1)": "np.sin(points[:, 0])",
    "sin(x2)": "np.sin(points[:, 1])",
}
_KERAS_SCHEDULES = {
    "exponential_decay": "ExponentialDecay",
    "inverse_time_decay": "InverseTimeDecay",
    "polynomial_decay": "PolynomialDecay",
    "cosine_decay": "CosineDecay",
    "cosine_decay_restarts": "CosineDecayRestarts",
    "piecewise_constant": "PiecewiseConstantDecay",
}
_TORCH_ACTIVATIONS = {
    "tanh": "nn.Tanh()",
    "relu": "nn.ReLU()",
    "sigmoid": "nn.Sigmoid()",
    "linear": "nn.Identity()",
    "leaky_relu": "nn.LeakyReLU(0.2)",
    "elu": "nn.ELU()",
    "selu": "nn.SELU()",
    "gelu": "nn.GELU()",
    "silu": "nn.SiLU()",
    "softplus": "nn.Softplus()",
    "softsign": "nn.Softsign()",
}
#: gradstep optimizer -> (torch.optim class, {gradstep option: torch argument})
_TORCH_OPTIMIZERS = {
    "sgd": ("SGD", {"momentum": "momentum", "nesterov": "nesterov"}),
    "gd": ("SGD", {"momentum": "momentum", "nesterov": "nesterov"}),
    "adam": ("Adam", {"epsilon": "eps", "amsgrad": "amsgrad"}),
    "adamw": ("AdamW", {"epsilon": "eps", "amsgrad": "amsgrad", "weight_decay": "weight_decay"}),
    "adamax": ("Adamax", {"epsilon": "eps"}),
    "nadam": ("NAdam", {"epsilon": "eps"}),
    "rmsprop": (
        "RMSprop",
        {"rho": "alpha", "momentum": "momentum", "epsilon": "eps", "centered": "centered"},
    ),
    "adagrad": (
        "Adagrad",
        {"initial_accumulator_value": "initial_accumulator_value", "epsilon": "eps"},
    ),
    "adadelta": ("Adadelta", {"rho": "rho", "epsilon": "eps"}),
}
_TORCH_LOSSES = {
    "binary_crossentropy": (
        "predicted = predicted.clamp(1e-7, 1 - 1e-7)  # as Keras clips them\n"
        "    return -(target * predicted.log() + (1 - target) * (1 - predicted).log()).mean()"
    ),
    "binary_focal_crossentropy": (
        "predicted = predicted.clamp(1e-7, 1 - 1e-7)\n"
        "    cross_entropy = -(target * predicted.log() + (1 - target) * (1 - predicted).log())\n"
        "    p_t = target * predicted + (1 - target) * (1 - predicted)\n"
        "    return ((1 - p_t) ** 2 * cross_entropy).mean()  # gamma 2, as Keras"
    ),
    "mean_squared_error": "return ((predicted - target) ** 2).mean()",
    "mean_absolute_error": "return (predicted - target).abs().mean()",
    "huber": "return nn.functional.huber_loss(predicted, target, delta=1.0)",
    "log_cosh": (
        "error = predicted - target\n"
        "    return (error + nn.functional.softplus(-2 * error) - math.log(2.0)).mean()"
    ),
    "hinge": (
        "sign = 2 * target - 1  # labels 0 and 1 as -1 and 1, as Keras\n"
        "    return (1 - sign * predicted).clamp(min=0).mean()"
    ),
    "squared_hinge": (
        "sign = 2 * target - 1  # labels 0 and 1 as -1 and 1, as Keras\n"
        "    return ((1 - sign * predicted).clamp(min=0) ** 2).mean()"
    ),
}


# --- the scripts -------------------------------------------------------------------------
def gradstep_script(
    config: dict, seed: int, steps: int, data: PlaneData | None = None, reported=None
) -> str:
    """A gradstep program that repeats the run: the data (``make_dataset``'s
    arguments, or for an uploaded CSV the points themselves, from ``data``),
    the model from ``seed``, ``steps`` training steps; it prints the losses.

    Args:
        config: the session's checked config.
        seed: the seed of the initial weights, dropout masks and batch order.
        steps: how many optimizer steps to take.
        data: the session's data (needed for ``dataset="csv"``).
        reported: the page's final ``(train, test)`` losses, quoted in the program.
    """
    config = _checked(config, data)
    task = _task(config, data)
    lines = _header("gradstep", config, seed, steps, reported, [])
    lines += ["import gradstep as keras", "import numpy as np"]
    if config["dataset"] == "csv":
        lines += ["", *_constants(seed, steps, config), *_embedded_data(data)]
        lines += _features_function(config["features"]) + _arrays_from_embedded()
    else:
        lines += ["from gradstep.playground.datasets import feature_matrix, make_dataset", ""]
        lines += _constants(seed, steps, config)
        arguments = [f'"{config["dataset"]}"']
        arguments += [f"{k}={config[k]!r}" for k in ("samples", "noise", "test_ratio")]
        arguments.append(f"seed={config['data_seed']!r}")
        lines += _call("data = make_dataset", arguments)
        lines += [
            "x_train = feature_matrix(data.train_points, FEATURES)",
            "x_test = feature_matrix(data.test_points, FEATURES)",
            'y_train = data.train_targets.astype("float32").reshape(-1, 1)',
            'y_test = data.test_targets.astype("float32").reshape(-1, 1)',
        ]
    lines += ["", "# The network; its seed draws the initial weights and the dropout masks."]
    lines += _keras_model(config, task, seed_argument="seed=SEED")
    lines += _keras_compile(config, "gradstep")
    lines += _loop("model.train_on_batch(x_train[rows], y_train[rows])")
    lines += _keras_losses()
    return "\n".join(lines) + "\n"


def keras_script(
    config: dict,
    seed: int,
    steps: int,
    data: PlaneData,
    initial_weights=None,
    reported=None,
) -> str:
    """A Keras 3 program (any backend) that repeats the run from the page's
    ``initial_weights`` (the model's ``get_weights()`` before training;
    None: Keras draws its own), with the same batches.

    Args:
        config: the session's checked config.
        seed: the seed of the batch order (and of Keras's own randomness).
        steps: how many optimizer steps to take.
        data: the session's data, written into the program.
        initial_weights: the page's initial weights, or None.
        reported: the page's final ``(train, test)`` losses, quoted in the program.
    """
    config = _checked(config, data)
    if config["optimizer"] == "lbfgs":
        raise ValueError("Keras has no L-BFGS optimizer; export the gradstep script instead")
    task = _task(config, data)
    notes = []
    if initial_weights is not None:
        notes.append("It starts from the page's initial weights and takes the same batches.")
    if config["dropout"] > 0:
        notes.append("Keras draws its own dropout masks, so its losses differ from the page's.")
    lines = _header("Keras 3 (any backend)", config, seed, steps, reported, notes)
    lines += ["import keras", "import numpy as np", ""]
    lines += _constants(seed, steps, config) + _embedded_data(data)
    lines += _embedded_weights(initial_weights, config)
    lines += _features_function(config["features"]) + _arrays_from_embedded()
    lines += ["", "keras.utils.set_random_seed(SEED)"]
    lines += _keras_model(config, task, seed_argument=None)
    if initial_weights is not None:
        lines += ['model.set_weights([np.array(w, dtype="float32") for w in INITIAL_WEIGHTS])']
    lines += _keras_compile(config, "keras", steps)
    lines += _loop("model.train_on_batch(x_train[rows], y_train[rows])")
    lines += _keras_losses()
    return "\n".join(lines) + "\n"


def pytorch_script(
    config: dict,
    seed: int,
    steps: int,
    data: PlaneData,
    initial_weights,
    reported=None,
) -> str:
    """A PyTorch program that repeats the run from the page's
    ``initial_weights`` with the same batches, the same loss (written out as
    Keras computes it) and the same regularization penalty.

    Args:
        config: the session's checked config.
        seed: the seed of the batch order (and of PyTorch's dropout).
        steps: how many optimizer steps to take.
        data: the session's data, written into the program.
        initial_weights: the page's initial weights (the model's ``get_weights()``).
        reported: the page's final ``(train, test)`` losses, quoted in the program.
    """
    config = _checked(config, data)
    if config["optimizer"] not in _TORCH_OPTIMIZERS:
        raise ValueError(
            f"the PyTorch script has no counterpart of {config['optimizer']!r}; it writes "
            f"{', '.join(_TORCH_OPTIMIZERS)}. Export the gradstep or Keras script instead"
        )
    task = _task(config, data)
    notes = ["It starts from the page's initial weights and takes the same batches."]
    if config["dropout"] > 0:
        notes.append("PyTorch draws its own dropout masks, so its losses differ from the page's.")
    if config["optimizer"] not in ("sgd", "gd"):
        notes.append(
            "PyTorch's optimizer adds epsilon where PyTorch does: its losses may drift a little."
        )
    lines = _header("PyTorch", config, seed, steps, reported, notes)
    lines += ["import math"] if config["loss"] == "log_cosh" else []
    lines += ["from collections import OrderedDict", "", "import numpy as np"]
    lines += ["import torch", "from torch import nn", ""]
    lines += _constants(seed, steps, config) + _embedded_data(data)
    lines += _embedded_weights(initial_weights, config)
    lines += _features_function(config["features"]) + _arrays_from_embedded()
    lines += ["", "torch.manual_seed(SEED)"]
    lines += _torch_model(config, task)
    lines += _torch_training(config, steps)
    lines += _loop("train_step(x_train[rows], y_train[rows], step)")
    lines += [
        "",
        'print("train loss:", evaluate(x_train, y_train))',
        'print("test loss:", evaluate(x_test, y_test))',
    ]
    return "\n".join(lines) + "\n"


def script(session, kind: str) -> str:
    """The session's run as a ``"gradstep"``, ``"keras"`` or ``"pytorch"`` program."""
    reported = session.losses()
    common = (session.config, session.seed, session.steps, session.data)
    if kind == "gradstep":
        return gradstep_script(*common, reported=reported)
    if kind == "keras":
        return keras_script(*common, session.initial_weights, reported=reported)
    if kind == "pytorch":
        return pytorch_script(*common, session.initial_weights, reported=reported)
    raise ValueError(f"kind must be 'gradstep', 'keras' or 'pytorch', received {kind!r}")


# --- the files ---------------------------------------------------------------------------
def keras_file(session, path) -> Path:
    """The trained model as a Keras 3 ``.keras`` archive (gradstep's ``model.save``)."""
    path = Path(path)
    session.model.save(path)
    return path


def onnx_file(session, path) -> Path:
    """The trained model's inference pass as ONNX (``model.export(format="onnx")``)."""
    path = Path(path)
    session.model.export(path, format="onnx", verbose=False)
    return path


def export(session, kind: str) -> tuple[str, str, bytes]:
    """One of ``KINDS`` for the session: ``(file name, media type, content)``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, received {kind!r}")
    name, media_type = KINDS[kind]
    if kind in ("gradstep", "keras", "pytorch"):
        return name, media_type, script(session, kind).encode("utf-8")
    write = keras_file if kind == "keras-model" else onnx_file
    with tempfile.TemporaryDirectory() as folder:
        path = write(session, os.path.join(folder, name))
        return name, media_type, path.read_bytes()


# --- pieces of the programs --------------------------------------------------------------
def _checked(config: dict, data: PlaneData | None) -> dict:
    if config.get("dataset") == "csv" and data is None:
        raise ValueError("a run on an uploaded CSV file needs its data (data=None)")
    checked = choices.validate_config(config, data.task if data is not None else None)
    if checked["seed"] is None:
        raise ValueError("config.seed must be set to write the run as a program")
    return checked


def _task(config: dict, data: PlaneData | None) -> str:
    return choices.task_of(config, data.task if data is not None else None)


def _header(framework, config, seed, steps, reported, notes: list[str]) -> list[str]:
    hidden = ", ".join(str(units) for units in config["hidden_layers"]) or "none"
    schedule = "" if config["schedule"] == "none" else f", schedule {config['schedule']}"
    regularization = (
        ""
        if config["regularization"] == "none"
        else f", {config['regularization'].upper()} {config['regularization_rate']:g}"
    )
    dropout = f", dropout {config['dropout']:g}" if config["dropout"] else ""
    full_batch = choices.optimizer_classes()[config["optimizer"]].full_batch
    batch = (
        "the whole training set as one batch"
        if full_batch
        else (f"batch size {config['batch_size']}")
    )
    summary = (
        f"Data: {config['dataset']}; inputs: {', '.join(config['features'])}; hidden layers: "
        f"{hidden} ({config['activation']}). Loss {config['loss']}; optimizer "
        f"{config['optimizer']}, learning rate {config['learning_rate']:g}{schedule}; {batch}"
        f"{regularization}{dropout}. Seed {seed}; {steps} "
        "training steps."
    )
    if reported is not None:
        summary += f" The page reported: train loss {reported[0]:.6g}, test loss {reported[1]:.6g}."
    paragraphs = [summary, " ".join(notes)] if notes else [summary]
    lines = [f'"""The gradstep playground\'s run, in {framework}.', ""]
    for paragraph in paragraphs:
        lines += textwrap.wrap(paragraph, 88) + [""]
    return lines[:-1] + ['"""', ""]


def _constants(seed: int, steps: int, config: dict) -> list[str]:
    full_batch = choices.optimizer_classes()[config["optimizer"]].full_batch
    batch = "None  # the whole training set" if full_batch else str(config["batch_size"])
    return [
        f"SEED = {seed}",
        f"STEPS = {steps}",
        f"BATCH_SIZE = {batch}",
        "FEATURES = [" + ", ".join(f'"{name}"' for name in config["features"]) + "]",
        "",
    ]


def _call(target: str, arguments: list[str], indent: str = "") -> list[str]:
    """``target(arguments)`` on one line when it fits in 100 characters, else
    one argument a line."""
    line = f"{indent}{target}({', '.join(arguments)})"
    if len(line) <= 100:
        return [line]
    return [f"{indent}{target}("] + [f"{indent}    {a}," for a in arguments] + [f"{indent})"]


def _embedded_data(data: PlaneData) -> list[str]:
    return [
        "# The page's data: points (x1, x2) and their targets.",
        *_assignment("TRAIN_POINTS", data.train_points),
        *_assignment("TRAIN_TARGETS", data.train_targets),
        *_assignment("TEST_POINTS", data.test_points),
        *_assignment("TEST_TARGETS", data.test_targets),
    ]


def _embedded_weights(initial_weights, config: dict) -> list[str]:
    if initial_weights is None:
        return []
    names = [f"hidden_{number}" for number in range(1, len(config["hidden_layers"]) + 1)]
    lines = ["# The page's initial weights: each layer's kernel (inputs x units), then its bias."]
    lines.append("INITIAL_WEIGHTS = [")
    for index, weight in enumerate(initial_weights):
        layer = (names + ["output"])[index // 2]
        lines.append(f"    # {layer}/{'kernel' if index % 2 == 0 else 'bias'}")
        lines += _assignment("", np.asarray(weight), float32=True, indent="    ")
    return lines + ["]"]


def _assignment(name: str, array: np.ndarray, float32: bool = False, indent: str = "") -> list[str]:
    """``NAME = [...]`` (or, without a name, the list as an entry of an outer
    one), the values exact, wrapped into lines of at most 100 characters."""
    entries = [_literal(row, float32) for row in array] if array.ndim else []
    opening = f"{indent}{name} = [" if name else f"{indent}["
    closing = f"{indent}]" + ("" if name else ",")
    if len(opening) + len(", ".join(entries)) + len(closing) - len(indent) <= 100:
        return [opening + ", ".join(entries) + closing.strip()]
    lines, line = [opening], indent + "   "
    for entry in entries:
        if len(line) + len(entry) + 2 > 100:
            lines.append(line)
            line = indent + "   "
        line += f" {entry},"
    return lines + [line, closing]


def _literal(values, float32: bool = False) -> str:
    """A Python literal of the values, each exact (float32 ones in their
    shortest float32 form)."""
    array = np.asarray(values)
    if array.ndim:
        return "[" + ", ".join(_literal(row, float32) for row in array) + "]"
    if float32:
        return np.format_float_positional(np.float32(array), unique=True, trim="-")
    return repr(float(array))


def _features_function(features: list[str]) -> list[str]:
    columns = [_FEATURE_CODE[name] for name in features]
    return [
        "",
        "",
        "def feature_matrix(points):",
        f'    """The network\'s inputs: {", ".join(features)}."""',
        "    points = np.asarray(points, dtype=np.float64)",
        *_list("    columns", columns),
        '    return np.stack(columns, axis=1).astype("float32")',
        "",
        "",
    ]


def _list(target: str, entries: list[str]) -> list[str]:
    line = f"{target} = [{', '.join(entries)}]"
    if len(line) <= 100:
        return [line]
    indent = target[: len(target) - len(target.lstrip())]
    return [f"{target} = ["] + [f"{indent}    {e}," for e in entries] + [f"{indent}]"]


def _arrays_from_embedded() -> list[str]:
    return [
        "x_train = feature_matrix(TRAIN_POINTS)",
        "x_test = feature_matrix(TEST_POINTS)",
        'y_train = np.array(TRAIN_TARGETS, dtype="float32").reshape(-1, 1)',
        'y_test = np.array(TEST_TARGETS, dtype="float32").reshape(-1, 1)',
    ]


def _keras_model(config: dict, task: str, seed_argument: str | None) -> list[str]:
    lines = []
    regularizer = []
    if config["regularization"] != "none" and config["regularization_rate"] > 0:
        kind = config["regularization"].upper()
        lines.append(f"regularizer = keras.regularizers.{kind}({config['regularization_rate']!r})")
        regularizer = ["kernel_regularizer=regularizer"]
    lines += [
        "model = keras.Sequential(",
        "    [",
        f'        keras.Input(shape=({len(config["features"])},), name="features"),',
    ]
    for number, units in enumerate(config["hidden_layers"], start=1):
        arguments = [str(units), f'activation="{config["activation"]}"', *regularizer]
        arguments.append(f'name="hidden_{number}"')
        lines += _call("keras.layers.Dense", arguments, "        ")
        lines[-1] += ","
        if config["dropout"] > 0:
            lines.append(
                f'        keras.layers.Dropout({config["dropout"]!r}, name="dropout_{number}"),'
            )
    arguments = ["1", f'activation="{choices.output_activation(config, task)}"', *regularizer]
    lines += _call("keras.layers.Dense", [*arguments, 'name="output"'], "        ")
    lines[-1] += ","
    lines += ["    ],", '    name="playground",']
    if seed_argument is not None:
        lines.append(f"    {seed_argument},")
    return lines + [")"]


def _keras_compile(config: dict, framework: str, steps: int = 0) -> list[str]:
    cls = choices.optimizer_classes()[config["optimizer"]]
    class_name = "SGD" if framework == "keras" and cls.__name__ == "GD" else cls.__name__
    lines = []
    learning_rate = _keras_schedule(config, framework, steps, lines)
    options = [f"{k}={v!r}" for k, v in config["optimizer_options"].items()]
    lines += _call(
        f"optimizer = keras.optimizers.{class_name}", [f"learning_rate={learning_rate}", *options]
    )
    lines.append(f'model.compile(optimizer=optimizer, loss="{config["loss"]}")')
    return lines


def _keras_schedule(config: dict, framework: str, steps: int, lines: list[str]) -> str:
    """The learning-rate argument; a schedule is defined first in ``lines``."""
    if config["schedule"] == "none":
        return repr(config["learning_rate"])
    rate_argument, _ = choices.SCHEDULES[config["schedule"]]
    arguments = dict(config["schedule_options"])
    if rate_argument is not None:
        arguments = {rate_argument: config["learning_rate"], **arguments}
    call = [f"{k}={v!r}" for k, v in arguments.items()]
    if framework == "gradstep":
        class_name = choices.schedule_class(config["schedule"]).__name__
        lines += _call(f"schedule = keras.optimizers.schedules.{class_name}", call)
    elif config["schedule"] in _KERAS_SCHEDULES:
        class_name = _KERAS_SCHEDULES[config["schedule"]]
        lines += _call(f"schedule = keras.optimizers.schedules.{class_name}", call)
    else:
        lines += [
            f"# The page's {config['schedule']} schedule, one rate per step (Keras has none)."
        ]
        lines += _assignment("RATES", np.array(_rates(config, steps)))
        lines += [
            "",
            "",
            "class PageSchedule(keras.optimizers.schedules.LearningRateSchedule):",
            "    def __call__(self, step):",
            "        rates = keras.ops.convert_to_tensor(RATES)",
            "        return keras.ops.take(rates, keras.ops.minimum(step, len(RATES) - 1))",
            "",
            "",
            "schedule = PageSchedule()",
        ]
    return "schedule"


def _rates(config: dict, steps: int) -> list[float]:
    schedule = choices.build_schedule(config)
    return [float(schedule(step)) for step in range(max(steps, 1))]


def _loop(train_call: str) -> list[str]:
    return [
        "",
        "",
        "# Each epoch: one permutation of the training points, then its batches in order.",
        "order_rng = np.random.default_rng(SEED)",
        "batch_size = BATCH_SIZE or len(x_train)",
        "step = 0",
        "while step < STEPS:",
        "    order = order_rng.permutation(len(x_train))",
        "    for start in range(0, len(x_train), batch_size):",
        "        if step == STEPS:",
        "            break",
        "        rows = order[start : start + batch_size]",
        f"        {train_call}",
        "        step += 1",
    ]


def _keras_losses() -> list[str]:
    return [
        "",
        "train_loss = model.evaluate(x_train, y_train, batch_size=len(x_train), verbose=0)",
        "test_loss = model.evaluate(x_test, y_test, batch_size=len(x_test), verbose=0)",
        'print("train loss:", train_loss)',
        'print("test loss:", test_loss)',
    ]


def _torch_model(config: dict, task: str) -> list[str]:
    layers, inputs = [], len(config["features"])
    for number, units in enumerate(config["hidden_layers"], start=1):
        layers.append(f'("hidden_{number}", nn.Linear({inputs}, {units}))')
        layers.append(f'("hidden_{number}_activation", {_TORCH_ACTIVATIONS[config["activation"]]})')
        if config["dropout"] > 0:
            layers.append(f'("dropout_{number}", nn.Dropout({config["dropout"]!r}))')
        inputs = units
    layers.append(f'("output", nn.Linear({inputs}, 1))')
    output = _TORCH_ACTIVATIONS[choices.output_activation(config, task)]
    layers.append(f'("output_activation", {output})')
    body = "".join(f"            {layer},\n" for layer in layers)
    return [
        "model = nn.Sequential(",
        "    OrderedDict(",
        "        [",
        body.rstrip("\n"),
        "        ]",
        "    )",
        ")",
        "linears = [module for module in model if isinstance(module, nn.Linear)]",
        "kernels, biases = INITIAL_WEIGHTS[::2], INITIAL_WEIGHTS[1::2]",
        "with torch.no_grad():  # Keras's kernel is PyTorch's weight transposed",
        "    for linear, kernel, bias in zip(linears, kernels, biases):",
        '        linear.weight.copy_(torch.tensor(np.array(kernel, dtype="float32").T))',
        '        linear.bias.copy_(torch.tensor(np.array(bias, dtype="float32")))',
    ]


def _torch_training(config: dict, steps: int) -> list[str]:
    class_name, names = _TORCH_OPTIMIZERS[config["optimizer"]]
    options = config["optimizer_options"]
    arguments = ["model.parameters()", f"lr={config['learning_rate']!r}"]
    if config["optimizer"] in ("adam", "adamw", "adamax", "nadam"):
        arguments.append(f"betas=({options['beta_1']!r}, {options['beta_2']!r})")
    arguments += [f"{names[k]}={v!r}" for k, v in options.items() if k in names]
    rate = config["regularization_rate"]
    if config["regularization"] == "none" or rate == 0:
        penalty = "    return 0.0"
    elif config["regularization"] == "l2":
        penalty = f"    return {rate!r} * sum((linear.weight**2).sum() for linear in linears)"
    else:
        penalty = f"    return {rate!r} * sum(linear.weight.abs().sum() for linear in linears)"
    lines = ["", *_call(f"optimizer = torch.optim.{class_name}", arguments)]
    if config["schedule"] != "none":
        lines += [f"# The page's {config['schedule']} schedule, one rate per step."]
        lines += _assignment("RATES", np.array(_rates(config, steps)))
    lines += [
        "",
        "",
        "def loss_function(predicted, target):",
        f"    {_TORCH_LOSSES[config['loss']]}",
        "",
        "",
        "def penalty():",
        f'    """The {config["regularization"]} penalty on the kernels, as Keras adds it."""',
        penalty,
        "",
        "",
        "def train_step(x, y, step):",
    ]
    if config["schedule"] != "none":
        lines += [
            "    for group in optimizer.param_groups:",
            '        group["lr"] = RATES[step]',
        ]
    return lines + [
        "    model.train()",
        "    optimizer.zero_grad()",
        "    loss = loss_function(model(torch.from_numpy(x)), torch.from_numpy(y)) + penalty()",
        "    loss.backward()",
        "    optimizer.step()",
        "",
        "",
        "def evaluate(x, y):",
        '    """The loss on a whole set, in inference (no dropout), with the penalty."""',
        "    model.eval()",
        "    with torch.no_grad():",
        "        predicted = model(torch.from_numpy(x))",
        "        return float(loss_function(predicted, torch.from_numpy(y)) + penalty())",
    ]
