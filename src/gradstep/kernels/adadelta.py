"""Adadelta's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order (``s`` the mean
square gradient, ``u`` the mean square update)::

    s = rho * s + (1 - rho) * (g * g);          s = 0 where s < tiny
    delta = -((sqrt(u + epsilon) * g) / sqrt(s + epsilon))
    u = rho * u + (1 - rho) * (delta * delta);  u = 0 where u < tiny
    w += lr * delta

so the two give the same numbers (tests/kernels/test_twins.py).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def adadelta_update(variable, gradient, mean_square, mean_square_update, learning_rate, rho, eps):
    """Update ``variable`` and both running means in place."""
    dtype = variable.dtype.type
    scalars = (dtype(learning_rate), dtype(rho), dtype(1 - rho), dtype(eps))
    arrays = (variable, gradient, mean_square, mean_square_update)
    if kernels.fusable(*arrays) and kernels.try_launch(
        "adadelta", _compile, arrays, (*scalars, kernels.smallest_normal(dtype))
    ):
        return
    adadelta_update_numpy(*arrays, *scalars)


def adadelta_update_numpy(
    variable, gradient, mean_square, mean_square_update, lr, rho, one_minus_rho, epsilon
):
    """The NumPy twin: two temporaries, every operation in place."""
    note(variable, "E[g^2] before (mean square gradient)", mean_square)
    note(variable, "E[dx^2] before (mean square update)", mean_square_update)
    scratch = gradient * gradient
    scratch *= one_minus_rho
    mean_square *= rho
    mean_square += scratch
    kernels.flush_subnormals(mean_square, non_negative=True)
    note(variable, "rho", rho)
    note(variable, "E[g^2] after = rho * E[g^2] + (1 - rho) * g*g", mean_square)
    delta = mean_square_update + epsilon
    np.sqrt(delta, out=delta)
    note(variable, "epsilon (inside both roots)", epsilon)
    note(variable, "sqrt(E[dx^2] + epsilon)", delta)
    delta *= gradient
    np.add(mean_square, epsilon, out=scratch)
    np.sqrt(scratch, out=scratch)
    note(variable, "sqrt(E[g^2] + epsilon)", scratch)
    delta /= scratch
    np.negative(delta, out=delta)
    note(variable, "dx = -sqrt(E[dx^2] + epsilon) * g / sqrt(E[g^2] + epsilon)", delta)
    np.multiply(delta, delta, out=scratch)
    scratch *= one_minus_rho
    mean_square_update *= rho
    mean_square_update += scratch
    kernels.flush_subnormals(mean_square_update, non_negative=True)
    note(variable, "E[dx^2] after = rho * E[dx^2] + (1 - rho) * dx*dx", mean_square_update)
    delta *= lr
    note(variable, "step = learning_rate * dx, added", delta)
    variable += delta


def _compile():
    @kernels.jit()
    def adadelta(variable, gradient, mean_square, mean_square_update, lr, rho, omr, eps, tiny):
        zero = tiny - tiny
        for i in range(variable.size):
            g = gradient[i]
            s = rho * mean_square[i] + (g * g) * omr
            s = zero if s < tiny else s
            mean_square[i] = s
            delta = -((np.sqrt(mean_square_update[i] + eps) * g) / np.sqrt(s + eps))
            u = rho * mean_square_update[i] + (delta * delta) * omr
            u = zero if u < tiny else u
            mean_square_update[i] = u
            variable[i] += delta * lr

    return adadelta
