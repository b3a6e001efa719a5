"""Nadam's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order (the coefficients
``c_m = mu_{t+1} / (1 - prod mu_1..mu_{t+1})``, ``c_g = (1 - mu_t) / (1 - prod
mu_1..mu_t)`` and ``c_v = 1 - beta_2^t`` come from the optimizer)::

    m += (g - m) * (1 - beta_1);       m = 0 where |m| < tiny
    v += (g * g - v) * (1 - beta_2);   v = 0 where v < tiny
    m_hat = m * c_m + g * c_g
    w -= (m_hat * lr) / (sqrt(v / c_v) + epsilon)

so the two give the same numbers (tests/kernels/test_twins.py).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def nadam_update(
    variable,
    gradient,
    first_moment,
    second_moment,
    learning_rate,
    beta_1,
    beta_2,
    epsilon,
    momentum_coefficient,
    gradient_coefficient,
    bias_correction_2,
):
    """Update ``variable`` and the moments in place."""
    dtype = variable.dtype.type
    scalars = tuple(
        dtype(s)
        for s in (
            learning_rate,
            1 - beta_1,
            1 - beta_2,
            epsilon,
            momentum_coefficient,
            gradient_coefficient,
            bias_correction_2,
        )
    )
    arrays = (variable, gradient, first_moment, second_moment)
    if kernels.fusable(*arrays) and kernels.try_launch(
        "nadam", _compile, arrays, (*scalars, kernels.smallest_normal(dtype))
    ):
        return
    nadam_update_numpy(*arrays, *scalars)


def nadam_update_numpy(
    variable, gradient, first_moment, second_moment, lr, omb1, omb2, epsilon, c_m, c_g, c_v
):
    """The NumPy twin: two temporaries, every operation in place."""
    note(variable, "m before (first moment)", first_moment)
    note(variable, "v before (second moment)", second_moment)
    scratch = gradient - first_moment
    scratch *= omb1
    first_moment += scratch
    kernels.flush_subnormals(first_moment)
    note(variable, "1 - beta_1", omb1)
    note(variable, "m after = m + (g - m) * (1 - beta_1)", first_moment)
    np.multiply(gradient, gradient, out=scratch)
    scratch -= second_moment
    scratch *= omb2
    second_moment += scratch
    kernels.flush_subnormals(second_moment, non_negative=True)
    note(variable, "1 - beta_2", omb2)
    note(variable, "v after = v + (g*g - v) * (1 - beta_2)", second_moment)
    m_hat = first_moment * c_m
    np.multiply(gradient, c_g, out=scratch)
    m_hat += scratch
    note(variable, "momentum coefficient c_m (next momentum over the product)", c_m)
    note(variable, "gradient coefficient c_g (this momentum's share)", c_g)
    note(variable, "m_hat = c_m * m + c_g * g (Nesterov's look-ahead)", m_hat)
    m_hat *= lr
    np.divide(second_moment, c_v, out=scratch)
    note(variable, "bias correction of v: 1 - beta_2^t", c_v)
    note(variable, "v_hat = v / (1 - beta_2^t)", scratch)
    np.sqrt(scratch, out=scratch)
    scratch += epsilon
    note(variable, "epsilon, added outside the square root", epsilon)
    note(variable, "sqrt(v_hat) + epsilon", scratch)
    m_hat /= scratch
    note(variable, "step = learning_rate * m_hat / (sqrt(v_hat) + epsilon), subtracted", m_hat)
    variable -= m_hat


def _compile():
    @kernels.jit()
    def nadam(
        variable,
        gradient,
        first_moment,
        second_moment,
        lr,
        omb1,
        omb2,
        epsilon,
        c_m,
        c_g,
        c_v,
        tiny,
    ):
        zero = tiny - tiny
        for i in range(variable.size):
            g = gradient[i]
            m = first_moment[i] + (g - first_moment[i]) * omb1
            v = second_moment[i] + (g * g - second_moment[i]) * omb2
            m = zero if abs(m) < tiny else m
            v = zero if v < tiny else v
            first_moment[i] = m
            second_moment[i] = v
            m_hat = m * c_m + g * c_g
            variable[i] -= (m_hat * lr) / (np.sqrt(v / c_v) + epsilon)

    return nadam
