"""The core layers: InputLayer (and ``Input``), Dense, Activation, Flatten."""

from __future__ import annotations

import numpy as np

from gradstep import activations as activations_module
from gradstep import config, constraints, initializers, products, regularizers
from gradstep.graph import Node, SymbolicTensor
from gradstep.kernels import dense as dense_kernels
from gradstep.kernels import softmax as softmax_kernels
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_positive_int, check_shape


@LAYERS.register("InputLayer")
class InputLayer(Layer):
    """The entry of a model: the shape and dtype of one sample. It computes
    nothing; its symbolic ``output`` is what ``Input()`` returns.

    Args:
        shape: the shape of one sample, e.g. ``(64,)`` (the batch axis left out).
        batch_size: a fixed batch size, or None (any).
        dtype: the inputs' dtype; the default float type (``float32``) if None.
            Floating inputs are cast to it; integer dtypes keep integers.
        name: unique per process by default (``input_layer``, ``input_layer_1``, ...).
    """

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        name=None,
        input_shape=None,
        batch_shape=None,
        sparse=None,
    ):
        if batch_shape is not None:
            if shape is not None:
                raise ValueError("You cannot pass both `shape` and `batch_shape` at the same time.")
            if batch_size is not None:
                raise ValueError(
                    "You cannot pass both `batch_size` and `batch_shape` at the same time."
                )
            shape, batch_size = tuple(batch_shape)[1:], tuple(batch_shape)[0]
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer needs shape, the shape of one sample, e.g. shape=(64,)")
        if sparse:
            raise ValueError("gradstep has no sparse tensors: sparse must be False or None")
        shape = check_shape(shape, "shape")
        if batch_size is not None:
            batch_size = check_positive_int(batch_size, "batch_size")
        super().__init__(name=name, input_shape=shape)
        self.dtype = config.standardize_input_dtype(dtype) if dtype is not None else None
        self.batch_size = batch_size
        node = Node(self, None)
        node.output = SymbolicTensor(
            (batch_size,) + shape, self.dtype or config.floatx(), node, name=self.name
        )
        self.input_shape = self.output_shape = node.output.shape
        self.built = True

    def forward(self, inputs, training=False):
        return inputs, None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        return grad_wrt_output, {}

    def get_config(self):
        config_ = super().get_config()
        config_["shape"] = config_.pop("input_shape")
        if self.batch_size is not None:
            config_["batch_size"] = self.batch_size
        del config_["trainable"]
        return config_


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, sparse=None):  # noqa: N802 (Keras's name)
    """A symbolic tensor for the samples a model will receive: call layers on
    it to build a model with the functional API (``Model(inputs, outputs)``),
    or ``add`` it first to a ``Sequential`` model.

        >>> from gradstep import layers
        >>> inputs = layers.Input(shape=(64,))
        >>> inputs.shape
        (None, 64)
    """
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        name=name,
        batch_shape=batch_shape,
        sparse=sparse,
    )
    return layer.output


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
        kernel_regularizer: a penalty on the kernel added to the loss
            (``'l1'``, ``'l2'``, ``regularizers.L1L2(...)``), or None.
        bias_regularizer: the same for the bias.
        kernel_constraint: applied to the kernel after each optimizer step
            (``constraints.MaxNorm(3)``), or None.
        bias_constraint: the same for the bias.

    It also takes ``Layer``'s arguments, among them ``activity_regularizer``:
    a penalty on the output, per sample.
    """

    supports_masking = True

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int(units, "units")
        self.activation = activations_module.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        self.check_input_shape(input_shape)
        self.kernel = self.add_weight(
            (input_shape[-1], self.units),
            self.kernel_initializer,
            name="kernel",
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = (
            self.add_weight(
                (self.units,),
                self.bias_initializer,
                name="bias",
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
            if self.use_bias
            else None
        )
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Dense layer {self.name!r} needs inputs of rank 2 or more with a known last "
                f"dimension (batch, ..., features), received input with shape {input_shape}"
            )
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Input of layer {self.name!r} is incompatible with the layer: expected "
                f"axis -1 of the input shape to have value {self.kernel.shape[0]}, "
                f"received input with shape {input_shape}"
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False):
        if x.dtype != self.kernel.dtype:
            x = x.astype(self.kernel.dtype)
        pre_activation = products.matmul(x, self.kernel)
        if self.bias is not None and type(self.activation) is activations_module.ReLU:
            # the bias and the ReLU in one pass over the product (the same numbers)
            output = dense_kernels.bias_relu(pre_activation, self.bias)
            return output, (x, pre_activation, output)
        if type(self.activation) is activations_module.Softmax and self.activation.axis == -1:
            # the bias and the softmax in fused passes (the same numbers)
            output = softmax_kernels.bias_softmax(pre_activation, self.bias)
            return output, (x, pre_activation, output)
        if self.bias is not None:
            pre_activation += self.bias
        output = self.activation(pre_activation)
        return output, (x, pre_activation, output)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        x, pre_activation, output = saved
        if type(self.activation) is activations_module.ReLU:
            # ReLU's slope and the bias's in one pass over the slope (the same numbers)
            grad_wrt_pre, bias_slope = dense_kernels.relu_slope_and_bias_slope(
                _rows(grad_wrt_output), _rows(pre_activation), self.bias is not None
            )
            grad_wrt_pre = grad_wrt_pre.reshape(grad_wrt_output.shape)
            return self._linear_backward(x, grad_wrt_pre, bias_slope, input_gradient)
        grad_wrt_pre = self.activation.backward(pre_activation, output, grad_wrt_output)
        return self.backward_from_pre_activation(saved, grad_wrt_pre, input_gradient)

    def backward_from_pre_activation(self, saved, grad_wrt_pre, input_gradient=True):
        """The linear part of the backward pass, given the slope at ``x @ kernel + bias``."""
        # np.add.reduce is what ndarray.sum calls (the same sums), without its wrapper
        bias_slope = None if self.bias is None else np.add.reduce(_rows(grad_wrt_pre), axis=0)
        return self._linear_backward(saved[0], grad_wrt_pre, bias_slope, input_gradient)

    def _linear_backward(self, x, grad_wrt_pre, bias_slope, input_gradient):
        """The kernel's and the input's slopes, given the slope at ``x @ kernel +
        bias`` and the bias's (the sum of its rows; None without a bias)."""
        flat_x = _rows(x)
        flat_grad = _rows(grad_wrt_pre)
        weight_grads = {"kernel": products.matmul(flat_x.T, flat_grad)}
        if bias_slope is not None:
            weight_grads["bias"] = bias_slope
        grad_wrt_input = None
        if input_gradient:
            grad_wrt_input = products.matmul(grad_wrt_pre, self.kernel.T)
        return grad_wrt_input, weight_grads

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations_module.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_["activation"] = activations_module.deserialize(config_.get("activation"))
        return cls(**config_)


def _rows(array: np.ndarray) -> np.ndarray:
    """``array`` as a matrix of its last axis: ``(n, ..., k) -> (n * ..., k)``."""
    return array.reshape(-1, array.shape[-1]) if array.ndim > 2 else array


@LAYERS.register("Activation")
class Activation(Layer):
    """Applies an activation function: ``y = f(x)``; backward ``dx = g * f'(x)``."""

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations_module.get(activation)

    def forward(self, x, training=False):
        output = self.activation(x)
        return output, (x, output)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        x, output = saved
        return self.activation.backward(x, output, grad_wrt_output), {}

    def backward_from_pre_activation(self, saved, grad_wrt_pre, input_gradient=True):
        return grad_wrt_pre, {}

    def get_config(self):
        return {**super().get_config(), "activation": activations_module.serialize(self.activation)}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_["activation"] = activations_module.deserialize(config_["activation"])
        return cls(**config_)


@LAYERS.register("Flatten")
class Flatten(Layer):
    """Reshapes each sample to one dimension: ``(n, 8, 8) -> (n, 64)``.

    With ``data_format='channels_first'`` the channels axis moves last first,
    as in Keras, so that ``(n, c, h, w)`` flattens in the order of
    ``(n, h, w, c)``: a model gives the same vector in either layout.
    Backward reshapes (and moves back) the slope.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; None means
            ``config.image_data_format()`` (``'channels_last'``).
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        try:
            self.data_format = config.standardize_data_format(data_format)
        except ValueError as error:
            raise ValueError(f"Flatten: {error}") from None

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else int(np.prod(rest))
        return (input_shape[0], size)

    def _channels_last_axes(self, ndim: int):
        """The transposition that moves the channels last, or None."""
        if self.data_format == "channels_first" and ndim > 2:
            return (0, *range(2, ndim), 1)
        return None

    def forward(self, x, training=False):
        axes = self._channels_last_axes(x.ndim)
        moved = x if axes is None else np.transpose(x, axes)
        return moved.reshape(x.shape[0], -1), (moved.shape, axes)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        moved_shape, axes = saved
        grad = grad_wrt_output.reshape(moved_shape)
        return (grad if axes is None else np.transpose(grad, np.argsort(axes))), {}

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
