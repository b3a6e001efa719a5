"""Weight initializers, with Keras's names and formulas.

An initializer is called as ``init(shape, dtype, rng)`` and returns a new
array; ``rng`` is the model's ``numpy.random.Generator`` so that one seed fixes
every starting weight. ``fan_in`` and ``fan_out`` are the input and output
sizes of a Dense kernel of shape ``(fan_in, fan_out)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradstep.registry import Registry

INITIALIZERS = Registry("initializer")


class Initializer:
    name = "initializer"

    def __call__(self, shape, dtype=np.float32, rng: np.random.Generator | None = None):
        rng = rng if rng is not None else np.random.default_rng()
        return np.asarray(self.sample(tuple(shape), rng), dtype=dtype)

    def sample(self, shape, rng):
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


@INITIALIZERS.register("zeros")
class Zeros(Initializer):
    name = "zeros"

    def sample(self, shape, rng):
        return np.zeros(shape)


@INITIALIZERS.register("ones")
class Ones(Initializer):
    name = "ones"

    def sample(self, shape, rng):
        return np.ones(shape)


@INITIALIZERS.register("constant")
class Constant(Initializer):
    name = "constant"

    def __init__(self, value: float = 0.0):
        self.value = value

    def sample(self, shape, rng):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


@INITIALIZERS.register("random_uniform")
class RandomUniform(Initializer):
    name = "random_uniform"

    def __init__(self, minval: float = -0.05, maxval: float = 0.05):
        self.minval, self.maxval = minval, maxval

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval}


@INITIALIZERS.register("random_normal")
class RandomNormal(Initializer):
    name = "random_normal"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05):
        self.mean, self.stddev = mean, stddev

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev}


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: variance ``scale / n`` with n the fan in, fan out
    or their average; a normal is truncated at two standard deviations."""

    name = "variance_scaling"

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def sample(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3 * variance)
            return rng.uniform(-limit, limit, size=shape)
        # 0.879... is the stddev of a unit normal truncated to [-2, 2].
        stddev = math.sqrt(variance) / 0.87962566103423978
        return _truncated_normal(shape, stddev, rng)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _scaling(name: str, scale: float, mode: str, distribution: str) -> type[VarianceScaling]:
    def __init__(self):
        VarianceScaling.__init__(self, scale, mode, distribution)

    cls = type(
        name, (VarianceScaling,), {"__init__": __init__, "get_config": Initializer.get_config}
    )
    cls.name = _snake(name)
    cls.__doc__ = f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})."
    INITIALIZERS.add(cls.name, cls)
    return cls


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")
INITIALIZERS.add("variance_scaling", VarianceScaling)
# Keras's short aliases (Embedding's default is 'uniform').
INITIALIZERS.add("uniform", RandomUniform)
INITIALIZERS.add("normal", RandomNormal)


def _fans(shape) -> tuple[float, float]:
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def _truncated_normal(shape, stddev, rng):
    values = rng.normal(0.0, 1.0, size=shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.normal(0.0, 1.0, size=int(outside.sum()))
        outside = np.abs(values) > 2
    return values * stddev


def get(identifier: Any) -> Initializer:
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return INITIALIZERS.lookup(identifier["name"], "initializer")(
            **identifier.get("config", {})
        )
    return INITIALIZERS.lookup(identifier, "initializer")()


def serialize(initializer: Initializer) -> str | dict[str, Any]:
    config = initializer.get_config()
    return initializer.name if not config else {"name": initializer.name, "config": config}
