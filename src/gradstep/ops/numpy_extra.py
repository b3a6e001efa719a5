"""The rest of Keras's ``keras.ops`` NumPy family.

Written, as in ``gradstep.ops.numpy``, with the primitives there, so that
each op's slope follows from theirs. Ops whose result does not vary smoothly
with their arguments (bit operations, counts, indices, window functions)
compute on the values and record no slope.
"""

from __future__ import annotations

import builtins

import numpy as np

from gradstep.ops import numpy as knp
from gradstep.ops.axes import axis_slice, axis_tuple, normalized_axes
from gradstep.ops.primitive import Primitive
from gradstep.ops.symbolic import op
from gradstep.ops.tape import lift, operand, unwrap


def _value(x) -> np.ndarray:
    """The array behind ``x`` (traced or not), for shapes and masks."""
    return np.asarray(unwrap(lift(x)))


def _flat(name, numpy_function, doc):
    """An op with no slope (its result is flat or not a real number)."""

    def function(*args, **kwargs):
        return numpy_function(*[_value(a) for a in args], **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return op(function)


# --- no slope: bits, integers, tests, indices ----------------------------------------
bitwise_and = _flat("bitwise_and", np.bitwise_and, "``x & y``.")
bitwise_or = _flat("bitwise_or", np.bitwise_or, "``x | y``.")
bitwise_xor = _flat("bitwise_xor", np.bitwise_xor, "``x ^ y``.")
bitwise_invert = _flat("bitwise_invert", np.invert, "``~x``.")
bitwise_not = _flat("bitwise_not", np.invert, "``~x`` (alias of ``bitwise_invert``).")
bitwise_left_shift = _flat("bitwise_left_shift", np.left_shift, "``x << y``.")
bitwise_right_shift = _flat("bitwise_right_shift", np.right_shift, "``x >> y``.")
left_shift = _flat("left_shift", np.left_shift, "``x << y``.")
right_shift = _flat("right_shift", np.right_shift, "``x >> y``.")
gcd = _flat("gcd", np.gcd, "Greatest common divisor.")
lcm = _flat("lcm", np.lcm, "Least common multiple.")
isclose = _flat("isclose", np.isclose, "Where ``|x1 - x2| <= atol + rtol * |x2|``.")
allclose = _flat("allclose", np.allclose, "Whether every entry is close.")
isneginf = _flat("isneginf", np.isneginf, "Where an entry is -inf.")
isposinf = _flat("isposinf", np.isposinf, "Where an entry is +inf.")
isreal = _flat("isreal", np.isreal, "Where an entry has no imaginary part.")
signbit = _flat("signbit", np.signbit, "Where the sign bit is set.")
heaviside = _flat("heaviside", np.heaviside, "0 below 0, ``x2`` at 0, 1 above (no slope).")
nextafter = _flat("nextafter", np.nextafter, "The next float after ``x1`` toward ``x2``.")
i0 = _flat("i0", np.i0, "Modified Bessel function of order 0 (no slope).")
angle = _flat("angle", np.angle, "The complex argument (0 or pi for real numbers).")
histogram = _flat("histogram", np.histogram, "``(counts, bin_edges)`` of ``x``.")


@op
def isin(x1, x2, assume_unique=False, invert=False):
    """Where an entry of ``x1`` is among ``x2``'s."""
    return np.isin(_value(x1), _value(x2), assume_unique=assume_unique, invert=invert)


@op
def digitize(x, bins):
    """The bin of each entry (``np.digitize``), as int32."""
    return np.digitize(_value(x), _value(bins)).astype(np.int32)


@op
def searchsorted(sorted_sequence, values, side="left"):
    """Where ``values`` would go in ``sorted_sequence`` to keep it sorted (int32)."""
    return np.searchsorted(_value(sorted_sequence), _value(values), side=side).astype(np.int32)


@op
def bincount(x, weights=None, minlength=0, sparse=False):
    """How often each non-negative integer occurs (weighted; per row for 2-D ``x``)."""
    values = _value(x)
    w = None if weights is None else _value(weights)
    if values.ndim == 2:
        length = builtins.max(minlength, int(values.max()) + 1 if values.size else 0)
        return np.stack(
            [
                np.bincount(row, None if w is None else w[i], minlength=length)
                for i, row in enumerate(values)
            ]
        )
    return np.bincount(values, w, minlength=minlength)


@op
def argpartition(x, kth, axis=-1):
    """Indices that partition ``x`` around its ``kth`` entry (int32)."""
    return np.argpartition(_value(x), kth, axis).astype(np.int32)


@op
def nonzero(x):
    """The indices of the entries that are not zero, one array per axis."""
    return tuple(i.astype(np.int32) for i in np.nonzero(_value(x)))


@op
def unravel_index(indices, shape):
    """Flat indices as a tuple of coordinate arrays."""
    return tuple(np.unravel_index(_value(indices), shape))


@op
def nanargmax(x, axis=None, keepdims=False):
    """Index of the largest entry, ignoring NaNs (an all-NaN slice gives -1)."""
    return _nanarg(np.nanargmax, _value(x), axis, keepdims)


@op
def nanargmin(x, axis=None, keepdims=False):
    """Index of the smallest entry, ignoring NaNs (an all-NaN slice gives -1)."""
    return _nanarg(np.nanargmin, _value(x), axis, keepdims)


def _nanarg(function, x, axis, keepdims):
    all_nan = np.all(np.isnan(x), axis=axis, keepdims=keepdims)
    filled = np.where(np.isnan(x), -np.inf if function is np.nanargmax else np.inf, x)
    found = (np.argmax if function is np.nanargmax else np.argmin)(
        filled, axis=axis, keepdims=keepdims
    )
    return np.where(all_nan, -1, found).astype(np.int32)


def unique(
    x,
    sorted=True,  # noqa: A002
    return_index=False,
    return_inverse=False,
    return_counts=False,
    axis=None,
    size=None,
    fill_value=None,
):
    """The distinct entries of ``x``, as ``np.unique`` (no slope)."""
    result = np.unique(
        _value(x),
        return_index=return_index,
        return_inverse=return_inverse,
        return_counts=return_counts,
        axis=axis,
    )
    if size is None:
        return result
    parts = list(result) if isinstance(result, tuple) else [result]
    values = parts[0]
    filled = np.full((size,), values[0] if fill_value is None else fill_value, values.dtype)
    filled[: builtins.min(size, len(values))] = values[:size]
    parts[0] = filled
    return tuple(parts) if len(parts) > 1 else parts[0]


@op
def ndim(x):
    """The number of axes of ``x``."""
    return len(x.shape)


@op
def size(x):
    """The number of entries of ``x``."""
    return int(np.prod(x.shape))


@op
def view(x, dtype=None):
    """``x``'s bytes read as ``dtype`` (no slope)."""
    return _value(x).view(dtype) if dtype is not None else _value(x)


# --- window functions and grids (made from scratch) ------------------------------------
def bartlett(x):
    """The Bartlett window of ``x`` points."""
    return np.bartlett(int(_value(x))).astype("float32")


def blackman(x):
    """The Blackman window of ``x`` points."""
    return np.blackman(int(_value(x))).astype("float32")


def hamming(x):
    """The Hamming window of ``x`` points."""
    return np.hamming(int(_value(x))).astype("float32")


def hanning(x):
    """The Hann window of ``x`` points."""
    return np.hanning(int(_value(x))).astype("float32")


def kaiser(x, beta):
    """The Kaiser window of ``x`` points."""
    return np.kaiser(int(_value(x)), float(_value(beta))).astype("float32")


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` values evenly spaced on a log scale from ``start`` to ``stop``."""
    return np.geomspace(start, stop, num=num, endpoint=endpoint, dtype=dtype, axis=axis)


def empty(shape, dtype=None):
    """An array of ``shape`` (zeros, so that no result depends on stale memory)."""
    return np.zeros(shape, dtype or "float32")


@op
def empty_like(x, dtype=None):
    """An array of ``x``'s shape (zeros)."""
    return np.zeros_like(_value(x), dtype=dtype)


def array(x, dtype=None):
    """``x`` as an array (``convert_to_tensor``)."""
    from gradstep.ops.core import convert_to_tensor

    return convert_to_tensor(x, dtype)


# --- differentiable, written with primitives --------------------------------------------
_cbrt = Primitive("cbrt", np.cbrt, lambda g, y, x: g / (3.0 * np.square(np.where(y == 0, 1, y))))


@op
def cbrt(x):
    """Cube root (of negative numbers too)."""
    return _cbrt(operand(x))


@op
def rsqrt(x):
    """``1 / sqrt(x)``."""
    return knp.divide(1.0, knp.sqrt(x))


@op
def fabs(x):
    """``|x|``."""
    return knp.absolute(x)


@op
def exp2(x):
    """``2 ** x``."""
    return knp.exp(knp.multiply(x, np.log(2.0)))


@op
def deg2rad(x):
    """Degrees to radians."""
    return knp.multiply(x, np.pi / 180.0)


@op
def rad2deg(x):
    """Radians to degrees."""
    return knp.multiply(x, 180.0 / np.pi)


@op
def hypot(x1, x2):
    """``sqrt(x1**2 + x2**2)``."""
    return knp.sqrt(knp.add(knp.square(x1), knp.square(x2)))


@op
def logaddexp2(x1, x2):
    """``log2(2**x1 + 2**x2)``."""
    ln2 = np.log(2.0)
    return knp.divide(knp.logaddexp(knp.multiply(x1, ln2), knp.multiply(x2, ln2)), ln2)


@op
def ldexp(x1, x2):
    """``x1 * 2**x2`` (``x2`` integer; no slope to it)."""
    return knp.multiply(x1, np.power(2.0, _value(x2)).astype(_float_dtype(x1)))


def _float_dtype(x):
    dtype = _value(x).dtype
    return dtype if dtype.kind == "f" else np.dtype("float32")


@op
def fmod(x1, x2):
    """``x1 - trunc(x1 / x2) * x2``: the remainder with the sign of ``x1``."""
    quotient = np.trunc(_value(x1) / _value(x2))
    return knp.subtract(x1, knp.multiply(quotient, x2))


@op
def fmax(x1, x2):
    """The larger entry, ignoring NaNs."""
    a, b = _value(x1), _value(x2)
    return knp.where(np.isnan(b), x1, knp.where(np.isnan(a), x2, knp.maximum(x1, x2)))


@op
def fmin(x1, x2):
    """The smaller entry, ignoring NaNs."""
    a, b = _value(x1), _value(x2)
    return knp.where(np.isnan(b), x1, knp.where(np.isnan(a), x2, knp.minimum(x1, x2)))


@op
def imag(x):
    """The imaginary part (zeros for real arrays)."""
    return knp.multiply(x, 0)


@op
def get_item(x, key):
    """``x[key]``."""
    return knp.getitem(x, key)


@op
def saturate_cast(x, dtype):
    """``x`` clipped to ``dtype``'s range, then cast."""
    from gradstep.ops.core import cast

    target = np.dtype(dtype)
    info = np.iinfo(target) if target.kind in "iu" else np.finfo(target)
    source = _value(x).dtype
    if source.kind == "f" and target.kind == "f" and np.finfo(source).max <= info.max:
        return cast(x, target)
    low, high = info.min, info.max
    if source.kind == "f" and target.kind in "iu":
        # The largest float of x's dtype not above the integer maximum.
        high = np.nextafter(np.asarray(high, source), np.asarray(0, source))
    return cast(knp.clip(x, low, high), target)


@op
def diff(a, n=1, axis=-1):
    """Differences of neighbours along ``axis``, ``n`` times."""
    ndim = _value(a).ndim
    for _ in range(n):
        size = _value(a).shape[axis]
        a = knp.subtract(
            knp.getitem(a, axis_slice(ndim, axis, 1, size)),
            knp.getitem(a, axis_slice(ndim, axis, 0, size - 1)),
        )
    return a


@op
def diagflat(x, k=0):
    """A matrix with the flattened ``x`` on its ``k``-th diagonal."""
    return knp.diag(knp.ravel(x), k)


@op
def fliplr(x):
    """``x`` reversed along its second axis."""
    return knp.flip(x, axis=1)


@op
def flipud(x):
    """``x`` reversed along its first axis."""
    return knp.flip(x, axis=0)


@op
def rot90(array, k=1, axes=(0, 1)):
    """``array`` turned by ``k`` quarter turns in the plane of ``axes``."""
    values = _value(array)
    index = np.rot90(np.arange(values.size).reshape(values.shape), k, axes)
    return knp.reshape(knp.take(array, index.ravel()), index.shape)


@op
def dstack(xs):
    """Joined along the third axis (after making each at least 3-D)."""
    parts = []
    for x in xs:
        shape = _value(x).shape
        if len(shape) < 3:
            shape = np.atleast_3d(np.empty(shape, np.bool_)).shape
        parts.append(knp.reshape(x, shape))
    return knp.concatenate(parts, axis=2)


@op
def array_split(x, indices_or_sections, axis=0):
    """``x`` cut into ``indices_or_sections`` nearly equal pieces along ``axis``."""
    length = _value(x).shape[axis]
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        base, extra = divmod(length, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
        bounds = np.cumsum([0, *sizes]).tolist()
    else:
        bounds = [0, *list(indices_or_sections), length]
    ndim = _value(x).ndim
    return [
        knp.getitem(x, axis_slice(ndim, axis, lo, hi))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


@op
def hsplit(x, indices_or_sections):
    """Split along the second axis (the first for 1-D arrays)."""
    return knp.split(x, indices_or_sections, axis=0 if _value(x).ndim == 1 else 1)


@op
def vsplit(x, indices_or_sections):
    """Split along the first axis."""
    return knp.split(x, indices_or_sections, axis=0)


@op
def dsplit(x, indices_or_sections):
    """Split along the third axis."""
    return knp.split(x, indices_or_sections, axis=2)


@op
def kron(x1, x2):
    """The Kronecker product."""
    a, b = _value(x1), _value(x2)
    ndim = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (ndim - a.ndim) + a.shape
    sb = (1,) * (ndim - b.ndim) + b.shape
    left = knp.reshape(x1, [s for d in sa for s in (d, 1)])
    right = knp.reshape(x2, [s for d in sb for s in (1, d)])
    return knp.reshape(knp.multiply(left, right), [p * q for p, q in zip(sa, sb, strict=True)])


@op
def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors (2-vectors get a zero third component)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = knp.moveaxis(x1, axisa, -1)
    b = knp.moveaxis(x2, axisb, -1)
    a = _three(a)
    b = _three(b)
    a0, a1, a2 = (knp.take(a, i, axis=-1) for i in range(3))
    b0, b1, b2 = (knp.take(b, i, axis=-1) for i in range(3))
    result = knp.stack(
        [
            knp.subtract(knp.multiply(a1, b2), knp.multiply(a2, b1)),
            knp.subtract(knp.multiply(a2, b0), knp.multiply(a0, b2)),
            knp.subtract(knp.multiply(a0, b1), knp.multiply(a1, b0)),
        ],
        axis=-1,
    )
    return knp.moveaxis(result, -1, axisc)


def _three(v):
    if _value(v).shape[-1] == 2:
        ndim = _value(v).ndim
        return knp.pad(v, [(0, 0)] * (ndim - 1) + [(0, 1)])
    return v


@op
def vander(x, N=None, increasing=False):  # noqa: N803
    """Columns of powers of ``x`` (decreasing unless ``increasing``)."""
    count = _value(x).shape[0] if N is None else N
    powers = np.arange(count)
    if not increasing:
        powers = powers[::-1]
    columns = [knp.ones_like(x) if p == 0 else knp.power(x, float(p)) for p in powers.tolist()]
    return knp.stack(columns, axis=1)


@op
def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D arrays, as ``np.meshgrid``."""
    lengths = [_value(v).shape[0] for v in x]
    shape = list(lengths)
    if indexing == "xy" and len(x) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for i, v in enumerate(x):
        axis = i
        if indexing == "xy" and len(x) >= 2 and i < 2:
            axis = 1 - i
        view = [1] * len(x)
        view[axis] = -1
        grids.append(knp.broadcast_to(knp.reshape(v, view), shape))
    return grids


@op
def select(condlist, choicelist, default=0):
    """From the first list entry whose condition holds, else ``default``."""
    result = knp.broadcast_to(
        knp.multiply(default, knp.ones_like(choicelist[0])), _value(choicelist[0]).shape
    )
    for condition, choice in reversed(list(zip(condlist, choicelist, strict=True))):
        result = knp.where(_value(condition), choice, result)
    return result


@op
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of ``y`` by the trapezoid rule (over points ``x`` or steps ``dx``)."""
    ndim = _value(y).ndim
    length = _value(y).shape[axis]
    upper = knp.getitem(y, axis_slice(ndim, axis, 1, length))
    lower = knp.getitem(y, axis_slice(ndim, axis, 0, length - 1))
    heights = knp.multiply(knp.add(upper, lower), 0.5)
    if x is None:
        return knp.multiply(knp.sum(heights, axis=axis), dx)
    steps = diff(x, axis=axis if _value(x).ndim > 1 else -1)
    if _value(x).ndim == 1 and ndim > 1:
        view = [1] * ndim
        view[axis] = -1
        steps = knp.reshape(steps, view)
    return knp.sum(knp.multiply(heights, steps), axis=axis)


@op
def ptp(x, axis=None, keepdims=False):
    """Largest minus smallest entry over ``axis``."""
    return knp.subtract(
        knp.max(x, axis=axis, keepdims=keepdims), knp.min(x, axis=axis, keepdims=keepdims)
    )


@op
def corrcoef(x):
    """Pearson correlation coefficients of the rows of ``x``."""
    centered = knp.subtract(x, knp.mean(x, axis=-1, keepdims=True))
    covariance = knp.matmul(centered, knp.transpose(centered))
    scale = knp.sqrt(knp.diagonal(covariance))
    return knp.divide(covariance, knp.outer(scale, scale))


@op
def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D sequences, as ``np.correlate``."""
    n, m = _value(x1).shape[0], _value(x2).shape[0]
    if mode == "valid":
        before, after = 0, 0
    elif mode == "same":
        before = (m - 1) // 2 if n >= m else m // 2
        after = m - 1 - before
    elif mode == "full":
        before = after = m - 1
    else:
        raise ValueError(
            f"ops.correlate: mode must be 'valid', 'same' or 'full', received {mode!r}"
        )
    if n < m:
        return knp.flip(correlate(x2, x1, mode))
    padded = knp.pad(x1, [(before, after)])
    length = n + before + after - m + 1
    index = np.arange(length)[:, None] + np.arange(m)[None, :]
    return knp.matmul(knp.take(padded, index), x2)


@op
def cdist(x, y):
    """Euclidean distances between the rows of ``x`` and of ``y`` (batched)."""
    difference = knp.subtract(knp.expand_dims(x, -2), knp.expand_dims(y, -3))
    return knp.sqrt(knp.sum(knp.square(difference), axis=-1))


# --- order statistics ---------------------------------------------------------------------
@op
def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th quantiles (``q`` in [0, 1]) over ``axis``, as ``np.quantile``;
    the slope flows to the (one or two) entries each quantile is made of."""
    values = _value(x)
    probabilities = np.asarray(_value(q), dtype=np.float64)
    if values.dtype.kind != "f":
        x = knp.multiply(x, np.asarray(1.0, np.float32))
        values = _value(x)
    axes = normalized_axes(axis, values.ndim)
    # The reduced axes moved to the end and flattened into one.
    kept = [a for a in range(values.ndim) if a not in axes]
    moved = knp.transpose(x, kept + list(axes))
    kept_shape = [values.shape[a] for a in kept]
    flat = knp.reshape(moved, [*kept_shape, -1])
    length = _value(flat).shape[-1]
    ordered = knp.sort(flat, axis=-1)
    position = probabilities * (length - 1)
    picked = _interpolate(ordered, position, method)
    # picked: kept_shape + q's shape; NumPy puts q's axes first.
    q_ndim = probabilities.ndim
    result = knp.transpose(
        picked,
        list(range(len(kept_shape), len(kept_shape) + q_ndim)) + list(range(len(kept_shape))),
    )
    if keepdims:
        shape = list(probabilities.shape) + [
            1 if a in axes else values.shape[a] for a in range(values.ndim)
        ]
        result = knp.reshape(result, shape)
    return result


def _interpolate(ordered, position, method):
    below = np.floor(position).astype(int)
    above = np.ceil(position).astype(int)
    if method == "lower":
        return knp.take(ordered, below, axis=-1)
    if method == "higher":
        return knp.take(ordered, above, axis=-1)
    if method == "nearest":
        return knp.take(ordered, np.round(position).astype(int), axis=-1)
    if method == "midpoint":
        return knp.multiply(
            knp.add(knp.take(ordered, below, axis=-1), knp.take(ordered, above, axis=-1)), 0.5
        )
    if method != "linear":
        raise ValueError(
            "ops.quantile: method must be 'linear', 'lower', 'higher', 'nearest' or "
            f"'midpoint', received {method!r}"
        )
    fraction = (position - below).astype(_value(ordered).dtype)
    low = knp.take(ordered, below, axis=-1)
    high = knp.take(ordered, above, axis=-1)
    return knp.add(low, knp.multiply(knp.subtract(high, low), fraction))


@op
def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The ``q``-th percentiles (``q`` in [0, 100]) over ``axis``."""
    return quantile(x, np.asarray(_value(q)) / 100.0, axis, method, keepdims)


@op
def median(x, axis=None, keepdims=False):
    """The median over ``axis``."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


# --- NaN-ignoring reductions --------------------------------------------------------------
def _without_nan(x, fill):
    return knp.where(np.isnan(_value(x)), fill, x)


@op
def nansum(x, axis=None, keepdims=False):
    """Sum over ``axis``, NaNs counted as 0."""
    return knp.sum(_without_nan(x, 0.0), axis=axis, keepdims=keepdims)


@op
def nanprod(x, axis=None, keepdims=False):
    """Product over ``axis``, NaNs counted as 1."""
    return knp.prod(_without_nan(x, 1.0), axis=axis, keepdims=keepdims)


@op
def nanmean(x, axis=None, keepdims=False):
    """Mean of the entries that are not NaN."""
    counts = np.sum(~np.isnan(_value(x)), axis=axis_tuple(axis), keepdims=keepdims)
    return knp.divide(nansum(x, axis, keepdims), counts.astype(_float_dtype(x)))


@op
def nanvar(x, axis=None, keepdims=False):
    """Variance of the entries that are not NaN."""
    centered = knp.subtract(x, nanmean(x, axis=axis, keepdims=True))
    return nanmean(knp.square(centered), axis=axis, keepdims=keepdims)


@op
def nanstd(x, axis=None, keepdims=False):
    """Standard deviation of the entries that are not NaN."""
    return knp.sqrt(nanvar(x, axis=axis, keepdims=keepdims))


@op
def nanmax(x, axis=None, keepdims=False):
    """Largest entry that is not NaN."""
    return knp.max(_without_nan(x, -np.inf), axis=axis, keepdims=keepdims)


@op
def nanmin(x, axis=None, keepdims=False):
    """Smallest entry that is not NaN."""
    return knp.min(_without_nan(x, np.inf), axis=axis, keepdims=keepdims)


@op
def nancumsum(x, axis=None, dtype=None):
    """Running sum, NaNs counted as 0."""
    return knp.cumsum(_without_nan(x, 0.0), axis=axis)


@op
def nancumprod(x, axis=None, dtype=None):
    """Running product, NaNs counted as 1."""
    return knp.cumprod(_without_nan(x, 1.0), axis=axis)


@op
def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """Quantiles of the entries that are not NaN (no slope)."""
    return np.nanquantile(_value(x), _value(q), axis=axis, method=method, keepdims=keepdims)


@op
def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """Percentiles of the entries that are not NaN (no slope)."""
    return np.nanpercentile(_value(x), _value(q), axis=axis, method=method, keepdims=keepdims)


@op
def nanmedian(x, axis=None, keepdims=False):
    """Median of the entries that are not NaN (no slope)."""
    return np.nanmedian(_value(x), axis=axis, keepdims=keepdims)
