"""TimeDistributed: one layer applied to every step of a sequence.

``y[:, t] = layer(x[:, t])`` for each step ``t``: the steps are folded into
the batch, ``(batch, steps, ...) -> (batch * steps, ...)``, the layer runs
once, and its output is unfolded. Backward folds the slope the same way; the
weights' slopes are summed over the steps by the layer's own backward (one
batch of ``batch * steps`` samples).
"""

from __future__ import annotations

from gradstep import serialization
from gradstep.layers.base import LAYERS, Layer


@LAYERS.register("TimeDistributed")
class TimeDistributed(Layer):
    """Keras's ``TimeDistributed(layer)``: the layer's weights, shared by the steps."""

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if isinstance(layer, dict):
            layer = serialization.deserialize_keras_object(layer)
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(
                f"TimeDistributed {self.name!r}: argument `layer` must be a Layer, "
                f"received {layer!r}"
            )
        self.layer = layer

    @property
    def draws_noise(self) -> bool:
        return self.layer.draws_noise

    @property
    def integer_inputs(self) -> bool:
        return self.layer.integer_inputs

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed layer {self.name!r} expects inputs of rank 3 or more "
                f"(batch, steps, ...), received input with shape {input_shape}"
            )
        self.layer.check_input_shape((None, *input_shape[2:]))

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        self.layer.build_once((None, *input_shape[2:]))
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((input_shape[0], *input_shape[2:]))
        return (inner[0], input_shape[1], *inner[1:])

    def forward(self, x, training=False):
        batch, steps = x.shape[:2]
        if self.layer.rng is None:
            self.layer.rng = self.rng
        output, saved = self.layer.forward(x.reshape(batch * steps, *x.shape[2:]), training)
        return output.reshape(batch, steps, *output.shape[1:]), (saved, x.shape)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        inner_saved, shape = saved
        batch, steps = shape[:2]
        folded = grad_wrt_output.reshape(batch * steps, *grad_wrt_output.shape[2:])
        input_grad, grads = self.layer.backward(inner_saved, folded, input_gradient)
        weight_grads = (
            {f"{self.layer.name}/{k}": g for k, g in grads.items()} if self.trainable else {}
        )
        if not input_gradient or input_grad is None:
            return None, weight_grads
        return input_grad.reshape(shape), weight_grads

    def get_config(self):
        return {**super().get_config(), "layer": serialization.serialize_keras_object(self.layer)}
