"""An optimizer's state as Keras 3's ``optimizer.variables``, both ways.

Keras keeps ``iteration`` and ``learning_rate`` (a variable unless the rate is
a schedule), then the slots it creates in ``build``: first the base
optimizer's (``average`` for each trained variable with ``use_ema``, then
``gradient_accumulator`` for each with ``gradient_accumulation_steps``), then
the optimizer's own. Each call of ``add_optimizer_variables(var_list,
names)`` makes, for each trained variable in turn, one slot of each name:
``Adam`` makes ``kernel_momentum, kernel_velocity, bias_momentum,
bias_velocity``. So each optimizer's order is a list of such calls
(``_slot_calls``), given by the names gradstep's state uses
(``momentum/<index>``), which are Keras's.

Some slots exist for some variables only, and gradstep's state has no entry
for the others: Muon's Adam ``velocity`` (for variables that take the AdamW
step; Keras makes none for the others either) and Adafactor's factored
``row_mean`` and ``column_mean`` (variables of two or more dimensions; Keras
holds a placeholder there, an int32 zero, ``_KERAS_PLACEHOLDERS``). Which
entries gradstep's state has for the model's variables (``template``, the
state a fresh copy of the optimizer builds) says which are there.
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
        "Adafactor": [["row_mean", "column_mean", "velocity"]],
        "Muon": [["momentum", "velocity"]],
        "ScheduleFreeAdamW": [["momentum", "velocity"]],
    }.get(class_name)


#: Slots for which Keras keeps a placeholder (``backend.Variable(0)``, int32)
#: for the variables that do not use them.
_KERAS_PLACEHOLDERS = {"Adafactor": {"row_mean", "column_mean"}}


def _base_calls(config: dict) -> list[list[str]]:
    """The base optimizer's slots, made before the optimizer's own."""
    calls = [["average"]] if config.get("use_ema") else []
    if (config.get("gradient_accumulation_steps") or 1) > 1:
        calls.append(["gradient_accumulator"])
    return calls


#: Optimizer-wide state Keras keeps after the slots, by gradstep's name.
_TRAILING = {"Nadam": ["u_product"]}
#: An entry of Keras's order that gradstep's state lacks: Keras's placeholder.
PLACEHOLDER = None


def keras_slot_names(optimizer, count: int, present=None) -> list[str | None] | None:
    """gradstep's state names in the order of Keras's ``optimizer.variables``
    after ``iteration`` and ``learning_rate`` (``PLACEHOLDER`` where Keras keeps
    a placeholder); None if not mapped. ``present``: the state names gradstep
    has for these variables (all slots of every variable if not given)."""
    config = optimizer.get_config()
    class_name = type(optimizer).__name__
    calls = _slot_calls(class_name, config)
    if calls is None:
        return None
    placeholders = _KERAS_PLACEHOLDERS.get(class_name, set())
    names = []
    for call in _base_calls(config) + calls:
        for index in range(count):
            for slot in call:
                name = f"{slot}/{index}"
                if present is None or name in present:
                    names.append(name)
                elif slot in placeholders:
                    names.append(PLACEHOLDER)
    return names + _TRAILING.get(class_name, [])


def _has_rate_variable(optimizer) -> bool:
    return not isinstance(optimizer.get_config().get("learning_rate"), dict)


def _momentum_buffer_scale(optimizer) -> float | None:
    """With PyTorch's momentum form (SGD, RMSprop: ``momentum_buffer``) and a
    constant learning rate ``lr``, the update is Keras's with its momentum slot
    equal to the buffer times this: SGD's velocity is ``-lr * b`` (Keras adds
    it), RMSprop's momentum ``lr * b`` (Keras subtracts it). None for
    Keras's form; 0.0 when it cannot be converted (a schedule, or lr = 0)."""
    config = optimizer.get_config()
    if config.get("momentum_form", "keras") == "keras":
        return None
    rate = config.get("learning_rate")
    if not isinstance(rate, int | float) or rate == 0:
        return 0.0
    return -float(rate) if type(optimizer).__name__ == "SGD" else float(rate)


def _renamed(state: dict, old: str, new: str, factor: float) -> dict:
    """``state`` with each ``<old>/<i>`` entry as ``<new>/<i>``, times ``factor``."""
    renamed = {}
    for name, value in state.items():
        if name.startswith(f"{old}/"):
            name, value = new + name[len(old) :], value * value.dtype.type(factor)
        renamed[name] = value
    return renamed


def to_keras(optimizer, count: int) -> list[np.ndarray] | None:
    """The arrays of Keras's ``optimizer.variables`` for a built gradstep
    optimizer of ``count`` trained weights; None if they cannot be given."""
    state = optimizer.get_state()
    scale = _momentum_buffer_scale(optimizer)
    if scale == 0.0:
        return None
    if scale is not None:
        state = _renamed(state, "momentum_buffer", "momentum", scale)
    names = keras_slot_names(optimizer, count, present=state)
    if names is None or sorted(n for n in names if n) != sorted(set(state) - {"iterations"}):
        return None
    arrays = [np.asarray(state["iterations"], dtype=np.int64).reshape(())]
    if _has_rate_variable(optimizer):
        arrays.append(np.asarray(optimizer.get_config()["learning_rate"], dtype=np.float32))
    return arrays + [np.zeros((), np.int32) if n is None else state[n] for n in names]


def from_keras(
    optimizer, arrays: list[np.ndarray], count: int, template=None
) -> dict[str, np.ndarray] | None:
    """gradstep's ``get_state()`` from Keras's ``optimizer.variables``; None if
    the optimizer is not mapped or the count does not fit (the caller says
    why). ``template``: the state names gradstep has for the model's
    variables (a fresh copy's ``get_state()``), which says where Keras holds
    placeholders."""
    scale = _momentum_buffer_scale(optimizer)
    if scale == 0.0:
        return None
    if scale is not None and template is not None:
        template = [name.replace("momentum_buffer/", "momentum/") for name in template]
    names = keras_slot_names(optimizer, count, present=template)
    leading = 2 if _has_rate_variable(optimizer) else 1
    if names is None or len(arrays) != leading + len(names):
        return None
    state = {"iterations": np.asarray(arrays[0]).astype(np.int64).reshape(())}
    pairs = zip(names, arrays[leading:], strict=True)
    state.update((name, np.asarray(array)) for name, array in pairs if name)
    if scale is not None:
        state = _renamed(state, "momentum", "momentum_buffer", 1 / scale)
    return state
