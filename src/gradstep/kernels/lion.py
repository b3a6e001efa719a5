"""Lion's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order::

    w -= lr * sign(m * beta_1 + g * (1 - beta_1))
    m = m * beta_2 + g * (1 - beta_2);   m = 0 where |m| < tiny

so the two give the same numbers (tests/kernels/test_twins.py).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def lion_update(variable, gradient, momentum, learning_rate, beta_1, beta_2):
    """Update ``variable`` and ``momentum`` in place."""
    dtype = variable.dtype.type
    scalars = tuple(dtype(s) for s in (learning_rate, beta_1, 1 - beta_1, beta_2, 1 - beta_2))
    arrays = (variable, gradient, momentum)
    if kernels.fusable(*arrays) and kernels.try_launch(
        "lion", _compile, arrays, (*scalars, kernels.smallest_normal(dtype))
    ):
        return
    lion_update_numpy(*arrays, *scalars)


def lion_update_numpy(variable, gradient, momentum, lr, beta_1, omb1, beta_2, omb2):
    """The NumPy twin: one temporary, every operation in place."""
    note(variable, "m before (momentum)", momentum)
    scratch = gradient * omb1
    direction = momentum * beta_1
    direction += scratch
    note(variable, "beta_1", beta_1)
    note(variable, "c = beta_1 * m + (1 - beta_1) * g", direction)
    np.sign(direction, out=direction)
    note(variable, "sign(c)", direction)
    direction *= lr
    note(variable, "step = learning_rate * sign(c), subtracted", direction)
    variable -= direction
    np.multiply(gradient, omb2, out=scratch)
    momentum *= beta_2
    momentum += scratch
    kernels.flush_subnormals(momentum)
    note(variable, "beta_2", beta_2)
    note(variable, "m after = beta_2 * m + (1 - beta_2) * g", momentum)


def _compile():
    @kernels.jit()
    def lion(variable, gradient, momentum, lr, beta_1, omb1, beta_2, omb2, tiny):
        zero = tiny - tiny
        for i in range(variable.size):
            g, m = gradient[i], momentum[i]
            variable[i] -= lr * np.sign(m * beta_1 + g * omb1)
            m = m * beta_2 + g * omb2
            momentum[i] = zero if abs(m) < tiny else m

    return lion
