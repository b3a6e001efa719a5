"""Hinge metrics: running means of ``Hinge``, ``SquaredHinge`` and
``CategoricalHinge`` of each sample."""

from __future__ import annotations

from gradstep import losses
from gradstep.metrics.reduction import MeanMetricWrapper


class Hinge(MeanMetricWrapper):
    """The running mean of ``mean(max(1 - y_true * y_pred, 0), axis=-1)`` (labels -1/1 or 0/1)."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(losses.hinge, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SquaredHinge(MeanMetricWrapper):
    """The running mean of ``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class CategoricalHinge(MeanMetricWrapper):
    """The running mean of ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
