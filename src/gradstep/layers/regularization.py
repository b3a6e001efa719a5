"""Regularization layers: Dropout, ActivityRegularization."""

from __future__ import annotations

import numpy as np

from gradstep import regularizers
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
        self.rate = check_fraction(rate, "rate")
        self.noise_shape = noise_shape
        self.seed = seed
        if seed is not None:
            self.rng = np.random.default_rng(seed)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            return x, None
        shape = (
            x.shape
            if self.noise_shape is None
            else tuple(x.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        )
        keep = self._init_generator().random(shape) >= self.rate
        mask = keep.astype(x.dtype) / x.dtype.type(1 - self.rate)
        return x * mask, mask

    def backward(self, mask, grad_wrt_output, input_gradient=True):
        return (grad_wrt_output if mask is None else grad_wrt_output * mask), {}

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": self.noise_shape,
            "seed": self.seed,
        }


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
