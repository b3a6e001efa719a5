"""Special functions the ops need, with their slopes."""

from __future__ import annotations

import math

import numpy as np

from gradstep.ops.primitive import Primitive

_erf_values = np.vectorize(math.erf, otypes=[np.float64])


def _erf(x):
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    return _erf_values(x).astype(dtype)


#: d erf(x) / dx = 2 / sqrt(pi) * exp(-x^2)
erf = Primitive("erf", _erf, lambda g, y, x: g * (2.0 / np.sqrt(np.pi)) * np.exp(-np.square(x)))
