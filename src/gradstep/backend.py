"""``keras.backend``'s settings and helpers, for programs that call them.

gradstep has one backend, NumPy: ``backend()`` says so. ``floatx``,
``image_data_format`` and their setters are ``gradstep.config``'s.
``epsilon()`` is Keras's fuzz factor, 1e-7, which gradstep's losses and
constraints use as Keras's do; ``set_epsilon`` changes what ``epsilon()``
returns (for a program's own formulas), not the constants inside gradstep's
losses. ``clear_session()`` starts layer names afresh (``dense``,
``dense_1``, ... again), as Keras's does.
"""

from __future__ import annotations

import gc

import numpy as np

from gradstep.config import floatx, image_data_format, set_floatx, set_image_data_format
from gradstep.validation import check_real

__all__ = [
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "image_data_format",
    "is_float_dtype",
    "is_int_dtype",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
]

_EPSILON = [1e-7]


def backend() -> str:
    """The name of the backend: ``"numpy"``."""
    return "numpy"


def epsilon() -> float:
    """The fuzz factor (1e-7 unless ``set_epsilon`` changed it)."""
    return _EPSILON[0]


def set_epsilon(value: float) -> None:
    """Set what ``epsilon()`` returns (a positive number)."""
    _EPSILON[0] = float(check_real(value, "set_epsilon: value", low=0, include_low=False))


def clear_session(free_memory: bool = True) -> None:
    """Start layer names afresh (Keras's ``clear_session``), and collect garbage."""
    from gradstep.layers.base import reset_names

    reset_names()
    if free_memory:
        gc.collect()


def is_float_dtype(dtype) -> bool:
    """Whether ``dtype`` is a floating-point type."""
    return np.dtype(dtype).kind == "f"


def is_int_dtype(dtype) -> bool:
    """Whether ``dtype`` is an integer type."""
    return np.dtype(dtype).kind in "iu"
