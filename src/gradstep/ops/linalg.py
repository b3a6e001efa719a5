"""Keras's ``keras.ops.linalg``: matrix ops over the last two axes (batched
over the leading ones), each a primitive with its standard slope.

With ``Ā`` the slope of an argument and ``ȳ`` the result's (``ᵀ`` swapping
the last two axes):

- ``inv``: ``Ā = -yᵀ ȳ yᵀ``;
- ``det``: ``Ā = ȳ det(A) A⁻ᵀ``; ``slogdet``'s log: ``Ā = ȳ A⁻ᵀ``;
- ``solve(A, B) = X``: ``B̄ = A⁻ᵀ X̄``, ``Ā = -B̄ Xᵀ``;
- ``cholesky`` (Murray 2016): ``Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹)``, Φ keeping the
  lower triangle and half the diagonal;
- ``qr`` (reduced, m ≥ n): ``M = R R̄ᵀ - Q̄ᵀ Q``,
  ``Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ``;
- ``eigh``: ``Ā = V (diag(w̄) + F ∘ sym(Vᵀ V̄)) Vᵀ`` with
  ``F_ij = 1 / (w_j - w_i)``;
- ``svd`` singular values: ``Ā = U diag(s̄) Vᵀ``.
"""

from __future__ import annotations

import numpy as np

from gradstep.ops import numpy as knp
from gradstep.ops.packed import packed
from gradstep.ops.primitive import Primitive
from gradstep.ops.symbolic import op
from gradstep.ops.tape import lift, operand, unwrap


def _value(x) -> np.ndarray:
    return np.asarray(unwrap(lift(x)))


def _t(a):
    return np.swapaxes(a, -1, -2)


def _sym(a):
    return 0.5 * (a + _t(a))


# --- primitives ------------------------------------------------------------------------
_inv = Primitive("inv", np.linalg.inv, lambda g, y, a: -_t(y) @ g @ _t(y))
_det = Primitive(
    "det",
    np.linalg.det,
    lambda g, y, a: (g * y)[..., None, None] * _t(np.linalg.inv(a)),
)
_logabsdet = Primitive(
    "logdet",
    lambda a: np.linalg.slogdet(a)[1],
    lambda g, y, a: g[..., None, None] * _t(np.linalg.inv(a)),
)


def _solve_forward(a, b):
    vector = np.ndim(b) == np.ndim(a) - 1
    x = np.linalg.solve(a, b[..., None] if vector else b)
    return x[..., 0] if vector else x


def _solve_b(g, y, a, b):
    return _solve_forward(_t(a), g)


def _solve_a(g, y, a, b):
    slope_b = _solve_forward(_t(a), g)
    if np.ndim(b) == np.ndim(a) - 1:
        return -slope_b[..., :, None] * y[..., None, :]
    return -slope_b @ _t(y)


_solve = Primitive("solve", _solve_forward, _solve_a, _solve_b)


def _triangular(lower):
    return np.tril if lower else np.triu


def _solve_triangular_forward(a, b, lower=False):
    return _solve_forward(_triangular(lower)(a), b)


_solve_triangular = Primitive(
    "solve_triangular",
    _solve_triangular_forward,
    lambda g, y, a, b, lower=False: _triangular(lower)(_solve_a(g, y, _triangular(lower)(a), b)),
    lambda g, y, a, b, lower=False: _solve_b(g, y, _triangular(lower)(a), b),
)


def _cholesky_slope(g, y, a):
    phi = np.tril(_t(y) @ g)
    phi = phi - 0.5 * np.eye(np.shape(a)[-1]) * phi
    inverse = np.linalg.inv(y)
    return _sym(_t(inverse) @ phi @ inverse)


_cholesky = Primitive("cholesky", np.linalg.cholesky, _cholesky_slope)


def _singular_values_slope(g, y, a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return (u * g[..., None, :]) @ vh


_singular_values = Primitive(
    "svd", lambda a: np.linalg.svd(a, compute_uv=False), _singular_values_slope
)


def _qr_slope(slopes, outputs, a):
    q_bar, r_bar = slopes
    q, r = outputs
    m = r @ _t(r_bar) - _t(q_bar) @ q
    copyltu = np.tril(m) + _t(np.tril(m, -1))
    right = q_bar + q @ copyltu
    # right @ R^-T, as a solve: X R^T = right  <=>  R X^T = right^T.
    return _t(np.linalg.solve(r, _t(right)))


_qr_reduced = packed(
    "qr", lambda a: tuple(np.linalg.qr(a, mode="reduced")), [_qr_slope], lambda a: a.ndim - 2
)


def _eigh_slope(slopes, outputs, a):
    w_bar, v_bar = slopes
    w, v = outputs
    gaps = w[..., None, :] - w[..., :, None]
    off = ~np.eye(np.shape(w)[-1], dtype=bool)
    f = np.where(off, 1.0 / np.where(off, gaps, 1.0), 0.0)
    inner = f * (_t(v) @ v_bar)
    middle = inner + w_bar[..., None, :] * np.eye(np.shape(w)[-1])
    return _sym(v @ middle @ _t(v))


_eigh = packed("eigh", lambda a: tuple(np.linalg.eigh(a)), [_eigh_slope], lambda a: a.ndim - 2)


# --- the public ops ---------------------------------------------------------------------
@op
def inv(x):
    """The inverse of each square matrix."""
    return _inv(operand(x))


@op
def det(x):
    """The determinant of each square matrix."""
    return _det(operand(x))


@op
def slogdet(x):
    """``(sign, log|det|)`` of each square matrix (the slope flows through the log)."""
    sign = np.linalg.slogdet(_value(x))[0]
    return sign, _logabsdet(operand(x))


@op
def logdet(x):
    """``log(det(x))`` of each matrix (positive determinants)."""
    return _logabsdet(operand(x))


@op
def solve(a, b):
    """``X`` with ``a @ X = b``."""
    return _solve(operand(a), operand(b))


@op
def solve_triangular(a, b, lower=False):
    """``X`` with ``a @ X = b`` for a triangular ``a`` (only its ``lower`` or
    upper triangle is read)."""
    return _solve_triangular(operand(a), operand(b), lower=lower)


@op
def cholesky(x, upper=False):
    """The lower-triangular ``L`` with ``L Lᵀ = x`` (``Lᵀ`` if ``upper``)."""
    lower = _cholesky(operand(x))
    return knp.swapaxes(lower, -1, -2) if upper else lower


@op
def cholesky_inverse(x, upper=False):
    """The inverse of ``L Lᵀ`` (``Uᵀ U`` if ``upper``) from its Cholesky factor ``x``."""
    if upper:
        product = knp.matmul(knp.swapaxes(x, -1, -2), x)
    else:
        product = knp.matmul(x, knp.swapaxes(x, -1, -2))
    return inv(product)


@op
def qr(x, mode="reduced"):
    """``(Q, R)`` with ``x = Q R``; slopes for ``mode='reduced'`` with rows ≥ columns."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"ops.qr: mode must be 'reduced' or 'complete', received {mode!r}")
    rows, columns = _value(x).shape[-2:]
    if mode == "reduced" and rows >= columns:
        return _qr_reduced(x)
    return tuple(np.linalg.qr(_value(x), mode=mode))


@op
def eigh(x):
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix (its lower triangle)."""
    return _eigh(x)


@op
def svd(x, full_matrices=True, compute_uv=True):
    """``(u, s, vh)`` with ``x = u diag(s) vh``, or ``s`` alone if not
    ``compute_uv``. The slope flows through ``s``; ``u`` and ``vh`` carry none."""
    s = _singular_values(operand(x))
    if not compute_uv:
        return s
    u, _, vh = np.linalg.svd(_value(x), full_matrices=full_matrices)
    return u, s, vh


@op
def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse (no slope)."""
    return np.linalg.pinv(_value(x), rcond=1e-15 if rcond is None else rcond)


@op
def lstsq(a, b, rcond=None):
    """The least-squares solution ``X`` of ``a @ X ≈ b``, as ``pinv(a) @ b`` (no slope)."""
    return np.linalg.lstsq(_value(a), _value(b), rcond=rcond)[0]


@op
def matrix_rank(x, tol=None):
    """The number of singular values above ``tol`` (no slope)."""
    return np.linalg.matrix_rank(_value(x), tol=tol)


@op
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    """Vector or matrix norm, as ``np.linalg.norm``: a matrix norm over two
    axes (or a 2-D ``x`` with ``axis=None``), else a vector norm."""
    values = _value(x)
    axes = axis
    if axes is None and values.ndim == 2 and ord is not None:
        axes = (0, 1)
    if isinstance(axes, int) or axes is None or len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    return _matrix_norm(x, ord, tuple(a % values.ndim for a in axes), keepdims)


def _vector_norm(x, ord, axis, keepdims):  # noqa: A002
    if isinstance(axis, tuple | list):
        axis = axis[0]
    magnitude = knp.absolute(x)
    if ord is None or ord == 2:
        return knp.sqrt(knp.sum(knp.square(x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return knp.max(magnitude, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return knp.min(magnitude, axis=axis, keepdims=keepdims)
    if ord == 0:
        return np.sum(_value(x) != 0, axis=axis, keepdims=keepdims).astype(_value(x).dtype)
    if ord == 1:
        return knp.sum(magnitude, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"ops.norm: ord {ord!r} is a matrix norm; give two axes")
    return knp.power(
        knp.sum(knp.power(magnitude, float(ord)), axis=axis, keepdims=keepdims), 1.0 / ord
    )


def _matrix_norm(x, ord, axes, keepdims):  # noqa: A002
    row, column = axes
    if ord in (None, "fro"):
        result = knp.sqrt(knp.sum(knp.square(x), axis=axes, keepdims=True))
    elif ord in (1, -1):
        sums = knp.sum(knp.absolute(x), axis=row, keepdims=True)
        reduce = knp.max if ord == 1 else knp.min
        result = reduce(sums, axis=column, keepdims=True)
    elif ord in (np.inf, -np.inf):
        sums = knp.sum(knp.absolute(x), axis=column, keepdims=True)
        reduce = knp.max if ord == np.inf else knp.min
        result = reduce(sums, axis=row, keepdims=True)
    elif ord in (2, -2, "nuc"):
        moved = knp.moveaxis(x, (row, column), (-2, -1))
        s = svd(moved, compute_uv=False)
        if ord == "nuc":
            value = knp.sum(s, axis=-1)
        else:
            value = (knp.max if ord == 2 else knp.min)(s, axis=-1)
        result = knp.expand_dims(knp.expand_dims(value, -1), -1)
        result = knp.moveaxis(result, (-2, -1), (row, column))
    else:
        raise ValueError(f"ops.norm: invalid matrix norm order {ord!r}")
    return result if keepdims else knp.squeeze(result, axis=axes)
