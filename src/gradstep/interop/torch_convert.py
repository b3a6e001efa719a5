"""Each gradstep layer as PyTorch's module, its weights in PyTorch's layouts
(the modules are in ``torch_module``, the recurrent and attention ones in
``torch_sequence``; this module decides which one a layer becomes)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gradstep.interop import torch_lookup as tl
from gradstep.interop import torch_module as tm
from gradstep.interop import torch_sequence as ts
from gradstep.interop.torch_module import LayerWeights, activation_module, refuse

#: Why a layer is refused, for the layers that cannot become a module.
_REFUSED = {
    "Lambda": "its function is Python code, which gradstep does not translate",
    "OpLayer": "it is an operation traced from a subclassed model's call",
    **tl.REFUSED,
}


def convert_model(model):
    """``to_torch`` without the ``eval()``: a model used as a layer converts the same way."""
    if not model.built:
        raise ValueError(
            f"to_torch: model {model.name!r} is not built; call it on data or build() it first"
        )
    graph = model.graph(False)
    modules, steps, links = {}, [], []
    keys = {}
    for step in graph.steps:
        layer = step.layer
        if id(layer) not in keys:
            keys[id(layer)] = layer.name.replace(".", "_")
            module, own = convert_layer(layer)
            modules[keys[id(layer)]] = module
            links += [
                tm.WeightLink(f"{layer.name}/{name}", array, parameter, to_torch)
                for name, array, parameter, to_torch in own
            ]
        output = step.output_slots if step.several_outputs else step.output_slot
        steps.append((keys[id(layer)], step.input_slots, step.listed, output, step.training))
    converted = tm.GradstepModule(
        model.name,
        modules,
        steps,
        [tensor.dtype for tensor in graph.inputs],
        graph.output_slots,
    )
    converted.gradstep_links = links
    converted.mask_rules = _mask_rules(graph, keys)
    return converted


def _mask_rules(graph, keys) -> dict:
    """The gradstep layer of each module, when masks flow in the graph (each
    gives its output's mask); a model used as a layer that receives a mask is
    refused (its own graph's masks are not followed)."""
    if not graph.carries_masks:
        return {}
    for node in graph.nodes:
        masked = any(t.mask_shape is not None for t in node.input_tensors)
        if node.layer.holds_layers and (masked or node.layer.carries_masks):
            raise refuse(node.layer, "the masks of a model used as a layer are not followed")
    return {keys[id(step.layer)]: step.layer for step in graph.steps}


def convert_layer(layer) -> tuple[nn.Module, list]:
    """``(module, links)``: the layer's module and its trained weights'
    ``(name, gradstep array, parameter, to_torch)``."""
    kind = type(layer).__name__
    if kind in _REFUSED:
        raise refuse(layer, _REFUSED[kind])
    if getattr(layer, "holds_layers", False) and hasattr(layer, "graph"):
        module = convert_model(layer)
        return module, [
            (link.path, link.array, link.parameter, link.to_torch) for link in module.gradstep_links
        ]
    weights = LayerWeights(layer)
    converter = _CONVERTERS.get(kind) or _converter_by_base(layer)
    if converter is None:
        raise refuse(layer, "PyTorch has no module that computes it as gradstep does")
    module = converter(layer, weights)
    return module, weights.links


def _converter_by_base(layer):
    """A subclass of a built-in layer converts as it, unless it computes its
    own output (writes ``forward`` or ``call``): that code is not translated."""
    for base in type(layer).__mro__[1:]:
        if base.__name__ in _CONVERTERS and base.__module__.startswith("gradstep.layers"):
            own = type(layer).__mro__[: type(layer).__mro__.index(base)]
            if any("forward" in cls.__dict__ or "call" in cls.__dict__ for cls in own):
                raise refuse(layer, f"it computes its own output (a {base.__name__} subclass)")
            return _CONVERTERS[base.__name__]
    return None


def _dense(layer, weights: LayerWeights):
    kernel = weights.arrays["kernel"]
    linear = nn.Linear(kernel.shape[0], kernel.shape[1], bias=layer.use_bias, dtype=_dtype(kernel))
    linear.weight = weights.parameter("kernel", tm.transposed)
    if layer.use_bias:
        linear.bias = weights.parameter("bias")
    return tm.Dense(linear, activation_module(layer.activation, layer))


def _conv_kernel(array):
    """``(*k, in / groups, filters)`` -> ``(filters, in / groups, *k)``; for a
    transposed convolution, ``(*k, filters, in)`` -> ``(in, filters, *k)``."""
    rank = array.ndim - 2
    return np.transpose(array, (rank + 1, rank, *range(rank)))


def _conv_module(rank, in_channels, out_channels, layer, groups, bias, dtype, transpose=False):
    classes = {
        (1, False): nn.Conv1d,
        (2, False): nn.Conv2d,
        (1, True): nn.ConvTranspose1d,
        (2, True): nn.ConvTranspose2d,
    }
    return classes[rank, transpose](
        in_channels,
        out_channels,
        layer.kernel_size,
        stride=layer.strides,
        dilation=layer.dilation_rate,
        groups=groups,
        bias=bias,
        dtype=dtype,
    )


def _conv(layer, weights: LayerWeights):
    kernel = weights.arrays["kernel"]
    rank = kernel.ndim - 2
    conv = _conv_module(
        rank,
        kernel.shape[-2] * layer.groups,
        kernel.shape[-1],
        layer,
        layer.groups,
        layer.use_bias,
        _dtype(kernel),
    )
    conv.weight = weights.parameter("kernel", _conv_kernel)
    if layer.use_bias:
        conv.bias = weights.parameter("bias")
    activation = activation_module(layer.activation, layer)
    return tm.Convolution(conv, layer.padding, layer.data_format, activation)


def _conv_transpose(layer, weights: LayerWeights):
    kernel = weights.arrays["kernel"]
    rank = kernel.ndim - 2
    conv = _conv_module(
        rank, kernel.shape[-1], kernel.shape[-2], layer, 1, layer.use_bias, _dtype(kernel), True
    )
    conv.weight = weights.parameter("kernel", _conv_kernel)
    if layer.use_bias:
        conv.bias = weights.parameter("bias")
    extra = layer.output_padding or (None,) * rank
    activation = activation_module(layer.activation, layer)
    return tm.Convolution(conv, layer.padding, layer.data_format, activation, transpose=extra)


def _depthwise_kernel(array):
    """``(*k, channels, multiplier)`` -> ``(channels * multiplier, 1, *k)``: output
    channel ``c * multiplier + m``, as Keras orders them."""
    rank = array.ndim - 2
    moved = np.transpose(array, (rank, rank + 1, *range(rank)))
    return moved.reshape(-1, 1, *array.shape[:rank])


def _depthwise(layer, weights: LayerWeights, name="kernel", bias=True, activation=True):
    kernel = weights.arrays[name]
    channels = kernel.shape[-2]
    use_bias = layer.use_bias and bias
    conv = _conv_module(
        2, channels, channels * kernel.shape[-1], layer, channels, use_bias, _dtype(kernel)
    )
    conv.weight = weights.parameter(name, _depthwise_kernel)
    if use_bias:
        conv.bias = weights.parameter("bias")
    function = activation_module(layer.activation if activation else None, layer)
    return tm.Convolution(conv, layer.padding, layer.data_format, function)


def _separable(layer, weights: LayerWeights):
    depthwise = _depthwise(layer, weights, "depthwise_kernel", bias=False, activation=False)
    pointwise = weights.arrays["pointwise_kernel"]
    conv = nn.Conv2d(
        pointwise.shape[-2], pointwise.shape[-1], 1, bias=layer.use_bias, dtype=_dtype(pointwise)
    )
    conv.weight = weights.parameter("pointwise_kernel", _conv_kernel)
    if layer.use_bias:
        conv.bias = weights.parameter("bias")
    activation = activation_module(layer.activation, layer)
    return tm.SeparableConvolution(depthwise, conv, layer.data_format, activation)


def _pooling(kind):
    def convert(layer, weights):
        return tm.Pooling(kind, layer.pool_size, layer.strides, layer.padding, layer.data_format)

    return convert


def _global_pooling(kind, rank):
    def convert(layer, weights):
        first = 1 if layer.data_format == "channels_last" else 2
        axes = tuple(range(first, first + rank))
        return tm.GlobalPooling(kind, axes, layer.keepdims)

    return convert


def _batch_normalization(layer, weights: LayerWeights):
    if layer.renorm:
        raise refuse(layer, "PyTorch has no batch renormalization (renorm=True)")
    mean = weights.arrays["moving_mean"]
    module = tm.BatchNormalization(
        mean.shape[0],
        layer.axis,
        layer.epsilon,
        1.0 - layer.momentum,
        affine=layer.center or layer.scale,
        frozen=not layer.trainable,
    ).to(_dtype(mean))
    if layer.scale:
        module.weight = weights.parameter("gamma")
    elif layer.center:
        module.weight = nn.Parameter(torch.ones_like(module.weight), requires_grad=False)
    if layer.center:
        module.bias = weights.parameter("beta")
    elif layer.scale:
        module.bias = nn.Parameter(torch.zeros_like(module.bias), requires_grad=False)
    module.running_mean.copy_(weights.tensor("moving_mean"))
    module.running_var.copy_(weights.tensor("moving_variance"))
    return module


def _layer_normalization(layer, weights: LayerWeights):
    gamma = weights.parameter("gamma") if "gamma" in weights.arrays else None
    beta = weights.parameter("beta") if "beta" in weights.arrays else None
    axes = layer.axis if isinstance(layer.axis, list) else [layer.axis]
    return tm.LayerNormalization(axes, layer.epsilon, gamma, beta, layer.rms_scaling)


def _group_normalization(layer, weights: LayerWeights):
    channels = layer.input_shape[layer.axis]
    affine = layer.center or layer.scale
    module = tm.GroupNormalization(
        layer.groups if layer.groups != -1 else channels,
        channels,
        layer.epsilon,
        affine,
        layer.axis,
    )
    if affine:
        dtype = _dtype(next(iter(weights.arrays.values())))
        module.to(dtype)
        module.weight = (
            weights.parameter("gamma")
            if layer.scale
            else nn.Parameter(torch.ones_like(module.weight), requires_grad=False)
        )
        module.bias = (
            weights.parameter("beta")
            if layer.center
            else nn.Parameter(torch.zeros_like(module.bias), requires_grad=False)
        )
    return module


def _embedding(layer, weights: LayerWeights):
    table = weights.arrays["embeddings"]
    module = tm.Embedding(table.shape[0], table.shape[1], dtype=_dtype(table))
    module.weight = weights.parameter("embeddings")
    return module


def _activation_layer(layer, weights):
    return activation_module(layer.activation, layer)


def _prelu(layer, weights: LayerWeights):
    return tm.PReLU(weights.parameter("alpha"))


def _affine_probe(layer, weights):
    """An element-wise affine layer (Rescaling, Normalization) as its scale
    and offset: gradstep's own outputs for zeros and ones of one sample."""
    shape = layer.input_shape
    if shape is None or any(size is None for size in shape[1:]):
        raise refuse(layer, f"its input shape {shape} must be known beyond the batch axis")
    sample = (1, *shape[1:])
    offset, _ = layer.forward(np.zeros(sample, dtype=np.float32), training=False)
    ones, _ = layer.forward(np.ones(sample, dtype=np.float32), training=False)
    return tm.Affine(
        torch.from_numpy(np.asarray(ones - offset)), torch.from_numpy(np.asarray(offset))
    )


def _flatten(layer, weights):
    return tm.Flatten(layer.data_format == "channels_first")


def _reshape(layer, weights):
    return tm.Reshape(layer.target_shape)


def _permute(layer, weights):
    return tm.Permute(layer.dims)


def _repeat_vector(layer, weights):
    return tm.RepeatVector(layer.n)


def _zero_padding(layer, weights):
    return tm.PadOrCrop(layer.padding, getattr(layer, "data_format", "channels_last"))


def _cropping(layer, weights):
    amounts = [(-a, -b) for a, b in layer.cropping]
    return tm.PadOrCrop(amounts, getattr(layer, "data_format", "channels_last"))


def _up_sampling_1d(layer, weights):
    return tm.Resize((layer.size,), "channels_last")


def _up_sampling_2d(layer, weights):
    if layer.interpolation == "nearest":
        return tm.Resize(layer.size, layer.data_format)
    shape = layer.input_shape
    first = 1 if layer.data_format == "channels_last" else 2
    sizes = shape[first : first + 2] if shape is not None else (None, None)
    if any(size is None for size in sizes):
        raise refuse(
            layer, f"{layer.interpolation} resizing needs its input's height and width known"
        )
    matrices = [_resize_matrix(layer, axis, n) for axis, n in enumerate(sizes)]
    return tm.Resize(layer.size, layer.data_format, matrices)


def _resize_matrix(layer, axis, length):
    """``(length, length * size)``: row i is gradstep's output for the unit
    vector e_i along ``axis`` (the other spatial axis of length 1, which every
    interpolation copies)."""
    basis = np.eye(length, dtype=np.float64)
    shape = [length, 1, 1, 1]
    spatial = [1, 2] if layer.data_format == "channels_last" else [2, 3]
    shape[spatial[axis]] = length
    probe = np.zeros(shape, dtype=np.float32)
    index = [np.arange(length), 0, 0, 0]
    index[spatial[axis]] = np.arange(length)
    probe[tuple(index)] = basis.diagonal()
    output, _ = layer.forward(probe, training=False)
    picked = [slice(None), 0, 0, 0]
    picked[spatial[axis]] = slice(None)
    matrix = np.asarray(output)[tuple(picked)]
    return nn.Parameter(torch.from_numpy(np.ascontiguousarray(matrix)), requires_grad=False)


def _spatial_map(layer, weights):
    """Resizing and CenterCrop as ``A_h x A_w^T + b``, found from gradstep's own
    outputs for single pixels (both maps are linear along each axis, so the
    image of pixel (i, k) is ``A_h[:, i] A_w[:, k]^T``, known up to a scale
    that the product fixes)."""
    first = layer.data_format == "channels_first"
    shape = layer.input_shape
    h_axis = len(shape) - 2 if first else len(shape) - 3
    height, width = shape[h_axis], shape[h_axis + 1]
    if height is None or width is None:
        raise refuse(layer, "its input's height and width must be known")

    def run(images):  # images (n, height, width) -> outputs (n, out_h, out_w), one channel
        batch = images[:, None] if first else images[..., None]
        output, _ = layer.forward(batch.astype(np.float64), training=False)
        return output[:, 0] if first else output[..., 0]

    offset = run(np.zeros((1, height, width)))
    centre_row, centre_column = height // 2, width // 2
    pixels = np.zeros((height + width, height, width))
    pixels[np.arange(height), np.arange(height), centre_column] = 1
    pixels[height + np.arange(width), centre_row, np.arange(width)] = 1
    images = run(pixels) - offset
    centre = images[centre_row]
    row, column = np.unravel_index(np.argmax(np.abs(centre)), centre.shape)
    rows = images[:height, :, column].T  # A_h times A_w[column, centre_column]
    columns = images[height:, row, :].T / rows[row, centre_row]
    dtype = np.dtype(layer.dtype or "float32")
    offset_shape = (1, 1, *offset.shape[1:]) if first else (1, *offset.shape[1:], 1)
    return tm.SpatialMap(
        torch.from_numpy(rows.astype(dtype)),
        torch.from_numpy(columns.astype(dtype)),
        torch.from_numpy(offset.reshape(offset_shape).astype(dtype)),
        layer.data_format,
    )


def _random_flip(layer, weights):
    return tm.RandomFlip(layer.mode, layer.data_format)


def _random_contrast(layer, weights):
    lower, upper = layer.factor
    return tm.RandomContrast(lower, upper, layer.value_range, layer.data_format)


def _noise(kind, channels=False):
    def convert(layer, weights):
        rate = layer.stddev if kind == "gaussian_noise" else layer.rate
        axis = None
        if channels:
            axis = 1 if getattr(layer, "data_format", "channels_last") == "channels_first" else -1
        return tm.Noise(kind, rate, axis)

    return convert


def _masking(layer, weights):
    return tm.Masking(layer.mask_value)


def _identity(layer, weights):
    return tm.Identity()


def _merge(kind):
    def convert(layer, weights):
        return tm.Merge(kind, getattr(layer, "axis", -1))

    return convert


def _bidirectional(layer, weights: LayerWeights):
    forward, forward_links = convert_layer(layer.forward_layer)
    backward, backward_links = convert_layer(layer.backward_layer)
    for sublayer, links in (
        (layer.forward_layer, forward_links),
        (layer.backward_layer, backward_links),
    ):
        weights.links += [(f"{sublayer.name}/{name}", *rest) for name, *rest in links]
    return ts.Bidirectional(
        forward, backward, layer.merge_mode, layer.return_sequences, layer.return_state
    )


def _time_distributed(layer, weights: LayerWeights):
    inner, links = convert_layer(layer.layer)
    weights.links += [(f"{layer.layer.name}/{name}", *rest) for name, *rest in links]
    return ts.TimeDistributed(inner)


def _dtype(array) -> torch.dtype:
    return torch.from_numpy(np.zeros((), dtype=array.dtype)).dtype


_CONVERTERS = {
    "Dense": _dense,
    "Conv1D": _conv,
    "Conv2D": _conv,
    "Conv1DTranspose": _conv_transpose,
    "Conv2DTranspose": _conv_transpose,
    "DepthwiseConv2D": _depthwise,
    "SeparableConv2D": _separable,
    "MaxPooling1D": _pooling("max"),
    "MaxPooling2D": _pooling("max"),
    "AveragePooling1D": _pooling("average"),
    "AveragePooling2D": _pooling("average"),
    "GlobalMaxPooling1D": _global_pooling("max", 1),
    "GlobalMaxPooling2D": _global_pooling("max", 2),
    "GlobalAveragePooling1D": _global_pooling("average", 1),
    "GlobalAveragePooling2D": _global_pooling("average", 2),
    "BatchNormalization": _batch_normalization,
    "LayerNormalization": _layer_normalization,
    "GroupNormalization": _group_normalization,
    "Embedding": _embedding,
    "Activation": _activation_layer,
    "ReLU": _activation_layer,
    "LeakyReLU": _activation_layer,
    "ELU": _activation_layer,
    "Softmax": _activation_layer,
    "PReLU": _prelu,
    "Rescaling": _affine_probe,
    "Normalization": _affine_probe,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Permute": _permute,
    "RepeatVector": _repeat_vector,
    "ZeroPadding1D": _zero_padding,
    "ZeroPadding2D": _zero_padding,
    "Cropping1D": _cropping,
    "Cropping2D": _cropping,
    "UpSampling1D": _up_sampling_1d,
    "UpSampling2D": _up_sampling_2d,
    "Dropout": _noise("dropout"),
    "SpatialDropout1D": _noise("spatial_dropout", channels=True),
    "SpatialDropout2D": _noise("spatial_dropout", channels=True),
    "SpatialDropout3D": _noise("spatial_dropout", channels=True),
    "GaussianNoise": _noise("gaussian_noise"),
    "GaussianDropout": _noise("gaussian_dropout"),
    "ActivityRegularization": _identity,
    "Masking": _masking,
    "Resizing": _spatial_map,
    "CenterCrop": _spatial_map,
    "RandomFlip": _random_flip,
    "RandomContrast": _random_contrast,
    "Add": _merge("add"),
    "Subtract": _merge("subtract"),
    "Multiply": _merge("multiply"),
    "Average": _merge("average"),
    "Maximum": _merge("maximum"),
    "Minimum": _merge("minimum"),
    "Concatenate": _merge("concatenate"),
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
    **ts.CONVERTERS,
    **tl.CONVERTERS,
}
