"""Keras's ``keras.ops`` neural-network family, differentiable.

Written with the NumPy family's ops, so each slope follows from theirs; the
formulas are Keras's (the same epsilons and clips in the cross-entropies).
"""

from __future__ import annotations

import numpy as np

from gradstep.ops import numpy as knp
from gradstep.ops.symbolic import op
from gradstep.ops.tape import lift, operand, unwrap

# Keras's fuzz factor for the cross-entropies on probabilities.
EPSILON = 1e-7


@op
def relu(x):
    """``max(x, 0)``."""
    return knp.where(np.asarray(unwrap(lift(x))) > 0, x, 0.0)


@op
def relu6(x):
    """``min(max(x, 0), 6)``."""
    return knp.clip(x, 0.0, 6.0)


@op
def sigmoid(x):
    """``1 / (1 + exp(-x))``, without overflow for large ``|x|``."""
    return knp.divide(1.0, knp.add(1.0, knp.exp(knp.negative(x))))


@op
def hard_sigmoid(x):
    """``clip(x / 6 + 0.5, 0, 1)``."""
    return knp.clip(knp.add(knp.divide(x, 6.0), 0.5), 0.0, 1.0)


@op
def softplus(x):
    """``log(1 + exp(x))``."""
    return knp.logaddexp(x, 0.0)


@op
def softsign(x):
    """``x / (1 + |x|)``."""
    return knp.divide(x, knp.add(1.0, knp.absolute(x)))


@op
def silu(x):
    """``x * sigmoid(x)`` (swish)."""
    return knp.multiply(x, sigmoid(x))


swish = op(lambda x: silu(x))
swish.__name__ = "swish"


@op
def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``."""
    return knp.negative(softplus(knp.negative(x)))


@op
def leaky_relu(x, negative_slope=0.2):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return knp.where(np.asarray(unwrap(lift(x))) > 0, x, knp.multiply(negative_slope, x))


@op
def elu(x, alpha=1.0):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    negative = knp.minimum(x, 0.0)
    return knp.where(np.asarray(unwrap(lift(x))) > 0, x, knp.multiply(alpha, knp.expm1(negative)))


@op
def selu(x):
    """``scale * elu(x, alpha)`` with Keras's constants."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return knp.multiply(scale, elu(x, alpha))


@op
def celu(x, alpha=1.0):
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return knp.add(
        knp.maximum(x, 0.0), knp.minimum(0.0, knp.multiply(alpha, knp.expm1(knp.divide(x, alpha))))
    )


@op
def gelu(x, approximate=True):
    """Gaussian error linear unit; Keras's default is the tanh approximation."""
    if approximate:
        inner = knp.multiply(
            np.sqrt(2.0 / np.pi), knp.add(x, knp.multiply(0.044715, knp.power(x, 3.0)))
        )
        return knp.multiply(knp.multiply(0.5, x), knp.add(1.0, knp.tanh(inner)))
    return knp.multiply(knp.multiply(0.5, x), knp.add(1.0, erf(knp.divide(x, np.sqrt(2.0)))))


@op
def erf(x):
    """The error function."""
    from gradstep.ops.special import erf as erf_primitive

    return erf_primitive(operand(x))


@op
def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, from the largest entry."""
    shifted = knp.subtract(x, knp.stop_gradient(knp.max(x, axis=axis, keepdims=True)))
    exps = knp.exp(shifted)
    return knp.divide(exps, knp.sum(exps, axis=axis, keepdims=True))


@op
def log_softmax(x, axis=-1):
    """``x - logsumexp(x)`` along ``axis``."""
    return knp.subtract(x, knp.logsumexp(x, axis=axis, keepdims=True))


@op
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """Integer labels as one-hot rows of ``num_classes`` (no slope)."""
    labels = np.asarray(unwrap(lift(x))).astype(np.int64)
    encoded = (labels[..., None] == np.arange(num_classes)).astype(dtype or "float32")
    return np.moveaxis(encoded, -1, axis) if axis != -1 else encoded


@op
def multi_hot(inputs, num_classes, axis=-1, dtype=None, sparse=False):
    """Ones at every label of each row (no slope)."""
    encoded = one_hot(inputs, num_classes, dtype=dtype)
    return np.max(encoded, axis=-2)


@op
def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` over ``axes``."""
    axes = tuple(axes)
    mean = knp.mean(x, axis=axes, keepdims=True)
    variance = knp.mean(knp.square(knp.subtract(x, mean)), axis=axes, keepdims=keepdims)
    return (mean if keepdims else knp.squeeze(mean, axis=axes)), variance


@op
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, the
    statistics given along ``axis``."""
    ndim = np.ndim(unwrap(lift(x)))
    shape = [1] * ndim
    shape[axis % ndim] = -1

    def along(v):
        return knp.reshape(v, shape)

    result = knp.multiply(
        knp.subtract(x, along(mean)), knp.divide(1.0, knp.sqrt(knp.add(along(variance), epsilon)))
    )
    if scale is not None:
        result = knp.multiply(result, along(scale))
    if offset is not None:
        result = knp.add(result, along(offset))
    return result


@op
def normalize(x, axis=-1, order=2, epsilon=None):
    """``x`` over its ``order``-norm along ``axis``."""
    norm_ = knp.norm(x, ord=order, axis=axis, keepdims=True)
    return knp.divide(x, knp.maximum(norm_, 1e-12 if epsilon is None else epsilon))


@op
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy, as Keras computes it."""
    if from_logits:
        # max(z, 0) - z * t + log(1 + exp(-|z|))
        return knp.add(
            knp.subtract(knp.maximum(output, 0.0), knp.multiply(output, target)),
            knp.log1p(knp.exp(knp.negative(knp.absolute(output)))),
        )
    output = knp.clip(output, EPSILON, 1.0 - EPSILON)
    return knp.negative(
        knp.add(
            knp.multiply(target, knp.log(output)),
            knp.multiply(knp.subtract(1.0, target), knp.log(knp.subtract(1.0, output))),
        )
    )


@op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy of one-hot (or soft) ``target`` rows, as Keras computes it."""
    if from_logits:
        log_p = log_softmax(output, axis=axis)
    else:
        output = knp.divide(output, knp.sum(output, axis=axis, keepdims=True))
        log_p = knp.log(knp.clip(output, EPSILON, 1.0 - EPSILON))
    return knp.negative(knp.sum(knp.multiply(target, log_p), axis=axis))


@op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy of integer labels, as Keras computes it."""
    classes = np.shape(unwrap(lift(output)))[axis]
    return categorical_crossentropy(
        one_hot(target, classes, axis=axis, dtype=np.asarray(unwrap(lift(output))).dtype),
        output,
        from_logits=from_logits,
        axis=axis,
    )
