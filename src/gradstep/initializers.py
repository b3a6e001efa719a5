"""Weight initializers, with Keras 3's names, arguments, formulas and configs.

An initializer is called as ``init(shape, dtype=None, rng=None)`` and returns a
new array (``dtype`` None means ``float32``). A random initializer draws:

- with ``seed=None`` (the default), from ``rng``: a layer passes its model's
  init generator, so one model seed fixes every starting weight (without
  ``rng``, from the generator that ``utils.set_random_seed`` fixes);
- with an integer ``seed``, from a new generator seeded with it, on every
  call: as in Keras 3, an initializer seeded with an integer gives the same
  values each time it is called (two layers given the same seeded
  initializer start from the same weights).

The values for a given seed are NumPy's, not Keras's (Keras draws with its
backend's generator); the distributions are Keras's.

``fan_in`` and ``fan_out`` are the input and output sizes of a Dense kernel of
shape ``(fan_in, fan_out)``; for a convolution kernel ``(*window, in, out)``
they are multiplied by the window's size (Keras's ``compute_fans``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from gradstep.registry import Registry
from gradstep.validation import is_int, is_real

INITIALIZERS = Registry("initializer")

#: The standard deviation of a unit normal truncated to [-2, 2].
_TRUNCATED_STDDEV = 0.87962566103423978


class Initializer:
    """The base class: subclasses implement ``sample(shape, rng)`` in float64."""

    name = "initializer"

    def __call__(self, shape, dtype=None, rng: np.random.Generator | None = None):
        shape = _checked_shape(shape, type(self).__name__)
        dtype = np.float32 if dtype is None else dtype
        return np.asarray(self.sample(shape, self._generator(rng)), dtype=dtype)

    def _generator(self, rng):
        if rng is not None:
            return rng
        from gradstep.seeding import unseeded_generator

        return unseeded_generator()

    def sample(self, shape, rng):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)


class RandomInitializer(Initializer):
    """An initializer that draws random numbers; ``seed`` as in the module's docstring."""

    def __init__(self, seed=None):
        if seed is not None and not (is_int(seed) and seed >= 0):
            raise ValueError(
                f"{type(self).__name__}: seed must be None or a non-negative integer "
                f"(gradstep has no SeedGenerator objects), received seed={seed!r}"
            )
        self.seed = None if seed is None else int(seed)

    def _generator(self, rng):
        if self.seed is not None:
            return np.random.default_rng(self.seed)
        return super()._generator(rng)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


def _checked_shape(shape, owner: str) -> tuple[int, ...]:
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or not all(is_int(d) and d >= 0 for d in dims):
        raise ValueError(
            f"{owner}: shape must be a tuple of non-negative integers, received {shape!r}"
        )
    return tuple(int(d) for d in dims)


def _register(cls: type) -> type:
    """Register ``cls`` under Keras's names for it: the class name and its snake case."""
    INITIALIZERS.add(cls.__name__, cls)
    INITIALIZERS.add(_snake(cls.__name__), cls)
    return cls


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --- constants ------------------------------------------------------------------------
@_register
class Zeros(Initializer):
    """All zeros."""

    name = "zeros"

    def sample(self, shape, rng):
        return np.zeros(shape)


@_register
class Ones(Initializer):
    """All ones."""

    name = "ones"

    def sample(self, shape, rng):
        return np.ones(shape)


@_register
class Constant(Initializer):
    """Every entry ``value`` (a number, or an array that broadcasts to the shape)."""

    name = "constant"

    def __init__(self, value=0.0):
        self.value = value

    def sample(self, shape, rng):
        return np.broadcast_to(np.asarray(self.value, dtype=np.float64), shape)

    def get_config(self):
        value = self.value
        return {"value": value.tolist() if isinstance(value, np.ndarray) else value}


@_register
class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes only; a rectangular shape
    gets ones on its main diagonal, as ``numpy.eye``)."""

    name = "identity"

    def __init__(self, gain=1.0):
        self.gain = gain

    def sample(self, shape, rng):
        if len(shape) != 2:
            raise ValueError(
                f"Identity initializer requires a 2D shape. Received: shape={shape} "
                f"of rank {len(shape)}."
            )
        return self.gain * np.eye(*shape)

    def get_config(self):
        return {"gain": self.gain}


# --- random ---------------------------------------------------------------------------
@_register
class RandomNormal(RandomInitializer):
    """Normal with ``mean`` and ``stddev``."""

    name = "random_normal"

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@_register
class TruncatedNormal(RandomInitializer):
    """Normal with ``mean`` and ``stddev``, values more than two ``stddev`` from
    the mean drawn again (so the values' own standard deviation is
    ``0.8796 * stddev``, as in Keras)."""

    name = "truncated_normal"

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def sample(self, shape, rng):
        return self.mean + _truncated_normal(shape, self.stddev, rng)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@_register
class RandomUniform(RandomInitializer):
    """Uniform on ``[minval, maxval)``."""

    name = "random_uniform"

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


@_register
class VarianceScaling(RandomInitializer):
    """Keras's VarianceScaling: variance ``scale / n``, with ``n`` the fan in
    (``mode='fan_in'``), the fan out or their average (``'fan_avg'``), at least 1.

    - ``distribution='truncated_normal'`` (or ``'normal'``): a normal truncated at
      two standard deviations, with ``stddev = sqrt(scale / n) / 0.8796`` so that
      the truncated values have variance ``scale / n``;
    - ``'untruncated_normal'``: a normal with ``stddev = sqrt(scale / n)``;
    - ``'uniform'``: uniform on ``[-limit, limit]``, ``limit = sqrt(3 scale / n)``.

    ``input_axes``/``output_axes`` (both given) name the axes whose sizes multiply
    into the fan in and the fan out.
    """

    name = "variance_scaling"

    def __init__(
        self,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
    ):
        if not is_real(scale) or scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale!r}")
        if mode not in _MODES:
            raise ValueError(f"Invalid `mode` argument: {mode!r}. Please use one of {_MODES}")
        if not isinstance(distribution, str) or distribution.lower() not in (
            *_DISTRIBUTIONS,
            "normal",
        ):
            raise ValueError(
                f"Invalid `distribution` argument: {distribution!r}. "
                f"Please use one of {_DISTRIBUTIONS}"
            )
        distribution = distribution.lower()
        self.scale = scale
        self.mode = mode
        self.distribution = "truncated_normal" if distribution == "normal" else distribution
        self.input_axes = _axes(input_axes)
        self.output_axes = _axes(output_axes)
        super().__init__(seed)

    def sample(self, shape, rng):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3 * variance)
            return rng.uniform(-limit, limit, size=shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(variance), size=shape)
        return _truncated_normal(shape, math.sqrt(variance) / _TRUNCATED_STDDEV, rng)

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


def _axes(axes):
    return None if axes is None else [int(axis) for axis in axes]


def _preset(name: str, scale: float, mode: str, distribution: str) -> type[VarianceScaling]:
    """A VarianceScaling with fixed ``scale``, ``mode`` and ``distribution``
    (Keras's GlorotUniform, HeNormal, ...), taking ``seed``, ``input_axes`` and
    ``output_axes``."""

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(
            self, scale, mode, distribution, seed, input_axes=input_axes, output_axes=output_axes
        )

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    cls = type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config})
    cls.name = _snake(name)
    cls.__module__ = __name__
    cls.__doc__ = (
        f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r}), "
        "with ``seed``, ``input_axes`` and ``output_axes``."
    )
    return _register(cls)


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")


@_register
class Orthogonal(RandomInitializer):
    """An orthogonal matrix times ``gain`` (Saxe et al., 2014), as Keras makes it:
    the Q of the QR decomposition of a normal matrix of shape
    ``(max(rows, cols), min(rows, cols))``, its columns' signs set by R's diagonal,
    transposed when there are fewer rows than columns. ``rows`` is the product of
    every axis but the last, so a convolution kernel is orthogonal as a
    ``(window * in, out)`` matrix. The rows (or columns, whichever are fewer)
    are orthonormal."""

    name = "orthogonal"

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed)

    def sample(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        normal = rng.normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(normal)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# Keras's other names for its initializers.
INITIALIZERS.add("normal", RandomNormal)
INITIALIZERS.add("uniform", RandomUniform)
INITIALIZERS.add("one", Ones)
INITIALIZERS.add("zero", Zeros)
INITIALIZERS.add("IdentityInitializer", Identity)
INITIALIZERS.add("OrthogonalInitializer", Orthogonal)


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[int, int]:
    """Keras's ``(fan_in, fan_out)`` of a weight shape."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (
            math.prod(shape[axis] for axis in input_axes),
            math.prod(shape[axis] for axis in output_axes),
        )
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(shape, stddev, rng):
    """Normal(0, stddev) with the values beyond two stddev drawn again."""
    values = rng.normal(0.0, 1.0, size=shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.normal(0.0, 1.0, size=int(outside.sum()))
        outside = np.abs(values) > 2
    return values * stddev


# --- names and configs ----------------------------------------------------------------
def get(identifier: Any) -> Initializer:
    """An Initializer from a name (``'glorot_uniform'`` or ``'GlorotUniform'``), a
    config dict (``{'class_name': ..., 'config': {...}}``; also gradstep's
    older ``{'name': ..., 'config': ...}``), an Initializer, or an Initializer
    class (instantiated with its defaults)."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    return INITIALIZERS.lookup(identifier, "initializer")()


def serialize(initializer: Initializer) -> dict[str, Any]:
    """Keras's form: ``{'module': 'keras.initializers', 'class_name':
    'GlorotUniform', 'config': {'seed': None, ...}, 'registered_name': None}``."""
    return {
        "module": "keras.initializers",
        "class_name": type(initializer).__name__,
        "config": initializer.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> Initializer:
    """The initializer a ``serialize`` dict describes; names resolve only through
    the ``INITIALIZERS`` registry."""
    if not isinstance(config, dict) or not ("class_name" in config or "name" in config):
        raise ValueError(
            "An initializer configuration must be a dict {'class_name': ..., 'config': {...}}, "
            f"received {config!r}"
        )
    name = config.get("class_name", config.get("name"))
    cls = INITIALIZERS.lookup(name, "initializer")
    return cls.from_config(dict(config.get("config") or {}))
