"""Lion's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order::

    w -= lr * sign(m * beta_1 + g * (1 - beta_1))
    m = m * beta_2 + g * (1 - beta_2);   m = 0 where |m| < tiny

so the two give the same numbers (tests/kernels/test_twins.py).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels


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
    scratch = gradient * omb1
    direction = momentum * beta_1
    direction += scratch
    np.sign(direction, out=direction)
    direction *= lr
    variable -= direction
    np.multiply(gradient, omb2, out=scratch)
    momentum *= beta_2
    momentum += scratch
    kernels.flush_subnormals(momentum)


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
