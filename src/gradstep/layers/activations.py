"""Activation layers, Keras 3's: ReLU, LeakyReLU, ELU, Softmax, PReLU.

Each applies one function to its input, element by element (Softmax: along
``axis``), and passes its input's mask on. Where the formula is one of
``gradstep.activations`` (ReLU with its defaults, LeakyReLU, ELU, Softmax),
the layer applies that activation, whose ``backward`` is the slope; ReLU's
options and PReLU's learned slope are written here.

    >>> import numpy as np
    >>> from gradstep import layers
    >>> layers.ReLU(max_value=10, negative_slope=0.5)(np.array([[-10.0, -5.0, 0.0, 5.0, 10.0]]))
    array([[-5. , -2.5,  0. ,  5. , 10. ]], dtype=float32)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from gradstep import activations, constraints, initializers, regularizers
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import is_int, is_real


class _ActivationLayer(Layer):
    """A layer that applies ``self.activation`` (a ``gradstep.activations``
    object): ``y = f(x)``, backward ``dx = g * f'(x)``. It has no weights."""

    supports_masking = True

    def forward(self, x, training=False):
        output = self.activation(x)
        return output, (x, output)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        x, output = saved
        return self.activation.backward(x, output, grad_wrt_output), {}

    def _number(self, value, argument: str, *, non_negative=False, allow_none=False):
        """``value`` as given if it is a finite real number (>= 0 when
        ``non_negative``), or None when ``allow_none`` (then infinity, no
        limit, passes too); else a ValueError naming this layer, in Keras's words."""
        if value is None and allow_none:
            return value
        if is_real(value) and value == value and (abs(value) != math.inf or allow_none):
            if value >= 0 or not non_negative:
                return value
        label = f"{argument} of {type(self).__name__} layer {self.name!r}"
        if non_negative:
            cannot = "a negative value" if allow_none else "None or a negative value"
            expected = "a float >= 0 or None" if allow_none else "a finite float >= 0"
            reason = f"cannot be {cannot} (expected {expected})"
        else:
            reason = "must be a finite number"
        raise ValueError(f"{label} {reason}. Received: {argument}={value!r}")


class _ClippedReLU(activations.Activation):
    r"""Keras 3's ``relu(x, negative_slope, max_value, threshold)`` in its
    general form (``activations.ReLU.static_call``), for the options that
    the plain and leaky ReLUs do not cover:

    ``f(x) = min(x if x > threshold else 0, max_value) - negative_slope * max(threshold - x, 0)``

    Slope, as Keras's autodiff gives it: 1 where ``threshold < x`` and the
    clipped part is below ``max_value`` (1/2 where it equals ``max_value``,
    as JAX splits a tie of ``min``; 0 at ``x = 6`` for ``max_value=6`` and no
    threshold, Keras's ``relu6``), plus ``negative_slope`` where ``x < threshold``.
    """

    name = "relu"

    def __init__(self, negative_slope=0.0, max_value=None, threshold=0.0):
        self.negative_slope = negative_slope
        self.max_value = max_value
        self.threshold = threshold

    def _positive_part(self, x):
        """``x`` above the threshold, else 0: the part ``max_value`` clips."""
        return np.where(x > x.dtype.type(self.threshold), x, x.dtype.type(0))

    def __call__(self, x):
        output = self._positive_part(x)
        if self.max_value is not None:
            output = np.minimum(output, x.dtype.type(self.max_value))
        if self.negative_slope != 0:
            output = output - self.negative_slope * np.maximum(
                x.dtype.type(self.threshold) - x, x.dtype.type(0)
            )
        return output.astype(x.dtype, copy=False)

    def backward(self, x, y, grad_wrt_output):
        threshold = x.dtype.type(self.threshold)
        slope = (x > threshold).astype(x.dtype)
        if self.max_value is not None:
            limit = x.dtype.type(self.max_value)
            if self.threshold == 0 and self.max_value == 6:
                slope *= x < limit  # relu6: no slope at 6
            else:
                positive = self._positive_part(x)
                slope *= np.where(positive == limit, 0.5, positive < limit).astype(x.dtype)
        if self.negative_slope != 0:
            slope += x.dtype.type(self.negative_slope) * (x < threshold)
        return grad_wrt_output * slope

    def get_config(self):
        return {
            "negative_slope": self.negative_slope,
            "max_value": self.max_value,
            "threshold": self.threshold,
        }


@LAYERS.register("ReLU")
class ReLU(_ActivationLayer):
    """Rectified linear unit with Keras's options:

    ``f(x) = max_value`` for ``x >= max_value``, ``x`` for ``threshold < x < max_value``,
    ``negative_slope * (x - threshold)`` otherwise.

    With the defaults it is ``max(x, 0)`` (``activations.relu``); with only a
    ``negative_slope``, the leaky ReLU (slope 1 at 0); otherwise Keras's
    general formula (see ``_ClippedReLU`` for its slope at the corners).

    Args:
        max_value: float >= 0, the largest output; None for no limit.
        negative_slope: float >= 0, the slope below the threshold. Defaults to 0.
        threshold: float >= 0, below which the output is damped. Defaults to 0.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = self._number(max_value, "max_value", non_negative=True, allow_none=True)
        self.negative_slope = self._number(negative_slope, "negative_slope", non_negative=True)
        self.threshold = self._number(threshold, "threshold", non_negative=True)
        if max_value is None and threshold == 0:
            self.activation = (
                activations.ReLU()
                if negative_slope == 0
                else activations.LeakyReLU(negative_slope)  # Keras's leaky branch
            )
        else:
            self.activation = _ClippedReLU(negative_slope, max_value, threshold)

    def get_config(self):
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


@LAYERS.register("LeakyReLU")
class LeakyReLU(_ActivationLayer):
    """``f(x) = x`` for ``x >= 0``, ``negative_slope * x`` below (``activations.leaky_relu``).

    Args:
        negative_slope: float >= 0. Defaults to 0.3 (the layer's default;
            the function ``activations.leaky_relu``'s is 0.2). Keras's
            deprecated name ``alpha`` is accepted, with its warning.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` is deprecated. Use `negative_slope` instead.", stacklevel=2
            )
        super().__init__(**kwargs)
        self.negative_slope = self._number(negative_slope, "negative_slope", non_negative=True)
        self.activation = activations.LeakyReLU(negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@LAYERS.register("ELU")
class ELU(_ActivationLayer):
    """``f(x) = x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise (``activations.elu``);
    slope 1, or ``alpha * exp(x)`` (``alpha`` at 0, as Keras).

    Args:
        alpha: the scale of the negative part. Defaults to 1.0.
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = self._number(alpha, "alpha")
        self.activation = activations.ELU(alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def _large_negative_number(dtype) -> float:
    """What Keras puts in a masked logit: -1e9, or -3e4 in float16 (its largest is 65504)."""
    return -3e4 if np.dtype(dtype) == np.float16 else -1e9


@LAYERS.register("Softmax")
class Softmax(_ActivationLayer):
    r"""``f(x) = exp(x - max(x)) / sum(exp(x - max(x)))`` along ``axis``.

    With a mask (``layer(x, mask=m)``, or one a graph carries; True or > 0.5
    keeps an entry; it must broadcast against ``x`` from the right, as Keras
    requires), the masked entries take ``-1e9`` before the softmax and 0
    after it, so that they get no probability (and a slice that is all
    masked gives zeros, not a uniform distribution).

    Backward, with ``s`` the softmax and ``m`` the mask (1 everywhere without
    one): ``dx = m * s * (m g - sum(m g * s))``, the sum along ``axis``.

    Args:
        axis: an int, or a list of ints: the softmax is taken over all of
            them together. Defaults to -1.
    """

    forward_takes_mask = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, list | tuple) else [axis]
        if not axes or not all(is_int(a) for a in axes):
            raise ValueError(
                f"axis of Softmax layer {self.name!r} must be an integer or a non-empty list of "
                f"integers. Received: axis={axis!r}"
            )
        self.axis = axis
        self._axes = tuple(int(a) for a in axes)
        self.activation = activations.Softmax(self._axes[0] if len(axes) == 1 else self._axes)

    def check_input_shape(self, input_shape):
        rank = len(input_shape)
        for axis in self._axes:
            if not -rank <= axis < rank:
                raise ValueError(
                    f"Softmax layer {self.name!r} cannot take axis {axis} of inputs of rank "
                    f"{rank} (shape {tuple(input_shape)}): axis must be in [{-rank}, {rank})"
                )

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        if mask is not None and not isinstance(mask, list | tuple):
            mask = np.asarray(mask)
            if mask.dtype != bool:
                mask = mask > 0.5  # Keras keeps the entries over one half
        return super().__call__(inputs, training=training, mask=mask, **kwargs)

    def forward(self, x, training=False, mask=None):
        if mask is None:
            output = self.activation(x)
            return output, (output, None)
        mask = self._checked_mask(x, mask)
        softmax = self.activation(np.where(mask, x, x.dtype.type(_large_negative_number(x.dtype))))
        return np.where(mask, softmax, x.dtype.type(0)), (softmax, mask)

    def _checked_mask(self, x, mask) -> np.ndarray:
        mask = np.asarray(mask, dtype=bool)
        fits = mask.ndim <= x.ndim and all(
            m in (1, i) for m, i in zip(mask.shape[::-1], x.shape[::-1], strict=False)
        )
        if not fits:
            raise ValueError(
                f"Softmax layer {self.name!r}: the mask must be broadcastable to the inputs, "
                "each of its dimensions (from the last) 1 or the inputs' and no more of them. "
                f"Received: inputs.shape={x.shape}, mask.shape={mask.shape}"
            )
        return mask

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        softmax, mask = saved
        if mask is None:
            return self.activation.backward(None, softmax, grad_wrt_output), {}
        kept = np.where(mask, grad_wrt_output, 0)
        return np.where(mask, self.activation.backward(None, softmax, kept), 0), {}

    def backward_from_pre_activation(self, saved, grad_wrt_pre, input_gradient=True):
        """The slope at ``x`` given the slope at the softmax's input (a loss
        fused with it): unchanged, but none at masked entries."""
        _, mask = saved
        return (grad_wrt_pre if mask is None else np.where(mask, grad_wrt_pre, 0)), {}

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@LAYERS.register("PReLU")
class PReLU(Layer):
    r"""Parametric ReLU: ``f(x) = x`` for ``x > 0``, ``alpha * x`` otherwise,
    with ``alpha`` a learned weight of the shape of one sample, or 1 along
    ``shared_axes`` (Keras computes ``relu(x) - alpha * relu(-x)``).

    Backward: ``dx = g`` where ``x > 0``, ``alpha * g`` where ``x < 0`` (0 at
    0, as Keras's autodiff gives); ``d alpha = sum(g * min(x, 0))`` over the
    batch and the shared axes.

    Args:
        alpha_initializer: Defaults to ``'Zeros'`` (the layer starts as a ReLU).
        alpha_regularizer: a penalty on ``alpha``, or None.
        alpha_constraint: applied to ``alpha`` after each step, or None.
        shared_axes: the axes (1 for the first after the batch) along which
            one ``alpha`` serves all entries, e.g. ``[1, 2]`` for one per
            channel of an image; an int or a list; None for one per entry.
    """

    supports_masking = True

    def __init__(
        self,
        alpha_initializer="Zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, list | tuple) else [shared_axes]
            if not all(is_int(a) and a >= 1 for a in axes):
                raise ValueError(
                    f"shared_axes of PReLU layer {self.name!r} must be axes after the batch "
                    f"axis (integers >= 1). Received: shared_axes={shared_axes!r}"
                )
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        rank = len(input_shape)
        shared = set(self.shared_axes or ())
        if shared and max(shared) >= rank:
            raise ValueError(
                f"PReLU layer {self.name!r} cannot share axis {max(shared)} of inputs of rank "
                f"{rank} (shape {tuple(input_shape)}): shared_axes must be in [1, {rank})"
            )
        alpha_shape = [1 if axis in shared else size for axis, size in enumerate(input_shape)][1:]
        if any(size is None for size in alpha_shape):
            raise ValueError(
                f"PReLU layer {self.name!r} needs inputs whose axes are known, except the batch "
                f"and the shared axes, to make alpha; received input shape {tuple(input_shape)} "
                f"with shared_axes={self.shared_axes}"
            )
        self.alpha = self.add_weight(
            alpha_shape,
            self.alpha_initializer,
            name="alpha",
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
        )
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        if not self.built:
            return
        expected = (None, *self.alpha.shape)
        if len(input_shape) != len(expected):
            raise ValueError(
                f"Input 0 of layer {self.name!r} is incompatible with the layer: expected "
                f"ndim={len(expected)}, found ndim={len(input_shape)}. Full shape received: "
                f"{tuple(input_shape)}"
            )
        shared = set(self.shared_axes or ())
        for axis in range(1, len(expected)):
            if axis not in shared and input_shape[axis] != expected[axis]:
                raise ValueError(
                    f"Input 0 of layer {self.name!r} is incompatible with the layer: expected "
                    f"axis {axis} of input shape to have value {expected[axis]}, but received "
                    f"input with shape {tuple(input_shape)}"
                )

    def forward(self, x, training=False):
        if x.dtype != self.alpha.dtype:
            x = x.astype(self.alpha.dtype)
        return np.where(x > 0, x, self.alpha * x), x

    def backward(self, x, grad_wrt_output, input_gradient=True):
        negative_part = np.minimum(x, 0)
        alpha_slope = grad_wrt_output * negative_part
        summed = (0, *(self.shared_axes or ()))
        weight_grads = {"alpha": alpha_slope.sum(axis=summed, keepdims=True)[0]}
        grad_wrt_input = None
        if input_gradient:
            slope = np.where(x > 0, 1, np.where(x < 0, self.alpha, 0)).astype(x.dtype)
            grad_wrt_input = grad_wrt_output * slope
        return grad_wrt_input, weight_grads

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }
