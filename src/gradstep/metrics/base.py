"""The ``Metric`` base class and its state ``Variable``, the Keras 3 way.

A metric holds state variables made with ``add_variable``; ``update_state``
adds a batch to them, ``result()`` reads the value so far and
``reset_state()`` sets them back to zero. A model resets its metrics at the
start of each epoch (and of each ``evaluate``), so the value logged for an
epoch is the value over every batch of it, not a mean of batch values.

A metric of your own is written with NumPy (or ``gradstep.ops``)::

    class BinaryTruePositives(gradstep.metrics.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros",
                                                    name="true_positives")

        def update_state(self, y_true, y_pred, sample_weight=None):
            values = np.logical_and(np.asarray(y_true, bool), np.asarray(y_pred) > 0.5)
            values = values.astype(self.dtype)
            if sample_weight is not None:
                values = values * np.broadcast_to(sample_weight, values.shape)
            self.true_positives.assign(self.true_positives + values.sum())

        def result(self):
            return self.true_positives
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from gradstep import config
from gradstep import initializers as initializers_module
from gradstep.layers.base import snake_case, unique_name


class Variable(NDArrayOperatorsMixin):
    """A metric's state: a NumPy array with Keras's ``assign``, ``assign_add``
    and ``assign_sub``. It takes part in arithmetic and NumPy functions as its
    array does (``v + 1``, ``np.sum(v)``, ``v[0]``)."""

    def __init__(self, value: np.ndarray, name: str, aggregation: str = "sum"):
        self._value = np.array(value)
        self.name = name
        self.path = name
        self.aggregation = aggregation
        self.trainable = False

    @property
    def value(self) -> np.ndarray:
        return self._value

    @property
    def shape(self) -> tuple:
        return self._value.shape

    @property
    def dtype(self) -> str:
        return str(self._value.dtype)

    @property
    def ndim(self) -> int:
        return self._value.ndim

    def numpy(self) -> np.ndarray:
        return self._value.copy()

    def assign(self, value) -> Variable:
        value = np.asarray(value)
        if value.shape != self.shape:
            try:
                value = np.broadcast_to(value, self.shape)
            except ValueError:
                raise ValueError(
                    f"Variable {self.name!r} has shape {self.shape}; cannot assign a value "
                    f"of shape {value.shape}"
                ) from None
        self._value[...] = value
        return self

    def assign_add(self, value) -> Variable:
        return self.assign(self._value + np.asarray(value))

    def assign_sub(self, value) -> Variable:
        return self.assign(self._value - np.asarray(value))

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(x._value if isinstance(x, Variable) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getitem__(self, index):
        return self._value[index]

    def __len__(self) -> int:
        return len(self._value)

    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return (
            f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
            f"value={self._value}>"
        )


def _dtype_name(dtype) -> str:
    """Keras's dtype strings: ``None`` is ``floatx()``, ``'int'`` is ``'int32'``."""
    if dtype is None:
        return config.floatx()
    if dtype == "int":
        return "int32"
    if isinstance(dtype, str) and dtype in ("float16", "float32", "float64", "int32", "int64"):
        return dtype
    try:
        return str(np.dtype(dtype))
    except TypeError:
        raise ValueError(
            f"dtype must be a NumPy dtype name such as 'float32', received {dtype!r}"
        ) from None


class Metric:
    """Encapsulates a metric's logic and state (Keras's ``keras.metrics.Metric``).

    Args:
        dtype: the dtype of the metric's computations and of its variables
            (default ``None``: ``gradstep.config.floatx()``, ``'float32'``).
        name: the metric's name (default: the class name in snake case,
            numbered as Keras numbers a second one: ``precision_1``).

    Subclasses make their state in ``__init__`` with ``add_variable`` and write
    ``update_state(...)`` and ``result()``; ``reset_state()`` sets every
    variable to zero unless overridden. The built-in metrics keep their counts
    in float64 (Keras: float32), so their results agree with Keras's to float32
    round-off.
    """

    def __init__(self, dtype=None, name=None):
        self._variables: list[Variable] = []
        self._metrics: list[Metric] = []
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__} name must be a string, received {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._dtype = _dtype_name(dtype)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Metric) and name != "_metrics" and "_metrics" in self.__dict__:
            self._metrics.append(value)
        super().__setattr__(name, value)

    def _check_super_called(self) -> None:
        if "_variables" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}: you forgot to call `super().__init__()` in the "
                "`__init__()` method. Go add it!"
            )

    @property
    def dtype(self) -> str:
        return self._dtype

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """A state variable of ``shape`` filled by ``initializer`` (a name such
        as ``'zeros'``, an initializer, or a function of ``(shape, dtype)``)."""
        self._check_super_called()
        shape = _variable_shape(shape, self)
        dtype = _dtype_name(dtype or self._dtype)
        if isinstance(initializer, str | dict) or isinstance(
            initializer, initializers_module.Initializer
        ):
            value = initializers_module.get(initializer)(shape, dtype=dtype)
        elif callable(initializer):
            value = np.asarray(initializer(shape, dtype=dtype), dtype=dtype)
        else:
            value = np.broadcast_to(np.asarray(initializer, dtype=dtype), shape)
        variable = Variable(value, name or f"variable_{len(self._variables)}", aggregation)
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """Keras's older name for ``add_variable``."""
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self) -> list[Variable]:
        """This metric's variables, then those of the metrics it holds."""
        variables = list(self._variables)
        for metric in self._metrics:
            variables.extend(metric.variables)
        return variables

    def update_state(self, *args, **kwargs) -> None:
        """Add a batch to the metric's state."""
        raise NotImplementedError(f"{type(self).__name__} must define update_state()")

    def result(self):
        """The metric's value so far (a number, an array, or a dict of them)."""
        raise NotImplementedError(f"{type(self).__name__} must define result()")

    def reset_state(self) -> None:
        """Set every state variable to zero."""
        for variable in self.variables:
            variable.assign(0)

    def __call__(self, *args, **kwargs):
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _variable_shape(shape, metric: Metric) -> tuple[int, ...]:
    """``add_variable``'s shape as a tuple of sizes (``None`` or ``()``: a scalar)."""
    if shape is None:
        return ()
    if isinstance(shape, int | np.integer):
        shape = (shape,)
    try:
        sizes = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        sizes = None
    if sizes is None or any(d < 0 for d in sizes):
        raise ValueError(
            f"{type(metric).__name__} {metric.name!r}: add_variable shape must be a tuple of "
            f"sizes, received {shape!r}"
        )
    return sizes


def same_rank(metric: Metric, y_true: np.ndarray, y_pred: np.ndarray):
    """Keras's squeeze-or-expand of a trailing axis of 1, then a check that the
    shapes broadcast (a ValueError naming the metric if not)."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        else:
            y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        else:
            y_pred = y_pred[..., 0]
    try:
        np.broadcast_shapes(y_true.shape, y_pred.shape)
    except ValueError:
        raise ValueError(
            f"{type(metric).__name__} {metric.name!r}: y_true and y_pred have incompatible "
            f"shapes: y_true {y_true.shape}, y_pred {y_pred.shape}"
        ) from None
    return y_true, y_pred


def as_float(values, metric: Metric, argument: str) -> np.ndarray:
    """``values`` as a float64 array, or a ValueError naming the metric and argument."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{type(metric).__name__} {metric.name!r}: {argument} must be numbers, "
            f"received {values!r}"
        ) from None
    return array


def check_unit_interval(value, metric_class: str, argument: str) -> None:
    """A ValueError unless ``value`` is a number in [0, 1]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.number)
        or not 0 <= value <= 1
    ):
        raise ValueError(
            f"{metric_class}: argument `{argument}` must be in the range [0, 1]. "
            f"Received: {argument}={value!r}"
        )
