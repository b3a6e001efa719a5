"""Adafactor's element-wise passes over one parameter, in NumPy and fused (numba).

The row and column means of the squared gradient and the root mean squares
of the weights and of the update are sums over the parameter; NumPy sums
pairwise, and a kernel could not add in that order, so both paths take them
from the same NumPy calls, between fused element-wise passes. Both compute,
in the parameter's dtype and in this order (``R`` the row shares ``r /
mean(r)``, ``C`` the column means)::

    factored (2+ dims):
      pass 1:  G = g * g + epsilon_1
      NumPy:   r, c <- from the means of G;  R = r / mean(r)
      pass 2:  v = R[row] * C[column];  u = g / sqrt(v)
    not factored (0 or 1 dim):
      pass 2:  v = beta * v + (1 - beta) * (g * g + epsilon_1);  u = g / sqrt(v)
    NumPy:   d = max(1, rms(u) / clip_threshold)
    pass 3:  w -= alpha * (u / d)

so the two give the same numbers (tests/kernels/test_adafactor.py). No slot
decays towards 0 (``epsilon_1`` keeps ``v`` above it), so none is flushed.

Pass 2 of a factored parameter runs on the calling thread: its row and
column arrays are not the parameter's size, so ``kernels.launch`` cannot
slice them alongside it.
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def regulated_square(gradient, epsilon_1):
    """Pass 1: ``g * g + epsilon_1``, a new array."""
    epsilon_1 = gradient.dtype.type(epsilon_1)
    squared = np.empty_like(gradient)
    if kernels.fusable(gradient) and kernels.try_launch(
        "adafactor_square", _compile_square, (gradient, squared), (epsilon_1,)
    ):
        return squared
    np.multiply(gradient, gradient, out=squared)
    squared += epsilon_1
    return squared


def factored_update(gradient, row_share, column_mean, velocity, out):
    """Pass 2 of a factored parameter: ``velocity`` (in place) and the update
    ``u`` (into ``out``, an array shaped like ``gradient``)."""
    arrays = (gradient, row_share, column_mean, velocity, out)
    if gradient.size and kernels.fusable(*arrays):
        columns = gradient.shape[-1]
        arguments = (
            gradient.reshape(-1, columns),
            row_share.reshape(-1),
            column_mean.reshape(-1, columns),
            velocity.reshape(-1, columns),
            out.reshape(-1, columns),
            gradient.shape[-2],
        )
        kernel = kernels.ready("adafactor_factored", _compile_factored, arguments, gradient.size)
        if kernel is not None:
            kernel(*arguments)
            return
    np.multiply(row_share[..., :, None], column_mean[..., None, :], out=velocity)
    note(gradient, "v = row share * column mean (the factored second moment)", velocity)
    np.sqrt(velocity, out=out)
    np.divide(gradient, out, out=out)
    note(gradient, "u = g / sqrt(v)", out)


def unfactored_update(gradient, velocity, beta, epsilon_1):
    """Pass 2 of a parameter with 0 or 1 dimension: ``velocity`` (in place)
    and the update ``u`` (returned, a new array)."""
    dtype = gradient.dtype.type
    scalars = (dtype(beta), dtype(1 - beta), dtype(epsilon_1))
    update = np.empty_like(gradient)
    arrays = (gradient, velocity, update)
    if kernels.fusable(*arrays) and kernels.try_launch(
        "adafactor_unfactored", _compile_unfactored, arrays, scalars
    ):
        return update
    unfactored_update_numpy(*arrays, *scalars)
    return update


def unfactored_update_numpy(gradient, velocity, update, beta, one_minus_beta, epsilon_1):
    """The NumPy twin of pass 2 without factoring: every operation in place."""
    note(gradient, "v before", velocity)
    np.multiply(gradient, gradient, out=update)
    update += epsilon_1
    note(gradient, "epsilon_1, added to g*g", epsilon_1)
    update *= one_minus_beta
    velocity *= beta
    velocity += update
    note(gradient, "beta = 1 - t^beta_2_decay", beta)
    note(gradient, "v after = beta * v + (1 - beta) * (g*g + epsilon_1)", velocity)
    np.sqrt(velocity, out=update)
    np.divide(gradient, update, out=update)
    note(gradient, "u = g / sqrt(v)", update)


def apply_update(variable, update, alpha, denominator):
    """Pass 3: ``variable -= alpha * (update / denominator)`` in place
    (``update`` is spent)."""
    dtype = variable.dtype.type
    alpha, denominator = dtype(alpha), dtype(denominator)
    if kernels.fusable(variable, update) and kernels.try_launch(
        "adafactor_apply", _compile_apply, (variable, update), (alpha, denominator)
    ):
        return
    update /= denominator
    update *= alpha
    note(variable, "step = alpha * u / d, subtracted", update)
    variable -= update


def _compile_square():
    @kernels.jit()
    def adafactor_square(gradient, squared, epsilon_1):
        for i in range(gradient.size):
            squared[i] = gradient[i] * gradient[i] + epsilon_1

    return adafactor_square


def _compile_factored():
    @kernels.jit()
    def adafactor_factored(gradient, row_share, column_mean, velocity, out, rows):
        for row in range(gradient.shape[0]):
            share = row_share[row]
            means = column_mean[row // rows]
            for column in range(gradient.shape[1]):
                v = share * means[column]
                velocity[row, column] = v
                out[row, column] = gradient[row, column] / np.sqrt(v)

    return adafactor_factored


def _compile_unfactored():
    @kernels.jit()
    def adafactor_unfactored(gradient, velocity, update, beta, one_minus_beta, epsilon_1):
        for i in range(gradient.size):
            g = gradient[i]
            v = beta * velocity[i] + (g * g + epsilon_1) * one_minus_beta
            velocity[i] = v
            update[i] = g / np.sqrt(v)

    return adafactor_unfactored


def _compile_apply():
    @kernels.jit()
    def adafactor_apply(variable, update, alpha, denominator):
        for i in range(variable.size):
            variable[i] -= alpha * (update[i] / denominator)

    return adafactor_apply
