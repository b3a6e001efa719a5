"""Adamax's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order (``c = 1 - beta_1^t``)::

    m += (g - m) * (1 - beta_1);                  m = 0 where |m| < tiny
    u = maximum(beta_2 * u, |g| + eps_inside);    u = 0 where u < tiny
    w -= (lr * m) / ((u + eps_outside) * c)

so the two give the same numbers (tests/kernels/test_twins.py). Keras adds
epsilon to ``u`` in the step (``eps_inside = 0``), PyTorch to ``|g|`` inside
the maximum (``eps_outside = 0``); adding 0 changes nothing.
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


def adamax_update(
    variable,
    gradient,
    first_moment,
    norm,
    learning_rate,
    beta_1,
    beta_2,
    eps_inside,
    eps_outside,
    bias_correction,
):
    """Update ``variable``, the first moment and the infinity norm in place;
    ``bias_correction`` is ``1 - beta_1^t``."""
    dtype = variable.dtype.type
    scalars = tuple(
        dtype(s)
        for s in (learning_rate, 1 - beta_1, beta_2, eps_inside, eps_outside, bias_correction)
    )
    arrays = (variable, gradient, first_moment, norm)
    if kernels.fusable(*arrays) and kernels.try_launch(
        "adamax", _compile, arrays, (*scalars, kernels.smallest_normal(dtype))
    ):
        return
    adamax_update_numpy(*arrays, *scalars)


def adamax_update_numpy(
    variable,
    gradient,
    first_moment,
    norm,
    lr,
    one_minus_beta_1,
    beta_2,
    eps_inside,
    eps_outside,
    bias_correction,
):
    """The NumPy twin: one temporary, every operation in place."""
    note(variable, "m before (first moment)", first_moment)
    note(variable, "u before (infinity norm)", norm)
    scratch = gradient - first_moment
    scratch *= one_minus_beta_1
    first_moment += scratch
    kernels.flush_subnormals(first_moment)
    note(variable, "1 - beta_1", one_minus_beta_1)
    note(variable, "m after = m + (g - m) * (1 - beta_1)", first_moment)
    np.abs(gradient, out=scratch)
    scratch += eps_inside
    norm *= beta_2
    np.maximum(norm, scratch, out=norm)
    kernels.flush_subnormals(norm, non_negative=True)
    note(variable, "epsilon inside the maximum (PyTorch's placement; else 0)", eps_inside)
    note(variable, "beta_2", beta_2)
    note(variable, "u after = max(beta_2 * u, |g| + epsilon inside)", norm)
    np.add(norm, eps_outside, out=scratch)
    note(variable, "epsilon added to u (Keras's placement; else 0)", eps_outside)
    scratch *= bias_correction
    note(variable, "bias correction 1 - beta_1^t", bias_correction)
    note(variable, "denominator = (u + epsilon) * (1 - beta_1^t)", scratch)
    np.divide(lr * first_moment, scratch, out=scratch)
    note(variable, "step = learning_rate * m / denominator, subtracted", scratch)
    variable -= scratch


def _compile():
    @kernels.jit()
    def adamax(
        variable,
        gradient,
        first_moment,
        norm,
        lr,
        omb1,
        beta_2,
        eps_inside,
        eps_outside,
        correction,
        tiny,
    ):
        zero = tiny - tiny
        for i in range(variable.size):
            g = gradient[i]
            m = first_moment[i] + (g - first_moment[i]) * omb1
            m = zero if abs(m) < tiny else m
            first_moment[i] = m
            decayed, magnitude = norm[i] * beta_2, abs(g) + eps_inside
            # np.maximum's rule, NaN included
            u = magnitude if (magnitude > decayed or magnitude != magnitude) else decayed
            u = zero if u < tiny else u
            norm[i] = u
            variable[i] -= (lr * m) / ((u + eps_outside) * correction)

    return adamax
