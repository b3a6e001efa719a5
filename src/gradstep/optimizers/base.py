"""What every optimizer shares: the learning rate (a float or a schedule),
the step counter, gradient clipping, decoupled weight decay and slot state.

An optimizer subclass writes only ``build`` (its slots, one array per
parameter, e.g. Adam's two moments) and ``update_step(gradient, variable,
learning_rate)``, the update rule of its paper. The order of one step is
Keras's: clip the gradients, decay the weights, apply the rule, count the step.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from gradstep.registry import Registry

OPTIMIZERS = Registry("optimizer")


class Optimizer:
    """Base class for optimizers.

    Args:
        learning_rate: a float, or a schedule called as ``schedule(iterations)``.
        weight_decay: if set, every step first shrinks each weight:
            ``w <- w - w * weight_decay * learning_rate`` (decoupled, as Keras).
        clipnorm: if set, each gradient is rescaled so its L2 norm is at most this.
        clipvalue: if set, each gradient entry is clipped to ``[-clipvalue, clipvalue]``.
        global_clipnorm: if set, all gradients are rescaled together so that
            the norm of their concatenation is at most this.
        name: the optimizer's name.
    """

    name = "optimizer"

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name=None,
    ):
        clips = [c for c in (clipnorm, clipvalue, global_clipnorm) if c is not None]
        if len(clips) > 1:
            raise ValueError(
                "Only one of clipnorm, clipvalue and global_clipnorm can be set, received "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        for argument, value in (
            ("weight_decay", weight_decay),
            ("clipnorm", clipnorm),
            ("clipvalue", clipvalue),
            ("global_clipnorm", global_clipnorm),
        ):
            if value is not None and not (isinstance(value, numbers.Real) and value >= 0):
                raise ValueError(
                    f"{argument} must be a non-negative float or None, received {value!r}"
                )
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        if name is not None:
            self.name = name
        self.iterations = 0
        self.built = False
        self._slots: dict[str, list[np.ndarray]] = {}
        self._index_of: dict[int, int] = {}

    # --- learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self):
        """The learning rate in use now (a schedule is evaluated at ``iterations``)."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if not callable(value):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not (math.isfinite(value) and value >= 0)
            ):
                raise ValueError(
                    f"learning_rate must be a non-negative float or a schedule, received {value!r}"
                )
            value = float(value)
        self._learning_rate = value

    def _current_learning_rate(self) -> float:
        if callable(self._learning_rate):
            return float(self._learning_rate(self.iterations))
        return self._learning_rate

    # --- slots -----------------------------------------------------------------------
    def build(self, variables: list[np.ndarray]) -> None:
        """Remember the parameters; subclasses then add their slots."""
        self._index_of = {id(v): i for i, v in enumerate(variables)}
        self._slots = {}
        self.built = True

    def add_slot(self, name: str, variables: list[np.ndarray], fill: float = 0.0) -> None:
        """One array per parameter, shaped and typed like it, filled with ``fill``."""
        self._slots[name] = [np.full_like(v, fill) for v in variables]

    def slot(self, name: str, variable: np.ndarray) -> np.ndarray:
        return self._slots[name][self._index_of[id(variable)]]

    @property
    def variables(self) -> dict[str, list[np.ndarray]]:
        """The optimizer's state as plain named arrays."""
        return self._slots

    def get_state(self) -> dict[str, np.ndarray]:
        """The optimizer's state as named arrays: ``iterations`` and each slot of
        each parameter as ``"<slot>/<parameter index>"`` (copies)."""
        state = {"iterations": np.array(self.iterations, dtype=np.int64)}
        for slot_name, arrays in self._slots.items():
            for index, array in enumerate(arrays):
                state[f"{slot_name}/{index}"] = array.copy()
        return state

    def set_state(self, state: dict[str, np.ndarray], variables: list[np.ndarray]) -> None:
        """Restore ``get_state()`` for ``variables`` (the same parameters, in the same
        order). Every array is checked before any is copied in, so a bad state
        leaves the optimizer as it was.

        Raises:
            ValueError: a slot that is missing, unexpected, or of the wrong shape or dtype.
        """
        fresh = type(self).from_config(self.get_config())
        fresh.build(variables)
        expected = fresh.get_state()
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or unexpected:
            raise ValueError(
                f"Optimizer state does not fit {type(self).__name__} for {len(variables)} "
                f"parameters: missing {missing}, unexpected {unexpected}"
            )
        for name, template in expected.items():
            value = np.asarray(state[name])
            if value.shape != template.shape or value.dtype != template.dtype:
                raise ValueError(
                    f"Optimizer state {name!r} must have shape {template.shape} and dtype "
                    f"{template.dtype}, received shape {value.shape} and dtype {value.dtype}"
                )
        self.build(variables)
        self.iterations = int(state["iterations"])
        for slot_name, arrays in self._slots.items():
            for index, array in enumerate(arrays):
                array[...] = state[f"{slot_name}/{index}"]

    # --- one step ---------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[np.ndarray, np.ndarray]]) -> None:
        """Update each variable in place from its gradient: Keras's order of
        clipping, weight decay, update rule, then ``iterations += 1``."""
        pairs = list(grads_and_vars)
        grads = [g for g, _ in pairs]
        variables = [v for _, v in pairs]
        self.apply(grads, variables)

    def apply(self, grads: list[np.ndarray], variables: list[np.ndarray]) -> None:
        if not self.built or any(id(v) not in self._index_of for v in variables):
            self.build(variables)
        learning_rate = self._current_learning_rate()
        grads = self._clip(grads)
        if self.weight_decay:
            for variable in variables:
                variable -= variable * (self.weight_decay * learning_rate)
        for gradient, variable in zip(grads, variables, strict=True):
            self.update_step(gradient, variable, learning_rate)
        self.iterations += 1

    def update_step(self, gradient: np.ndarray, variable: np.ndarray, learning_rate: float) -> None:
        raise NotImplementedError

    def _clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        if self.clipnorm is not None:
            return [g * (self.clipnorm / max(_l2_norm(g), self.clipnorm)) for g in grads]
        if self.global_clipnorm is not None:
            norm = math.sqrt(sum(_l2_norm(g) ** 2 for g in grads))
            return [g * (self.global_clipnorm / max(norm, self.global_clipnorm)) for g in grads]
        if self.clipvalue is not None:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # --- configuration ----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        learning_rate = self._learning_rate
        if callable(learning_rate) and hasattr(learning_rate, "get_config"):
            learning_rate = {
                "class_name": type(learning_rate).__name__,
                "config": learning_rate.get_config(),
            }
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        return cls(**config)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"<{name} learning_rate={self._learning_rate!r} iterations={self.iterations}>"


def _l2_norm(array: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))
