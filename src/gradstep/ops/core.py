"""Keras's core ops: conversions, shapes, control flow."""

from __future__ import annotations

import numpy as np

from gradstep.ops import numpy as knp
from gradstep.ops.primitive import Primitive
from gradstep.ops.symbolic import op
from gradstep.ops.tape import Traced, lift, operand, unwrap


def _is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


_cast = Primitive(
    "cast",
    lambda x, dtype: np.asarray(x).astype(dtype),
    lambda g, y, x, dtype: g if _is_float(np.asarray(x).dtype) else None,
    None,
)


@op
def cast(x, dtype):
    """``x`` as ``dtype`` (a slope flows between float dtypes only)."""
    return _cast(operand(x), np.dtype(dtype).name)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """``x`` as an array (of ``dtype``); a traced value stays traced."""
    x = lift(x)
    if isinstance(x, Traced):
        return x if dtype is None else cast(x, dtype)
    array = np.asarray(x)
    if dtype is None and array.dtype == np.float64 and not isinstance(x, np.ndarray):
        array = array.astype("float32")  # Keras's floatx for Python floats and lists
    return array if dtype is None else array.astype(dtype)


def convert_to_numpy(x):
    """``x`` as a NumPy array (the value of a traced one)."""
    return np.asarray(unwrap(lift(x)))


def is_tensor(x) -> bool:
    """Whether ``x`` is an array (or a traced or symbolic one)."""
    from gradstep.graph import SymbolicTensor

    return isinstance(x, np.ndarray | Traced | SymbolicTensor)


def shape(x) -> tuple:
    """``x``'s shape (None for unknown sizes of a symbolic tensor)."""
    return tuple(x.shape)


def dtype(x) -> str:
    """``x``'s dtype name."""
    return np.dtype(x.dtype).name


def cond(pred, true_fn, false_fn):
    """``true_fn()`` if ``pred`` holds, else ``false_fn()`` (``pred`` must be a value)."""
    return true_fn() if bool(np.asarray(unwrap(lift(pred)))) else false_fn()


def fori_loop(lower, upper, body_fun, init_val):
    """``init_val`` passed through ``body_fun(i, value)`` for i in ``[lower, upper)``."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """``loop_vars`` passed through ``body`` while ``cond(*loop_vars)`` holds."""
    single = not isinstance(loop_vars, list | tuple)
    values = (loop_vars,) if single else tuple(loop_vars)
    count = 0
    while bool(np.asarray(unwrap(lift(cond(*values))))):
        if maximum_iterations is not None and count >= maximum_iterations:
            break
        result = body(*values)
        values = (result,) if single else tuple(result)
        count += 1
    return values[0] if single else type(loop_vars)(values)


def map(f, xs):  # noqa: A001
    """``f`` applied to each slice of ``xs`` along its first axis, stacked."""
    return knp.stack([f(x) for x in knp.unstack(xs)])


@op
def slice(inputs, start_indices, shape):  # noqa: A001
    """The block of ``inputs`` starting at ``start_indices`` of size ``shape``."""
    return knp.getitem(inputs, _block(start_indices, shape))


def _block(start_indices, shape):
    import builtins

    return tuple(
        builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape, strict=True)
    )


@op
def slice_update(inputs, start_indices, updates):
    """``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    index = _block(start_indices, np.shape(unwrap(lift(updates))))
    mask = np.zeros(np.shape(unwrap(lift(inputs))), dtype=bool)
    mask[index] = True
    placed = knp.pad(
        updates,
        [(i.start, size - i.stop) for i, size in zip(index, mask.shape, strict=True)],
    )
    return knp.where(mask, placed, inputs)


@op
def scatter(indices, values, shape):
    """Zeros of ``shape`` with ``values`` added at ``indices`` (rows of coordinates)."""
    indices = np.asarray(unwrap(lift(indices)))
    flat = np.ravel_multi_index(tuple(indices.T), shape)
    size = int(np.prod(shape))
    one_hot = (flat[:, None] == np.arange(size)).astype(np.asarray(unwrap(lift(values))).dtype)
    return knp.reshape(knp.matmul(knp.reshape(values, (1, -1)), one_hot), shape)


@op
def scatter_update(inputs, indices, updates):
    """``inputs`` with the entries at ``indices`` set to ``updates``."""
    indices = np.asarray(unwrap(lift(indices)))
    shape = np.shape(unwrap(lift(inputs)))
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(indices.T)] = True
    return knp.where(mask, scatter(indices, updates, shape), inputs)
