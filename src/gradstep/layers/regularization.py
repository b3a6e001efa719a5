"""Regularization layers: Dropout, SpatialDropout1D/2D/3D, GaussianNoise,
GaussianDropout, ActivityRegularization.

The random ones act only in training and draw from the layer's generator
(its own when given a ``seed``, else the model's dropout generator); in
inference they pass their input through. Their backward multiplies the slope
by the same noise (or passes it through, for additive noise).
"""

from __future__ import annotations

import math

import numpy as np

from gradstep import regularizers, scratch
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_fraction, check_real


@LAYERS.register("Dropout")
class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability ``rate``
    and scale the rest by ``1 / (1 - rate)`` so the expected value is unchanged;
    at inference, pass inputs through. Backward multiplies by the same mask.

    Args:
        rate: fraction of the inputs to drop, in [0, 1).
        noise_shape: the shape of the mask (None entries take the input's
            size), to drop whole features across an axis.
        seed: optional seed for this layer's own generator (otherwise the
            model's dropout generator is used).
    """

    draws_noise = True
    supports_masking = True

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_fraction(rate, f"{type(self).__name__} layer {self.name!r} rate")
        self.noise_shape = noise_shape
        self.seed = seed
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x, None
        shape = self._mask_shape(x.shape)
        draws = self._init_generator().random(shape, out=scratch.empty(shape, np.float64))
        keep = draws >= self.rate
        del draws
        mask = np.divide(keep, x.dtype.type(1 - self.rate), out=scratch.empty(shape, x.dtype))
        return _product(x, mask), mask

    def _mask_shape(self, input_shape) -> tuple:
        """The shape of the mask: ``noise_shape`` with None entries filled in."""
        if self.noise_shape is None:
            return tuple(input_shape)
        return tuple(input_shape[i] if d is None else d for i, d in enumerate(self.noise_shape))

    def backward(self, mask, grad_wrt_output, input_gradient=True):
        return (grad_wrt_output if mask is None else _product(grad_wrt_output, mask)), {}

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


def _product(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``x * mask`` (the mask broadcast over x), in an array of ``scratch``."""
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return np.multiply(x, mask, out=scratch.empty(shape, np.result_type(x, mask)))


def _data_format(value, label: str) -> str:
    """``'channels_last'`` (Keras's default image data format) for None, else
    the value lower-cased, which must be ``'channels_first'`` or ``'channels_last'``."""
    if value is None:
        return "channels_last"
    data_format = str(value).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            f"{label}: data_format must be 'channels_first' or 'channels_last', received {value!r}"
        )
    return data_format


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one draw per sample and channel, shared
    across the spatial axes (the mask has size 1 there). Keras's arguments
    are only ``rate``, ``seed``, ``name``, ``dtype`` (and ``data_format``)."""

    rank = 0  # of the inputs, batch axis included

    def __init__(self, rate, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) != self.rank:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} needs inputs of rank {self.rank} "
                f"{self._layout}, received input with shape {input_shape}"
            )

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        super().build(input_shape)

    def _channel_axis(self) -> int:
        return -1

    def _mask_shape(self, input_shape) -> tuple:
        shape = [1] * len(input_shape)
        shape[0] = input_shape[0]
        shape[self._channel_axis()] = input_shape[self._channel_axis()]
        return tuple(shape)

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}


@LAYERS.register("SpatialDropout1D")
class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of ``(batch, steps, channels)`` inputs: each
    sample's channel is zeroed with probability ``rate`` at every step, or
    kept and scaled by ``1 / (1 - rate)``. See ``Dropout``.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        seed: optional seed for this layer's own generator.
    """

    rank = 3
    _layout = "(batch, steps, channels)"


class _SpatialDropoutWithFormat(_SpatialDropout):
    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None):
        super().__init__(rate, seed=seed, name=name, dtype=dtype)
        self.data_format = _data_format(data_format, f"{type(self).__name__} layer {self.name!r}")

    @property
    def _layout(self) -> str:
        spatial = ", ".join(f"dim{i}" for i in range(1, self.rank - 1))
        if self.data_format == "channels_first":
            return f"(batch, channels, {spatial}) for data_format='channels_first'"
        return f"(batch, {spatial}, channels) for data_format='channels_last'"

    def _channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


@LAYERS.register("SpatialDropout2D")
class SpatialDropout2D(_SpatialDropoutWithFormat):
    """Dropout of whole feature maps of images: ``(batch, rows, cols, channels)``
    (``channels_last``) or ``(batch, channels, rows, cols)``; one draw per
    sample and channel. See ``Dropout``.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: ``'channels_last'`` (the default) or ``'channels_first'``.
        seed: optional seed for this layer's own generator.
    """

    rank = 4


@LAYERS.register("SpatialDropout3D")
class SpatialDropout3D(_SpatialDropoutWithFormat):
    """Dropout of whole feature maps of volumes: ``(batch, d1, d2, d3, channels)``
    (``channels_last``) or ``(batch, channels, d1, d2, d3)``. See ``SpatialDropout2D``."""

    rank = 5


@LAYERS.register("GaussianNoise")
class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise in training: ``y = x + n``, ``n ~ N(0, stddev^2)``
    drawn anew for every entry at every step; at inference ``y = x``. Backward:
    ``dx = g``.

    Args:
        stddev: the noise's standard deviation, in [0, 1] (Keras's bounds).
        seed: optional seed for this layer's own generator.
    """

    draws_noise = True
    supports_masking = True

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = check_real(stddev, f"GaussianNoise layer {self.name!r} stddev", low=0, high=1)
        self.seed = seed
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def forward(self, x, training=False):
        if training and self.stddev > 0:
            noise = self._init_generator().normal(0.0, self.stddev, size=x.shape)
            return x + noise.astype(x.dtype), None
        return x, None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        return grad_wrt_output, {}

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@LAYERS.register("GaussianDropout")
class GaussianDropout(Layer):
    """Multiplies by Gaussian noise of mean 1 in training: ``y = x * n``,
    ``n ~ N(1, rate / (1 - rate))`` (the variance of inverted dropout's mask
    at the same rate), drawn for every entry at every step; at inference
    ``y = x``. Backward: ``dx = g * n`` with the same ``n``.

    Args:
        rate: in [0, 1); the noise's standard deviation is ``sqrt(rate / (1 - rate))``.
        seed: optional seed for this layer's own generator.
    """

    draws_noise = True
    supports_masking = True

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_fraction(rate, f"GaussianDropout layer {self.name!r} rate")
        self.seed = seed
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def forward(self, x, training=False):
        if training and self.rate > 0:
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = self._init_generator().normal(1.0, stddev, size=x.shape).astype(x.dtype)
            return x * noise, noise
        return x, None

    def backward(self, noise, grad_wrt_output, input_gradient=True):
        return (grad_wrt_output if noise is None else grad_wrt_output * noise), {}

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@LAYERS.register("ActivityRegularization")
class ActivityRegularization(Layer):
    """Passes its input through and adds ``(l1 * sum|x| + l2 * sum x^2) / batch``
    to the loss (its ``activity_regularizer``, applied by the graph).

    Args:
        l1: Defaults to 0.0.
        l2: Defaults to 0.0.
    """

    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        self.l1 = float(check_real(l1, "l1", low=0))
        self.l2 = float(check_real(l2, "l2", low=0))
        super().__init__(activity_regularizer=regularizers.L1L2(l1=self.l1, l2=self.l2), **kwargs)

    def forward(self, x, training=False):
        return x, None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        return grad_wrt_output, {}

    def get_config(self):
        config_ = super().get_config()
        config_.pop("activity_regularizer", None)
        return {**config_, "l1": self.l1, "l2": self.l2}
