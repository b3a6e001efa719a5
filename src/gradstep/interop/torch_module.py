"""A gradstep model as a ``torch.nn.Module`` (imported by ``to_torch``: it imports torch).

The module keeps gradstep's layouts at its interface: the same arrays (as
tensors) go in, the same outputs come out, channels last where the model's
layers are channels-last. Inside, each layer becomes PyTorch's own module
with its weights converted explicitly:

- ``Dense``: Keras's kernel is ``(in, out)``, ``nn.Linear``'s weight ``(out, in)``:
  transposed.
- convolutions: Keras's kernel is ``(*kernel_size, in / groups, filters)``,
  ``nn.Conv1d/2d``'s weight ``(filters, in / groups, *kernel_size)``; a transposed
  convolution's Keras kernel ``(*kernel_size, filters, in)`` becomes
  ``nn.ConvTranspose``'s ``(in, filters, *kernel_size)``. A channels-last layer
  moves the channels to axis 1 before PyTorch's convolution and back after it,
  and pads as Keras does (``'same'`` puts the odd zero after, as TensorFlow and
  XLA do; PyTorch's own ``padding='same'`` refuses strides).
- ``BatchNormalization``: Keras's ``momentum`` is the weight of the old moving
  average (0.99), PyTorch's the weight of the new batch (0.1): ``1 - momentum``;
  epsilon is carried (Keras's default 1e-3, PyTorch's 1e-5).
- ``LSTM``: both order the gates input, forget, cell (PyTorch's ``g``), output:
  the kernels are transposed; Keras's one bias is PyTorch's ``bias_ih``, and
  ``bias_hh`` is zero and frozen. ``GRU`` with ``reset_after=True`` is
  ``nn.GRU``: Keras orders the gates update, reset, candidate (z, r, h),
  PyTorch reset, update, candidate (r, z, n), so the blocks are swapped.
- ``MultiHeadAttention``: Keras's per-head kernels ``(dim, heads, key_dim)`` become
  the weights ``(heads * key_dim, dim)`` of linear maps.

Every trained weight of the model becomes one ``nn.Parameter``; the module's
``gradstep_links`` lists them with their gradstep arrays and layout
conversions (``to_torch_optimizer`` maps the optimizer's slots with them).
Masks flow beside the tensors as in gradstep (see ``GradstepModule``). A
layer that PyTorch cannot run as gradstep does is refused by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gradstep.layers import spatial, windows


class WeightLink(NamedTuple):
    """One trained weight: gradstep's array and the module's parameter made from it."""

    path: str  #: ``"dense/kernel"``
    array: np.ndarray  #: the model's weight (an optimizer's slots are keyed by it)
    parameter: nn.Parameter
    to_torch: Callable[[np.ndarray], np.ndarray]  #: gradstep's layout -> PyTorch's


def refuse(layer, reason: str) -> ValueError:
    return ValueError(
        f"to_torch: layer {layer.name!r} ({type(layer).__name__}) cannot be converted: {reason}"
    )


def unchanged(array: np.ndarray) -> np.ndarray:
    return array


def transposed(array: np.ndarray) -> np.ndarray:
    return array.T


def tensor_of(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(array, copy=True, order="C"))


class LayerWeights:
    """A layer's weights by name, made into parameters (trained ones linked)
    and buffers."""

    def __init__(self, layer):
        self.layer = layer
        self.arrays = dict(layer.named_weights())
        self.trained = {name for name, _ in layer.named_weights(trainable_only=True)}
        self.links: list[tuple[str, np.ndarray, nn.Parameter, Callable]] = []

    def parameter(self, name: str, to_torch=unchanged) -> nn.Parameter:
        array = self.arrays[name]
        trained = name in self.trained
        parameter = nn.Parameter(tensor_of(to_torch(array)), requires_grad=trained)
        if trained:
            self.links.append((name, array, parameter, to_torch))
        return parameter

    def tensor(self, name: str, to_torch=unchanged) -> torch.Tensor:
        return tensor_of(to_torch(self.arrays[name]))


# --- activations ------------------------------------------------------------------------
class KerasActivation(nn.Module):
    """One of gradstep's activations (Keras's formulas) on tensors."""

    def __init__(self, name: str, options: dict):
        super().__init__()
        self.name = name
        self.options = dict(options)

    def extra_repr(self) -> str:
        return f"{self.name!r}, {self.options}" if self.options else repr(self.name)

    def forward(self, x, mask=None):
        name, options = self.name, self.options
        if mask is not None:  # the Softmax layer: masked entries get no weight
            kept = mask.bool()
            filled = torch.where(kept, x, torch.full_like(x, -1.0e9))
            return torch.where(kept, _softmax(filled, options.get("axis", -1)), 0.0)
        if name == "linear":
            return x
        if name == "relu":
            return _relu(x, **options) if options else F.relu(x)
        if name == "softmax":
            axis = options.get("axis", -1)
            return _softmax(x, axis)
        if name == "leaky_relu":
            return F.leaky_relu(x, options.get("negative_slope", 0.2))
        if name == "elu":
            return F.elu(x, options.get("alpha", 1.0))
        if name == "gelu":
            return F.gelu(x, approximate="tanh" if options.get("approximate") else "none")
        simple = {
            "sigmoid": torch.sigmoid,
            "tanh": torch.tanh,
            "selu": F.selu,
            "softplus": F.softplus,
            "softsign": F.softsign,
            "silu": F.silu,
            "swish": F.silu,
            "exponential": torch.exp,
            "hard_sigmoid": F.hardsigmoid,
        }
        return simple[name](x)


def _relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's ``relu(x, negative_slope, max_value, threshold)``."""
    output = torch.where(x > threshold, x, torch.zeros_like(x))
    if max_value is not None:
        output = torch.clamp(output, max=max_value)
    if negative_slope:
        output = output - negative_slope * torch.clamp(threshold - x, min=0)
    return output


def _softmax(x, axis):
    if isinstance(axis, int):
        return torch.softmax(x, dim=axis)
    dims = tuple(axis)
    shifted = x - torch.amax(x, dim=dims, keepdim=True)
    exponentials = torch.exp(shifted)
    return exponentials / exponentials.sum(dim=dims, keepdim=True)


_ACTIVATION_NAMES = {
    "linear",
    "relu",
    "softmax",
    "leaky_relu",
    "elu",
    "gelu",
    "sigmoid",
    "tanh",
    "selu",
    "softplus",
    "softsign",
    "silu",
    "swish",
    "exponential",
    "hard_sigmoid",
}


def activation_module(activation, layer) -> KerasActivation:
    if activation is None:
        return KerasActivation("linear", {})
    name = getattr(activation, "name", None)
    if name not in _ACTIVATION_NAMES or type(activation).__name__ == "FunctionActivation":
        raise refuse(
            layer,
            f"its activation {name!r} is a Python function, whose code gradstep does not "
            "translate; use a named activation",
        )
    return KerasActivation(name, activation.get_config())


# --- layers of one tensor ---------------------------------------------------------------
def _channels_to_front(x, data_format: str):
    return x.movedim(-1, 1) if data_format == "channels_last" else x


def _channels_to_back(x, data_format: str):
    return x.movedim(1, -1) if data_format == "channels_last" else x


def _pad_spatial(x, pads, value=0.0):
    """``x`` (channels first) with ``pads`` ((before, after) per spatial axis)."""
    if not any(a or b for a, b in pads):
        return x
    flat = [amount for pair in reversed(pads) for amount in pair]
    return F.pad(x, flat, value=value)


class Dense(nn.Module):
    def __init__(self, linear: nn.Linear, activation: KerasActivation):
        super().__init__()
        self.linear = linear
        self.activation = activation

    def forward(self, x):
        return self.activation(self.linear(x))


class Convolution(nn.Module):
    """A convolution with Keras's padding, channels where the layer has them."""

    def __init__(self, conv, padding, data_format, activation, transpose=None):
        super().__init__()
        self.conv = conv
        self.padding = padding
        self.data_format = data_format
        self.activation = activation
        #: for a transposed convolution: (output_padding or None) per axis
        self.transpose = transpose

    def forward(self, x):
        x = _channels_to_front(x, self.data_format)
        spatial_size = x.shape[2:]
        if self.transpose is None:
            pads = [
                windows.conv_padding(n, k, s, d, self.padding)
                for n, k, s, d in zip(
                    spatial_size,
                    self.conv.kernel_size,
                    self.conv.stride,
                    self.conv.dilation,
                    strict=True,
                )
            ]
            y = self.conv(_pad_spatial(x, pads))
        else:
            y = self.transposed(x, spatial_size)
        return self.activation(_channels_to_back(y, self.data_format))

    def transposed(self, x, spatial_size):
        """PyTorch's transposed convolution covers ``(n - 1) s + span`` entries;
        Keras's output starts ``crop`` entries in and runs ``length`` (zeros
        beyond the canvas), then gets the bias."""
        conv = self.conv
        canvas = F.conv_transpose1d if x.ndim == 3 else F.conv_transpose2d
        y = canvas(x, conv.weight, None, conv.stride, 0, 0, conv.groups, conv.dilation)
        for axis, (n, k, s, d, extra) in enumerate(
            zip(
                spatial_size,
                conv.kernel_size,
                conv.stride,
                conv.dilation,
                self.transpose,
                strict=True,
            )
        ):
            length = windows.transpose_output_length(n, k, s, d, self.padding, extra)
            start = windows.transpose_crop(k, s, d, self.padding, extra)
            y = y.narrow(axis + 2, start, min(length, y.shape[axis + 2] - start))
            missing = length - y.shape[axis + 2]
            if missing > 0:
                pads = [(0, 0)] * (y.ndim - 2)
                pads[axis] = (0, missing)
                y = _pad_spatial(y, pads)
        if conv.bias is not None:
            y = y + conv.bias.reshape(1, -1, *([1] * (y.ndim - 2)))
        return y


class SeparableConvolution(nn.Module):
    def __init__(self, depthwise: Convolution, pointwise: nn.Module, data_format, activation):
        super().__init__()
        self.depthwise = depthwise
        self.pointwise = pointwise
        self.data_format = data_format
        self.activation = activation

    def forward(self, x):
        y = self.pointwise(_channels_to_front(self.depthwise(x), self.data_format))
        return self.activation(_channels_to_back(y, self.data_format))


class Pooling(nn.Module):
    """Max or average pooling with Keras's ``'same'`` padding: the max ignores
    the padding, the average divides by the entries inside the input only."""

    def __init__(self, kind, pool_size, strides, padding, data_format):
        super().__init__()
        self.kind = kind
        self.pool_size = tuple(pool_size)
        self.strides = tuple(strides)
        self.padding = padding
        self.data_format = data_format

    def forward(self, x):
        x = _channels_to_front(x, self.data_format)
        pads = [
            spatial.same_padding(n, k, s) if self.padding == "same" else (0, 0)
            for n, k, s in zip(x.shape[2:], self.pool_size, self.strides, strict=True)
        ]
        rank = len(self.pool_size)
        if self.kind == "max":
            pool = F.max_pool1d if rank == 1 else F.max_pool2d
            y = pool(_pad_spatial(x, pads, -math.inf), self.pool_size, self.strides)
        else:
            pool = F.avg_pool1d if rank == 1 else F.avg_pool2d
            total = pool(_pad_spatial(x, pads), self.pool_size, self.strides)
            ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
            share = pool(_pad_spatial(ones, pads), self.pool_size, self.strides)
            y = total / share  # both are averages over the whole window
        return _channels_to_back(y, self.data_format)


class GlobalPooling(nn.Module):
    def __init__(self, kind, axes, keepdims):
        super().__init__()
        self.kind = kind
        self.axes = tuple(axes)
        self.keepdims = keepdims

    def forward(self, x, mask=None):
        if self.kind == "max":
            return torch.amax(x, dim=self.axes, keepdim=self.keepdims)
        if mask is None:
            return torch.mean(x, dim=self.axes, keepdim=self.keepdims)
        # the mean over the unmasked steps (GlobalAveragePooling1D)
        kept = mask.to(x.dtype).unsqueeze(2 if self.axes == (1,) else 1)
        total = (x * kept).sum(dim=self.axes, keepdim=True)
        mean = total / kept.sum(dim=self.axes, keepdim=True)
        return mean if self.keepdims else mean.squeeze(self.axes)


class BatchNormalization(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over the layer's ``axis`` (moved to axis 1): in
    training it normalizes by the batch's statistics and updates the moving
    ones; in ``eval()``, or for a layer gradstep froze (``trainable=False``,
    Keras's inference mode), by the moving ones."""

    def __init__(self, features, axis, eps, momentum, affine, frozen):
        super().__init__(features, eps=eps, momentum=momentum, affine=affine)
        self.axis = axis
        self.frozen = frozen

    def forward(self, x, mask=None):
        if mask is not None and self.training and not self.frozen:
            return self._masked(x, mask)
        moved = x.movedim(self.axis, 1)
        flat = moved.reshape(moved.shape[0], moved.shape[1], -1)
        if self.frozen:
            normalized = F.batch_norm(
                flat,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                False,
                0.0,
                self.eps,
            )
        elif self.training and flat.shape[0] * flat.shape[2] == 1:
            normalized = self._one_value_per_feature(flat)
        else:
            normalized = super().forward(flat)
        return normalized.reshape(moved.shape).movedim(1, self.axis)

    def _masked(self, x, mask):
        """Training under a mask: the moments of the unmasked positions (Keras
        3's, the mask broadcast over the last axis), which also move the
        moving statistics."""
        axes = tuple(a for a in range(x.ndim) if a != self.axis % x.ndim)
        kept = mask.unsqueeze(-1).expand(x.shape).to(x.dtype)
        count = kept.sum(dim=axes, keepdim=True) + 1e-7
        mean = (x * kept).sum(dim=axes, keepdim=True) / count
        deviation = (x - mean) * kept
        variance = (deviation * deviation).sum(dim=axes, keepdim=True) / count
        with torch.no_grad():
            self.running_mean.lerp_(mean.reshape(-1), self.momentum)
            self.running_var.lerp_(variance.reshape(-1), self.momentum)
            self.num_batches_tracked += 1
        shape = [1] * x.ndim
        shape[self.axis % x.ndim] = -1
        y = (x - mean) * torch.rsqrt(variance + self.eps)
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        return y

    def _one_value_per_feature(self, flat):
        """A batch of one value per feature (PyTorch's module refuses it): the
        mean is that value and the variance 0, as Keras computes them."""
        with torch.no_grad():
            self.running_mean.lerp_(flat.reshape(-1), self.momentum)
            self.running_var.lerp_(torch.zeros_like(self.running_var), self.momentum)
            self.num_batches_tracked += 1
        mean = flat.mean(dim=(0, 2), keepdim=True)
        variance = ((flat - mean) ** 2).mean(dim=(0, 2), keepdim=True)
        y = (flat - mean) * torch.rsqrt(variance + self.eps)
        if self.weight is not None:
            y = y * self.weight.reshape(1, -1, 1)
        if self.bias is not None:
            y = y + self.bias.reshape(1, -1, 1)
        return y


class LayerNormalization(nn.Module):
    """Keras's layer normalization over ``axes`` (moved last for
    ``F.layer_norm``); ``rms_scaling`` divides by the root of the variance
    (Keras's formula) and has no offset."""

    def __init__(self, axes, eps, weight, bias, rms_scaling):
        super().__init__()
        self.axes = tuple(axes)
        self.eps = eps
        self.weight = weight
        self.bias = bias
        self.rms_scaling = rms_scaling

    def forward(self, x):
        # Keras reshapes its weights (shaped in its sorted-axes order) onto the
        # axes in their order in the input: so do the moved axes here.
        positions = sorted(axis % x.ndim for axis in self.axes)
        last = tuple(range(-len(positions), 0))
        moved = x.movedim(positions, last)
        shape = moved.shape[-len(positions) :]
        weight = None if self.weight is None else self.weight.reshape(shape)
        if self.rms_scaling:
            variance = moved.var(dim=last, keepdim=True, unbiased=False)
            y = moved * torch.rsqrt(variance + self.eps)
            if weight is not None:
                y = y * weight
        else:
            bias = None if self.bias is None else self.bias.reshape(shape)
            y = F.layer_norm(moved, shape, weight, bias, self.eps)
        return y.movedim(last, positions)


class GroupNormalization(nn.GroupNorm):
    """``nn.GroupNorm`` with the layer's channel axis moved to axis 1."""

    def __init__(self, groups, channels, eps, affine, axis):
        super().__init__(groups, channels, eps=eps, affine=affine)
        self.axis = axis

    def forward(self, x):
        # contiguous: PyTorch 2.13's group_norm backward crashes on a moved view
        return super().forward(x.movedim(self.axis, 1).contiguous()).movedim(1, self.axis)


class Embedding(nn.Embedding):
    """``nn.Embedding`` taking gradstep's token indices (any integer or float dtype)."""

    def forward(self, tokens):
        return super().forward(tokens.long())


class Affine(nn.Module):
    """``y = x * scale + offset``, per entry (Rescaling, Normalization)."""

    def __init__(self, scale, offset):
        super().__init__()
        self.register_buffer("scale", scale)
        self.register_buffer("offset", offset)

    def forward(self, x):
        return x.to(self.scale.dtype) * self.scale + self.offset


class PReLU(nn.Module):
    """``y = x if x > 0 else alpha * x``, ``alpha`` in Keras's shape (an input
    sample's, shared axes of size 1)."""

    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return torch.where(x > 0, x, self.alpha * x)


class Flatten(nn.Module):
    def __init__(self, channels_first: bool):
        super().__init__()
        self.channels_first = channels_first

    def forward(self, x):
        if self.channels_first and x.ndim > 2:
            x = x.movedim(1, -1)
        return x.reshape(x.shape[0], -1)


class Reshape(nn.Module):
    def __init__(self, target_shape):
        super().__init__()
        self.target_shape = tuple(target_shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.target_shape)


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = (0, *dims)

    def forward(self, x):
        return x.permute(self.dims)


class RepeatVector(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x.unsqueeze(1).expand(x.shape[0], self.n, x.shape[1])


class PadOrCrop(nn.Module):
    """Zeros around the spatial axes (ZeroPadding), or the spatial axes cut
    (Cropping: negative amounts)."""

    def __init__(self, amounts, data_format):
        super().__init__()
        self.amounts = tuple(tuple(pair) for pair in amounts)
        self.data_format = data_format

    def forward(self, x):
        x = _channels_to_front(x, self.data_format)
        return _channels_to_back(_pad_spatial(x, self.amounts), self.data_format)


class Resize(nn.Module):
    """Repeats each step or pixel (nearest), or multiplies each spatial axis
    by the resizing matrix gradstep's layer computes (the other interpolations:
    every one of them is linear along each axis)."""

    def __init__(self, sizes, data_format, matrices=None):
        super().__init__()
        self.sizes = tuple(sizes)
        self.data_format = data_format
        self.matrices = None if matrices is None else nn.ParameterList(matrices)

    def forward(self, x):
        x = _channels_to_front(x, self.data_format)
        for axis, size in enumerate(self.sizes):
            if self.matrices is None:
                x = torch.repeat_interleave(x, size, dim=axis + 2)
            else:
                moved = x.movedim(axis + 2, -1) @ self.matrices[axis]
                x = moved.movedim(-1, axis + 2)
        return _channels_to_back(x, self.data_format)


class SpatialMap(nn.Module):
    """A linear map of each image's height and width, ``y = A_h x A_w^T + b``
    per channel (Resizing, CenterCrop: a crop, a padding and an interpolation
    along each axis are each linear), for images of the size it was made for."""

    def __init__(self, rows, columns, offset, data_format):
        super().__init__()
        self.register_buffer("rows", rows)
        self.register_buffer("columns", columns)
        self.register_buffer("offset", offset)
        self.data_format = data_format

    def forward(self, x):
        x = x.to(self.rows.dtype)
        h_axis = x.ndim - 2 if self.data_format == "channels_first" else x.ndim - 3
        expected = (self.rows.shape[1], self.columns.shape[1])
        if tuple(x.shape[h_axis : h_axis + 2]) != expected:
            raise ValueError(
                f"this module resizes images of height and width {expected}, received "
                f"input of shape {tuple(x.shape)}"
            )
        moved = x.movedim((h_axis, h_axis + 1), (-2, -1))
        y = self.rows @ moved @ self.columns.T
        return y.movedim((-2, -1), (h_axis, h_axis + 1)) + self.offset


class RandomFlip(nn.Module):
    """Keras's RandomFlip: in training each image is flipped with probability
    1/2 along the axes of ``mode``, both at once for ``'horizontal_and_vertical'``
    (one draw, as Keras 3; PyTorch's generator draws); identity in ``eval()``."""

    def __init__(self, mode, data_format):
        super().__init__()
        self.mode = mode
        self.data_format = data_format

    def forward(self, x):
        if not self.training:
            return x
        batched = x if x.ndim == 4 else x.unsqueeze(0)
        h_axis = 2 if self.data_format == "channels_first" else 1
        flip = torch.rand((len(batched), 1, 1, 1), device=x.device) < 0.5
        axes = {"horizontal": (h_axis + 1,), "vertical": (h_axis,)}.get(
            self.mode, (h_axis, h_axis + 1)
        )
        batched = torch.where(flip, torch.flip(batched, dims=axes), batched)
        return batched if x.ndim == 4 else batched[0]


class RandomContrast(nn.Module):
    """Keras's RandomContrast: in training ``(x - mean) * f + mean`` per image
    and channel, ``f`` uniform in ``[1 - lower, 1 + upper]``, clipped to
    ``value_range``; identity in ``eval()``."""

    def __init__(self, lower, upper, value_range, data_format="channels_last"):
        super().__init__()
        self.lower, self.upper = lower, upper
        self.value_range = tuple(value_range)
        self.image_axes = (2, 3) if data_format == "channels_first" else (1, 2)

    def forward(self, x):
        if not self.training:
            return x
        batched = x if x.ndim == 4 else x.unsqueeze(0)
        draws = torch.rand((len(batched), 1, 1, 1), device=x.device, dtype=x.dtype)
        factors = 1 - self.lower + draws * (self.lower + self.upper)
        means = batched.mean(dim=self.image_axes, keepdim=True)
        output = torch.clamp((batched - means) * factors + means, *self.value_range)
        return output if x.ndim == 4 else output[0]


class Noise(nn.Module):
    """Dropout's kin, as PyTorch draws them (in training only); identity in ``eval()``."""

    def __init__(self, kind, rate, channel_axis=None):
        super().__init__()
        self.kind = kind
        self.rate = rate
        self.channel_axis = channel_axis

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        if self.kind == "dropout":
            return F.dropout(x, self.rate, True)
        if self.kind == "spatial_dropout":
            shape = [x.shape[0]] + [1] * (x.ndim - 1)
            shape[self.channel_axis] = x.shape[self.channel_axis]
            keep = (torch.rand(shape, dtype=x.dtype, device=x.device) >= self.rate).to(x.dtype)
            return x * keep / (1 - self.rate)
        if self.kind == "gaussian_noise":
            return x + torch.randn_like(x) * self.rate
        return x * (1 + torch.randn_like(x) * math.sqrt(self.rate / (1 - self.rate)))


class Masking(nn.Module):
    """``x * keep``, ``keep`` where some feature of a step is not ``mask_value``
    (the mask itself flows beside the output, see ``GradstepModule``)."""

    def __init__(self, mask_value):
        super().__init__()
        self.mask_value = mask_value

    def forward(self, x):
        keep = torch.any(x != self.mask_value, dim=-1, keepdim=True)
        return x * keep.to(x.dtype)


class Identity(nn.Module):
    def forward(self, x):
        return x


class Merge(nn.Module):
    """Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate(axis)."""

    def __init__(self, kind, axis=-1):
        super().__init__()
        self.kind = kind
        self.axis = axis

    def forward(self, inputs, mask=None):
        if mask is not None and any(m is not None for m in mask):
            if self.kind == "multiply":
                return _masked_product(inputs, mask)
            if self.kind in ("maximum", "minimum"):
                return _masked_extremum(inputs, mask, self.kind)
        if self.kind == "concatenate":
            return torch.cat(list(inputs), dim=self.axis)
        if self.kind == "subtract":
            return inputs[0] - inputs[1]
        result = inputs[0]
        for x in inputs[1:]:
            if self.kind in ("add", "average"):
                result = result + x
            elif self.kind == "multiply":
                result = result * x
            elif self.kind == "maximum":
                result = torch.maximum(result, x)
            else:
                result = torch.minimum(result, x)
        return result / len(inputs) if self.kind == "average" else result


def _spread(mask, x):
    return None if mask is None else mask.unsqueeze(-1).expand(x.shape)


def _masked_product(inputs, masks):
    """Keras's masked product: a masked entry counts as 1; where every input
    is masked, the output is 0."""
    kept = [_spread(m, x) for x, m in zip(inputs, masks, strict=True)]
    filled = [x if k is None else torch.where(k, x, 1.0) for x, k in zip(inputs, kept, strict=True)]
    output = filled[0]
    for x in filled[1:]:
        output = output * x
    if all(k is not None for k in kept):
        any_kept = kept[0]
        for k in kept[1:]:
            any_kept = any_kept | k
        output = torch.where(any_kept, output, 0.0)
    return output


def _masked_extremum(inputs, masks, kind):
    """Keras's masked maximum/minimum: a masked entry of the new input takes
    the running value, a masked running value (every input so far masked)
    takes the new input's."""
    pick = torch.maximum if kind == "maximum" else torch.minimum
    output, output_kept = inputs[0], _spread(masks[0], inputs[0])
    for x, m in zip(inputs[1:], masks[1:], strict=True):
        kept = _spread(m, x)
        chosen_x = x if kept is None else torch.where(kept, x, output)
        chosen_running = (
            output if output_kept is None else torch.where(output_kept, output, chosen_x)
        )
        both = kept is not None and output_kept is not None
        output_kept = (output_kept | kept) if both else None
        output = pick(chosen_running, chosen_x)
    return output


# --- the graph --------------------------------------------------------------------------
class GradstepModule(nn.Module):
    """A gradstep model's graph: its layers' modules, run in the graph's order.

    ``forward(*inputs)`` takes one tensor per model input (or a list of them),
    in gradstep's layouts, and returns the output, or a list of outputs for a
    model with several. NumPy arrays are accepted too.

    When masks flow in the graph (``Embedding(mask_zero=True)``, ``Masking``),
    each output's mask is worked out by the gradstep layer's own
    ``compute_mask`` (booleans, read on the CPU), and a layer whose output
    depends on its input's mask (recurrent, attention, average pooling over
    steps, masked merges, softmax, batch normalization in training) receives
    it as ``mask=``.
    """

    def __init__(self, name, layers, steps, input_dtypes, output_slots):
        super().__init__()
        self.gradstep_name = name
        self.layers = nn.ModuleDict(layers)
        #: (layer name, input slots, whether the layer takes a list, output slot,
        #: the training mode the graph fixes for that call or None)
        self.steps = [tuple(step) for step in steps]
        self.input_dtypes = list(input_dtypes)
        self.output_slots = list(output_slots)
        self.gradstep_links: list[WeightLink] = []
        #: each layer's float dtype (its weights'), which its float inputs are cast to
        self.dtypes = {key: _float_dtype(module) for key, module in layers.items()}
        #: when masks flow in the graph, the gradstep layer of each module, whose
        #: ``output_mask`` gives its output's mask (else empty)
        self.mask_rules: dict = {}

    def forward(self, *inputs):
        if len(inputs) == 1 and isinstance(inputs[0], list | tuple):
            inputs = tuple(inputs[0])
        if len(inputs) != len(self.input_dtypes):
            raise ValueError(
                f"model {self.gradstep_name!r} takes {len(self.input_dtypes)} input(s), "
                f"received {len(inputs)}"
            )
        values = [
            _input_tensor(x, dtype) for x, dtype in zip(inputs, self.input_dtypes, strict=True)
        ]
        values += [None] * (
            1 + max((_last_slot(step[3]) for step in self.steps), default=0) - len(values)
        )
        masks = [None] * len(values) if self.mask_rules else None
        mask = None
        for name, slots, listed, output_slot, training in self.steps:
            layer = self.layers[name]
            arguments = [_in_dtype(values[slot], self.dtypes[name]) for slot in slots]
            argument = arguments if listed else arguments[0]
            keywords = {}
            if masks is not None:
                given = [masks[slot] for slot in slots]
                mask = given if listed else given[0]
                if any(m is not None for m in given) and self.mask_rules[name].forward_takes_mask:
                    keywords["mask"] = mask
            if training is None or training == self.training:
                output = layer(argument, **keywords)
            else:  # a layer called with training= in the graph keeps that mode
                layer.train(training)
                output = layer(argument, **keywords)
                layer.train(self.training)
            if isinstance(output_slot, tuple):  # a node with several outputs
                self._place_outputs(name, output_slot, output, argument, mask, values, masks)
                continue
            values[output_slot] = output
            if masks is not None:
                masks[output_slot] = _output_mask(self.mask_rules[name], argument, mask)
        outputs = [values[slot] for slot in self.output_slots]
        return outputs[0] if len(outputs) == 1 else outputs

    def _place_outputs(self, name, output_slots, output, argument, mask, values, masks):
        """The outputs of a node with several (an RNN with ``return_state``,
        attention with its scores, a model with several outputs), and their
        masks (one per output, or one for all)."""
        for slot, value in zip(output_slots, output, strict=True):
            values[slot] = value
        if masks is None:
            return
        rule = self.mask_rules[name]
        given = None if getattr(rule, "holds_layers", False) else _output_mask(rule, argument, mask)
        if not isinstance(given, list):
            given = [given] * len(output_slots)
        for slot, each in zip(output_slots, given, strict=True):
            masks[slot] = each

    def reset_states(self):
        """Zero the states of the stateful recurrent layers (Keras's ``reset_states``)."""
        for module in self.modules():
            if not isinstance(module, GradstepModule) and hasattr(module, "reset_states"):
                module.reset_states()


def _last_slot(output_slot) -> int:
    return max(output_slot) if isinstance(output_slot, tuple) else output_slot


def _output_mask(layer, argument, mask):
    """The mask of a layer's output, by gradstep's own ``compute_mask`` (exactly
    gradstep's rule for each layer; masks are booleans, read on the CPU)."""

    def array(tensor):
        return None if tensor is None else tensor.detach().cpu().numpy()

    listed = isinstance(argument, list)
    inputs = [array(t) for t in argument] if listed else array(argument)
    given = ([array(m) for m in mask] if listed else array(mask)) if mask is not None else None
    if isinstance(given, list) and all(m is None for m in given):
        given = None
    result = layer.compute_mask(inputs, given) if layer.supports_masking else None
    device = (argument[0] if listed else argument).device

    def tensor(each):
        return None if each is None else torch.from_numpy(np.asarray(each, dtype=bool)).to(device)

    return [tensor(each) for each in result] if isinstance(result, list) else tensor(result)


def _float_dtype(module):
    for parameter in module.parameters():
        if parameter.is_floating_point():
            return parameter.dtype
    return None


def _in_dtype(tensor, dtype):
    """A float input in the layer's float dtype, as gradstep's layers cast it."""
    if dtype is None or not tensor.is_floating_point() or tensor.dtype == dtype:
        return tensor
    return tensor.to(dtype)


def _input_tensor(x, dtype: str):
    tensor = torch.as_tensor(x)
    wanted = getattr(torch, dtype, None)
    if (
        wanted is not None
        and tensor.dtype != wanted
        and (tensor.is_floating_point() or wanted.is_floating_point)
    ):
        tensor = tensor.to(wanted)
    return tensor
