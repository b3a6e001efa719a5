"""Preprocessing layers: Rescaling.

Keras's preprocessing layers that compute a fixed function of the data (no
weights, nothing learned from it). ``Rescaling(1.0 / 255)`` at the start of
an image model turns pixel values in [0, 255] into [0, 1]."""

from __future__ import annotations

import numpy as np

from gradstep import config
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import is_real


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
