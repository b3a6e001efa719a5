"""Metrics that reduce values: ``Sum``, ``Mean`` and ``MeanMetricWrapper``.

``Mean`` keeps ``total = sum_i w_i v_i`` and ``count = sum_i w_i`` over every
batch and reports ``total / count`` (0 before any sample), so the number for an
epoch is the mean over every sample seen, not the mean of batch means. Values
with more axes than the weights are first averaged over the extra axes, as
Keras's ``reduce_to_samplewise_values`` does.
"""

from __future__ import annotations

import numpy as np

from gradstep.metrics.base import Metric

#: The dtype of the built-in metrics' state (Keras keeps float32; float64 sums
#: many batches without round-off and still agrees with Keras to float32 precision).
STATE_DTYPE = "float64"

#: The built-in per-sample functions a ``MeanMetricWrapper`` config may name
#: (filled by ``gradstep.metrics``).
FUNCTIONS: dict = {}


def _squeeze_or_expand(values: np.ndarray, weights: np.ndarray):
    """Keras's ``squeeze_or_expand_to_same_rank`` of a trailing axis of 1."""
    if values.ndim == weights.ndim + 1 and values.shape[-1] == 1:
        if weights.ndim == 1:
            weights = weights[:, None]
        else:
            values = values[..., 0]
    elif weights.ndim == values.ndim + 1 and weights.shape[-1] == 1:
        if values.ndim == 1:
            values = values[:, None]
        else:
            weights = weights[..., 0]
    return values, weights


def reduce_to_samplewise_values(metric: Metric, values, sample_weight, reduce_fn):
    """One value per sample (``reduce_fn`` over the axes after the first) and
    the weights, broadcast to them, as Keras reduces before summing."""
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        values, weights = _squeeze_or_expand(values, weights)
        if values.ndim > weights.ndim:
            values = reduce_fn(values, axis=tuple(range(weights.ndim, values.ndim)))
        try:
            weights = np.broadcast_to(weights, values.shape)
        except ValueError:
            raise ValueError(
                f"{type(metric).__name__} {metric.name!r}: sample_weight of shape "
                f"{np.shape(sample_weight)} does not match the values of shape {values.shape}"
            ) from None
        values = values * weights
        if weights.ndim > 1:
            weights = reduce_fn(weights, axis=tuple(range(1, weights.ndim)))
        sample_weight = weights
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values given: ``sum_i w_i v_i``.

    Args:
        name: the metric's name (default ``'sum'``).
        dtype: the metric's dtype (default ``'float32'``).
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", dtype=STATE_DTYPE, name="total")

    def update_state(self, values, sample_weight=None) -> None:
        values, _ = reduce_to_samplewise_values(self, values, sample_weight, np.sum)
        self.total.assign_add(values.sum())

    def result(self) -> float:
        return float(self.total)


class Mean(Metric):
    """The (weighted) mean of the values given: ``sum_i w_i v_i / sum_i w_i``.

    Args:
        name: the metric's name (default ``'mean'``).
        dtype: the metric's dtype (default ``'float32'``).
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), "zeros", dtype=STATE_DTYPE, name="total")
        self.count = self.add_variable((), "zeros", dtype=STATE_DTYPE, name="count")

    def update_state(self, values, sample_weight=None) -> None:
        if isinstance(values, float) and isinstance(sample_weight, int | float):
            # One number and its weight (the model's loss and batch size, every
            # batch): Python floats add up exactly as float64 arrays would.
            self.total.value[...] = float(self.total.value) + float(values) * float(sample_weight)
            self.count.value[...] = float(self.count.value) + float(sample_weight)
            return
        values, sample_weight = reduce_to_samplewise_values(self, values, sample_weight, np.mean)
        self.total.assign_add(values.sum())
        if sample_weight is not None:
            self.count.assign_add(np.sum(sample_weight))
        else:
            self.count.assign_add(values.shape[0] if values.ndim else 1)

    def result(self) -> float:
        count = float(self.count)
        return float(self.total) / count if count else 0.0


class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred, **kwargs)``, a function that
    returns one value per sample.

    Args:
        fn: the function.
        name: the metric's name (default ``'mean_metric_wrapper'``; ``compile``
            names it after the function).
        dtype: the metric's dtype (default ``'float32'``).
        **kwargs: passed on to ``fn``.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper fn must be a function, received {fn!r}")
        super().__init__(name=name, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        try:
            values = self.fn(y_true, y_pred, **self.fn_kwargs)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__} {self.name!r}: {error}") from None
        super().update_state(values, sample_weight)

    def get_config(self):
        name = getattr(self.fn, "__name__", None)
        return {**super().get_config(), "fn": name, **self.fn_kwargs}

    @classmethod
    def from_config(cls, config):
        if cls is not MeanMetricWrapper:  # a subclass: its own arguments
            return cls(**config)
        config = dict(config)
        fn = config.pop("fn", None)
        if isinstance(fn, str):
            if fn not in FUNCTIONS:
                raise ValueError(
                    f"Unknown metric function {fn!r}; a function of your own comes back "
                    "through custom_objects"
                )
            fn = FUNCTIONS[fn]
        return cls(fn, **config)
