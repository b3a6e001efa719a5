r"""Convolution layers, Keras 3's: Conv1D, Conv2D, DepthwiseConv2D,
SeparableConv2D, Conv1DTranspose and Conv2DTranspose.

A convolution slides a kernel over the spatial axes of its input and, at each
window, takes the dot product of the window with the kernel (a
cross-correlation, as in every deep learning library). With ``x`` the input,
``w`` the kernel of shape ``(*kernel_size, in_channels / groups, filters)``
and ``o`` an output position::

    z[n, o, f] = sum over taps t and channels c of x[n, o * stride + t * dilation, c] w[t, c, f]
    y = activation(z + bias)

**Padding.** Along each spatial axis a window of ``k`` taps dilated by ``d``
spans ``s_k = (k - 1) d + 1`` entries. ``padding='valid'`` adds nothing, and
gives ``floor((n - s_k) / stride) + 1`` outputs (a layer refuses an input
where that is zero or less); ``'same'`` gives ``ceil(n / stride)`` outputs
and adds the ``max((out - 1) stride + s_k - n, 0)`` zeros the last window
needs, half before (rounded down) and the rest after, as XLA and TensorFlow
do; ``'causal'`` (Conv1D) adds ``s_k - 1`` zeros before, so that output
``t`` sees inputs up to ``t`` only. Keras refuses ``strides > 1`` together
with ``dilation_rate > 1`` for Conv1D, Conv2D and Conv2DTranspose, and so do
these layers.

**Channels.** ``data_format='channels_last'`` (the default) reads
``(batch, *spatial, channels)``, ``'channels_first'`` reads
``(batch, channels, *spatial)``. The layers compute channels-last inside:
a channels-first input is read through a transposed view (no copy), and the
output is handed back as a transposed view of the channels-last result.

**How it is computed.** Forward copies every window of the padded input into
a row (``im2col``: a ``(batch * windows, taps * channels)`` matrix), and a
matrix product with the kernel, reshaped to ``(taps * channels, filters)``,
convolves them. With ``g = dL/dz`` as a ``(batch * windows, filters)``
matrix, backward is two more products and the adjoint of the copy::

    dL/dw    = im2col(x)^T g         (a product)
    dL/dbias = sum of g over batch and windows
    dL/dx    = col2im(g w^T)         (a product, then each row added back where its window lies)

The windows are copied for a few samples at a time (``WINDOW_CHUNK_BYTES``
of rows), in both passes: the copy is ``taps`` times as large as the input
(17 MB for the MNIST convnet's second layer at batch 128), and holding it,
and its slope, whole from the forward pass to the backward one would double
the step's memory. Backward copies the windows again from the padded input,
which the layer keeps instead.

The copies (``gradstep.kernels.windows``) run as fused kernels when numba is
installed, else as NumPy loops over the kernel's taps that give the same
bits. With a ReLU, the bias and the activation take one pass over the
product, in place (ReLU's slope needs only the sign of its output, so the
pre-activation is not kept), and backward's ReLU slope and bias sum another.

Groups split the channels and filters into ``groups`` blocks, each convolved
by its own product (a stacked ``matmul``). ``DepthwiseConv2D`` is the grouped
convolution with one group per channel; ``SeparableConv2D`` is a depthwise
convolution followed by a 1x1 convolution (one product); ``Conv2DTranspose``
is the adjoint of a convolution: its forward pass is a convolution's input
slope (a product, then ``col2im``) and its backward pass a convolution's
forward pass (``im2col``, then products). Everything stays in the layer's
dtype (float32 by default). The padding arithmetic and the windows' geometry
are in ``gradstep.layers.windows``.
"""

from __future__ import annotations

import math

import numpy as np

from gradstep import activations as activations_module
from gradstep import constraints, initializers, products, regularizers, scratch
from gradstep.kernels import windows as window_kernels
from gradstep.layers import spatial, windows
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_positive_int

#: The windows (and their slopes) are copied for as many samples at a time
#: as fit in this many bytes (see "How it is computed" above).
WINDOW_CHUNK_BYTES = 1 << 22

_AXIS_NAMES = {1: ("steps",), 2: ("height", "width")}


class _Convolution(Layer):
    """What every convolution layer shares: the window arguments, the channel
    axis, the shape checks, and the bias and activation around a linear part
    that each layer writes (``_linear_forward`` / ``_linear_backward``,
    channels-last, outputs as ``(batch * positions, channels)`` matrices)."""

    rank = 2
    #: The paddings the layer accepts (Conv1D adds 'causal').
    paddings = ("valid", "same")
    #: Whether strides > 1 with dilation_rate > 1 is refused (as Keras refuses it).
    refuses_strided_dilation = True

    def __init__(
        self,
        kernel_size,
        strides,
        padding,
        data_format,
        dilation_rate,
        activation,
        use_bias,
        bias_initializer,
        bias_regularizer,
        bias_constraint,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_size = self._spatial_tuple(kernel_size, "kernel_size")
        self.strides = self._spatial_tuple(strides, "strides")
        self.dilation_rate = self._spatial_tuple(dilation_rate, "dilation_rate")
        self.padding = self._check_padding(padding)
        self.data_format = spatial.data_format_of(data_format, self._who())
        self.activation = activations_module.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        if self.refuses_strided_dilation and max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{self._who()}: strides > 1 is not supported together with dilation_rate > 1 "
                f"(as in Keras), received strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}"
            )
        self.bias = None

    # --- arguments --------------------------------------------------------------------
    def _who(self) -> str:
        return f"{type(self).__name__} layer {self.name!r}"

    def _spatial_tuple(self, value, argument: str, allow_zero: bool = False) -> tuple[int, ...]:
        """Keras's ``standardize_tuple``: an integer, or ``rank`` integers."""
        return spatial.standardize_tuple(value, self.rank, argument, self._who(), allow_zero)

    def _check_padding(self, padding) -> str:
        lowered = padding.lower() if isinstance(padding, str) else padding
        if lowered not in self.paddings:
            raise ValueError(
                f"{self._who()}: padding must be one of {self.paddings}, received {padding!r}"
            )
        return lowered

    # --- shapes -----------------------------------------------------------------------
    @property
    def channels_first(self) -> bool:
        return self.data_format == "channels_first"

    def _layout(self) -> str:
        axes = ("batch", *_AXIS_NAMES.get(self.rank, ("spatial",) * self.rank))
        if self.channels_first:
            return ", ".join((axes[0], "channels", *axes[1:]))
        return ", ".join((*axes, "channels"))

    def _split(self, shape):
        """``(channels, spatial shape)`` of a full input shape."""
        if self.channels_first:
            return shape[1], tuple(shape[2:])
        return shape[-1], tuple(shape[1:-1])

    def _join(self, batch, channels, spatial) -> tuple:
        if self.channels_first:
            return (batch, channels, *spatial)
        return (batch, *spatial, channels)

    def check_input_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{self._who()} needs inputs of rank {self.rank + 2} ({self._layout()}) for "
                f"data_format={self.data_format!r}, received input with shape {input_shape}"
            )
        channels, spatial = self._split(input_shape)
        axis = 1 if self.channels_first else -1
        if channels is None:
            raise ValueError(
                f"{self._who()} needs the channel axis ({axis}, data_format="
                f"{self.data_format!r}) of its input to be known, received input with shape "
                f"{input_shape}"
            )
        if self.built and channels != self._input_channels:
            other = "channels_last" if self.channels_first else "channels_first"
            raise ValueError(
                f"Input of {self._who()} is incompatible with the layer: expected axis {axis} "
                f"(the channels, data_format={self.data_format!r}) of the input shape to have "
                f"value {self._input_channels}, received input with shape {input_shape}; "
                f"for {other} data, use data_format={other!r}"
            )
        self._check_channels(channels, input_shape)
        self._check_spatial(spatial, input_shape)

    def _check_channels(self, channels, input_shape) -> None:
        """Refuse a channel count the layer cannot split (groups)."""

    def _check_spatial(self, spatial, input_shape) -> None:
        """Refuse an input whose (padded) spatial axes are smaller than the window."""
        for axis, (size, k, s, d) in enumerate(
            zip(spatial, self.kernel_size, self.strides, self.dilation_rate, strict=True)
        ):
            if size is not None and windows.conv_output_length(size, k, s, d, self.padding) < 1:
                raise ValueError(
                    f"{self._who()}: the kernel (size {self.kernel_size}, dilation_rate "
                    f"{self.dilation_rate}, spanning {windows.span(k, d)} entries on spatial "
                    f"axis {axis}) is larger than the input with padding={self.padding!r}: "
                    f"received input with shape {input_shape}, whose spatial axis {axis} has "
                    f"{size} entries"
                )

    def compute_output_shape(self, input_shape):
        channels, spatial = self._split(input_shape)
        return self._join(
            input_shape[0], self._output_channels(channels), self._output_spatial(spatial)
        )

    def _output_spatial(self, spatial) -> tuple:
        return tuple(
            windows.conv_output_length(n, k, s, d, self.padding)
            for n, k, s, d in zip(
                spatial, self.kernel_size, self.strides, self.dilation_rate, strict=True
            )
        )

    def _windows(self, spatial) -> windows.Windows:
        return windows.conv_windows(
            spatial, self.kernel_size, self.strides, self.dilation_rate, self.padding
        )

    # --- building ---------------------------------------------------------------------
    def build(self, input_shape):
        self.check_input_shape(input_shape)
        channels, _ = self._split(input_shape)
        self._input_channels = int(channels)
        self._build_weights(self._input_channels)
        if self.use_bias:
            self.bias = self.add_weight(
                (self._output_channels(self._input_channels),),
                self.bias_initializer,
                name="bias",
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        super().build(input_shape)

    def product_size(self) -> int:
        """The kernel (the largest weight) once per output position: the
        products' size per sample (see ``Layer.product_size``)."""
        _, spatial = self._split(self.output_shape or (None,) * (self.rank + 2))
        positions = math.prod(1 if n is None else n for n in spatial)
        return super().product_size() * positions

    # --- the two passes ---------------------------------------------------------------
    def _to_channels_last(self, x: np.ndarray) -> np.ndarray:
        return np.moveaxis(x, 1, -1) if self.channels_first else x

    def _from_channels_last(self, x: np.ndarray) -> np.ndarray:
        return np.moveaxis(x, -1, 1) if self.channels_first else x

    def forward(self, x, training=False):
        dtype = self._weights[0].value.dtype
        if x.dtype != dtype:
            x = x.astype(dtype)
        pre_activation, linear_saved = self._linear_forward(self._to_channels_last(x))
        pre_activation = np.ascontiguousarray(pre_activation)  # changed in place below
        if self._fuses_relu():
            # relu(z + bias) in one pass, in place: ReLU's slope needs only the
            # output's sign, so the pre-activation need not be kept.
            window_kernels.bias_relu(_as_matrix(pre_activation), self.bias)
            output = self._from_channels_last(pre_activation)
            return output, (linear_saved, output, output, pre_activation)
        if self.bias is not None:
            pre_activation += self.bias
        pre_activation = self._from_channels_last(pre_activation)
        output = self.activation(pre_activation)
        return output, (linear_saved, pre_activation, output, None)

    def _fuses_relu(self) -> bool:
        return type(self.activation) is activations_module.ReLU and self.bias is not None

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        linear_saved, pre_activation, output, relu_output = saved
        if relu_output is not None:
            grad_matrix = _as_matrix(self._to_channels_last(grad_wrt_output))
            grad_matrix, bias_grad = window_kernels.relu_slope(grad_matrix, _as_matrix(relu_output))
            return self._backward_linear(linear_saved, grad_matrix, bias_grad, input_gradient)
        grad_wrt_pre = self.activation.backward(pre_activation, output, grad_wrt_output)
        return self.backward_from_pre_activation(saved, grad_wrt_pre, input_gradient)

    def backward_from_pre_activation(self, saved, grad_wrt_pre, input_gradient=True):
        """The linear part of the backward pass, given the slope at ``z + bias``."""
        grad_matrix = _as_matrix(self._to_channels_last(grad_wrt_pre))
        bias_grad = grad_matrix.sum(axis=0) if self.bias is not None else None
        return self._backward_linear(saved[0], grad_matrix, bias_grad, input_gradient)

    def _backward_linear(self, linear_saved, grad_matrix, bias_grad, input_gradient):
        grad_wrt_input, weight_grads = self._linear_backward(
            linear_saved, grad_matrix, input_gradient
        )
        if self.bias is not None:
            weight_grads["bias"] = bias_grad
        if grad_wrt_input is not None:
            grad_wrt_input = self._from_channels_last(grad_wrt_input)
        return grad_wrt_input, weight_grads

    # --- each layer's own part --------------------------------------------------------
    def _output_channels(self, input_channels):
        raise NotImplementedError

    def _build_weights(self, input_channels: int) -> None:
        raise NotImplementedError

    def _linear_forward(self, x_last):
        """``(z, saved)``: the convolution of the channels-last input, channels-last."""
        raise NotImplementedError

    def _linear_backward(self, saved, grad_matrix, input_gradient):
        """``(slope at the channels-last input or None, {weight: slope})``."""
        raise NotImplementedError

    # --- configuration ----------------------------------------------------------------
    def _window_config(self) -> dict:
        return {
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
        }

    def _bias_config(self) -> dict:
        return {
            "activation": activations_module.serialize(self.activation),
            "use_bias": self.use_bias,
        }

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_["activation"] = activations_module.deserialize(config_.get("activation"))
        return cls(**config_)


def _as_matrix(array: np.ndarray) -> np.ndarray:
    """A channels-last array as a C-contiguous ``(positions, channels)`` matrix
    (a view when it is C-contiguous already)."""
    return np.ascontiguousarray(array).reshape(-1, array.shape[-1])


# --- the products: one per group ------------------------------------------------------
def _grouped(kernel: np.ndarray, groups: int) -> np.ndarray:
    """A kernel ``(*taps, channels / groups, filters)`` as ``(groups, taps *
    channels / groups, filters / groups)`` (a view when ``groups`` is 1)."""
    rows = kernel.size // kernel.shape[-1]
    return kernel.reshape(rows, groups, kernel.shape[-1] // groups).transpose(1, 0, 2)


def _grouped_convolve(cols: np.ndarray, kernel: np.ndarray, groups: int) -> np.ndarray:
    """``(rows, filters)``: each group's windows times its part of the kernel."""
    per_group = np.matmul(cols, _grouped(kernel, groups))
    return np.ascontiguousarray(per_group.transpose(1, 0, 2)).reshape(cols.shape[1], -1)


def _grouped_backward(cols, kernel, groups, grad_matrix, input_gradient):
    """``(slope at the windows or None, slope at the kernel)`` of a grouped
    convolution, given the slope ``grad_matrix`` ``(rows, filters)`` at the
    product (one group's windows times its part of the kernel)."""
    grad_groups = grad_matrix.reshape(len(grad_matrix), groups, -1).transpose(1, 0, 2)
    grad_kernel = np.matmul(cols.transpose(0, 2, 1), grad_groups)
    grad_kernel = grad_kernel.transpose(1, 0, 2).reshape(kernel.shape)
    grad_cols = None
    if input_gradient:
        grad_cols = np.matmul(grad_groups, _grouped(kernel, groups).transpose(0, 2, 1))
    return grad_cols, grad_kernel


def _windowed_forward(x_last, geometry, kernel, groups):
    """Pad, copy the windows, multiply: ``(z, saved)`` with ``z`` channels-last.
    Without groups, ``saved`` is the padded input and the windows are copied
    a few samples at a time; with groups, it is the windows."""
    canvas = windows.pad(x_last, geometry.pads)
    batch, filters = len(x_last), kernel.shape[-1]
    if groups != 1:
        cols = windows.im2col(canvas, geometry, groups)
        z = _grouped_convolve(cols, kernel, groups)
        return z.reshape(batch, *geometry.output_size, filters), cols
    flat_kernel = kernel.reshape(-1, filters)
    dtype = np.result_type(canvas, kernel)
    z = scratch.empty((batch * math.prod(geometry.output_size), filters), dtype)
    for _, rows, cols in _window_chunks(canvas, geometry):
        products.matmul(cols, flat_kernel, z[rows])
    return z.reshape(batch, *geometry.output_size, filters), canvas


def _window_chunks(canvas, geometry):
    """``(samples, rows, cols)`` for a few samples at a time: their windows as
    the rows of ``cols`` (one buffer, refilled), and where those samples and
    rows lie in the batch and in its ``(batch * windows, taps * channels)``
    matrix."""
    batch, channels = canvas.shape[0], canvas.shape[-1]
    windows_per_sample = math.prod(geometry.output_size)
    sample_bytes = windows_per_sample * geometry.taps * channels * canvas.dtype.itemsize
    chunk = max(1, min(batch, WINDOW_CHUNK_BYTES // sample_bytes))
    buffer = scratch.empty(
        (1, chunk, *geometry.output_size, *geometry.kernel, channels), canvas.dtype
    )
    for start in range(0, batch, chunk):
        samples = slice(start, min(start + chunk, batch))
        cols = buffer[:, : samples.stop - start]
        window_kernels.im2col(canvas[samples], cols, geometry.strides, geometry.dilations)
        rows = slice(start * windows_per_sample, samples.stop * windows_per_sample)
        yield samples, rows, cols.reshape(rows.stop - rows.start, -1)


def _windowed_backward(saved, grad_matrix, kernel, groups, input_gradient):
    """The slope at the channels-last input (or None) and at the kernel."""
    if groups != 1:
        return _grouped_windowed_backward(saved, grad_matrix, kernel, groups, input_gradient)
    canvas, geometry, batch = saved
    flat_kernel = kernel.reshape(-1, kernel.shape[-1])
    dtype = np.result_type(grad_matrix, flat_kernel)
    grad_kernel = np.zeros(flat_kernel.shape, dtype)
    grad_canvas = None
    if input_gradient:
        grad_canvas = windows.zero_canvas(geometry, batch, canvas.shape[-1], dtype)
    grad_cols = None
    for samples, rows, cols in _window_chunks(canvas, geometry):
        grad_rows = grad_matrix[rows]
        grad_kernel += products.matmul(cols.T, grad_rows)
        if grad_canvas is not None:
            if grad_cols is None:
                grad_cols = scratch.empty(cols.shape, dtype)
            slope = grad_cols[: len(cols)]
            products.matmul(grad_rows, flat_kernel.T, slope)
            count = samples.stop - samples.start
            windows.col2im(slope[None], geometry, count, canvas=grad_canvas[samples])
    grad_kernel = grad_kernel.reshape(kernel.shape)
    if grad_canvas is None:
        return None, grad_kernel
    return windows.crop(grad_canvas, geometry.pads), grad_kernel


def _grouped_windowed_backward(saved, grad_matrix, kernel, groups, input_gradient):
    cols, geometry, batch = saved
    grad_cols, grad_kernel = _grouped_backward(cols, kernel, groups, grad_matrix, input_gradient)
    if grad_cols is None:
        return None, grad_kernel
    canvas = windows.col2im(grad_cols, geometry, batch)
    return windows.crop(canvas, geometry.pads), grad_kernel


class _Conv(_Convolution):
    """Conv1D and Conv2D: ``filters`` kernels of ``in_channels / groups`` channels."""

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            bias_constraint,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.filters = check_positive_int(filters, f"{self._who()}: filters")
        self.groups = check_positive_int(groups, f"{self._who()}: groups")
        if self.filters % self.groups:
            raise ValueError(
                f"{self._who()}: filters must be divisible by groups, received "
                f"filters={self.filters} and groups={self.groups}"
            )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _check_channels(self, channels, input_shape):
        if channels % self.groups:
            raise ValueError(
                f"{self._who()}: the input's channels must be divisible by groups="
                f"{self.groups}, received input with shape {input_shape} ({channels} channels, "
                f"data_format={self.data_format!r})"
            )

    def _output_channels(self, input_channels):
        return self.filters

    def _build_weights(self, input_channels):
        self.kernel = self.add_weight(
            (*self.kernel_size, input_channels // self.groups, self.filters),
            self.kernel_initializer,
            name="kernel",
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def _linear_forward(self, x_last):
        geometry = self._windows(x_last.shape[1:-1])
        z, saved = _windowed_forward(x_last, geometry, self.kernel, self.groups)
        return z, (saved, geometry, len(x_last))

    def _linear_backward(self, saved, grad_matrix, input_gradient):
        grad_input, grad_kernel = _windowed_backward(
            saved, grad_matrix, self.kernel, self.groups, input_gradient
        )
        return grad_input, {"kernel": grad_kernel}

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            **self._window_config(),
            "groups": self.groups,
            **self._bias_config(),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


@LAYERS.register("Conv1D", "Convolution1D")
class Conv1D(_Conv):
    """A 1D convolution (over time steps): ``y = activation(conv(x, kernel) + bias)``.

    Input ``(batch, steps, channels)`` (``(batch, channels, steps)`` with
    ``data_format='channels_first'``); kernel ``(kernel_size, channels /
    groups, filters)``. See the module's description for the padding
    arithmetic and the backward pass.

    Args:
        filters: number of output channels.
        kernel_size: an integer or a tuple of one integer: the window's taps.
        strides: Defaults to 1. Not above 1 together with ``dilation_rate``.
        padding: ``'valid'`` (default), ``'same'`` or ``'causal'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None (the
            default) means ``config.image_data_format()``, ``'channels_last'``
            unless changed.
        dilation_rate: steps between taps. Defaults to 1.
        groups: channels and filters split into this many independent
            convolutions. Both must be divisible by it. Defaults to 1.
        activation: name or Activation; None means linear.
        use_bias: Defaults to True.
        kernel_initializer: Defaults to ``'glorot_uniform'``.
        bias_initializer: Defaults to ``'zeros'``.
        kernel_regularizer: a penalty on the kernel added to the loss, or None.
        bias_regularizer: a penalty on the bias, or None.
        activity_regularizer: a penalty on the output, per sample (see ``Layer``).
        kernel_constraint: applied to the kernel after each optimizer step, or None.
        bias_constraint: applied to the bias after each optimizer step, or None.
    """

    rank = 1
    paddings = ("valid", "same", "causal")


@LAYERS.register("Conv2D", "Convolution2D")
class Conv2D(_Conv):
    """A 2D convolution (over images): ``y = activation(conv(x, kernel) + bias)``.

    Input ``(batch, height, width, channels)`` (``(batch, channels, height,
    width)`` with ``data_format='channels_first'``); kernel ``(kernel_h,
    kernel_w, channels / groups, filters)``. See the module's description for
    the padding arithmetic and the backward pass.

    Args:
        filters: number of output channels.
        kernel_size: an integer or a tuple of two: the window's height and width.
        strides: an integer or a tuple of two. Defaults to 1. Not above 1
            together with ``dilation_rate``.
        padding: ``'valid'`` (default) or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None (the
            default) means ``config.image_data_format()``, ``'channels_last'``
            unless changed.
        dilation_rate: an integer or a tuple of two: steps between taps. Defaults to 1.
        groups: channels and filters split into this many independent
            convolutions. Both must be divisible by it. Defaults to 1.
        activation: name or Activation; None means linear.
        use_bias: Defaults to True.
        kernel_initializer: Defaults to ``'glorot_uniform'``.
        bias_initializer: Defaults to ``'zeros'``.
        kernel_regularizer: a penalty on the kernel added to the loss, or None.
        bias_regularizer: a penalty on the bias, or None.
        activity_regularizer: a penalty on the output, per sample (see ``Layer``).
        kernel_constraint: applied to the kernel after each optimizer step, or None.
        bias_constraint: applied to the bias after each optimizer step, or None.
    """

    rank = 2


class _Depthwise(_Convolution):
    """The depthwise part shared by DepthwiseConv2D and SeparableConv2D: each
    channel convolved with its own ``depth_multiplier`` kernels, output channel
    ``c * depth_multiplier + m`` (a grouped convolution, one group per channel)."""

    refuses_strided_dilation = False

    def _init_depthwise(self, depth_multiplier, initializer, regularizer, constraint):
        self.depth_multiplier = check_positive_int(
            depth_multiplier, f"{self._who()}: depth_multiplier"
        )
        self.depthwise_initializer = initializers.get(initializer)
        self.depthwise_regularizer = regularizers.get(regularizer)
        self.depthwise_constraint = constraints.get(constraint)

    def _add_depthwise_kernel(self, input_channels, name):
        return self.add_weight(
            (*self.kernel_size, input_channels, self.depth_multiplier),
            self.depthwise_initializer,
            name=name,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )

    def _depthwise_forward(self, x_last, kernel):
        """``(z, saved)``: z ``(rows, channels * depth_multiplier)``."""
        geometry = self._windows(x_last.shape[1:-1])
        channels = x_last.shape[-1]
        flat_kernel = kernel.reshape(*self.kernel_size, 1, channels * self.depth_multiplier)
        z, saved = _windowed_forward(x_last, geometry, flat_kernel, channels)
        return z, (saved, geometry, len(x_last))

    def _depthwise_backward(self, saved, grad_matrix, kernel, input_gradient):
        channels = kernel.shape[-2]
        flat_kernel = kernel.reshape(*self.kernel_size, 1, channels * self.depth_multiplier)
        grad_input, grad_kernel = _windowed_backward(
            saved, grad_matrix, flat_kernel, channels, input_gradient
        )
        return grad_input, grad_kernel.reshape(kernel.shape)

    def _depthwise_config(self) -> dict:
        return {
            "depth_multiplier": self.depth_multiplier,
            **self._window_config(),
        }


@LAYERS.register("DepthwiseConv2D")
class DepthwiseConv2D(_Depthwise):
    """A depthwise 2D convolution: each input channel convolved with its own
    ``depth_multiplier`` kernels; output channel ``c * depth_multiplier + m``
    is channel ``c`` convolved with ``kernel[:, :, c, m]``, plus the bias.

    The kernel is named ``kernel``, of shape ``(kernel_h, kernel_w, channels,
    depth_multiplier)``; the bias has ``channels * depth_multiplier`` entries.

    Args:
        kernel_size: an integer or a tuple of two.
        strides: an integer or a tuple of two. Defaults to 1.
        padding: ``'valid'`` (default) or ``'same'``.
        depth_multiplier: kernels per input channel. Defaults to 1.
        data_format: ``'channels_last'`` or ``'channels_first'``; None (the
            default) means ``config.image_data_format()``, ``'channels_last'``
            unless changed.
        dilation_rate: an integer or a tuple of two. Defaults to 1.
        activation: name or Activation; None means linear.
        use_bias: Defaults to True.
        depthwise_initializer: Defaults to ``'glorot_uniform'``.
        bias_initializer: Defaults to ``'zeros'``.
        depthwise_regularizer: a penalty on the depthwise kernel, or None.
        bias_regularizer: a penalty on the bias, or None.
        activity_regularizer: a penalty on the output, per sample (see ``Layer``).
        depthwise_constraint: applied to the depthwise kernel after each
            optimizer step, or None.
        bias_constraint: applied to the bias after each optimizer step, or None.
    """

    rank = 2

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier=1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            bias_constraint,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self._init_depthwise(
            depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint
        )

    def _output_channels(self, input_channels):
        return None if input_channels is None else input_channels * self.depth_multiplier

    def _build_weights(self, input_channels):
        self.kernel = self._add_depthwise_kernel(input_channels, "kernel")

    def _linear_forward(self, x_last):
        return self._depthwise_forward(x_last, self.kernel)

    def _linear_backward(self, saved, grad_matrix, input_gradient):
        grad_input, grad_kernel = self._depthwise_backward(
            saved, grad_matrix, self.kernel, input_gradient
        )
        return grad_input, {"kernel": grad_kernel}

    def get_config(self):
        return {
            **super().get_config(),
            **self._depthwise_config(),
            **self._bias_config(),
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


@LAYERS.register("SeparableConv2D", "SeparableConvolution2D")
class SeparableConv2D(_Depthwise):
    """A depthwise-separable 2D convolution: a depthwise convolution (each
    channel with its own ``depth_multiplier`` kernels), then a 1x1 convolution
    mixing the ``channels * depth_multiplier`` results into ``filters``:
    ``y = activation(pointwise(depthwise(x)) + bias)``.

    Backward: the 1x1 convolution is one product (``d pointwise = d^T g``,
    slope at the depthwise output ``g pointwise^T``), then the depthwise
    backward pass. Weights, in Keras's order: ``depthwise_kernel``
    ``(kernel_h, kernel_w, channels, depth_multiplier)``, ``pointwise_kernel``
    ``(1, 1, channels * depth_multiplier, filters)``, ``bias`` ``(filters,)``.

    Args:
        filters: number of output channels.
        kernel_size: an integer or a tuple of two (the depthwise kernel's).
        strides: an integer or a tuple of two. Defaults to 1.
        padding: ``'valid'`` (default) or ``'same'``.
        data_format: ``'channels_last'`` or ``'channels_first'``; None (the
            default) means ``config.image_data_format()``, ``'channels_last'``
            unless changed.
        dilation_rate: an integer or a tuple of two. Defaults to 1.
        depth_multiplier: depthwise kernels per input channel. Defaults to 1.
        activation: name or Activation; None means linear.
        use_bias: Defaults to True.
        depthwise_initializer: Defaults to ``'glorot_uniform'``.
        pointwise_initializer: Defaults to ``'glorot_uniform'``.
        bias_initializer: Defaults to ``'zeros'``.
        depthwise_regularizer: a penalty on the depthwise kernel, or None.
        pointwise_regularizer: a penalty on the pointwise kernel, or None.
        bias_regularizer: a penalty on the bias, or None.
        activity_regularizer: a penalty on the output, per sample (see ``Layer``).
        depthwise_constraint: applied to the depthwise kernel after each
            optimizer step, or None.
        pointwise_constraint: applied to the pointwise kernel after each
            optimizer step, or None.
        bias_constraint: applied to the bias after each optimizer step, or None.
    """

    rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        depth_multiplier=1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            bias_constraint,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.filters = check_positive_int(filters, f"{self._who()}: filters")
        self._init_depthwise(
            depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint
        )
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _output_channels(self, input_channels):
        return self.filters

    def _build_weights(self, input_channels):
        self.depthwise_kernel = self._add_depthwise_kernel(input_channels, "depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            (*(1,) * self.rank, input_channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            name="pointwise_kernel",
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
        )

    def _flat_pointwise(self) -> np.ndarray:
        return self.pointwise_kernel.reshape(-1, self.filters)

    def _linear_forward(self, x_last):
        depthwise, depthwise_saved = self._depthwise_forward(x_last, self.depthwise_kernel)
        middle = depthwise.reshape(-1, depthwise.shape[-1])
        z = middle @ self._flat_pointwise()
        return z.reshape(*depthwise.shape[:-1], self.filters), (depthwise_saved, middle)

    def _linear_backward(self, saved, grad_matrix, input_gradient):
        depthwise_saved, middle = saved
        grad_pointwise = (middle.T @ grad_matrix).reshape(self.pointwise_kernel.shape)
        grad_middle = grad_matrix @ self._flat_pointwise().T
        grad_input, grad_depthwise = self._depthwise_backward(
            depthwise_saved, grad_middle, self.depthwise_kernel, input_gradient
        )
        return grad_input, {"depthwise_kernel": grad_depthwise, "pointwise_kernel": grad_pointwise}

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            **self._window_config(),
            **self._bias_config(),
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


@LAYERS.register("Conv2DTranspose", "Convolution2DTranspose")
class Conv2DTranspose(_Convolution):
    """A transposed 2D convolution (sometimes called deconvolution): the
    adjoint of a convolution, mapping a convolution's output shape back to its
    input shape. Each input position scatters ``kernel[:, :, :, c]`` times its
    channel ``c`` onto a window of the output; overlapping windows add up.

    Output size per spatial axis of ``n`` entries (``s_k`` the kernel's span):
    ``'valid'``: ``(n - 1) * stride + s_k + output_padding``, with
    ``output_padding`` ``max(s_k, stride) - s_k`` when None; ``'same'``:
    ``n * stride`` when ``output_padding`` is None, else
    ``(n - 1) * stride + s_k % 2 + output_padding`` (Keras 3's arithmetic).

    Forward: one product ``x (rows, channels) @ kernel^T``, then ``col2im``
    adds each row's window onto the output. Backward: ``im2col`` of the slope
    at the output gives ``G``; ``d kernel = x^T G`` and ``dx = G kernel``.
    The kernel has Keras's shape ``(kernel_h, kernel_w, filters, channels)``.

    Args:
        filters: number of output channels.
        kernel_size: an integer or a tuple of two.
        strides: an integer or a tuple of two. Defaults to 1. Not above 1
            together with ``dilation_rate``.
        padding: ``'valid'`` (default) or ``'same'``.
        output_padding: an integer or a tuple of two, each less than its
            stride: entries added after the output along each axis; None
            (default) infers the size as above.
        data_format: ``'channels_last'`` or ``'channels_first'``; None (the
            default) means ``config.image_data_format()``, ``'channels_last'``
            unless changed.
        dilation_rate: an integer or a tuple of two. Defaults to 1.
        activation: name or Activation; None means linear.
        use_bias: Defaults to True.
        kernel_initializer: Defaults to ``'glorot_uniform'``.
        bias_initializer: Defaults to ``'zeros'``.
        kernel_regularizer: a penalty on the kernel added to the loss, or None.
        bias_regularizer: a penalty on the bias, or None.
        activity_regularizer: a penalty on the output, per sample (see ``Layer``).
        kernel_constraint: applied to the kernel after each optimizer step, or None.
        bias_constraint: applied to the bias after each optimizer step, or None.
    """

    rank = 2

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            bias_constraint,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.filters = check_positive_int(filters, f"{self._who()}: filters")
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = self._spatial_tuple(
                output_padding, "output_padding", allow_zero=True
            )
            for axis, (extra, stride) in enumerate(
                zip(self.output_padding, self.strides, strict=True)
            ):
                if extra >= stride:
                    raise ValueError(
                        f"{self._who()}: output_padding must be less than strides on every "
                        f"axis, received output_padding={self.output_padding} and "
                        f"strides={self.strides} (axis {axis})"
                    )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def _output_channels(self, input_channels):
        return self.filters

    def _output_spatial(self, spatial):
        extras = self.output_padding or (None,) * self.rank
        return tuple(
            windows.transpose_output_length(n, k, s, d, self.padding, extra)
            for n, k, s, d, extra in zip(
                spatial, self.kernel_size, self.strides, self.dilation_rate, extras, strict=True
            )
        )

    def _check_spatial(self, spatial, input_shape):
        """Every input size gives an output; nothing to refuse."""

    def product_size(self) -> int:
        """The kernel once per input position: each scatters a window."""
        _, spatial = self._split(self.input_shape or (None,) * (self.rank + 2))
        return self.kernel.size * math.prod(1 if n is None else n for n in spatial)

    def _windows(self, spatial):
        return windows.transpose_windows(
            spatial,
            self.kernel_size,
            self.strides,
            self.dilation_rate,
            self.padding,
            self.output_padding,
        )

    def _build_weights(self, input_channels):
        self.kernel = self.add_weight(
            (*self.kernel_size, self.filters, input_channels),
            self.kernel_initializer,
            name="kernel",
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def _flat_kernel(self) -> np.ndarray:
        """``(taps * filters, channels)``: row ``(t, f)`` is ``kernel[t, f, :]``."""
        return self.kernel.reshape(-1, self.kernel.shape[-1])

    def _linear_forward(self, x_last):
        geometry = self._windows(x_last.shape[1:-1])
        rows = x_last.reshape(-1, x_last.shape[-1])
        scattered = rows @ self._flat_kernel().T
        canvas = windows.col2im(scattered[None], geometry, len(x_last))
        z = np.ascontiguousarray(windows.crop(canvas, geometry.pads))
        return z, (rows, geometry)

    def _linear_backward(self, saved, grad_matrix, input_gradient):
        rows, geometry = saved
        batch = len(rows) // math.prod(geometry.output_size)
        grad_z = grad_matrix.reshape(batch, *geometry.input_size, self.filters)
        grad_windows = windows.im2col(windows.pad(grad_z, geometry.pads), geometry)[0]
        grad_kernel = (rows.T @ grad_windows).T.reshape(self.kernel.shape)
        grad_input = None
        if input_gradient:
            grad_input = (grad_windows @ self._flat_kernel()).reshape(
                batch, *geometry.output_size, self.kernel.shape[-1]
            )
        return grad_input, {"kernel": grad_kernel}

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            **self._bias_config(),
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }


@LAYERS.register("Conv1DTranspose", "Convolution1DTranspose")
class Conv1DTranspose(Conv2DTranspose):
    """A transposed 1D convolution (over time steps): the adjoint of a
    ``Conv1D``, mapping its output length back to its input length. The same
    computation as ``Conv2DTranspose`` with one spatial axis; see it for the
    output length (per axis), the forward and the backward pass.

    Input ``(batch, steps, channels)`` (``(batch, channels, steps)`` with
    ``data_format='channels_first'``); kernel ``(kernel_size, filters,
    channels)``, Keras's shape.

    Args:
        filters: number of output channels.
        kernel_size: an integer or a tuple of one integer.
        strides: Defaults to 1. Not above 1 together with ``dilation_rate``.
        padding: ``'valid'`` (default) or ``'same'``.
        output_padding: an integer less than ``strides``: entries added after
            the output; None (default) infers the length.
        data_format: ``'channels_last'`` or ``'channels_first'``; None (the
            default) means ``config.image_data_format()``, ``'channels_last'``
            unless changed.
        dilation_rate: steps between taps. Defaults to 1.
        activation: name or Activation; None means linear.
        use_bias: Defaults to True.
        kernel_initializer: Defaults to ``'glorot_uniform'``.
        bias_initializer: Defaults to ``'zeros'``.
        kernel_regularizer: a penalty on the kernel added to the loss, or None.
        bias_regularizer: a penalty on the bias, or None.
        activity_regularizer: a penalty on the output, per sample (see ``Layer``).
        kernel_constraint: applied to the kernel after each optimizer step, or None.
        bias_constraint: applied to the bias after each optimizer step, or None.
    """

    rank = 1

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )


Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution2D = SeparableConv2D
