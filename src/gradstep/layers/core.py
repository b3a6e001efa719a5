"""The core layers: Input, Dense, Activation, Flatten."""

from __future__ import annotations

import numpy as np

from gradstep import activations as activations_module
from gradstep import initializers
from gradstep.layers.base import LAYERS, Layer


@LAYERS.register("InputLayer")
class InputLayer(Layer):
    """Declares the shape of one sample; it computes nothing."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None):
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer needs shape, the shape of one sample, e.g. shape=(64,)")
        super().__init__(name=name, dtype=dtype, input_shape=tuple(shape))
        self.batch_size = batch_size

    def forward(self, x, training=False):
        return x

    def backward(self, grad_wrt_output, input_gradient=True):
        return grad_wrt_output

    def get_config(self):
        config = super().get_config()
        config["shape"] = config.pop("input_shape")
        del config["trainable"]
        return config


def Input(shape=None, batch_size=None, dtype=None, name=None):  # noqa: N802 (Keras's name)
    """``Input(shape=(64,))``: the first entry of a Sequential model."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name)


@LAYERS.register("Dense")
class Dense(Layer):
    r"""A fully connected layer: ``y = activation(x @ kernel + bias)``.

    Backward, with ``g`` the slope of the loss at ``y`` and ``z`` the
    pre-activation: ``dz = g * activation'(z)``; then
    ``d kernel = x^T dz`` (the value of the node feeding each weight times the
    slope at the node it feeds), ``d bias = sum(dz)`` and ``dx = dz kernel^T``.

    Args:
        units: number of outputs.
        activation: name or Activation; None means linear.
        use_bias: whether to add a bias. Defaults to True.
        kernel_initializer: Defaults to ``'glorot_uniform'``.
        bias_initializer: Defaults to ``'zeros'``.
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int | np.integer) or units <= 0:
            raise ValueError(f"units must be a positive integer, received {units!r}")
        self.units = int(units)
        self.activation = activations_module.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Dense layer {self.name!r} needs inputs with a known last dimension, "
                f"received input shape {input_shape}"
            )
        self.kernel = self.add_weight(
            (input_shape[-1], self.units), self.kernel_initializer, "kernel"
        )
        self.bias = (
            self.add_weight((self.units,), self.bias_initializer, "bias") if self.use_bias else None
        )
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False):
        if x.ndim < 2 or x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Input of layer {self.name!r} is incompatible with the layer: expected "
                f"axis -1 of the input shape to have value {self.kernel.shape[0]}, "
                f"received input with shape {x.shape}"
            )
        pre_activation = x @ self.kernel
        if self.bias is not None:
            pre_activation += self.bias
        output = self.activation(pre_activation)
        if training:
            self._cache = (x, pre_activation, output)
        return output

    def backward(self, grad_wrt_output, input_gradient=True):
        x, pre_activation, output = self._cache
        grad_wrt_pre = self.activation.backward(pre_activation, output, grad_wrt_output)
        return self.backward_from_pre_activation(grad_wrt_pre, input_gradient)

    def backward_from_pre_activation(self, grad_wrt_pre, input_gradient=True):
        """The linear part of the backward pass, given the slope at ``x @ kernel + bias``
        (used directly when the loss fuses with the activation, e.g. softmax + cross-entropy)."""
        x = self._cache[0]
        flat_x = x.reshape(-1, x.shape[-1])
        flat_grad = grad_wrt_pre.reshape(-1, self.units)
        self.grads = [flat_x.T @ flat_grad]
        if self.bias is not None:
            self.grads.append(flat_grad.sum(axis=0))
        return grad_wrt_pre @ self.kernel.T if input_gradient else None

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations_module.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["activation"] = activations_module.deserialize(config["activation"])
        return cls(**config)


@LAYERS.register("Activation")
class Activation(Layer):
    """Applies an activation function: ``y = f(x)``; backward ``dx = g * f'(x)``."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations_module.get(activation)

    def forward(self, x, training=False):
        output = self.activation(x)
        if training:
            self._cache = (x, output)
        return output

    def backward(self, grad_wrt_output, input_gradient=True):
        x, output = self._cache
        self.grads = []
        return self.activation.backward(x, output, grad_wrt_output)

    def get_config(self):
        return {**super().get_config(), "activation": activations_module.serialize(self.activation)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["activation"] = activations_module.deserialize(config["activation"])
        return cls(**config)


@LAYERS.register("Flatten")
class Flatten(Layer):
    """Reshapes each sample to one dimension: ``(n, 8, 8) -> (n, 64)``."""

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest))
        return (input_shape[0], size)

    def forward(self, x, training=False):
        if training:
            self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_wrt_output, input_gradient=True):
        self.grads = []
        return grad_wrt_output.reshape(self._cache)
