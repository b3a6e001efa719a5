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


def switch(index, branches, *operands):
    """``branches[index](*operands)``, ``index`` clamped to the branches."""
    chosen = int(np.clip(int(np.asarray(unwrap(lift(index)))), 0, len(branches) - 1))
    return branches[chosen](*operands)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``carry, y = f(carry, x)`` over the first axis of ``xs`` (or
    ``length`` times with ``x`` None): ``(final carry, stacked ys)``."""
    count = length if xs is None else np.shape(unwrap(lift(xs)))[0]
    steps = range(count - 1, -1, -1) if reverse else range(count)
    carry, ys = init, []
    for i in steps:
        carry, y = f(carry, None if xs is None else knp.take(xs, i, axis=0))
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or ys[0] is None:
        return carry, None
    return carry, knp.stack(ys)


def associative_scan(f, elems, reverse=False, axis=0):
    """The running ``f``-combination of ``elems`` along ``axis`` (``f`` associative)."""
    single = not isinstance(elems, list | tuple)
    parts = [elems] if single else list(elems)
    size = np.shape(unwrap(lift(parts[0])))[axis]
    order = range(size - 1, -1, -1) if reverse else range(size)
    running, outputs = None, []
    for i in order:
        current = [knp.take(p, i, axis=axis) for p in parts]
        if running is None:
            running = current
        else:
            combined = f(
                running if not single else running[0], current if not single else current[0]
            )
            running = [combined] if single else list(combined)
        outputs.append(running)
    if reverse:
        outputs.reverse()
    stacked = [knp.stack([o[j] for o in outputs], axis=axis) for j in range(len(parts))]
    return stacked[0] if single else type(elems)(stacked)


def vectorized_map(function, elements):
    """``function`` applied to each slice of ``elements`` along its first axis, stacked."""
    if isinstance(elements, list | tuple):
        count = np.shape(unwrap(lift(elements[0])))[0]
        results = [
            function(type(elements)(knp.take(e, i, axis=0) for e in elements)) for i in range(count)
        ]
    else:
        results = [function(x) for x in knp.unstack(elements)]
    return knp.stack(results)


def vectorize(pyfunc, *, excluded=None, signature=None):
    """``np.vectorize``'s broadcasting of ``pyfunc`` over array arguments (no slope)."""
    vectorized = np.vectorize(pyfunc, excluded=excluded or set(), signature=signature)

    def run(*args, **kwargs):
        return vectorized(*[np.asarray(unwrap(lift(a))) for a in args], **kwargs)

    return run
