"""An optimizer's state as Keras 3's ``optimizer.variables``, both ways.

Keras keeps ``iteration`` and ``learning_rate`` (a variable unless the rate is
a schedule), then the slots it creates in ``build``. Each call of
``add_optimizer_variables(var_list, names)`` makes, for each trained
variable in turn, one slot of each name: ``Adam`` makes
``kernel_momentum, kernel_velocity, bias_momentum, bias_velocity``. So each
optimizer's order is a list of such calls (``_SLOT_CALLS``), given by the
names gradstep's state uses (``momentum/<index>``), which are Keras's.

Optimizers whose Keras state is laid out otherwise (Adafactor, Muon), or kept
with options Keras lays out otherwise (``use_ema``, gradient accumulation),
are not mapped: their state stays in gradstep's own archive member, and
Keras starts them afresh (it says so in a warning).
"""

from __future__ import annotations

import numpy as np


def _slot_calls(class_name: str, config: dict) -> list[list[str]] | None:
    if class_name == "SGD":
        return [["momentum"]] if config.get("momentum", 0.0) else []
    if class_name in ("Adam", "AdamW"):
        return [["momentum", "velocity"]] + ([["velocity_hat"]] if config.get("amsgrad") else [])
    if class_name == "RMSprop":
        calls = [["velocity"]]
        if config.get("momentum", 0.0):
            calls.append(["momentum"])
        if config.get("centered"):
            calls.append(["average_gradient"])
        return calls
    return {
        "Adagrad": [["accumulator"]],
        "Adadelta": [["accumulated_grad", "accumulated_delta_var"]],
        "Adamax": [["momentum", "norm"]],
        "Nadam": [["momentum", "velocity"]],
        "Ftrl": [["accumulator", "linear"]],
        "Lion": [["momentum"]],
        "Lamb": [["momentum", "velocity"]],
    }.get(class_name)


#: Optimizer-wide state Keras keeps after the slots, by gradstep's name.
_TRAILING = {"Nadam": ["u_product"]}


def keras_slot_names(optimizer, count: int) -> list[str] | None:
    """gradstep's state names in the order of Keras's ``optimizer.variables``
    after ``iteration`` and ``learning_rate``; None if not mapped."""
    config = optimizer.get_config()
    calls = _slot_calls(type(optimizer).__name__, config)
    accumulates = (config.get("gradient_accumulation_steps") or 1) > 1
    if calls is None or config.get("use_ema") or accumulates:
        return None
    names = [f"{slot}/{index}" for call in calls for index in range(count) for slot in call]
    return names + _TRAILING.get(type(optimizer).__name__, [])


def _has_rate_variable(optimizer) -> bool:
    return not isinstance(optimizer.get_config().get("learning_rate"), dict)


def to_keras(optimizer, count: int) -> list[np.ndarray] | None:
    """The arrays of Keras's ``optimizer.variables`` for a built gradstep
    optimizer of ``count`` trained weights; None if they cannot be given."""
    names = keras_slot_names(optimizer, count)
    state = optimizer.get_state()
    if names is None or sorted(names) != sorted(set(state) - {"iterations"}):
        return None
    arrays = [np.asarray(state["iterations"], dtype=np.int64).reshape(())]
    if _has_rate_variable(optimizer):
        arrays.append(np.asarray(optimizer.get_config()["learning_rate"], dtype=np.float32))
    return arrays + [state[name] for name in names]


def from_keras(optimizer, arrays: list[np.ndarray], count: int) -> dict[str, np.ndarray] | None:
    """gradstep's ``get_state()`` from Keras's ``optimizer.variables``; None if
    the optimizer is not mapped or the count does not fit (the caller says why)."""
    names = keras_slot_names(optimizer, count)
    leading = 2 if _has_rate_variable(optimizer) else 1
    if names is None or len(arrays) != leading + len(names):
        return None
    state = {"iterations": np.asarray(arrays[0]).astype(np.int64).reshape(())}
    state.update(zip(names, arrays[leading:], strict=True))
    return state
