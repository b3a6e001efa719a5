"""Weight and activity regularizers: a penalty added to the loss, and its slope.

A regularizer is called on a weight (``kernel_regularizer``,
``bias_regularizer``) or on a layer's output (``activity_regularizer``) and
returns a number that is added to the training loss; ``gradient`` gives its
slope, which the model adds to that weight's (or that output's) slope. The
names are Keras's: ``'l1'`` and ``'l2'`` mean ``L1(0.01)`` and ``L2(0.01)``,
``'l1l2'`` (the class's name) ``L1L2()`` with both factors 0, and
``'orthogonal_regularizer'`` ``OrthogonalRegularizer(0.01)``. ``'l1_l2'``,
which Keras 3 refuses, means ``L1L2(l1=0.01, l2=0.01)`` as TF-Keras's
``regularizers.l1_l2()`` does.

    >>> import numpy as np
    >>> penalty = L2(0.5)
    >>> float(penalty(np.array([1.0, -2.0]))), penalty.gradient(np.array([1.0, -2.0]))
    (2.5, array([ 1., -2.]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradstep.registry import Registry
from gradstep.validation import check_real

REGULARIZERS = Registry("regularizer")


class Regularizer:
    """Base class: ``__call__(x)`` is the penalty, ``gradient(x)`` its slope."""

    def __call__(self, x: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"


@REGULARIZERS.register("L1L2")
class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x^2)``; slope ``l1 * sign(x) + 2 l2 x`` (0 at
    ``x = 0`` for the first term, as TensorFlow and PyTorch take it).

    Args:
        l1: Defaults to 0.0.
        l2: Defaults to 0.0.
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = float(check_real(0.0 if l1 is None else l1, "l1", low=0))
        self.l2 = float(check_real(0.0 if l2 is None else l2, "l2", low=0))

    def __call__(self, x):
        penalty = x.dtype.type(0)
        if self.l1:
            penalty += x.dtype.type(self.l1) * np.sum(np.abs(x))
        if self.l2:
            penalty += x.dtype.type(self.l2) * np.sum(np.square(x))
        return penalty

    def gradient(self, x):
        slope = np.zeros_like(x)
        if self.l1:
            slope += x.dtype.type(self.l1) * np.sign(x)
        if self.l2:
            slope += x.dtype.type(2 * self.l2) * x
        return slope

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@REGULARIZERS.register("L1")
class L1(L1L2):
    """``l1 * sum(|x|)``; slope ``l1 * sign(x)``.

    Args:
        l1: Defaults to 0.01.
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self):
        return {"l1": self.l1}


@REGULARIZERS.register("L2")
class L2(L1L2):
    """``l2 * sum(x^2)``; slope ``2 l2 x``.

    Args:
        l2: Defaults to 0.01.
    """

    def __init__(self, l2=0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


@REGULARIZERS.register("OrthogonalRegularizer", "orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    r"""Pushes the rows (or columns) of a 2-D weight towards being orthogonal:
    with ``n_i`` the rows scaled to unit norm (by ``max(||x_i||, 1e-7)``),
    ``factor * 0.5 * sum_{i != j} |n_i . n_j| / (size (size - 1) / 2)``.

    Slope: with ``S = sign(n n^T)`` off the diagonal, ``dP/dn = factor S n /
    pairs``, and through the scaling ``dx_i = (dn_i - n_i (n_i . dn_i)) / ||x_i||``.

    Args:
        factor: Defaults to 0.01.
        mode: ``'rows'`` or ``'columns'``. Defaults to ``'rows'``.
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = float(check_real(factor, "factor", low=0))
        if mode not in ("rows", "columns"):
            raise ValueError(f"mode must be 'rows' or 'columns', received mode={mode!r}")
        self.mode = mode

    def _rows(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer applies to 2-D weights (rows x columns), received a "
                f"weight of shape {x.shape}"
            )
        return x if self.mode == "rows" else x.T

    @staticmethod
    def _unit(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        norms = np.sqrt(np.sum(np.square(rows), axis=1, keepdims=True))
        scales = 1 / np.maximum(norms, rows.dtype.type(_EPSILON))
        return rows * scales, scales, norms > _EPSILON

    def __call__(self, x):
        units, _, _ = self._unit(self._rows(x))
        size = len(units)
        off_diagonal = np.abs(units @ units.T)
        np.fill_diagonal(off_diagonal, 0)
        pairs = size * (size - 1.0) / 2.0
        return x.dtype.type(self.factor * 0.5) * np.sum(off_diagonal) / x.dtype.type(pairs)

    def gradient(self, x):
        rows = self._rows(x)
        units, scales, above_epsilon = self._unit(rows)
        size = len(units)
        signs = np.sign(units @ units.T)
        np.fill_diagonal(signs, 0)
        pairs = size * (size - 1.0) / 2.0
        grad_units = x.dtype.type(self.factor / pairs) * (signs @ units)
        along = np.sum(units * grad_units, axis=1, keepdims=True)
        grad_rows = scales * (grad_units - np.where(above_epsilon, units * along, 0))
        return grad_rows if self.mode == "rows" else grad_rows.T

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras's backend.epsilon(): the smallest norm a row is divided by.
_EPSILON = 1e-7

_NAMES = {
    "l1": lambda: L1(0.01),
    "l2": lambda: L2(0.01),
    "l1_l2": lambda: L1L2(l1=0.01, l2=0.01),
    "l1l2": lambda: L1L2(),
    "orthogonal_regularizer": lambda: OrthogonalRegularizer(),
}


def get(identifier) -> Regularizer | None:
    """None, a name (``'l1'``, ``'l2'``, ``'l1_l2'``), a ``serialize`` dict or a Regularizer."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier.lower() in _NAMES:
        return _NAMES[identifier.lower()]()
    if isinstance(identifier, str):
        return REGULARIZERS.lookup(identifier, "regularizer")()
    raise TypeError(
        f"a regularizer must be a name such as 'l2' or a gradstep.regularizers.Regularizer, "
        f"received {identifier!r}"
    )


def serialize(regularizer: Regularizer | None):
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config):
    """The regularizer ``serialize`` described; class names resolve only through
    the ``REGULARIZERS`` registry."""
    if config is None:
        return None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "A regularizer configuration must be a dict {'class_name': ..., 'config': {...}}, "
            f"received {config!r}"
        )
    cls = REGULARIZERS.lookup_class(config["class_name"])
    return cls.from_config(dict(config.get("config", {})))
