"""The rest of Keras's ``keras.ops.nn`` family: more activations,
normalizations, attention and image rearrangements, written with the NumPy
family's ops so that each slope follows from theirs."""

from __future__ import annotations

import numpy as np

from gradstep.ops import nn
from gradstep.ops import numpy as knp
from gradstep.ops.symbolic import op
from gradstep.ops.tape import lift, unwrap

#: Keras's default epsilon (``keras.backend.epsilon()``).
EPSILON = 1e-7


def _value(x) -> np.ndarray:
    return np.asarray(unwrap(lift(x)))


@op
def hard_silu(x):
    """``x * hard_sigmoid(x)``."""
    return knp.multiply(x, nn.hard_sigmoid(x))


@op
def hard_swish(x):
    """``x * hard_sigmoid(x)`` (alias of ``hard_silu``)."""
    return hard_silu(x)


@op
def hard_tanh(x):
    """``clip(x, -1, 1)``."""
    return knp.clip(x, -1.0, 1.0)


@op
def hard_shrink(x, threshold=0.5):
    """``x`` where ``|x| > threshold``, else 0."""
    return knp.where(np.abs(_value(x)) > threshold, x, 0.0)


@op
def soft_shrink(x, threshold=0.5):
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    values = _value(x)
    return knp.where(
        values > threshold,
        knp.subtract(x, threshold),
        knp.where(values < -threshold, knp.add(x, threshold), 0.0),
    )


@op
def tanh_shrink(x):
    """``x - tanh(x)``."""
    return knp.subtract(x, knp.tanh(x))


@op
def threshold(x, threshold, default_value):
    """``x`` where ``x > threshold``, else ``default_value``."""
    return knp.where(_value(x) > threshold, x, default_value)


@op
def sparse_plus(x):
    """0 below -1, ``(x + 1)² / 4`` on (-1, 1), ``x`` above."""
    values = _value(x)
    return knp.where(
        values <= -1,
        0.0,
        knp.where(values < 1, knp.multiply(0.25, knp.square(knp.add(x, 1.0))), x),
    )


@op
def sparse_sigmoid(x):
    """0 below -1, ``(x + 1) / 2`` on (-1, 1), 1 above."""
    values = _value(x)
    return knp.where(
        values <= -1, 0.0, knp.where(values >= 1, 1.0, knp.multiply(0.5, knp.add(x, 1.0)))
    )


@op
def squareplus(x, b=4):
    """``(x + sqrt(x² + b)) / 2``."""
    return knp.divide(knp.add(x, knp.sqrt(knp.add(knp.square(x), b))), 2.0)


@op
def glu(x, axis=-1):
    """``a * sigmoid(b)`` with ``x`` split in halves ``a, b`` along ``axis``."""
    if _value(x).shape[axis] % 2:
        raise ValueError(
            f"ops.glu: axis size must be divisible by 2, received x.shape={_value(x).shape} "
            f"with axis={axis}"
        )
    first, second = knp.split(x, 2, axis=axis)
    return knp.multiply(first, nn.sigmoid(second))


@op
def sparsemax(x, axis=-1):
    """Keras's sparsemax: ``max(x - tau, 0)`` along ``axis``.

    With ``z`` the entries sorted in decreasing order, ``c`` their running
    sums and the support ``z_j - (c_j - 1) / j > 0`` of size ``k``, Keras
    computes ``tau = (sum of c_j over the support - 1) / k``. (The textbook
    threshold is ``(c_k - 1) / k``; Keras's sums the running sums, and
    gradstep gives Keras's numbers.)
    """
    values = _value(x)
    ordered = knp.negative(knp.sort(knp.negative(x), axis=axis))
    running = knp.cumsum(ordered, axis=axis)
    ranks_shape = [1] * values.ndim
    ranks_shape[axis] = -1
    ranks = np.arange(1, values.shape[axis] + 1).reshape(ranks_shape).astype(values.dtype)
    running_values = _value(running)
    support = _value(ordered) - (running_values - 1) / ranks > 0
    k = np.sum(support, axis=axis, keepdims=True).astype(values.dtype)
    kept = knp.sum(knp.where(support, running, 0.0), axis=axis, keepdims=True)
    tau = knp.divide(knp.subtract(kept, 1.0), k)
    return knp.maximum(knp.subtract(x, tau), 0.0)


@op
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta``, the statistics over ``axis``."""
    epsilon = EPSILON if epsilon is None else epsilon
    axes = [axis] if isinstance(axis, int) else sorted(axis)
    ndim = _value(x).ndim
    shape = [1] * ndim
    for a in axes:
        shape[a] = _value(x).shape[a]

    def broadcast(v):
        if v is not None and _value(v).ndim != ndim and axes != [ndim - 1]:
            return knp.reshape(v, shape)
        return v

    mean, variance = nn.moments(x, axes=axes, keepdims=True)
    inverse = knp.divide(1.0, knp.sqrt(knp.add(variance, epsilon)))
    gamma, beta = broadcast(gamma), broadcast(beta)
    if gamma is not None:
        inverse = knp.multiply(inverse, gamma)
    result = knp.multiply(knp.subtract(x, mean), inverse)
    return result if beta is None else knp.add(result, beta)


@op
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """``x / sqrt(mean(x²) + epsilon) * scale`` over ``axis``."""
    epsilon = EPSILON if epsilon is None else epsilon
    mean_square = knp.mean(knp.square(x), axis=axis, keepdims=True)
    result = knp.multiply(x, knp.divide(1.0, knp.sqrt(knp.add(mean_square, epsilon))))
    return result if scale is None else knp.multiply(result, scale)


@op
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio: ``20 log10(max_val) - 10 log10(mse)``."""
    if _value(x1).shape != _value(x2).shape:
        raise ValueError(
            f"ops.psnr: input shapes {_value(x1).shape} and {_value(x2).shape} must match"
        )
    mse = knp.mean(knp.square(knp.subtract(x1, x2)))
    return knp.subtract(20.0 * np.log10(float(_value(max_val))), knp.multiply(10.0, knp.log10(mse)))


# Keras's large negative number for masked attention logits (float32).
_LARGE_NEGATIVE = -0.7 * 3.38953e38


@op
def dot_product_attention(
    query,
    key,
    value,
    bias=None,
    mask=None,
    scale=None,
    is_causal=False,
    flash_attention=None,
    attn_logits_soft_cap=None,
):
    """``softmax(q kᵀ * scale + bias, masked) v`` for inputs of shape
    (batch, length, heads, head_dim)."""
    if flash_attention:
        raise ValueError("ops.dot_product_attention: flash_attention is not supported in gradstep")
    if _value(query).ndim != 4:
        raise ValueError(
            "ops.dot_product_attention: only 4-D inputs are supported, received "
            f"query.shape={_value(query).shape}"
        )
    head_dim = _value(key).shape[-1]
    scale = 1.0 / np.sqrt(head_dim) if scale is None else scale
    logits = knp.multiply(knp.einsum("BTNH,BSNH->BNTS", query, key), scale)
    if bias is not None:
        logits = knp.add(logits, bias)
    if attn_logits_soft_cap is not None:
        logits = knp.multiply(
            knp.tanh(knp.divide(logits, attn_logits_soft_cap)), attn_logits_soft_cap
        )
    shape = _value(logits).shape
    keep = np.ones(shape, dtype=bool)
    if mask is not None:
        keep &= np.asarray(_value(mask), dtype=bool)
    if is_causal:
        keep &= np.tril(np.ones(shape[-2:], dtype=bool))[None, None]
    if mask is not None or is_causal:
        logits = knp.where(keep, logits, np.asarray(_LARGE_NEGATIVE, _value(logits).dtype))
    probabilities = nn.softmax(logits, axis=-1)
    return knp.einsum("BNTS,BSNH->BTNH", probabilities, value)


@op
def space_to_depth(x, block_size, data_format="channels_last"):
    """Blocks of ``block_size``² pixels moved into channels."""
    if data_format == "channels_first":
        x = knp.moveaxis(x, 1, -1)
    batch, height, width, channels = _value(x).shape
    b = block_size
    y = knp.reshape(x, (batch, height // b, b, width // b, b, channels))
    y = knp.transpose(y, (0, 1, 3, 2, 4, 5))
    y = knp.reshape(y, (batch, height // b, width // b, b * b * channels))
    return knp.moveaxis(y, -1, 1) if data_format == "channels_first" else y


@op
def depth_to_space(x, block_size, data_format="channels_last"):
    """Channels moved into blocks of ``block_size``² pixels."""
    if data_format == "channels_first":
        x = knp.moveaxis(x, 1, -1)
    batch, height, width, channels = _value(x).shape
    b = block_size
    y = knp.reshape(x, (batch, height, width, b, b, channels // (b * b)))
    y = knp.transpose(y, (0, 1, 3, 2, 4, 5))
    y = knp.reshape(y, (batch, height * b, width * b, channels // (b * b)))
    return knp.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@op
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """PyTorch's ``unfold`` on (batch, channels, height, width): every window
    flattened to a column, shape (batch, channels * kh * kw, windows)."""
    from gradstep.ops.convolution import window_patches

    kernel, dilations, pads, strides = (
        _pair(kernel_size),
        _pair(dilation),
        _pair(padding),
        _pair(stride),
    )
    channels_last = knp.moveaxis(x, 1, -1)
    patches = window_patches(channels_last, kernel, strides, dilations, [(p, p) for p in pads])
    batch, oh, ow, kh, kw, channels = _value(patches).shape
    ordered = knp.transpose(patches, (0, 5, 3, 4, 1, 2))
    return knp.reshape(ordered, (batch, channels * kh * kw, oh * ow))
