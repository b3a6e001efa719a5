"""Masking: skip the steps whose features all equal ``mask_value``.

``keep[b, t] = any(x[b, t, :] != mask_value)``; the output is ``x * keep``
(masked steps become zeros, as Keras's) and carries the mask ``keep``, which
the layers after it use (recurrent layers keep their state through masked
steps). Backward: ``dx = dy * keep``.
"""

from __future__ import annotations

import numpy as np

from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_real


@LAYERS.register("Masking")
class Masking(Layer):
    """Keras's ``Masking(mask_value=0.0)``."""

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = check_real(mask_value, f"Masking {self.name!r} mask_value")

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError(
                f"Masking layer {self.name!r} expects inputs of rank 2 or more (batch, "
                f"steps, ...), received input with shape {input_shape}"
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        return np.any(inputs != self.mask_value, axis=-1)

    def output_mask(self, inputs, mask, saved):
        return saved[..., 0]  # the keep mask forward computed

    def forward(self, x, training=False):
        keep = np.any(x != self.mask_value, axis=-1, keepdims=True)
        return x * keep.astype(x.dtype), keep

    def backward(self, keep, grad_wrt_output, input_gradient=True):
        return grad_wrt_output * keep.astype(grad_wrt_output.dtype), {}

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
