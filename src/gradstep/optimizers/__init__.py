"""Optimizers: how the weights move downhill. One module per update rule."""

from __future__ import annotations

from typing import Any

from gradstep.optimizers import schedules  # noqa: F401  (optimizers.schedules)
from gradstep.optimizers.adadelta import Adadelta
from gradstep.optimizers.adafactor import Adafactor
from gradstep.optimizers.adagrad import Adagrad
from gradstep.optimizers.adam import Adam
from gradstep.optimizers.adamax import Adamax
from gradstep.optimizers.adamw import AdamW
from gradstep.optimizers.base import (
    OPTIMIZERS,
    KeptGradients,
    Optimizer,
    StepContext,
    WeightGradient,
)
from gradstep.optimizers.ftrl import Ftrl
from gradstep.optimizers.lamb import Lamb
from gradstep.optimizers.lbfgs import LBFGS
from gradstep.optimizers.lion import Lion
from gradstep.optimizers.muon import Muon
from gradstep.optimizers.nadam import Nadam
from gradstep.optimizers.rmsprop import RMSprop
from gradstep.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from gradstep.optimizers.sgd import GD, SGD

__all__ = [
    "GD",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "KeptGradients",
    "Lamb",
    "Lion",
    "Muon",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "ScheduleFreeAdamW",
    "StepContext",
    "WeightGradient",
    "deserialize",
    "get",
    "serialize",
]


def get(identifier: Any) -> Optimizer:
    """Resolve a name (``'adam'``, with Keras's defaults; any class name in lower
    case, as Keras), a ``serialize`` dict, or an Optimizer.

        >>> get("rmsprop").get_config()["rho"]
        0.9
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return OPTIMIZERS.lookup(identifier, "optimizer")()
    raise TypeError(
        f"optimizer must be a name such as 'adam' or a gradstep.optimizers.Optimizer, "
        f"received {identifier!r}"
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any]) -> Optimizer:
    """The optimizer ``serialize`` (or Keras's ``optimizers.serialize``) described;
    the class name is looked up among gradstep's optimizers only, in any case."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "An optimizer configuration must be a dict {'class_name': ..., 'config': {...}}, "
            f"received {config!r}"
        )
    class_name = config["class_name"]
    if isinstance(class_name, str) and class_name in OPTIMIZERS:
        cls = OPTIMIZERS.lookup(class_name)
    else:
        cls = OPTIMIZERS.lookup_class(class_name)
    return cls.from_config(dict(config.get("config", {})))
