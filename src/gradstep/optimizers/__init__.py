"""Optimizers: how the weights move downhill. One module per update rule."""

from __future__ import annotations

from typing import Any

from gradstep.optimizers.adam import Adam
from gradstep.optimizers.base import OPTIMIZERS, Optimizer
from gradstep.optimizers.rmsprop import RMSprop
from gradstep.optimizers.sgd import SGD

__all__ = ["SGD", "Adam", "Optimizer", "RMSprop", "deserialize", "get", "serialize"]


def get(identifier: Any) -> Optimizer:
    """Resolve a name (``'adam'``, with Keras's defaults) or an Optimizer."""
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
    return OPTIMIZERS.lookup_class(config["class_name"]).from_config(config["config"])
