"""Keras's ``keras.ops.math``: segment reductions, top-k, special functions,
sequences and Fourier transforms (complex numbers as ``(real, imag)`` pairs,
as Keras passes them).

The Fourier transforms are linear, so their slope is the adjoint transform:
for ``y = F x`` (unnormalized DFT) the slope of ``x`` is ``Fᴴ ȳ = n · ifft(ȳ)``,
its real and imaginary parts the slopes of ``x``'s real and imaginary parts;
for ``ifft`` it is ``fft(ȳ) / n``.
"""

from __future__ import annotations

import math as _math

import numpy as np

from gradstep.ops import numpy as knp
from gradstep.ops.packed import packed
from gradstep.ops.primitive import Primitive
from gradstep.ops.symbolic import op
from gradstep.ops.tape import lift, operand, unwrap


def _value(x) -> np.ndarray:
    return np.asarray(unwrap(lift(x)))


# --- segments -----------------------------------------------------------------------------
def _segments(data, segment_ids, num_segments):
    ids = _value(segment_ids).astype(np.int64)
    count = int(ids.max()) + 1 if num_segments is None else int(num_segments)
    return ids, count


def _segment_reduce(data, segment_ids, num_segments, reduce, empty):
    """``reduce`` over the rows of ``data`` of each segment (ids of -1 dropped);
    an empty segment gets ``empty``."""
    ids, count = _segments(data, segment_ids, num_segments)
    rows = []
    for segment in range(count):
        members = np.nonzero(ids == segment)[0]
        if len(members):
            rows.append(reduce(knp.take(data, members, axis=0), axis=0))
        else:
            shape = _value(data).shape[1:]
            rows.append(np.full(shape, empty, dtype=_value(data).dtype))
    return knp.stack(rows, axis=0)


@op
def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sum of the rows of ``data`` with each segment id (0 for empty segments)."""
    ids, count = _segments(data, segment_ids, num_segments)
    valid = ids >= 0
    one_hot = (ids[valid][None, :] == np.arange(count)[:, None]).astype(_value(data).dtype)
    rows = knp.take(data, np.nonzero(valid)[0], axis=0)
    return knp.tensordot(one_hot, rows, axes=1)


@op
def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Largest row of each segment (-inf for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, knp.max, -np.inf)


@op
def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Smallest row of each segment (+inf for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, knp.min, np.inf)


@op
def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Product of the rows of each segment (1 for empty segments)."""
    return _segment_reduce(data, segment_ids, num_segments, knp.prod, 1)


# --- top k ------------------------------------------------------------------------------
@op
def top_k(x, k, sorted=True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest entries along the last axis
    (largest first; equal values in Keras's order: later index first)."""
    order = np.argsort(_value(x), axis=-1, kind="stable")[..., ::-1][..., :k]
    indices = order.astype(np.int32)
    return knp.take_along_axis(x, order, axis=-1), indices


@op
def in_top_k(targets, predictions, k):
    """Whether each row's target class is among its ``k`` largest predictions."""
    scores = _value(predictions)
    target_scores = np.take_along_axis(scores, _value(targets).astype(int)[:, None], axis=-1)
    kth = np.sort(scores, axis=-1)[..., ::-1][..., k - 1 : k]
    return np.any(target_scores >= kth, axis=-1)


@op
def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``."""
    return knp.logsumexp(x, axis=axis, keepdims=keepdims)


# --- special functions --------------------------------------------------------------------
_erfc_values = np.vectorize(_math.erfc, otypes=[np.float64])
_erfc = Primitive(
    "erfc",
    lambda x: _erfc_values(x).astype(_float(x)),
    lambda g, y, x: -g * (2.0 / np.sqrt(np.pi)) * np.exp(-np.square(x)),
)


def _float(x):
    dtype = np.asarray(x).dtype
    return dtype if dtype.kind == "f" else np.dtype("float32")


def _erfinv_values(x):
    """The inverse error function: Giles's approximation refined by Newton's
    method on ``erf(y) = x`` (to float64 round-off)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - x) * (1.0 + x))
        y = np.where(w < 5, _giles_central(w - 2.5), _giles_tail(np.sqrt(w) - 3.0)) * x
        erf = np.vectorize(_math.erf, otypes=[np.float64])
        for _ in range(3):
            step = (erf(y) - x) / (2.0 / np.sqrt(np.pi) * np.exp(-y * y))
            y = np.where(np.isfinite(step), y - step, y)
    return np.where(x == 1, np.inf, np.where(x == -1, -np.inf, y))


def _giles_central(w):
    coefficients = [
        2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
        -0.00125372503, -0.00417768164, 0.246640727, 1.50140941,
    ]  # fmt: skip
    return _horner(coefficients, w)


def _giles_tail(w):
    coefficients = [
        -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
        -0.0076224613, 0.00943887047, 1.00167406, 2.83297682,
    ]  # fmt: skip
    return _horner(coefficients, w)


def _horner(coefficients, w):
    p = np.zeros_like(w)
    for c in coefficients:
        p = p * w + c
    return p


_erfinv = Primitive(
    "erfinv",
    lambda x: _erfinv_values(x).astype(_float(x)),
    lambda g, y, x: g * (np.sqrt(np.pi) / 2.0) * np.exp(np.square(y)),
)


@op
def erf(x):
    """The error function."""
    from gradstep.ops.special import erf as erf_primitive

    return erf_primitive(operand(x))


@op
def erfc(x):
    """``1 - erf(x)``, accurate for large ``x``."""
    return _erfc(operand(x))


@op
def erfinv(x):
    """The inverse error function on (-1, 1)."""
    return _erfinv(operand(x))


@op
def rsqrt(x):
    """``1 / sqrt(x)``."""
    return knp.divide(1.0, knp.sqrt(x))


@op
def logdet(x):
    """``log(det(x))``."""
    from gradstep.ops.linalg import logdet as linalg_logdet

    return linalg_logdet(x)


# --- sequences ----------------------------------------------------------------------------
@op
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of ``sequence_length`` along the last axis, every ``sequence_stride``."""
    length = _value(x).shape[-1]
    frames = (length - (sequence_length - sequence_stride)) // sequence_stride
    index = np.arange(frames)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return knp.take(x, index, axis=-1)


# --- Fourier transforms -------------------------------------------------------------------
def _transform(axes_count: int, inverse: bool):
    """The (inverse) DFT over the last ``axes_count`` axes of ``(real, imag)``."""
    axes = tuple(range(-axes_count, 0))
    forward_fn = np.fft.ifftn if inverse else np.fft.fftn
    adjoint_fn = np.fft.fftn if inverse else np.fft.ifftn

    def forward(real, imag):
        y = forward_fn(real + 1j * imag, axes=axes)
        dtype = _float(real)
        return y.real.astype(dtype), y.imag.astype(dtype)

    def adjoint(slopes, outputs, real, imag):
        size = int(np.prod([np.shape(real)[a] for a in axes]))
        scale = 1.0 / size if inverse else float(size)
        z = adjoint_fn(slopes[0] + 1j * slopes[1], axes=axes) * scale
        return z

    return packed(
        "ifft" if inverse else "fft",
        forward,
        [
            lambda s, o, re, im: adjoint(s, o, re, im).real,
            lambda s, o, re, im: adjoint(s, o, re, im).imag,
        ],
        lambda real, imag: np.ndim(real),
    )


def _pair(x, name):
    if not isinstance(x, tuple | list) or len(x) != 2:
        raise ValueError(
            f"ops.{name}: x must be a tuple (real, imag) of two arrays, received {type(x).__name__}"
        )
    real, imag = x
    if _value(real).shape != _value(imag).shape:
        raise ValueError(
            f"ops.{name}: the real and imaginary parts must have one shape, received "
            f"{_value(real).shape} and {_value(imag).shape}"
        )
    return real, imag


@op
def fft(x):
    """The DFT along the last axis of ``x = (real, imag)``."""
    return _transform(1, inverse=False)(*_pair(x, "fft"))


@op
def fft2(x):
    """The 2-D DFT over the last two axes of ``x = (real, imag)``."""
    return _transform(2, inverse=False)(*_pair(x, "fft2"))


@op
def ifft2(x):
    """The inverse 2-D DFT over the last two axes of ``x = (real, imag)``."""
    return _transform(2, inverse=True)(*_pair(x, "ifft2"))


def _fit_length(x, length):
    """``x`` cut or zero-padded along its last axis to ``length``."""
    size = _value(x).shape[-1]
    if size > length:
        return knp.getitem(x, (Ellipsis, slice(0, length)))
    if size < length:
        return knp.pad(x, [(0, 0)] * (_value(x).ndim - 1) + [(0, length - size)])
    return x


@op
def rfft(x, fft_length=None):
    """The DFT of a real ``x`` along its last axis: ``(real, imag)`` of its
    ``fft_length // 2 + 1`` non-negative frequencies."""
    length = _value(x).shape[-1] if fft_length is None else fft_length
    signal = _fit_length(x, length)
    real, imag = _transform(1, inverse=False)(signal, knp.zeros_like(signal))
    keep = (Ellipsis, slice(0, length // 2 + 1))
    return knp.getitem(real, keep), knp.getitem(imag, keep)


@op
def irfft(x, fft_length=None):
    """The real signal whose ``rfft`` is ``x = (real, imag)``."""
    real, imag = _pair(x, "irfft")
    bins = _value(real).shape[-1]
    length = 2 * (bins - 1) if fft_length is None else fft_length
    real = _fit_length(real, length // 2 + 1)
    imag = _fit_length(imag, length // 2 + 1)
    # The full Hermitian spectrum: bin k > length / 2 is the conjugate of bin length - k.
    mirror = np.arange(length)
    mirror = np.where(mirror <= length // 2, mirror, length - mirror)
    sign = np.where(np.arange(length) <= length // 2, 1.0, -1.0).astype(_float(_value(imag)))
    full_real = knp.take(real, mirror, axis=-1)
    full_imag = knp.multiply(knp.take(imag, mirror, axis=-1), sign)
    signal, _ = _transform(1, inverse=True)(full_real, full_imag)
    return signal
