"""Weight constraints: after each optimizer step, each constrained weight is
replaced by ``constraint(weight)``, as Keras's optimizer does (for example, the
norm of each unit's incoming weights kept at most ``max_value``).

    >>> import numpy as np
    >>> np.round(MaxNorm(1.0)(np.array([[3.0], [4.0]])), 4)
    array([[0.6],
           [0.8]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradstep.registry import Registry
from gradstep.validation import check_real

CONSTRAINTS = Registry("constraint")

# Keras's backend.epsilon(): keeps a norm of 0 from dividing by 0.
_EPSILON = 1e-7


class Constraint:
    """Base class: ``__call__(w)`` returns the constrained weight."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)


def _norms(w: np.ndarray, axis) -> np.ndarray:
    axis = tuple(axis) if isinstance(axis, list) else axis
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


@CONSTRAINTS.register("MaxNorm", "max_norm")
class MaxNorm(Constraint):
    """Rescale each weight vector along ``axis`` to a norm of at most ``max_value``.

    Args:
        max_value: Defaults to 2.
        axis: the axis (or axes) of a vector; 0 for a Dense kernel's columns. Defaults to 0.
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = check_real(max_value, "max_value", low=0)
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return w * (desired / (w.dtype.type(_EPSILON) + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@CONSTRAINTS.register("NonNeg", "non_neg")
class NonNeg(Constraint):
    """Set negative weights to 0."""

    def __call__(self, w):
        return np.maximum(w, 0)


@CONSTRAINTS.register("UnitNorm", "unit_norm")
class UnitNorm(Constraint):
    """Rescale each weight vector along ``axis`` to a norm of 1.

    Args:
        axis: Defaults to 0.
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (w.dtype.type(_EPSILON) + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


@CONSTRAINTS.register("MinMaxNorm", "min_max_norm")
class MinMaxNorm(Constraint):
    """Rescale each weight vector along ``axis`` toward a norm in
    ``[min_value, max_value]``: to ``rate * clip(norm) + (1 - rate) * norm``.

    Args:
        min_value: Defaults to 0.0.
        max_value: Defaults to 1.0.
        rate: 1 enforces the bounds at once, less moves toward them. Defaults to 1.0.
        axis: Defaults to 0.
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = check_real(min_value, "min_value", low=0)
        self.max_value = check_real(max_value, "max_value", low=0)
        if self.max_value < self.min_value:
            raise ValueError(
                f"max_value must be at least min_value ({self.min_value}), received {max_value}"
            )
        self.rate = check_real(rate, "rate", low=0, high=1)
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (
            self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        )
        return w * (desired / (w.dtype.type(_EPSILON) + norms))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


def get(identifier) -> Constraint | None:
    """None, a name (``'max_norm'``, ``'non_neg'``, ...), a ``serialize`` dict or a Constraint."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return CONSTRAINTS.lookup(identifier, "constraint")()
    raise TypeError(
        f"a constraint must be a name such as 'max_norm' or a gradstep.constraints.Constraint, "
        f"received {identifier!r}"
    )


def serialize(constraint: Constraint | None):
    if constraint is None:
        return None
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}


def deserialize(config):
    """The constraint ``serialize`` described, through the ``CONSTRAINTS`` registry only."""
    if config is None:
        return None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "A constraint configuration must be a dict {'class_name': ..., 'config': {...}}, "
            f"received {config!r}"
        )
    return CONSTRAINTS.lookup_class(config["class_name"]).from_config(
        dict(config.get("config", {}))
    )
