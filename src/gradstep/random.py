"""Random numbers, Keras 3's ``keras.random`` over NumPy.

Every function takes ``seed``, as Keras 3 does:

- an integer: a new generator seeded with it on every call, so the same
  integer gives the same values on every call;
- a ``SeedGenerator``: it gives a new seed on every call (``next()``), so
  successive calls differ and the sequence is fixed by the generator's own
  seed (a layer holds one, as Keras's ``Dropout`` does);
- None: the module's global generator, which ``utils.set_random_seed`` fixes
  (``gradstep.seeding.random_ops_generator``: a stream of its own, so drawing
  from it never changes a model's initial weights).

The distributions are Keras's; the values for a given seed are NumPy's
(``numpy.random.Generator``), not JAX's or TensorFlow's.

The functions return plain arrays. Inside a layer's ``call`` (traced by
``gradstep.ops.tape``) the noise is a constant: ``z_mean + exp(0.5 *
z_log_var) * epsilon`` differentiates in ``z_mean`` and ``z_log_var`` with
``epsilon`` fixed (the reparameterisation trick). ``dropout`` and ``shuffle``
take a traced input and pass its slope through their mask or permutation.
"""

from __future__ import annotations

import numpy as np

from gradstep import config, seeding
from gradstep.ops import numpy as ops_numpy
from gradstep.ops.tape import Traced
from gradstep.validation import is_int, is_real

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]

_MAX_SEED = 2**63


class SeedGenerator:
    """The state of a random stream: ``next()`` gives a new seed on every call.

    ``SeedGenerator(seed)`` with an integer gives the same sequence of seeds
    every time it is created; without one, its seed is drawn from the global
    generator (which ``utils.set_random_seed`` fixes). ``state`` is the pair
    ``(seed, calls so far)``; setting it back replays the stream (what
    ``testing.check_layer_gradients`` does so that every pass draws the same
    noise). Seed ``k`` is NumPy's ``SeedSequence(seed, spawn_key=(k,))``.

    Unlike Keras, the state is not a (non-trainable) weight of the layer
    that holds the generator.
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"SeedGenerator: unrecognized keyword arguments {sorted(kwargs)}; it takes "
                "seed and name"
            )
        if seed is None:
            seed = int(seeding.random_ops_generator().integers(1, 10**9))
        self.seed = _check_int_seed(seed, "SeedGenerator")
        self.name = "seed_generator" if name is None else str(name)
        self.calls = 0

    @property
    def state(self) -> np.ndarray:
        """``[seed, calls]``: where the stream is."""
        return np.array([self.seed, self.calls], dtype=np.int64)

    @state.setter
    def state(self, value) -> None:
        pair = np.asarray(value)
        if pair.shape != (2,) or not all(is_int(v) and v >= 0 for v in pair.tolist()):
            raise ValueError(
                f"SeedGenerator {self.name!r}: state must be two non-negative integers "
                f"[seed, calls], received {value!r}"
            )
        self.seed, self.calls = (int(v) for v in pair.tolist())

    def next(self, ordered=True) -> int:
        """A new seed (an integer), different on every call."""
        sequence = np.random.SeedSequence(self.seed, spawn_key=(self.calls,))
        self.calls += 1
        return int(sequence.generate_state(1, np.uint64)[0] % _MAX_SEED)

    def get_config(self) -> dict:
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    def __repr__(self) -> str:
        return f"<SeedGenerator {self.name!r} seed={self.seed} calls={self.calls}>"


# --- drawing ------------------------------------------------------------------------------
def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of the normal distribution ``N(mean, stddev^2)``."""
    shape, dtype = _shape(shape, "normal"), _float_dtype(dtype, "normal")
    mean, stddev = _real(mean, "normal", "mean"), _scale(stddev, "normal", "stddev")
    return _generator(seed, "normal").normal(mean, stddev, size=shape).astype(dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of the uniform distribution on ``[minval, maxval)``."""
    shape, dtype = _shape(shape, "uniform"), _float_dtype(dtype, "uniform", "use randint")
    low, high = _real(minval, "uniform", "minval"), _real(maxval, "uniform", "maxval")
    if not low < high:
        raise ValueError(
            f"random.uniform: minval must be less than maxval, received minval={minval!r} "
            f"and maxval={maxval!r}"
        )
    return _generator(seed, "uniform").uniform(low, high, size=shape).astype(dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of ``N(mean, stddev^2)`` whose values beyond two standard
    deviations from the mean are drawn again (Keras's truncation)."""
    shape, dtype = _shape(shape, "truncated_normal"), _float_dtype(dtype, "truncated_normal")
    mean = _real(mean, "truncated_normal", "mean")
    stddev = _scale(stddev, "truncated_normal", "stddev")
    rng = _generator(seed, "truncated_normal")
    values = rng.standard_normal(size=shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(size=int(outside.sum()))
        outside = np.abs(values) > 2.0
    return (mean + stddev * values).astype(dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from ``[minval, maxval)``."""
    shape = _shape(shape, "randint")
    dtype = _dtype(dtype, "randint")
    if dtype.kind not in "iu":
        raise ValueError(f"random.randint: dtype must be an integer dtype, received {dtype}")
    low, high = _int(minval, "randint", "minval"), _int(maxval, "randint", "maxval")
    if not low < high:
        raise ValueError(
            f"random.randint: minval must be less than maxval, received minval={minval!r} "
            f"and maxval={maxval!r}"
        )
    return _generator(seed, "randint").integers(low, high, size=shape).astype(dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """``num_samples`` class indices per row of ``logits`` (batch, classes),
    class ``c`` drawn with probability ``softmax(logits)[c]``: an array
    ``(batch, num_samples)``."""
    logits = np.asarray(_value(logits), dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(
            "random.categorical: logits must have rank 2 (batch, classes), received logits "
            f"with shape {logits.shape}"
        )
    samples = _int(num_samples, "categorical", "num_samples")
    if samples < 0:
        raise ValueError(f"random.categorical: num_samples must be >= 0, received {num_samples!r}")
    dtype = _dtype(dtype, "categorical")
    shifted = logits - logits.max(axis=1, keepdims=True)
    cumulative = np.cumsum(np.exp(shifted), axis=1)
    draws = _generator(seed, "categorical").random((len(logits), samples))
    # Inverse transform: the first class whose cumulative mass exceeds the draw.
    thresholds = draws * cumulative[:, -1:]
    indices = (thresholds[:, :, None] >= cumulative[:, None, :]).sum(axis=-1)
    return np.minimum(indices, logits.shape[1] - 1).astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """``inputs * keep / (1 - rate)``, ``keep`` 1 with probability ``1 - rate``
    (0 otherwise), drawn with ``noise_shape`` (broadcast over the input's
    shape; None: the input's). The slope passes through the same mask."""
    if not (is_real(rate) and 0 <= rate < 1):
        raise ValueError(f"random.dropout: rate must be in [0, 1), received rate={rate!r}")
    shape = tuple(inputs.shape)
    if noise_shape is None:
        noise = shape
    else:
        noise = tuple(n if n is not None else s for n, s in zip(noise_shape, shape, strict=False))
        broadcasts = all(n in (1, s) for n, s in zip(noise, shape, strict=False))
        if len(noise) != len(shape) or not broadcasts:
            raise ValueError(
                f"random.dropout: noise_shape must broadcast to the input's shape {shape}, "
                f"received noise_shape={noise_shape!r}"
            )
    dtype = np.dtype(inputs.dtype)
    keep = _generator(seed, "dropout").random(noise) >= rate
    scale = (keep / (1.0 - rate)).astype(dtype if dtype.kind == "f" else np.float64)
    return inputs * scale


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order."""
    size = tuple(x.shape)
    if not (is_int(axis) and -len(size) <= axis < len(size)):
        raise ValueError(
            f"random.shuffle: axis must be an integer in [{-len(size)}, {len(size)}) for an input "
            f"of shape {size}, received axis={axis!r}"
        )
    order = _generator(seed, "shuffle").permutation(size[axis])
    if isinstance(x, Traced):
        return ops_numpy.take(x, order, axis=axis)
    return np.take(np.asarray(x), order, axis=axis)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of the gamma distribution with shape ``alpha`` and scale 1."""
    shape, dtype = _shape(shape, "gamma"), _float_dtype(dtype, "gamma")
    alpha = _positive_array(alpha, "gamma", "alpha")
    return _generator(seed, "gamma").gamma(alpha, size=shape).astype(dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of the binomial distribution: successes in ``counts`` trials of
    probability ``probabilities`` (both broadcast to ``shape``), as floats
    (Keras's default dtype)."""
    shape, dtype = _shape(shape, "binomial"), _dtype(dtype or config.floatx(), "binomial")
    counts = np.asarray(counts)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if not (np.all(counts >= 0) and np.all(np.equal(np.mod(counts, 1), 0))):
        raise ValueError(
            f"random.binomial: counts must be non-negative integers, received counts={counts!r}"
        )
    if not np.all((probabilities >= 0) & (probabilities <= 1)):
        raise ValueError(
            "random.binomial: probabilities must be in [0, 1], received "
            f"probabilities={probabilities!r}"
        )
    draws = _generator(seed, "binomial").binomial(counts.astype(np.int64), probabilities, shape)
    return draws.astype(dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of the beta distribution with parameters ``alpha`` and ``beta``."""
    shape, dtype = _shape(shape, "beta"), _float_dtype(dtype, "beta")
    a = _positive_array(alpha, "beta", "alpha")
    b = _positive_array(beta, "beta", "beta")
    return _generator(seed, "beta").beta(a, b, size=shape).astype(dtype)


# --- arguments ------------------------------------------------------------------------------
def _generator(seed, function: str) -> np.random.Generator:
    if seed is None:
        return seeding.random_ops_generator()
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed.next())
    return np.random.default_rng(_check_int_seed(seed, f"random.{function}"))


def _check_int_seed(seed, who: str) -> int:
    if not (is_int(seed) and 0 <= seed < _MAX_SEED):
        raise TypeError(
            f"{who}: seed must be None, a non-negative integer or a SeedGenerator, "
            f"received seed={seed!r}"
        )
    return int(seed)


def _shape(shape, function: str) -> tuple[int, ...]:
    dims = (shape,) if is_int(shape) else shape
    if not (isinstance(dims, tuple | list) and all(is_int(n) and n >= 0 for n in dims)):
        raise ValueError(
            f"random.{function}: shape must be a tuple of non-negative integers, "
            f"received shape={shape!r}"
        )
    return tuple(int(n) for n in dims)


def _dtype(dtype, function: str) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"random.{function}: dtype {dtype!r} is not a dtype") from None


def _float_dtype(dtype, function: str, hint: str = "") -> np.dtype:
    resolved = _dtype(config.floatx() if dtype is None else dtype, function)
    if resolved.kind != "f":
        advice = f" ({hint})" if hint else ""
        raise ValueError(
            f"random.{function} requires a floating point dtype{advice}, received dtype={dtype!r}"
        )
    return resolved


def _real(value, function: str, argument: str) -> float:
    if not (is_real(value) and np.isfinite(value)):
        raise ValueError(
            f"random.{function}: {argument} must be a finite number, received {argument}={value!r}"
        )
    return float(value)


def _scale(value, function: str, argument: str) -> float:
    number = _real(value, function, argument)
    if number < 0:
        raise ValueError(f"random.{function}: {argument} must be >= 0, received {value!r}")
    return number


def _int(value, function: str, argument: str) -> int:
    if not is_int(value):
        raise TypeError(
            f"random.{function}: {argument} must be an integer, received {argument}={value!r}"
        )
    return int(value)


def _positive_array(value, function: str, argument: str) -> np.ndarray:
    array = np.asarray(_value(value), dtype=np.float64)
    if not np.all(array > 0):
        raise ValueError(
            f"random.{function}: {argument} must be positive, received {argument}={value!r}"
        )
    return array


def _value(x):
    return x.value if isinstance(x, Traced) else x
