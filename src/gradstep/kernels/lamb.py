"""LAMB's update of one parameter, in NumPy and fused in two passes (numba).

The trust ratio needs the norms of the weights and of Adam's direction, which
are sums over the whole parameter; NumPy sums pairwise, and a kernel could
not add in that order, so both paths take the norms from the same NumPy call
between two element-wise passes. Both compute, in the parameter's dtype and
in this order (``c_1 = 1 - beta_1^t``, ``c_2 = 1 - beta_2^t``)::

    pass 1:  m += (g - m) * (1 - beta_1);  m = 0 where |m| < tiny
             v += (g * g - v) * (1 - beta_2);  v = 0 where v < tiny
             r = (m / c_1) / (sqrt(v / c_2) + epsilon)
    NumPy:   ratio = ||w|| / ||r||   (1 if either is 0)
    pass 2:  w -= r * (ratio * learning_rate)

so the two give the same numbers (tests/kernels/test_lamb.py).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def lamb_direction(gradient, first_moment, second_moment, beta_1, beta_2, epsilon, c_1, c_2):
    """Update the moments in place and return Adam's direction ``r`` (a new array)."""
    dtype = first_moment.dtype.type
    scalars = tuple(dtype(s) for s in (1 - beta_1, 1 - beta_2, epsilon, c_1, c_2))
    direction = np.empty_like(first_moment)
    arrays = (gradient, first_moment, second_moment, direction)
    if kernels.fusable(*arrays) and kernels.try_launch(
        "lamb_direction", _compile_direction, arrays, (*scalars, kernels.smallest_normal(dtype))
    ):
        return direction
    lamb_direction_numpy(*arrays, *scalars)
    return direction


def lamb_direction_numpy(
    gradient,
    first_moment,
    second_moment,
    direction,
    one_minus_beta_1,
    one_minus_beta_2,
    epsilon,
    c_1,
    c_2,
):
    """The NumPy twin of pass 1: one temporary besides ``direction``."""
    # ``gradient`` stands for its weight here (see trace.follow)
    note(gradient, "m before (first moment)", first_moment)
    note(gradient, "v before (second moment)", second_moment)
    scratch = gradient - first_moment
    scratch *= one_minus_beta_1
    first_moment += scratch
    kernels.flush_subnormals(first_moment)
    note(gradient, "1 - beta_1", one_minus_beta_1)
    note(gradient, "m after = m + (g - m) * (1 - beta_1)", first_moment)
    np.multiply(gradient, gradient, out=scratch)
    scratch -= second_moment
    scratch *= one_minus_beta_2
    second_moment += scratch
    kernels.flush_subnormals(second_moment, non_negative=True)
    note(gradient, "1 - beta_2", one_minus_beta_2)
    note(gradient, "v after = v + (g*g - v) * (1 - beta_2)", second_moment)
    np.divide(second_moment, c_2, out=scratch)
    note(gradient, "bias correction of v: 1 - beta_2^t", c_2)
    note(gradient, "v_hat = v / (1 - beta_2^t)", scratch)
    np.sqrt(scratch, out=scratch)
    scratch += epsilon
    note(gradient, "epsilon, added outside the square root", epsilon)
    note(gradient, "sqrt(v_hat) + epsilon", scratch)
    np.divide(first_moment, c_1, out=direction)
    note(gradient, "bias correction of m: 1 - beta_1^t", c_1)
    note(gradient, "m_hat = m / (1 - beta_1^t)", direction)
    direction /= scratch
    note(gradient, "r = m_hat / (sqrt(v_hat) + epsilon)", direction)


def trust_ratio(variable, direction) -> float:
    """``||w|| / ||r||``, or 1 if either norm is 0."""
    weight_norm, direction_norm = np.linalg.norm(variable), np.linalg.norm(direction)
    return float(weight_norm / direction_norm) if weight_norm > 0 and direction_norm > 0 else 1.0


def apply_direction(variable, direction, scale):
    """Pass 2: ``variable -= direction * scale``, in place (``direction`` is spent)."""
    scale = variable.dtype.type(scale)
    if kernels.fusable(variable, direction) and kernels.try_launch(
        "lamb_apply", _compile_apply, (variable, direction), (scale,)
    ):
        return
    direction *= scale
    note(variable, "step = r * trust_ratio * learning_rate, subtracted", direction)
    variable -= direction


def _compile_direction():
    @kernels.jit()
    def fused_direction(
        gradient,
        first_moment,
        second_moment,
        direction,
        one_minus_beta_1,
        one_minus_beta_2,
        epsilon,
        c_1,
        c_2,
        tiny,
    ):
        zero = tiny - tiny
        for i in range(gradient.size):
            g = gradient[i]
            m = first_moment[i] + (g - first_moment[i]) * one_minus_beta_1
            v = second_moment[i] + (g * g - second_moment[i]) * one_minus_beta_2
            m = zero if abs(m) < tiny else m
            v = zero if v < tiny else v
            first_moment[i] = m
            second_moment[i] = v
            direction[i] = (m / c_1) / (np.sqrt(v / c_2) + epsilon)

    return fused_direction


def _compile_apply():
    @kernels.jit()
    def fused_apply(variable, direction, scale):
        for i in range(variable.size):
            variable[i] -= direction[i] * scale

    return fused_apply
