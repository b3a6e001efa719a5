"""Preprocessing layers: Rescaling and Normalization.

Keras's preprocessing layers that the optimizer does not train.
``Rescaling(1.0 / 255)`` at the start of an image model turns pixel values in
[0, 255] into [0, 1]; ``Normalization`` standardizes features with a mean and
variance given, or computed from data by ``adapt``."""

from __future__ import annotations

import math

import numpy as np

from gradstep import config
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import is_int, is_real


@LAYERS.register("Rescaling")
class Rescaling(Layer):
    """``y = x * scale + offset``, in the layer's float dtype (integer images
    too); backward ``dx = g * scale``. It acts in training and inference alike.

    ``scale`` and ``offset`` are numbers, or arrays that broadcast against the
    input (one value per channel: ``scale=[1/255, 1/127, 1/63]``); with
    ``config.image_data_format()`` ``'channels_first'``, an array ``scale`` is
    laid along the channels axis of an image (``(c,) -> (c, 1, 1)``), as
    Keras does (Keras leaves ``offset`` as it is).

    Args:
        scale: the factor, e.g. ``1.0 / 255``.
        offset: added after scaling, e.g. -1 to map [0, 2] to [-1, 1]. Defaults to 0.
    """

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = self._checked(scale, "scale")
        self.offset = self._checked(offset, "offset")

    def _checked(self, value, argument: str):
        """A finite number, or an array-like of them (kept as given)."""
        if is_real(value):
            array = np.asarray(float(value))
        else:
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                array = None
        if array is None or array.size == 0 or not np.isfinite(array).all():
            raise ValueError(
                f"{argument} of Rescaling layer {self.name!r} must be a finite number or an "
                f"array of them. Received: {argument}={value!r}"
            )
        return value

    def _factor(self, value, dtype, channels_first_layout: bool) -> np.ndarray:
        array = np.asarray(value, dtype=dtype)
        if channels_first_layout and 0 < array.ndim < 3:
            array = array.reshape(array.shape + (1,) * (3 - array.ndim))
        return array

    def _scale(self, dtype) -> np.ndarray:
        return self._factor(self.scale, dtype, config.image_data_format() == "channels_first")

    def forward(self, x, training=False):
        dtype = self.dtype or config.floatx()
        scale = self._scale(dtype)
        output = x.astype(dtype, copy=False) * scale + self._factor(self.offset, dtype, False)
        return output, scale

    def backward(self, scale, grad_wrt_output, input_gradient=True):
        return (grad_wrt_output * scale if input_gradient else None), {}

    def check_input_shape(self, input_shape):
        """``scale`` and ``offset`` must broadcast against the input without
        changing its shape (the output's shape is the input's)."""
        known = tuple(1 if size is None else size for size in input_shape)
        for argument, value in (("scale", self._scale(np.float64)), ("offset", self.offset)):
            shape = np.shape(value)
            try:
                fits = np.broadcast_shapes(known, shape) == known
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(
                    f"Rescaling layer {self.name!r}: {argument} of shape {shape} does not "
                    f"broadcast against inputs of shape {tuple(input_shape)} (its axes must "
                    "match the input's last axes, or be 1)"
                )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "scale": _serialize(self.scale),
            "offset": _serialize(self.offset),
        }

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_["scale"] = _deserialize(config_["scale"])
        config_["offset"] = _deserialize(config_["offset"])
        return cls(**config_)


def _serialize(value):
    """A number or a list as it is; a NumPy array as Keras writes one."""
    if isinstance(value, np.ndarray):
        return {
            "class_name": "__numpy__",
            "config": {"value": value.tolist(), "dtype": value.dtype.name},
        }
    if isinstance(value, np.generic):
        return value.item()
    return value


def _deserialize(value):
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        return np.asarray(value["config"]["value"], dtype=value["config"]["dtype"])
    return value


#: Keras's ``backend.epsilon()``: the smallest standard deviation Normalization divides by.
EPSILON = 1e-7


@LAYERS.register("Normalization")
class Normalization(Layer):
    r"""Feature-wise standardization: ``y = (x - mean) / max(sqrt(variance), 1e-7)``,
    with ``invert=True`` its inverse ``y = mean + x * max(sqrt(variance), 1e-7)``;
    backward ``dx = g / max(sqrt(variance), 1e-7)`` (``g * max(...)`` inverted).
    Nothing is learned by the optimizer.

    ``mean`` and ``variance`` are either given (numbers, or arrays laid along
    the kept axes, the last of them last) or computed from data by
    ``adapt(data)``: the mean and the (population) variance over every axis
    but ``axis``. Adapted, they are Keras's non-trainable weights ``mean``,
    ``variance`` (of the kept axes' sizes) and ``count`` (an integer that
    Keras leaves at 0), in that order; given, the layer has no weights.

    Args:
        axis: the axis or axes that keep their own statistics (the features),
            an int, a tuple of ints, or None for one mean and variance over
            everything. Defaults to -1.
        mean: the statistics, both or neither. Defaults to None.
        variance: the statistics, both or neither. Defaults to None.
        invert: apply the inverse (de-normalize outputs). Defaults to False.
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif is_int(axis):
            axis = (int(axis),)
        elif isinstance(axis, list | tuple) and all(is_int(a) for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise ValueError(
                f"axis of Normalization layer {self.name!r} must be an int, a tuple of ints "
                f"or None. Received: axis={axis!r}"
            )
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        if (mean is None) != (variance is None):
            raise ValueError(
                f"Normalization layer {self.name!r}: when setting values directly, both `mean` "
                f"and `variance` must be set. Received: mean={mean} and variance={variance}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f"Normalization layer {self.name!r}: `mean` and `variance` must have the "
                    f"same shape. Received: mean shape {np.shape(mean)} and variance shape "
                    f"{np.shape(variance)}"
                )
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(
                    f"Normalization layer {self.name!r}: the rank of `mean` must be at most the "
                    f"number of axes ({len(self.axis)}). Received: mean shape {np.shape(mean)} "
                    f"for axis {self.axis}"
                )
            if np.any(np.asarray(variance, dtype=np.float64) < 0):
                raise ValueError(
                    f"Normalization layer {self.name!r}: `variance` must be >= 0. "
                    f"Received: variance={variance}"
                )

    # --- shapes and weights -----------------------------------------------------------
    def build(self, input_shape):
        rank = len(input_shape)
        if any(not -rank <= a < rank for a in self.axis):
            raise ValueError(
                f"Normalization layer {self.name!r}: all `axis` values must be in the range "
                f"[-ndim, ndim). Received inputs with ndim={rank}, while axis={self.axis}"
            )
        self._keep_axis = tuple(sorted(a % rank for a in self.axis))
        unknown = [a for a in self._keep_axis if input_shape[a] is None]
        if unknown:
            raise ValueError(
                f"Normalization layer {self.name!r}: all `axis` values to be kept must have a "
                f"known size. Received axis={self.axis}, inputs.shape={tuple(input_shape)}, "
                f"with unknown axis at index {unknown[0]}"
            )
        self._build_input_shape = tuple(input_shape)
        self._reduce_axis = tuple(a for a in range(rank) if a not in self._keep_axis)
        self._broadcast_shape = tuple(
            input_shape[a] if a in self._keep_axis else 1 for a in range(rank)
        )
        statistics_shape = tuple(input_shape[a] for a in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                statistics_shape, "zeros", name="mean", trainable=False
            )
            self.adapt_variance = self.add_weight(
                statistics_shape, "ones", name="variance", trainable=False
            )
            self.add_weight((), "zeros", name="count", trainable=False)
            # Keras's count is an integer (never moved by adapt, as in Keras).
            self._weights[-1].value = self.count = np.zeros((), dtype=np.int64)
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        if not self.built:
            return
        expected = self._build_input_shape
        if len(input_shape) != len(expected) or any(
            input_shape[a] not in (None, expected[a]) for a in self._keep_axis
        ):
            raise ValueError(
                f"Normalization layer {self.name!r} was built for inputs of shape {expected} "
                f"(the sizes of axis {self.axis} kept), received inputs of shape "
                f"{tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _statistics(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        """The mean and variance in ``dtype``, shaped to broadcast against the input."""
        shape = self._broadcast_shape
        if self.input_mean is None:
            mean = self.adapt_mean.reshape(shape)
            variance = self.adapt_variance.reshape(shape)
        else:
            mean = np.asarray(self.input_mean, dtype=dtype)
            variance = np.asarray(self.input_variance, dtype=dtype)
            if mean.ndim:  # laid along the last kept axes
                expanded = [1] * len(shape)
                for i in range(1, mean.ndim + 1):
                    expanded[self._keep_axis[-i]] = mean.shape[-i]
                mean, variance = mean.reshape(expanded), variance.reshape(expanded)
            mean, variance = np.broadcast_to(mean, shape), np.broadcast_to(variance, shape)
        return mean.astype(dtype, copy=False), variance.astype(dtype, copy=False)

    # --- adapt -------------------------------------------------------------------------
    def adapt(self, data) -> None:
        """Set ``mean`` and ``variance`` from ``data``: an array (all of it at
        once), or an iterable of batches (arrays, or ``(x, y)`` tuples whose
        ``x`` is taken), merged with Keras's running formula."""
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization layer {self.name!r} was given its mean and variance; it "
                "cannot adapt"
            )
        if isinstance(data, np.ndarray) or not hasattr(data, "__iter__"):
            batches, first = None, np.asarray(data)
        else:
            iterator = iter(data)
            first = next(iterator, None)
            if first is None:
                raise ValueError(
                    f"Normalization layer {self.name!r}: adapt() received an empty iterable "
                    "(no batches)"
                )
            first = np.asarray(first[0] if isinstance(first, tuple) else first)
            batches = iterator
        self._adapt_shape(first.shape)
        if batches is None:
            total_mean = np.mean(first, axis=self._reduce_axis)
            total_variance = np.var(first, axis=self._reduce_axis)
        else:
            total_mean, total_variance = self._running_moments(first, batches)
        self.adapt_mean[...] = total_mean
        self.adapt_variance[...] = total_variance

    def _adapt_shape(self, shape) -> None:
        if not self.built:
            self.build_once((None, *shape[1:]) if len(shape) > 1 else tuple(shape))
            return
        if len(shape) != len(self._build_input_shape) or any(
            shape[a] != self._build_input_shape[a] for a in self._keep_axis
        ):
            raise ValueError(
                f"Normalization layer {self.name!r} was built with input_shape="
                f"{self._build_input_shape}, but adapt() is being called with data with an "
                f"incompatible shape, data.shape={tuple(shape)}"
            )

    def _running_moments(self, first, batches):
        """Keras's merge of batch moments: the new mean is the count-weighted
        mean; the variance adds each part's squared distance to it."""
        dtype = self.dtype or config.floatx()
        total_mean = np.zeros(self.adapt_mean.shape, dtype=dtype)
        total_variance = np.zeros(self.adapt_variance.shape, dtype=dtype)
        total_count = 0
        for batch in _chain(first, batches):
            batch = np.asarray(batch[0] if isinstance(batch, tuple) else batch, dtype=dtype)
            self._adapt_shape(batch.shape)
            batch_mean = np.mean(batch, axis=self._reduce_axis)
            batch_variance = np.var(batch, axis=self._reduce_axis)
            batch_count = math.prod(batch.shape[a] for a in self._reduce_axis)
            total_count += batch_count
            batch_weight = float(batch_count) / total_count
            existing_weight = 1.0 - batch_weight
            new_mean = total_mean * existing_weight + batch_mean * batch_weight
            total_variance = (total_variance + (total_mean - new_mean) ** 2) * existing_weight + (
                batch_variance + (batch_mean - new_mean) ** 2
            ) * batch_weight
            total_mean = new_mean
        return total_mean, total_variance

    # --- the passes ---------------------------------------------------------------------
    def forward(self, x, training=False):
        dtype = self.dtype or config.floatx()
        x = x.astype(dtype, copy=False)
        mean, variance = self._statistics(dtype)
        deviation = np.maximum(np.sqrt(variance), EPSILON)
        deviation = deviation.astype(dtype, copy=False)
        if self.invert:
            return mean + x * deviation, deviation
        return (x - mean) / deviation, deviation

    def backward(self, deviation, grad_wrt_output, input_gradient=True):
        if not input_gradient:
            return None, {}
        if self.invert:
            return grad_wrt_output * deviation, {}
        return grad_wrt_output / deviation, {}

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }


def _chain(first, rest):
    yield first
    yield from rest
