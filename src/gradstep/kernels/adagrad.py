"""Adagrad's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order::

    s += g * g
    w -= (lr * g) / (sqrt(s + eps_inside) + eps_outside)

so the two give the same numbers (tests/kernels/test_twins.py). Keras puts
epsilon inside the square root, PyTorch outside it (the other is 0). The sum
only grows, so it needs no flush of subnormal numbers.
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def adagrad_update(variable, gradient, accumulator, learning_rate, eps_inside, eps_outside):
    """Update ``variable`` and ``accumulator`` in place."""
    dtype = variable.dtype.type
    scalars = (dtype(learning_rate), dtype(eps_inside), dtype(eps_outside))
    arrays = (variable, gradient, accumulator)
    if kernels.fusable(*arrays) and kernels.try_launch("adagrad", _compile, arrays, scalars):
        return
    adagrad_update_numpy(*arrays, *scalars)


def adagrad_update_numpy(variable, gradient, accumulator, lr, eps_inside, eps_outside):
    """The NumPy twin: one temporary, every operation in place."""
    note(variable, "accumulator before (sum of g*g)", accumulator)
    scratch = gradient * gradient
    accumulator += scratch
    note(variable, "accumulator after = accumulator + g*g", accumulator)
    np.add(accumulator, eps_inside, out=scratch)
    note(variable, "epsilon inside the root", eps_inside)
    np.sqrt(scratch, out=scratch)
    scratch += eps_outside
    note(variable, "epsilon outside the root", eps_outside)
    note(variable, "denominator = sqrt(accumulator + epsilon inside) + epsilon outside", scratch)
    np.divide(lr * gradient, scratch, out=scratch)
    note(variable, "step = learning_rate * g / denominator, subtracted", scratch)
    variable -= scratch


def _compile():
    @kernels.jit()
    def adagrad(variable, gradient, accumulator, lr, eps_inside, eps_outside):
        for i in range(variable.size):
            g = gradient[i]
            s = accumulator[i] + g * g
            accumulator[i] = s
            variable[i] -= (lr * g) / (np.sqrt(s + eps_inside) + eps_outside)

    return adagrad
