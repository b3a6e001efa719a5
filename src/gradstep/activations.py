"""Activation functions, each with its value and its derivative side by side.

Every activation is an object with ``__call__(x)`` (the value) and
``backward(x, y, grad_wrt_output)`` (the chain rule: ``grad_wrt_output``
times the slope of the activation at ``x``; ``y`` is the value already
computed in the forward pass, reused where the slope is cheaper from it).
The module-level functions (``relu(x)``, ``softmax(x)``, ...) are Keras's.

    >>> import numpy as np
    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    >>> get("sigmoid").backward(np.array([0.0]), np.array([0.5]), np.array([1.0]))
    array([0.25])
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from gradstep.kernels import softmax as softmax_kernels
from gradstep.registry import Registry

ACTIVATIONS = Registry("activation")

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class Activation:
    """Base class: an element-wise function and its derivative."""

    name = "activation"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, x: np.ndarray, y: np.ndarray, grad_wrt_output: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"<activation {self.name}>"


@ACTIVATIONS.register("linear")
class Linear(Activation):
    """``f(x) = x``; slope 1."""

    name = "linear"

    def __call__(self, x):
        return x

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output


@ACTIVATIONS.register("relu")
class ReLU(Activation):
    """``f(x) = max(x, 0)``; slope 1 where x > 0, else 0 (0 at x = 0, as Keras)."""

    name = "relu"

    def __call__(self, x):
        return np.maximum(x, 0, dtype=x.dtype)

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output * (x > 0)


@ACTIVATIONS.register("sigmoid")
class Sigmoid(Activation):
    """``f(x) = 1 / (1 + exp(-x))``; slope ``f(x) (1 - f(x))``."""

    name = "sigmoid"

    def __call__(self, x):
        return _sigmoid(x)

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output * y * (1 - y)


@ACTIVATIONS.register("tanh")
class Tanh(Activation):
    """``f(x) = tanh(x)``; slope ``1 - f(x)^2``."""

    name = "tanh"

    def __call__(self, x):
        return np.tanh(x)

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output * (1 - y * y)


@ACTIVATIONS.register("softmax")
class Softmax(Activation):
    """``f(x)_i = exp(x_i) / sum_j exp(x_j)`` over the last axis.

    Not element-wise: the backward pass is the vector-Jacobian product
    ``y * (g - sum(g * y))``.
    """

    name = "softmax"

    def __init__(self, axis: int = -1):
        self.axis = axis

    def __call__(self, x):
        return _softmax(x, self.axis)

    def backward(self, x, y, grad_wrt_output):
        weighted = np.sum(grad_wrt_output * y, axis=self.axis, keepdims=True)
        return y * (grad_wrt_output - weighted)

    def get_config(self):
        # The default axis serializes as plain 'softmax', as Keras writes it.
        return {} if self.axis == -1 else {"axis": self.axis}


@ACTIVATIONS.register("leaky_relu")
class LeakyReLU(Activation):
    """``f(x) = x`` if x >= 0 else ``negative_slope * x`` (Keras default 0.2);
    slope 1 at x = 0, as Keras's autodiff gives."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.2):
        self.negative_slope = negative_slope

    def __call__(self, x):
        return np.where(x >= 0, x, self.negative_slope * x).astype(x.dtype, copy=False)

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output * np.where(x >= 0, 1, self.negative_slope).astype(x.dtype)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


@ACTIVATIONS.register("elu")
class ELU(Activation):
    """``f(x) = x`` if x > 0 else ``alpha (exp(x) - 1)``; slope 1 or ``alpha exp(x)``."""

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def __call__(self, x):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0))).astype(
            x.dtype, copy=False
        )

    def backward(self, x, y, grad_wrt_output):
        slope = np.where(x > 0, 1, self.alpha * np.exp(np.minimum(x, 0)))
        return (grad_wrt_output * slope).astype(x.dtype, copy=False)

    def get_config(self):
        return {"alpha": self.alpha}


@ACTIVATIONS.register("selu")
class SELU(Activation):
    """``f(x) = scale * elu(x, alpha)`` with Klambauer et al.'s self-normalising constants."""

    name = "selu"

    def __call__(self, x):
        negative = _SELU_ALPHA * np.expm1(np.minimum(x, 0))
        return (_SELU_SCALE * np.where(x > 0, x, negative)).astype(x.dtype, copy=False)

    def backward(self, x, y, grad_wrt_output):
        slope = _SELU_SCALE * np.where(x > 0, 1, _SELU_ALPHA * np.exp(np.minimum(x, 0)))
        return (grad_wrt_output * slope).astype(x.dtype, copy=False)


@ACTIVATIONS.register("gelu")
class GELU(Activation):
    """``f(x) = x * Phi(x)``, Phi the standard normal CDF (exact, Keras 3's default),
    or the tanh approximation ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    Slope (exact): ``Phi(x) + x * phi(x)``, phi the normal density.
    """

    name = "gelu"

    def __init__(self, approximate: bool = False):
        self.approximate = approximate

    def __call__(self, x):
        if self.approximate:
            return 0.5 * x * (1 + np.tanh(_tanh_arg(x)))
        return (x * _normal_cdf(x)).astype(x.dtype, copy=False)

    def backward(self, x, y, grad_wrt_output):
        if self.approximate:
            t = np.tanh(_tanh_arg(x))
            inner_slope = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner_slope
        else:
            density = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            slope = _normal_cdf(x) + x * density
        return (grad_wrt_output * slope).astype(x.dtype, copy=False)

    def get_config(self):
        return {"approximate": self.approximate}


@ACTIVATIONS.register("softplus")
class Softplus(Activation):
    """``f(x) = log(1 + exp(x))``, computed as ``max(x, 0) + log1p(exp(-|x|))``
    so that large |x| does not overflow; slope ``sigmoid(x)``."""

    name = "softplus"

    def __call__(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output * _sigmoid(x)


@ACTIVATIONS.register("softsign")
class Softsign(Activation):
    """``f(x) = x / (1 + |x|)``; slope ``1 / (1 + |x|)^2``."""

    name = "softsign"

    def __call__(self, x):
        return x / (1 + np.abs(x))

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output / (1 + np.abs(x)) ** 2


@ACTIVATIONS.register("silu", "swish")
class SiLU(Activation):
    """``f(x) = x * sigmoid(x)``; slope ``s (1 + x (1 - s))`` with ``s = sigmoid(x)``."""

    name = "silu"

    def __call__(self, x):
        return x * _sigmoid(x)

    def backward(self, x, y, grad_wrt_output):
        s = _sigmoid(x)
        return grad_wrt_output * s * (1 + x * (1 - s))


@ACTIVATIONS.register("exponential")
class Exponential(Activation):
    """``f(x) = exp(x)``; slope ``exp(x)``."""

    name = "exponential"

    def __call__(self, x):
        return np.exp(x)

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output * y


@ACTIVATIONS.register("hard_sigmoid")
class HardSigmoid(Activation):
    """``f(x) = clip(x / 6 + 1 / 2, 0, 1)`` (Keras 3: ``relu6(x + 3) / 6``);
    slope 1/6 on (-3, 3), else 0."""

    name = "hard_sigmoid"

    def __call__(self, x):
        return np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype, copy=False)

    def backward(self, x, y, grad_wrt_output):
        return grad_wrt_output * ((x > -3) & (x < 3)) / 6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of a negative number only, so that neither branch overflows.
    exp_neg_abs = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + exp_neg_abs), exp_neg_abs / (1 + exp_neg_abs)).astype(
        x.dtype, copy=False
    )


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    if axis in (-1, x.ndim - 1):  # rows of classes: fused where numba runs, same bits
        return softmax_kernels.bias_softmax(x, None)
    return softmax_kernels.softmax_numpy(x, axis)


def _tanh_arg(x: np.ndarray) -> np.ndarray:
    return math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + _erf(np.asarray(x, dtype=np.float64) / math.sqrt(2)))


def get(identifier: Any) -> Activation:
    """Resolve ``None``, a name, an ``Activation`` or one of this module's
    functions to an ``Activation`` object."""
    if identifier is None:
        return Linear()
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str):
        return _instance(ACTIVATIONS.lookup(identifier, "activation"))
    name = getattr(identifier, "__name__", None)
    if callable(identifier) and name in ACTIVATIONS and globals().get(name) is identifier:
        return ACTIVATIONS.lookup(name)()
    if callable(identifier):
        return FunctionActivation(identifier)
    raise TypeError(
        "activation must be None, a name such as 'relu', or a gradstep.activations.Activation "
        f"(which knows its derivative); received {identifier!r}"
    )


def _instance(found) -> Activation:
    """A registered Activation class, instantiated; a function of yours
    (registered with ``saving.register_keras_serializable``), wrapped."""
    if isinstance(found, type):
        return found()
    return FunctionActivation(found)


def serialize(activation: Activation) -> str | dict[str, Any]:
    config = activation.get_config()
    return activation.name if not config else {"name": activation.name, "config": config}


def deserialize(config: str | dict[str, Any]) -> Activation:
    if config is None or isinstance(config, str):
        return get(config)
    return ACTIVATIONS.lookup(config["name"], "activation")(**config.get("config", {}))


# Keras's functional forms: keras.activations.relu(x), ... On arrays they
# compute here; on values a tape traces (in a layer's call) or symbolic
# tensors, they run gradstep.ops, which records their slope.
def _traced_or_symbolic(x) -> bool:
    from gradstep.graph import SymbolicTensor
    from gradstep.ops.tape import Traced, lift

    return isinstance(lift(x), Traced | SymbolicTensor)


def _through_ops(op_name: str):
    def wrap(function):
        @functools.wraps(function)
        def run(x, *args, **kwargs):
            if _traced_or_symbolic(x):
                from gradstep import ops

                return getattr(ops, op_name)(x, *args, **kwargs)
            return function(x, *args, **kwargs)

        return run

    return wrap


def linear(x):
    return x if _traced_or_symbolic(x) else np.asarray(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    if _traced_or_symbolic(x):
        from gradstep import ops

        below = (
            0.0 if not negative_slope else ops.multiply(negative_slope, ops.subtract(x, threshold))
        )
        out = ops.where(ops.greater(x, threshold), x, below)
        return out if max_value is None else ops.minimum(out, max_value)
    x = np.asarray(x)
    out = np.where(x > threshold, x, negative_slope * (x - threshold) if negative_slope else 0)
    if max_value is not None:
        out = np.minimum(out, max_value)
    return out.astype(x.dtype, copy=False) if np.issubdtype(x.dtype, np.floating) else out


@_through_ops("sigmoid")
def sigmoid(x):
    return _sigmoid(np.asarray(x, dtype=float) if not _is_float(x) else np.asarray(x))


@_through_ops("tanh")
def tanh(x):
    return np.tanh(x)


@_through_ops("softmax")
def softmax(x, axis=-1):
    return _softmax(np.asarray(x, dtype=float) if not _is_float(x) else np.asarray(x), axis)


@_through_ops("log_softmax")
def log_softmax(x, axis=-1):
    from gradstep import ops

    return ops.log_softmax(np.asarray(x), axis)


@_through_ops("leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    return LeakyReLU(negative_slope)(np.asarray(x))


@_through_ops("elu")
def elu(x, alpha=1.0):
    return ELU(alpha)(np.asarray(x))


@_through_ops("selu")
def selu(x):
    return SELU()(np.asarray(x))


def gelu(x, approximate=False):
    if _traced_or_symbolic(x):
        from gradstep import ops

        return ops.gelu(x, approximate=approximate)
    return GELU(approximate)(np.asarray(x))


@_through_ops("softplus")
def softplus(x):
    return Softplus()(np.asarray(x))


@_through_ops("softsign")
def softsign(x):
    return Softsign()(np.asarray(x))


@_through_ops("silu")
def silu(x):
    return SiLU()(np.asarray(x))


swish = silu


@_through_ops("exp")
def exponential(x):
    return np.exp(x)


@_through_ops("hard_sigmoid")
def hard_sigmoid(x):
    return HardSigmoid()(np.asarray(x))


class FunctionActivation(Activation):
    """A Python function as an activation (``Dense(activation=my_function)``),
    written with ``gradstep.ops`` or NumPy: its slope comes from a tape."""

    def __init__(self, function):
        from gradstep import registry

        self.function = function
        self.name = registry.registered_name_of(function) or getattr(
            function, "__name__", "function"
        )

    def __call__(self, x):
        if _traced_or_symbolic(x):
            return self.function(x)
        from gradstep.ops import tape

        with tape.paused():
            return np.asarray(tape.unwrap(self.function(x)), dtype=np.asarray(x).dtype)

    def backward(self, x, y, grad_wrt_output):
        from gradstep.ops.tape import value_and_gradients

        _, (slope,) = value_and_gradients(self.function, [x], slope=grad_wrt_output)
        return slope


def _is_float(x) -> bool:
    return np.issubdtype(np.asarray(x).dtype, np.floating)
