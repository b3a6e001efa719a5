"""Process-wide defaults, under Keras's names: the default float type."""

from __future__ import annotations

import numpy as np

_FLOATX = "float32"


def floatx() -> str:
    """The dtype of weights whose layer sets none: ``'float32'`` unless changed."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default weight dtype: ``'float32'`` or ``'float64'``."""
    global _FLOATX
    _FLOATX = standardize_dtype(value)


def standardize_dtype(value) -> str:
    name = np.dtype(value).name
    if name not in ("float16", "float32", "float64"):
        raise ValueError(f"dtype must be 'float16', 'float32' or 'float64', received {value!r}")
    return name


_BLAS_THREADS: int | None = 1


def blas_threads() -> int | None:
    """How many BLAS threads fit, evaluate and predict use (None: BLAS's own choice)."""
    return _BLAS_THREADS


def set_blas_threads(value: int | None) -> None:
    """Set the BLAS thread count used while training and predicting.

    The default is 1: the matrices of small models are too small for threads
    to pay, and OpenBLAS's spinning threads slow a step down tenfold or more
    when another process holds a core. Takes effect through ``threadpoolctl``
    (installed with the ``main`` extra); without it, BLAS keeps its own setting.
    """
    global _BLAS_THREADS
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"blas threads must be a positive integer or None, received {value!r}")
    _BLAS_THREADS = value


def limit_blas_threads():
    """A context manager applying ``blas_threads`` (a no-op without threadpoolctl)."""
    import contextlib

    if _BLAS_THREADS is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=_BLAS_THREADS, user_api="blas")
