"""Keras's ``keras.ops`` NumPy family, differentiable.

Each op takes Keras's arguments. The primitives (``_exp``, ``_matmul``, ...)
carry the slopes; the public ops are written with them, so that an op made
of others (``mean`` is ``sum`` over a count, ``var`` a mean of squares) needs
no slope of its own.
"""

from __future__ import annotations

import builtins
import functools

import numpy as np

from gradstep.ops.axes import axis_slice, axis_tuple, normalized_axes
from gradstep.ops.primitive import ListPrimitive, Primitive
from gradstep.ops.symbolic import op
from gradstep.ops.tape import Traced, lift, operand, unwrap


def _unary(name, forward, slope):
    """An elementwise primitive whose derivative is ``slope(result, x)``."""
    return Primitive(name, forward, lambda g, y, x: g * slope(y, x))


# --- elementwise, one argument ---------------------------------------------------------
_negative = _unary("negative", np.negative, lambda y, x: -1.0)
_exp = _unary("exp", np.exp, lambda y, x: y)
_expm1 = _unary("expm1", np.expm1, lambda y, x: y + 1.0)
_log = _unary("log", np.log, lambda y, x: 1.0 / x)
_log1p = _unary("log1p", np.log1p, lambda y, x: 1.0 / (1.0 + x))
_log2 = _unary("log2", np.log2, lambda y, x: 1.0 / (x * np.log(2.0)))
_log10 = _unary("log10", np.log10, lambda y, x: 1.0 / (x * np.log(10.0)))
_sqrt = _unary("sqrt", np.sqrt, lambda y, x: 0.5 / y)
_square = _unary("square", np.square, lambda y, x: 2.0 * x)
_abs = _unary("abs", np.abs, lambda y, x: np.sign(x))
_sin = _unary("sin", np.sin, lambda y, x: np.cos(x))
_cos = _unary("cos", np.cos, lambda y, x: -np.sin(x))
_tan = _unary("tan", np.tan, lambda y, x: 1.0 + y * y)
_arcsin = _unary("arcsin", np.arcsin, lambda y, x: 1.0 / np.sqrt(1.0 - x * x))
_arccos = _unary("arccos", np.arccos, lambda y, x: -1.0 / np.sqrt(1.0 - x * x))
_arctan = _unary("arctan", np.arctan, lambda y, x: 1.0 / (1.0 + x * x))
_sinh = _unary("sinh", np.sinh, lambda y, x: np.cosh(x))
_cosh = _unary("cosh", np.cosh, lambda y, x: np.sinh(x))
_tanh = _unary("tanh", np.tanh, lambda y, x: 1.0 - y * y)
_arcsinh = _unary("arcsinh", np.arcsinh, lambda y, x: 1.0 / np.sqrt(x * x + 1.0))
_arccosh = _unary("arccosh", np.arccosh, lambda y, x: 1.0 / np.sqrt(x * x - 1.0))
_arctanh = _unary("arctanh", np.arctanh, lambda y, x: 1.0 / (1.0 - x * x))
_reciprocal = _unary("reciprocal", np.reciprocal, lambda y, x: -y * y)


def _piecewise(name, forward):
    """An op that is flat almost everywhere (rounding): no slope flows."""
    return Primitive(name, forward)


# --- elementwise, two arguments ---------------------------------------------------------
_add = Primitive("add", np.add, lambda g, y, a, b: g, lambda g, y, a, b: g)
_subtract = Primitive("subtract", np.subtract, lambda g, y, a, b: g, lambda g, y, a, b: -g)
_multiply = Primitive("multiply", np.multiply, lambda g, y, a, b: g * b, lambda g, y, a, b: g * a)
_divide = Primitive(
    "divide", np.true_divide, lambda g, y, a, b: g / b, lambda g, y, a, b: -g * a / (b * b)
)
_power = Primitive(
    "power",
    np.power,
    lambda g, y, a, b: g * b * np.power(a, np.subtract(b, 1)),
    lambda g, y, a, b: g * y * np.log(np.where(a > 0, a, 1)),
)
_maximum = Primitive(
    "maximum",
    np.maximum,
    lambda g, y, a, b: g * _share(a > b, a == b),
    lambda g, y, a, b: g * _share(b > a, a == b),
)
_minimum = Primitive(
    "minimum",
    np.minimum,
    lambda g, y, a, b: g * _share(a < b, a == b),
    lambda g, y, a, b: g * _share(b < a, a == b),
)
_arctan2 = Primitive(
    "arctan2",
    np.arctan2,
    lambda g, y, a, b: g * b / (a * a + b * b),
    lambda g, y, a, b: -g * a / (a * a + b * b),
)
_logaddexp = Primitive(
    "logaddexp",
    np.logaddexp,
    lambda g, y, a, b: g * np.exp(a - y),
    lambda g, y, a, b: g * np.exp(b - y),
)


def _share(wins, ties):
    """Where one argument of max/min wins, the slope; a tie splits it in half."""
    return wins + 0.5 * ties


_where = Primitive(
    "where",
    np.where,
    None,
    lambda g, y, c, a, b: np.where(c, g, 0),
    lambda g, y, c, a, b: np.where(c, 0, g),
)
_clip = Primitive(
    "clip",
    np.clip,
    lambda g, y, x, low, high: g * ((x >= low) & (x <= high)),
)


def _matmul_slopes(g, y, a, b, which):
    a2, b2 = (a[None, :] if a.ndim == 1 else a), (b[:, None] if b.ndim == 1 else b)
    g2 = g
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    if which == 0:
        slope = g2 @ np.swapaxes(b2, -1, -2)
        return slope[..., 0, :] if a.ndim == 1 else slope
    slope = np.swapaxes(a2, -1, -2) @ g2
    return slope[..., :, 0] if b.ndim == 1 else slope


_matmul = Primitive(
    "matmul",
    np.matmul,
    lambda g, y, a, b: _matmul_slopes(g, y, a, b, 0),
    lambda g, y, a, b: _matmul_slopes(g, y, a, b, 1),
)


# --- reductions ---------------------------------------------------------------------------
def _unreduce(g, x, axis, keepdims):
    """The slope of a reduction's result, spread back over its input's axes."""
    if not keepdims:
        g = np.expand_dims(g, normalized_axes(axis, np.ndim(x)))
    return np.broadcast_to(g, np.shape(x))


_sum = Primitive(
    "sum",
    lambda x, axis=None, keepdims=False: np.sum(x, axis=axis_tuple(axis), keepdims=keepdims),
    lambda g, y, x, axis=None, keepdims=False: _unreduce(g, x, axis, keepdims),
)


def _chosen(g, y, x, axis, keepdims):
    """Slope of max/min: to the entries equal to the result, ties sharing it."""
    y_kept = y if keepdims else np.expand_dims(y, normalized_axes(axis, np.ndim(x)))
    hits = x == y_kept
    counts = np.sum(hits, axis=axis_tuple(axis), keepdims=True)
    return _unreduce(g, x, axis, keepdims) * hits / counts


_max = Primitive(
    "max",
    lambda x, axis=None, keepdims=False: np.max(x, axis=axis_tuple(axis), keepdims=keepdims),
    lambda g, y, x, axis=None, keepdims=False: _chosen(g, y, x, axis, keepdims),
)
_min = Primitive(
    "min",
    lambda x, axis=None, keepdims=False: np.min(x, axis=axis_tuple(axis), keepdims=keepdims),
    lambda g, y, x, axis=None, keepdims=False: _chosen(g, y, x, axis, keepdims),
)


def _cumsum_slope(g, y, x, axis=None):
    if axis is None:
        return np.flip(np.cumsum(np.flip(g))).reshape(np.shape(x))
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


_cumsum = Primitive("cumsum", lambda x, axis=None: np.cumsum(x, axis=axis), _cumsum_slope)


def _cumprod_slope(g, y, x, axis=None):
    # d y_j / d x_i = y_j / x_i for j >= i (x nonzero): a reversed cumsum of g * y.
    flat = axis is None
    xs = np.ravel(x) if flat else x
    axis = 0 if flat else axis
    slope = np.flip(np.cumsum(np.flip(g.reshape(np.shape(y)) * y, axis), axis=axis), axis) / xs
    return slope.reshape(np.shape(x))


_cumprod = Primitive("cumprod", lambda x, axis=None: np.cumprod(x, axis=axis), _cumprod_slope)

# --- shapes ---------------------------------------------------------------------------------
_reshape = Primitive("reshape", np.reshape, lambda g, y, x, shape: np.reshape(g, np.shape(x)), None)
_transpose = Primitive(
    "transpose",
    lambda x, axes=None: np.transpose(x, axes),
    lambda g, y, x, axes=None: np.transpose(
        g, None if axes is None else np.argsort([a % np.ndim(x) for a in axes])
    ),
)
_broadcast_to = Primitive("broadcast_to", np.broadcast_to, lambda g, y, x, shape: g, None)


def _getitem_slope(g, y, x, key):
    slope = np.zeros(np.shape(x), dtype=np.result_type(g, np.float32))
    np.add.at(slope, key, g)
    return slope


_getitem = Primitive("getitem", lambda x, key: x[key], _getitem_slope)


def _take_slope(g, y, x, indices, axis=None):
    slope = np.zeros(np.shape(x), dtype=np.result_type(g, np.float32))
    if axis is None:
        np.add.at(slope.reshape(-1), np.ravel(indices) % slope.size, np.ravel(g))
        return slope
    axis = axis % np.ndim(x)
    moved = np.moveaxis(slope, axis, 0)
    g_moved = np.moveaxis(
        g, tuple(range(axis, axis + np.ndim(indices))), tuple(range(np.ndim(indices)))
    )
    np.add.at(moved, np.asarray(indices) % np.shape(x)[axis], g_moved)
    return slope


_take = Primitive(
    "take", lambda x, indices, axis=None: np.take(x, indices, axis=axis), _take_slope, None
)


def _take_along_axis_slope(g, y, x, indices, axis):
    slope = np.zeros(np.shape(x), dtype=np.result_type(g, np.float32))
    if axis is None:
        np.add.at(slope.reshape(-1), np.ravel(indices), np.ravel(g))
        return slope
    np.put_along_axis  # noqa: B018 - (put_along_axis overwrites; slopes of repeats add)
    index = list(np.indices(np.shape(indices), sparse=True))
    index[axis % np.ndim(x)] = np.asarray(indices)
    np.add.at(slope, tuple(index), g)
    return slope


_take_along_axis = Primitive(
    "take_along_axis",
    lambda x, indices, axis=None: np.take_along_axis(x, indices, axis=axis),
    _take_along_axis_slope,
    None,
)


def _split_slope(slopes, values, axis):
    sizes = np.cumsum([np.shape(v)[axis] for v in values])[:-1]
    return np.split(slopes, sizes, axis=axis)


_concatenate = ListPrimitive(
    "concatenate",
    lambda xs, axis=0: np.concatenate(xs, axis=axis),
    lambda g, y, xs, axis=0: _split_slope(g, xs, axis),
)
_stack = ListPrimitive(
    "stack",
    lambda xs, axis=0: np.stack(xs, axis=axis),
    lambda g, y, xs, axis=0: [np.take(g, i, axis=axis) for i in range(len(xs))],
)


def _pad_slope(g, y, x, pad_width, mode="constant", constant_values=0):
    width = np.broadcast_to(np.asarray(pad_width), (np.ndim(x), 2))
    index = tuple(
        slice(int(lo), int(lo) + size) for (lo, _), size in zip(width, np.shape(x), strict=True)
    )
    return g[index]


_pad = Primitive(
    "pad",
    lambda x, pad_width, mode="constant", constant_values=0: np.pad(
        x,
        pad_width,
        mode=mode,
        **({"constant_values": constant_values} if mode == "constant" else {}),
    ),
    _pad_slope,
)


def _sort_slope(g, y, x, axis=-1):
    order = np.argsort(x, axis=axis, kind="stable")
    slope = np.zeros_like(g)
    np.put_along_axis(slope, order, g, axis=axis)
    return slope


_sort = Primitive("sort", lambda x, axis=-1: np.sort(x, axis=axis, kind="stable"), _sort_slope)


def _einsum_slope(g, y, *operands, subscripts, which):
    inputs, output = subscripts.replace(" ", "").split("->")
    terms = inputs.split(",")
    others = [t for i, t in enumerate(terms) if i != which]
    target = terms[which]
    # Letters of the target that appear nowhere else were summed: broadcast back.
    present = set(output) | {c for t in others for c in t}
    kept = "".join(c for c in target if c in present)
    slope = np.einsum(
        ",".join([output] + others) + "->" + kept,
        g,
        *[o for i, o in enumerate(operands) if i != which],
    )
    if kept != target:
        # Put summed-away axes back as ones, then broadcast.
        shape = [np.shape(operands[which])[i] if c in present else 1 for i, c in enumerate(target)]
        order = [kept.index(c) for c in target if c in present]
        slope = np.transpose(slope, order) if order else slope
        slope = np.broadcast_to(
            np.reshape(
                slope, [s if c in present else 1 for c, s in zip(target, shape, strict=False)]
            ),
            np.shape(operands[which]),
        )
    return slope


class _Einsum:
    """``einsum`` with an explicit output (``'ij,jk->ik'``): the slope of each
    operand is an einsum of the result's slope with the other operands."""

    def __call__(self, subscripts, *operands):
        subscripts = _explicit(subscripts, [np.ndim(unwrap(lift(o))) for o in operands])
        vjps = [
            functools.partial(_einsum_slope, subscripts=subscripts, which=i)
            for i in range(len(operands))
        ]
        primitive = Primitive("einsum", lambda *ops: np.einsum(subscripts, *ops), *vjps)
        return primitive(*operands)


def _explicit(subscripts: str, ndims) -> str:
    """``subscripts`` with ``->output`` written out as NumPy's implicit mode
    chooses it (letters used once, sorted); ellipses are not supported."""
    subscripts = subscripts.replace(" ", "")
    if "..." in subscripts:
        raise ValueError(f"ops.einsum: ellipses ('...') are not supported, received {subscripts!r}")
    if "->" in subscripts:
        return subscripts
    letters = subscripts.replace(",", "")
    output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return f"{subscripts}->{output}"


_einsum = _Einsum()


# --- the public ops -------------------------------------------------------------------------
def _elementwise(name, primitive, doc):
    def function(x):
        return primitive(operand(x))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return op(function)


negative = _elementwise("negative", _negative, "``-x``.")
exp = _elementwise("exp", _exp, "``e**x``, elementwise.")
expm1 = _elementwise("expm1", _expm1, "``exp(x) - 1``, accurate near 0.")
log = _elementwise("log", _log, "Natural logarithm, elementwise.")
log1p = _elementwise("log1p", _log1p, "``log(1 + x)``, accurate near 0.")
log2 = _elementwise("log2", _log2, "Base-2 logarithm.")
log10 = _elementwise("log10", _log10, "Base-10 logarithm.")
sqrt = _elementwise("sqrt", _sqrt, "Square root.")
square = _elementwise("square", _square, "``x * x``.")
absolute = _elementwise("absolute", _abs, "``|x|``.")
abs = _elementwise("abs", _abs, "``|x|`` (Keras's alias of ``absolute``).")  # noqa: A001
sin = _elementwise("sin", _sin, "Sine.")
cos = _elementwise("cos", _cos, "Cosine.")
tan = _elementwise("tan", _tan, "Tangent.")
arcsin = _elementwise("arcsin", _arcsin, "Inverse sine.")
arccos = _elementwise("arccos", _arccos, "Inverse cosine.")
arctan = _elementwise("arctan", _arctan, "Inverse tangent.")
sinh = _elementwise("sinh", _sinh, "Hyperbolic sine.")
cosh = _elementwise("cosh", _cosh, "Hyperbolic cosine.")
tanh = _elementwise("tanh", _tanh, "Hyperbolic tangent.")
arcsinh = _elementwise("arcsinh", _arcsinh, "Inverse hyperbolic sine.")
arccosh = _elementwise("arccosh", _arccosh, "Inverse hyperbolic cosine.")
arctanh = _elementwise("arctanh", _arctanh, "Inverse hyperbolic tangent.")
reciprocal = _elementwise("reciprocal", _reciprocal, "``1 / x``.")


def _flat(name, numpy_function, doc):
    """An op whose slope is zero almost everywhere (rounding, signs,
    comparisons): computed on the values, with no slope recorded."""

    def function(*args, **kwargs):
        return numpy_function(*[np.asarray(unwrap(lift(a))) for a in args], **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return op(function)


sign = _flat("sign", np.sign, "-1, 0 or 1: the sign of each entry (no slope).")
floor = _flat("floor", np.floor, "Rounded down (no slope).")
ceil = _flat("ceil", np.ceil, "Rounded up (no slope).")
trunc = _flat("trunc", np.trunc, "Rounded toward zero (no slope).")
equal = _flat("equal", np.equal, "``x1 == x2``.")
not_equal = _flat("not_equal", np.not_equal, "``x1 != x2``.")
greater = _flat("greater", np.greater, "``x1 > x2``.")
greater_equal = _flat("greater_equal", np.greater_equal, "``x1 >= x2``.")
less = _flat("less", np.less, "``x1 < x2``.")
less_equal = _flat("less_equal", np.less_equal, "``x1 <= x2``.")
logical_and = _flat("logical_and", np.logical_and, "Elementwise and.")
logical_or = _flat("logical_or", np.logical_or, "Elementwise or.")
logical_xor = _flat("logical_xor", np.logical_xor, "Elementwise exclusive or.")
logical_not = _flat("logical_not", np.logical_not, "Elementwise not.")
isnan = _flat("isnan", np.isnan, "Where an entry is NaN.")
isinf = _flat("isinf", np.isinf, "Where an entry is infinite.")
isfinite = _flat("isfinite", np.isfinite, "Where an entry is finite.")
floor_divide = _flat("floor_divide", np.floor_divide, "``x1 // x2`` (no slope).")
mod = _flat("mod", np.mod, "``x1 % x2`` (no slope; Keras's ``mod``).")
count_nonzero = _flat("count_nonzero", np.count_nonzero, "How many entries are not zero.")


@op
def round(x, decimals=0):  # noqa: A001
    """Rounded to ``decimals`` places, halves to even (no slope)."""
    return np.round(np.asarray(unwrap(lift(x))), decimals)


@op
def argmax(x, axis=None, keepdims=False):
    """Index of the largest entry (along ``axis``)."""
    return np.argmax(np.asarray(unwrap(lift(x))), axis=axis, keepdims=keepdims)


@op
def argmin(x, axis=None, keepdims=False):
    """Index of the smallest entry (along ``axis``)."""
    return np.argmin(np.asarray(unwrap(lift(x))), axis=axis, keepdims=keepdims)


@op
def argsort(x, axis=-1):
    """Indices that sort ``x`` along ``axis``."""
    return np.argsort(np.asarray(unwrap(lift(x))), axis=axis, kind="stable")


@op
def add(x1, x2):
    """``x1 + x2``, broadcast."""
    return _add(operand(x1), operand(x2))


@op
def subtract(x1, x2):
    """``x1 - x2``, broadcast."""
    return _subtract(operand(x1), operand(x2))


@op
def multiply(x1, x2):
    """``x1 * x2``, broadcast."""
    return _multiply(operand(x1), operand(x2))


@op
def divide(x1, x2):
    """``x1 / x2``, broadcast."""
    return _divide(operand(x1), operand(x2))


@op
def true_divide(x1, x2):
    """``x1 / x2`` (Keras's alias of ``divide``)."""
    return _divide(operand(x1), operand(x2))


@op
def divide_no_nan(x1, x2):
    """``x1 / x2``, and 0 where ``x2`` is 0."""
    x2 = operand(x2)
    zero = np.asarray(unwrap(x2)) == 0
    return where(zero, 0.0, _divide(operand(x1), where(zero, 1.0, x2)))


@op
def power(x1, x2):
    """``x1 ** x2``, broadcast."""
    return _power(operand(x1), operand(x2))


@op
def maximum(x1, x2):
    """The larger of ``x1`` and ``x2``, entry by entry (a tie splits the slope)."""
    return _maximum(operand(x1), operand(x2))


@op
def minimum(x1, x2):
    """The smaller of ``x1`` and ``x2``, entry by entry (a tie splits the slope)."""
    return _minimum(operand(x1), operand(x2))


@op
def arctan2(x1, x2):
    """The angle of the point ``(x2, x1)``."""
    return _arctan2(operand(x1), operand(x2))


@op
def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))`` without overflow."""
    return _logaddexp(operand(x1), operand(x2))


@op
def matmul(x1, x2):
    """Matrix product (batched over leading axes), as ``np.matmul``."""
    return _matmul(operand(x1), operand(x2))


@op
def dot(x1, x2):
    """``np.dot``: a matrix product for 1-D and 2-D arrays, scaling for scalars."""
    a, b = operand(x1), operand(x2)
    if np.ndim(unwrap(a)) == 0 or np.ndim(unwrap(b)) == 0:
        return _multiply(a, b)
    if np.ndim(unwrap(b)) <= 2:
        return _matmul(a, b)
    return tensordot(a, b, axes=([-1], [-2]))


@op
def tensordot(x1, x2, axes=2):
    """``np.tensordot``: sums over ``axes`` of ``x1`` and ``x2``."""
    a, b = operand(x1), operand(x2)
    na, nb = np.ndim(unwrap(a)), np.ndim(unwrap(b))
    if isinstance(axes, int):
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a, axes_b = (list(np.atleast_1d(a_)) for a_ in axes)
    axes_a = [i % na for i in axes_a]
    axes_b = [i % nb for i in axes_b]
    letters = "abcdefghijklmnopqrstuvwxyz"
    sub_a = list(letters[:na])
    sub_b = list(letters[na : na + nb])
    for i, j in zip(axes_a, axes_b, strict=True):
        sub_b[j] = sub_a[i]
    out = [c for i, c in enumerate(sub_a) if i not in axes_a] + [
        c for j, c in enumerate(sub_b) if j not in axes_b
    ]
    return _einsum(f"{''.join(sub_a)},{''.join(sub_b)}->{''.join(out)}", a, b)


@op
def einsum(subscripts, *operands):
    """``np.einsum`` (explicit or implicit output; no ellipses)."""
    return _einsum(subscripts, *[operand(o) for o in operands])


@op
def vdot(x1, x2):
    """The dot product of the flattened arrays."""
    return sum(multiply(reshape(x1, (-1,)), reshape(x2, (-1,))))


@op
def inner(x1, x2):
    """Sum over the last axes of both."""
    return tensordot(x1, x2, axes=([-1], [-1]))


@op
def outer(x1, x2):
    """Every product of an entry of ``x1`` with one of ``x2``."""
    return multiply(reshape(x1, (-1, 1)), reshape(x2, (1, -1)))


@op
def where(condition, x1=None, x2=None):
    """``x1`` where ``condition``, else ``x2``; with only ``condition``, the
    indices where it holds (``np.nonzero``)."""
    condition = np.asarray(unwrap(lift(condition)), dtype=bool)
    if x1 is None and x2 is None:
        return np.nonzero(condition)
    return _where(condition, operand(x1), operand(x2))


@op
def clip(x, x_min, x_max):
    """``x`` kept within ``[x_min, x_max]`` (slope 1 inside, 0 outside)."""
    return _clip(operand(x), x_min, x_max)


@op
def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (every axis if None)."""
    return _sum(operand(x), axis=axis, keepdims=keepdims)


@op
def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (every axis if None)."""
    x = operand(x)
    count = _count(x, axis)
    total = _sum(x, axis=axis, keepdims=keepdims)
    return _divide(total, np.asarray(count, dtype=_float_dtype(x)))


def _count(x, axis) -> int:
    shape = np.shape(unwrap(x))
    return int(np.prod([shape[a] for a in normalized_axes(axis, len(shape))]))


def _float_dtype(x):
    dtype = np.asarray(unwrap(x)).dtype
    return dtype if dtype.kind == "f" else np.float32


@op
def var(x, axis=None, keepdims=False):
    """Variance over ``axis`` (the mean squared distance to the mean)."""
    centered = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centered), axis=axis, keepdims=keepdims)


@op
def std(x, axis=None, keepdims=False):
    """Standard deviation over ``axis``."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


@op
def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """Largest entry over ``axis`` (ties share the slope)."""
    result = _max(operand(x), axis=axis, keepdims=keepdims)
    return result if initial is None else maximum(result, initial)


@op
def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """Smallest entry over ``axis`` (ties share the slope)."""
    result = _min(operand(x), axis=axis, keepdims=keepdims)
    return result if initial is None else minimum(result, initial)


amax = op(lambda x, axis=None, keepdims=False: max(x, axis=axis, keepdims=keepdims))
amax.__name__ = "amax"
amin = op(lambda x, axis=None, keepdims=False: min(x, axis=axis, keepdims=keepdims))
amin.__name__ = "amin"


@op
def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis`` (as ``exp(sum(log|x|))`` with the signs; zeros allowed)."""
    x = operand(x)
    values = np.asarray(unwrap(x))
    if axis is None:
        flat = reshape(x, (-1,))
        result = cumprod(flat)[-1] if values.size else np.asarray(1.0, values.dtype)
        return reshape(result, (1,) * values.ndim) if keepdims else result
    axis_ = axis % values.ndim
    moved = moveaxis(x, axis_, -1)
    result = take(cumprod(moved, axis=-1), -1, axis=-1)
    return expand_dims(result, axis_) if keepdims else result


@op
def cumsum(x, axis=None, dtype=None):
    """Running sum along ``axis`` (of the flattened array if None)."""
    return _cumsum(operand(x), axis=axis)


@op
def cumprod(x, axis=None, dtype=None):
    """Running product along ``axis`` (of the flattened array if None)."""
    return _cumprod(operand(x), axis=axis)


@op
def logsumexp(x, axis=None, keepdims=False):
    """``log(sum(exp(x)))`` over ``axis``, computed from the largest entry."""
    x = operand(x)
    top = stop_gradient(max(x, axis=axis, keepdims=True))
    result = add(log(sum(exp(subtract(x, top)), axis=axis, keepdims=True)), top)
    return result if keepdims else squeeze(result, axis=axis)


@op
def reshape(x, newshape):
    """``x`` with shape ``newshape`` (one size may be -1)."""
    return _reshape(
        operand(x),
        tuple(np.atleast_1d(newshape).tolist()) if not isinstance(newshape, int) else newshape,
    )


@op
def transpose(x, axes=None):
    """``x`` with its axes permuted (reversed if ``axes`` is None)."""
    return _transpose(operand(x), axes=None if axes is None else tuple(axes))


@op
def swapaxes(x, axis1, axis2):
    """``x`` with two axes exchanged."""
    axes = list(range(np.ndim(unwrap(lift(x)))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


@op
def moveaxis(x, source, destination):
    """``x`` with axes moved from ``source`` to ``destination``."""
    ndim = np.ndim(unwrap(lift(x)))
    sources = [a % ndim for a in np.atleast_1d(source).tolist()]
    destinations = [a % ndim for a in np.atleast_1d(destination).tolist()]
    order = [a for a in range(ndim) if a not in sources]
    for place, axis in sorted(zip(destinations, sources, strict=True)):
        order.insert(place, axis)
    return transpose(x, order)


@op
def expand_dims(x, axis):
    """``x`` with new axes of size 1 at ``axis``."""
    x = operand(x)
    return _reshape(x, np.expand_dims(np.empty(np.shape(unwrap(x)), np.bool_), axis).shape)


@op
def squeeze(x, axis=None):
    """``x`` without its axes of size 1 (only ``axis`` if given)."""
    x = operand(x)
    return _reshape(x, np.squeeze(np.empty(np.shape(unwrap(x)), np.bool_), axis=axis).shape)


@op
def ravel(x):
    """``x`` flattened."""
    return reshape(x, (-1,))


@op
def broadcast_to(x, shape):
    """``x`` repeated along axes of size 1 to ``shape``."""
    return _broadcast_to(operand(x), tuple(shape))


@op
def tile(x, repeats):
    """``x`` repeated ``repeats`` times along each axis, as ``np.tile``."""
    x = operand(x)
    shape = np.shape(unwrap(x))
    repeats = tuple(np.atleast_1d(repeats).tolist())
    ndim = builtins.max(len(shape), len(repeats))
    shape = (1,) * (ndim - len(shape)) + shape
    repeats = (1,) * (ndim - len(repeats)) + repeats
    interleaved = reshape(x, [s for d in shape for s in (1, d)])
    tiled = broadcast_to(
        interleaved, [s for r, d in zip(repeats, shape, strict=False) for s in (r, d)]
    )
    return reshape(tiled, [r * d for r, d in zip(repeats, shape, strict=False)])


@op
def repeat(x, repeats, axis=None):
    """Each entry repeated ``repeats`` times (along ``axis``), as ``np.repeat``."""
    x = operand(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    size = np.shape(unwrap(x))[axis]
    index = np.repeat(np.arange(size), repeats)
    return take(x, index, axis=axis)


@op
def concatenate(xs, axis=0):
    """The arrays of ``xs`` joined along ``axis``."""
    return _concatenate(list(xs), axis=axis)


@op
def append(x1, x2, axis=None):
    """``x2`` appended to ``x1`` (both flattened if ``axis`` is None)."""
    if axis is None:
        return concatenate([ravel(x1), ravel(x2)], axis=0)
    return concatenate([x1, x2], axis=axis)


@op
def stack(x, axis=0):
    """The arrays of ``x`` stacked along a new ``axis``."""
    return _stack(list(x), axis=axis)


@op
def hstack(xs):
    """Joined along the second axis (the first for 1-D arrays)."""
    axis = 0 if np.ndim(unwrap(lift(xs[0]))) == 1 else 1
    return concatenate(xs, axis=axis)


@op
def vstack(xs):
    """Joined along the first axis (1-D arrays as rows)."""
    rows = [reshape(x, (1, -1)) if np.ndim(unwrap(lift(x))) == 1 else x for x in xs]
    return concatenate(rows, axis=0)


@op
def split(x, indices_or_sections, axis=0):
    """``x`` cut into pieces along ``axis``, as ``np.split``."""
    size = np.shape(unwrap(lift(x)))[axis]
    if isinstance(indices_or_sections, int):
        if size % indices_or_sections:
            raise ValueError(
                f"ops.split: axis {axis} of size {size} cannot be split into "
                f"{indices_or_sections} equal parts"
            )
        step = size // indices_or_sections
        bounds = list(range(0, size + 1, step))
    else:
        bounds = [0, *list(indices_or_sections), size]
    return [
        _getitem(operand(x), axis_slice(np.ndim(unwrap(lift(x))), axis, lo, hi))
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


@op
def unstack(x, num=None, axis=0):
    """The slices of ``x`` along ``axis``, as a list."""
    size = np.shape(unwrap(lift(x)))[axis]
    return [take(x, i, axis=axis) for i in range(size)]


@op
def take(x, indices, axis=None):
    """Entries of ``x`` at ``indices`` (of the flattened array if ``axis`` is None)."""
    return _take(operand(x), np.asarray(unwrap(lift(indices))), axis=axis)


@op
def take_along_axis(x, indices, axis=None):
    """``np.take_along_axis``: entries picked along ``axis`` by ``indices``."""
    return _take_along_axis(operand(x), np.asarray(unwrap(lift(indices))), axis=axis)


@op
def pad(x, pad_width, mode="constant", constant_values=None):
    """``x`` padded by ``pad_width`` (``((before, after), ...)``) with ``constant_values``."""
    if mode != "constant":
        raise ValueError(f"ops.pad: only mode='constant' is supported, received {mode!r}")
    return _pad(
        operand(x), pad_width, constant_values=0 if constant_values is None else constant_values
    )


@op
def sort(x, axis=-1):
    """``x`` sorted along ``axis``."""
    return _sort(operand(x), axis=axis)


@op
def flip(x, axis=None):
    """``x`` reversed along ``axis`` (every axis if None)."""
    ndim = np.ndim(unwrap(lift(x)))
    axes = normalized_axes(axis, ndim)
    return _getitem(
        operand(x), tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(ndim))
    )


@op
def roll(x, shift, axis=None):
    """``x`` shifted by ``shift`` along ``axis``, wrapping around."""
    values = np.asarray(unwrap(lift(x)))
    index = np.roll(np.arange(values.size).reshape(values.shape), shift, axis=axis)
    return reshape(take(x, index.ravel()), values.shape)


@op
def tril(x, k=0):
    """``x`` with the entries above the ``k``-th diagonal zeroed."""
    shape = np.shape(unwrap(lift(x)))
    return multiply(x, np.tril(np.ones(shape[-2:], dtype=bool), k))


@op
def triu(x, k=0):
    """``x`` with the entries below the ``k``-th diagonal zeroed."""
    shape = np.shape(unwrap(lift(x)))
    return multiply(x, np.triu(np.ones(shape[-2:], dtype=bool), k))


@op
def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of ``x`` over ``axis1`` and ``axis2``."""
    values = np.asarray(unwrap(lift(x)))
    index = np.arange(values.size).reshape(values.shape)
    picked = np.diagonal(index, offset=offset, axis1=axis1, axis2=axis2)
    return reshape(take(x, picked.ravel()), picked.shape)


@op
def trace(x, offset=0, axis1=0, axis2=1):
    """Sum of the diagonal."""
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


@op
def diag(x, k=0):
    """The diagonal of a matrix, or a matrix with a vector on its diagonal."""
    values = np.asarray(unwrap(lift(x)))
    if values.ndim == 2:
        return diagonal(x, offset=k)
    size = values.shape[0] + builtins.abs(k)
    eye_ = np.diag(np.ones(values.shape[0]), k)
    rows = np.diag(np.arange(values.shape[0]), k)
    picked = take(x, rows.ravel())
    return multiply(reshape(picked, (size, size)), eye_)


@op
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector norm (``ord`` None or 2: Euclidean; 1; ``inf``) over ``axis``;
    the Frobenius norm of a matrix when ``axis`` is None."""
    if ord in (None, 2, "fro", "euclidean"):
        return sqrt(sum(square(x), axis=axis, keepdims=keepdims))
    if ord == 1:
        return sum(absolute(x), axis=axis, keepdims=keepdims)
    if ord in (np.inf, "inf"):
        return max(absolute(x), axis=axis, keepdims=keepdims)
    return power(sum(power(absolute(x), ord), axis=axis, keepdims=keepdims), 1.0 / ord)


@op
def average(x, axis=None, weights=None):
    """Weighted mean over ``axis``."""
    if weights is None:
        return mean(x, axis=axis)
    if np.ndim(unwrap(lift(weights))) == 1 and axis is not None:
        shape = [1] * np.ndim(unwrap(lift(x)))
        shape[axis] = -1
        weights = reshape(weights, shape)
    return divide(
        sum(multiply(x, weights), axis=axis),
        sum(broadcast_to(weights, np.shape(unwrap(lift(x)))), axis=axis),
    )


@op
def sinc(x):
    """``sin(pi x) / (pi x)``, 1 at 0."""
    scaled = multiply(np.pi, x)
    zero = np.asarray(unwrap(lift(x))) == 0
    return where(zero, 1.0, divide(sin(scaled), where(zero, 1.0, scaled)))


@op
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """``x`` with NaN and infinities replaced by finite numbers."""
    values = np.asarray(unwrap(lift(x)))
    replaced = np.nan_to_num(values, nan=nan, posinf=posinf, neginf=neginf)
    return where(np.isfinite(values), x, replaced)


@op
def copy(x):
    """A copy of ``x``."""
    return multiply(x, 1)


@op
def real(x):
    """The real part (``x`` itself for real arrays)."""
    return x


@op
def conjugate(x):
    """The complex conjugate (``x`` itself for real arrays)."""
    return x


conj = op(lambda x: conjugate(x))
conj.__name__ = "conj"


# --- arrays made from scratch (no slope) ---------------------------------------------------
def _maker(name, numpy_function, doc):
    def function(*args, **kwargs):
        return numpy_function(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


zeros = _maker(
    "zeros", lambda shape, dtype=None: np.zeros(shape, dtype or "float32"), "Zeros of ``shape``."
)
ones = _maker(
    "ones", lambda shape, dtype=None: np.ones(shape, dtype or "float32"), "Ones of ``shape``."
)
full = _maker(
    "full",
    lambda shape, fill_value, dtype=None: np.full(
        shape, fill_value, dtype or np.asarray(fill_value).dtype
    ),
    "``shape`` filled with ``fill_value``.",
)
eye = _maker(
    "eye",
    lambda N, M=None, k=0, dtype=None: np.eye(N, M, k, dtype=dtype or "float32"),
    "Ones on the ``k``-th diagonal.",
)
identity = _maker(
    "identity",
    lambda n, dtype=None: np.identity(n, dtype=dtype or "float32"),
    "The identity matrix.",
)
tri = _maker(
    "tri",
    lambda N, M=None, k=0, dtype=None: np.tri(N, M, k, dtype=dtype or "float32"),
    "Ones at and below the ``k``-th diagonal.",
)
arange = _maker(
    "arange",
    lambda start, stop=None, step=1, dtype=None: np.arange(start, stop, step, dtype=dtype),
    "Evenly spaced values.",
)
linspace = _maker(
    "linspace", np.linspace, "``num`` evenly spaced values from ``start`` to ``stop``."
)
logspace = _maker("logspace", np.logspace, "``num`` values evenly spaced on a log scale.")


@op
def zeros_like(x, dtype=None):
    """Zeros of ``x``'s shape (and dtype)."""
    return np.zeros_like(np.asarray(unwrap(lift(x))), dtype=dtype)


@op
def ones_like(x, dtype=None):
    """Ones of ``x``'s shape (and dtype)."""
    return np.ones_like(np.asarray(unwrap(lift(x))), dtype=dtype)


@op
def full_like(x, fill_value, dtype=None):
    """``x``'s shape filled with ``fill_value``."""
    return np.full_like(np.asarray(unwrap(lift(x))), fill_value, dtype=dtype)


@op
def stop_gradient(variable):
    """``variable``'s value, through which no slope flows."""
    return np.asarray(unwrap(lift(variable)))


@op
def all(x, axis=None, keepdims=False):  # noqa: A001
    """Whether every entry is true (over ``axis``)."""
    return np.all(np.asarray(unwrap(lift(x))), axis=axis_tuple(axis), keepdims=keepdims)


@op
def any(x, axis=None, keepdims=False):  # noqa: A001
    """Whether some entry is true (over ``axis``)."""
    return np.any(np.asarray(unwrap(lift(x))), axis=axis_tuple(axis), keepdims=keepdims)


@op
def getitem(x, key):
    """``x[key]``: basic and integer-array indexing."""
    key = (
        tuple(np.asarray(unwrap(lift(k))) if _is_indexoperand(k) else k for k in key)
        if isinstance(key, tuple)
        else (np.asarray(unwrap(lift(key))) if _is_indexoperand(key) else key)
    )
    return _getitem(operand(x), key)


def _is_indexoperand(key) -> bool:
    return isinstance(key, np.ndarray | Traced | list)
