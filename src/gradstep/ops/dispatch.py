"""NumPy's functions on traced values: each runs the op of the same name.

A loss or layer written with plain NumPy (``np.mean``, ``np.exp``, ``x ** 2``)
receives ``Traced`` values while a tape records; NumPy hands such calls to
``Traced.__array_ufunc__``/``__array_function__``, which come here and run
``gradstep.ops``'s op instead, so that the call is recorded with its slope.
"""

from __future__ import annotations

import numpy as np

from gradstep.ops import core, nn
from gradstep.ops import numpy as knp

#: NumPy ufuncs (by name) whose op has another name in Keras.
_UFUNC_ALIASES = {
    "true_divide": "divide",
    "absolute": "absolute",
    "fabs": "absolute",
    "remainder": "mod",
    "conjugate": "conjugate",
}


def ufunc(numpy_ufunc, method, inputs, kwargs):
    """``numpy_ufunc(*inputs)`` through the op of the same name."""
    if method != "__call__" or kwargs.get("out") is not None:
        raise TypeError(
            f"np.{numpy_ufunc.__name__}.{method} with out= cannot be recorded on traced values: "
            "write it without in-place updates"
        )
    name = _UFUNC_ALIASES.get(numpy_ufunc.__name__, numpy_ufunc.__name__)
    function = getattr(knp, name, None) or getattr(nn, name, None)
    if function is None:
        raise TypeError(f"np.{numpy_ufunc.__name__} has no differentiable op in gradstep.ops")
    options = {k: v for k, v in kwargs.items() if k not in ("dtype", "casting")}
    return function(*inputs, **options)


_FUNCTION_ALIASES = {"amax": "max", "amin": "min", "round_": "round", "around": "round"}


def function(numpy_function, args, kwargs):
    """``numpy_function(*args, **kwargs)`` through the op of the same name."""
    name = _FUNCTION_ALIASES.get(numpy_function.__name__, numpy_function.__name__)
    if name == "asarray" or name == "array":
        return core.convert_to_tensor(*args, **kwargs)
    if name in ("shape", "ndim", "size"):  # facts about the value, with no slope
        return getattr(np, name)(args[0].value, *args[1:], **kwargs)
    op = getattr(knp, name, None)
    if op is None or not callable(op):
        raise TypeError(
            f"np.{numpy_function.__name__} has no differentiable op in gradstep.ops: write this "
            "step with gradstep.ops, or use ops.stop_gradient(x) where no slope is needed"
        )
    if name in ("clip",) and "a_min" in kwargs:
        kwargs = dict(kwargs)
        kwargs["x_min"], kwargs["x_max"] = kwargs.pop("a_min"), kwargs.pop("a_max", None)
    if name in ("sum", "mean", "max", "min", "var", "std", "prod") and "a" in kwargs:
        kwargs = dict(kwargs)
        args = (kwargs.pop("a"), *args)
    return op(*args, **kwargs)
