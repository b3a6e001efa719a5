"""Schedule-Free AdamW's update of one parameter, in NumPy and fused in one
pass (numba).

Both compute, in the parameter's dtype and in this order (``y`` the weights
the model sees, ``z`` the SGD sequence, ``c = 1 - beta_2^t``, ``c_t = 1/t``)::

    v += (g * g - v) * (1 - beta_2);   v = 0 where v < tiny
    z_old = z
    z -= (lr * g) / (sqrt(v / c) + epsilon)
    x_old = (y - (1 - beta_1) * z_old) / beta_1
    x_new = (1 - c_t) * x_old + c_t * z
    y = (1 - beta_1) * z + beta_1 * x_new

so the two give the same numbers (tests/kernels/test_twins.py).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def schedule_free_update(
    variable,
    gradient,
    sequence,
    second_moment,
    learning_rate,
    beta_1,
    beta_2,
    epsilon,
    bias_correction_2,
    average_weight,
):
    """Update ``variable`` (y), ``sequence`` (z) and ``second_moment`` in place."""
    dtype = variable.dtype.type
    scalars = tuple(
        dtype(s)
        for s in (
            learning_rate,
            beta_1,
            1 - beta_1,
            1 - beta_2,
            epsilon,
            bias_correction_2,
            average_weight,
            1 - average_weight,
        )
    )
    arrays = (variable, gradient, sequence, second_moment)
    if kernels.fusable(*arrays) and kernels.try_launch(
        "schedule_free", _compile, arrays, (*scalars, kernels.smallest_normal(dtype))
    ):
        return
    schedule_free_update_numpy(*arrays, *scalars)


def schedule_free_update_numpy(
    variable,
    gradient,
    sequence,
    second_moment,
    lr,
    beta_1,
    omb1,
    omb2,
    epsilon,
    c,
    weight,
    one_minus_weight,
):
    """The NumPy twin: two temporaries, every operation in place."""
    note(variable, "v before (second moment)", second_moment)
    note(variable, "z before (the SGD sequence)", sequence)
    scratch = gradient * gradient
    scratch -= second_moment
    scratch *= omb2
    second_moment += scratch
    kernels.flush_subnormals(second_moment, non_negative=True)
    note(variable, "1 - beta_2", omb2)
    note(variable, "v after = v + (g*g - v) * (1 - beta_2)", second_moment)
    x = sequence * omb1
    np.subtract(variable, x, out=x)
    x /= beta_1
    note(variable, "beta_1", beta_1)
    note(variable, "x = (y - (1 - beta_1) * z) / beta_1, the running average", x)
    x *= one_minus_weight
    np.divide(second_moment, c, out=scratch)
    note(variable, "bias correction of v: 1 - beta_2^t", c)
    np.sqrt(scratch, out=scratch)
    scratch += epsilon
    note(variable, "epsilon, added outside the square root", epsilon)
    note(variable, "sqrt(v / (1 - beta_2^t)) + epsilon", scratch)
    np.divide(lr * gradient, scratch, out=scratch)
    note(variable, "learning rate after warmup", lr)
    note(
        variable, "z step = learning_rate * g / (sqrt(v_hat) + epsilon), subtracted from z", scratch
    )
    sequence -= scratch
    note(variable, "z after", sequence)
    np.multiply(sequence, weight, out=scratch)
    x += scratch
    note(variable, "averaging weight c_t = 1 / t", weight)
    note(variable, "x after = (1 - c_t) * x + c_t * z", x)
    x *= beta_1
    np.multiply(sequence, omb1, out=variable)
    variable += x
    note(variable, "y = (1 - beta_1) * z + beta_1 * x, the new weight", variable)


def _compile():
    @kernels.jit()
    def schedule_free(
        variable,
        gradient,
        sequence,
        second_moment,
        lr,
        beta_1,
        omb1,
        omb2,
        epsilon,
        c,
        weight,
        one_minus_weight,
        tiny,
    ):
        zero = tiny - tiny
        for i in range(variable.size):
            g = gradient[i]
            v = second_moment[i] + (g * g - second_moment[i]) * omb2
            v = zero if v < tiny else v
            second_moment[i] = v
            x_old = (variable[i] - sequence[i] * omb1) / beta_1
            z = sequence[i] - (lr * g) / (np.sqrt(v / c) + epsilon)
            sequence[i] = z
            x_new = x_old * one_minus_weight + z * weight
            variable[i] = z * omb1 + x_new * beta_1

    return schedule_free
