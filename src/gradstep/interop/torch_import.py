"""A PyTorch ``nn.Sequential`` as a gradstep ``Sequential`` (imported by ``from_torch``).

PyTorch's layouts become Keras's: ``nn.Linear``'s weight ``(out, in)`` is
transposed into Dense's kernel ``(in, out)``; a convolution's ``(out, in /
groups, *k)`` becomes ``(*k, in / groups, out)``. PyTorch's images are
channels first, so the convolutions, pools and spatial dropouts get
``data_format="channels_first"`` and the model takes the module's arrays as
they are. ``BatchNorm``'s momentum ``m`` (the new batch's weight) becomes
Keras's ``1 - m``, its epsilon is carried.
"""

from __future__ import annotations

import numpy as np
from torch import nn

import gradstep
from gradstep import activations, layers

FIRST = "channels_first"


def convert_sequential(module, input_shape):
    if not isinstance(module, nn.Sequential):
        raise ValueError(
            f"from_torch takes an nn.Sequential, received {type(module).__name__}; a module "
            "with its own forward() has no layer list to convert"
        )
    model = gradstep.Sequential([gradstep.Input(tuple(input_shape))])
    transfers = []
    for index, child in enumerate(module):
        for layer, weights in _convert(child, f"{index}"):
            model.add(layer)
            if weights is not None:
                transfers.append((layer, weights))
    for layer, weights in transfers:
        layer.set_weights([np.asarray(w, dtype=layer.weights[0].dtype) for w in weights])
    return model


def _refuse(child, name, reason):
    return ValueError(
        f"from_torch: layer {name} ({type(child).__name__}) cannot be converted: {reason}"
    )


def _array(tensor):
    return tensor.detach().cpu().numpy()


def _convert(child, name):
    """``[(gradstep layer, its weights in gradstep's order or None), ...]``."""
    for classes, converter in _CONVERTERS:
        if isinstance(child, classes):
            return converter(child, name)
    activation = _ACTIVATIONS.get(type(child))
    if activation is not None:
        return [(layers.Activation(activation(child), name=f"activation_{name}"), None)]
    raise _refuse(child, name, "gradstep has no layer that computes it as PyTorch does")


def _linear(child, name):
    layer = layers.Dense(child.out_features, use_bias=child.bias is not None, name=f"linear_{name}")
    weights = [_array(child.weight).T]
    if child.bias is not None:
        weights.append(_array(child.bias))
    return [(layer, weights)]


def _conv(child, name):
    if child.padding_mode != "zeros":
        raise _refuse(child, name, f"padding_mode={child.padding_mode!r} (gradstep pads zeros)")
    rank = len(child.kernel_size)
    padding = child.padding
    converted = []
    if isinstance(padding, str):
        if padding == "same" and any(k % 2 == 0 for k in child.kernel_size):
            # PyTorch puts an odd extra zero before, Keras after
            total = [d * (k - 1) for k, d in zip(child.kernel_size, child.dilation, strict=True)]
            if any(t % 2 for t in total):
                raise _refuse(
                    child, name, "padding='same' with an even window pads as Keras does not"
                )
        keras_padding = padding
    else:
        keras_padding = "valid"
        if any(padding):
            pad_class = layers.ZeroPadding1D if rank == 1 else layers.ZeroPadding2D
            amount = padding[0] if rank == 1 else tuple(padding)
            converted.append((pad_class(amount, data_format=FIRST, name=f"padding_{name}"), None))
    conv_class = layers.Conv1D if rank == 1 else layers.Conv2D
    layer = conv_class(
        child.out_channels,
        child.kernel_size,
        strides=child.stride,
        padding=keras_padding,
        dilation_rate=child.dilation,
        groups=child.groups,
        use_bias=child.bias is not None,
        data_format=FIRST,
        name=f"conv_{name}",
    )
    kernel = _array(child.weight)  # (out, in / groups, *k)
    weights = [np.transpose(kernel, (*range(2, 2 + rank), 1, 0))]
    if child.bias is not None:
        weights.append(_array(child.bias))
    return [*converted, (layer, weights)]


def _pool(child, name):
    rank = 1 if isinstance(child, nn.MaxPool1d | nn.AvgPool1d) else 2
    if getattr(child, "ceil_mode", False):
        raise _refuse(child, name, "ceil_mode=True keeps windows Keras's pools drop")
    padding = child.padding if isinstance(child.padding, tuple) else (child.padding,) * rank
    dilation = getattr(child, "dilation", 1)
    if any(padding) or dilation not in (1, (1,) * rank):
        raise _refuse(
            child, name, "padding or dilation (gradstep's pools have 'valid' windows only)"
        )
    maximum = isinstance(child, nn.MaxPool1d | nn.MaxPool2d)
    classes = {
        (1, True): layers.MaxPooling1D,
        (2, True): layers.MaxPooling2D,
        (1, False): layers.AveragePooling1D,
        (2, False): layers.AveragePooling2D,
    }
    layer = classes[rank, maximum](
        child.kernel_size, strides=child.stride, data_format=FIRST, name=f"pool_{name}"
    )
    return [(layer, None)]


def _adaptive_pool(child, name):
    size = child.output_size
    if size not in (1, (1,), (1, 1)):
        raise _refuse(child, name, "only an output size of 1 (a global pool) has a gradstep layer")
    rank = 1 if isinstance(child, nn.AdaptiveAvgPool1d | nn.AdaptiveMaxPool1d) else 2
    average = isinstance(child, nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d)
    classes = {
        (1, True): layers.GlobalAveragePooling1D,
        (2, True): layers.GlobalAveragePooling2D,
        (1, False): layers.GlobalMaxPooling1D,
        (2, False): layers.GlobalMaxPooling2D,
    }
    layer = classes[rank, average](data_format=FIRST, keepdims=True, name=f"pool_{name}")
    return [(layer, None)]


def _batch_norm(child, name):
    if child.momentum is None or not child.track_running_stats:
        raise _refuse(
            child,
            name,
            "a cumulative average or no running statistics (Keras keeps a moving average)",
        )
    layer = layers.BatchNormalization(
        axis=1,
        momentum=1.0 - child.momentum,
        epsilon=child.eps,
        center=child.affine,
        scale=child.affine,
        name=f"batch_norm_{name}",
    )
    weights = [_array(child.weight), _array(child.bias)] if child.affine else []
    weights += [_array(child.running_mean), _array(child.running_var)]
    return [(layer, weights)]


def _layer_norm(child, name):
    count = len(child.normalized_shape)
    affine = child.elementwise_affine
    has_bias = affine and child.bias is not None
    layer = layers.LayerNormalization(
        axis=list(range(-count, 0)),
        epsilon=child.eps,
        center=has_bias,
        scale=affine,
        name=f"layer_norm_{name}",
    )
    weights = [_array(child.weight)] if affine else []
    if has_bias:
        weights.append(_array(child.bias))
    return [(layer, weights or None)]


def _group_norm(child, name):
    layer = layers.GroupNormalization(
        groups=child.num_groups,
        axis=1,
        epsilon=child.eps,
        center=child.affine,
        scale=child.affine,
        name=f"group_norm_{name}",
    )
    weights = [_array(child.weight), _array(child.bias)] if child.affine else None
    return [(layer, weights)]


def _embedding(child, name):
    if child.max_norm is not None:
        raise _refuse(child, name, "max_norm renormalizes the rows it reads, which Keras does not")
    layer = layers.Embedding(child.num_embeddings, child.embedding_dim, name=f"embedding_{name}")
    return [(layer, [_array(child.weight)])]


def _flatten(child, name):
    if child.start_dim != 1 or child.end_dim != -1:
        raise _refuse(child, name, "only Flatten(start_dim=1, end_dim=-1) flattens as Keras does")
    return [(layers.Flatten(name=f"flatten_{name}"), None)]


def _dropout(child, name):
    if isinstance(child, nn.Dropout1d):
        return [(layers.SpatialDropout1D(child.p, name=f"dropout_{name}"), None)]
    if isinstance(child, nn.Dropout2d):
        return [(layers.SpatialDropout2D(child.p, data_format=FIRST, name=f"dropout_{name}"), None)]
    return [(layers.Dropout(child.p, name=f"dropout_{name}"), None)]


def _identity(child, name):
    return []


def _activation_layer(child, name):
    if isinstance(child, nn.ReLU6):
        return [(layers.ReLU(max_value=6.0, name=f"relu6_{name}"), None)]
    if isinstance(child, nn.LeakyReLU):
        return [
            (layers.LeakyReLU(negative_slope=child.negative_slope, name=f"leaky_relu_{name}"), None)
        ]
    if isinstance(child, nn.ELU):
        return [(layers.ELU(alpha=child.alpha, name=f"elu_{name}"), None)]
    if child.dim is None:
        raise _refuse(child, name, "Softmax needs its dim")
    return [(layers.Softmax(axis=child.dim, name=f"softmax_{name}"), None)]


_CONVERTERS = [
    (nn.Linear, _linear),
    ((nn.Conv1d, nn.Conv2d), _conv),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d), _pool),
    (
        (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d),
        _adaptive_pool,
    ),
    ((nn.BatchNorm1d, nn.BatchNorm2d), _batch_norm),
    (nn.LayerNorm, _layer_norm),
    (nn.GroupNorm, _group_norm),
    (nn.Embedding, _embedding),
    (nn.Flatten, _flatten),
    ((nn.Dropout, nn.Dropout1d, nn.Dropout2d), _dropout),
    (nn.Identity, _identity),
    ((nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.Softmax), _activation_layer),
]

_ACTIVATIONS = {
    nn.ReLU: lambda child: "relu",
    nn.Tanh: lambda child: "tanh",
    nn.Sigmoid: lambda child: "sigmoid",
    nn.SiLU: lambda child: "silu",
    nn.SELU: lambda child: "selu",
    nn.Softsign: lambda child: "softsign",
    nn.Hardsigmoid: lambda child: "hard_sigmoid",
    nn.Softplus: lambda child: _softplus(child),
    nn.GELU: lambda child: activations.GELU(approximate=child.approximate == "tanh"),
}


def _softplus(child):
    if child.beta != 1:
        raise ValueError(f"from_torch: Softplus(beta={child.beta}) has no gradstep activation")
    return "softplus"
