"""Adam's update of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in this order::

    m += (g - m) * (1 - beta_1);  m = 0 where |m| < tiny
    v += (g * g - v) * (1 - beta_2);  v = 0 where v < tiny
    v_hat = max(v_hat, v)                     (amsgrad only; replaces v below)
    w -= (m / (sqrt(v) + epsilon)) * alpha

so the two give the same numbers (tests/kernels/test_adam.py).

``tiny`` is the dtype's smallest normal number. Moments that decay below it
(weights whose gradient stays exactly zero, such as those fed by a pixel that
is always blank) are flushed to zero, as XLA's CPU runtime does under Keras:
arithmetic on subnormal floats is about a hundred times slower on x86 and
would otherwise double the time of every later step.
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels


def adam_update(
    variable,
    gradient,
    first_moment,
    second_moment,
    max_second_moment,
    alpha,
    beta_1,
    beta_2,
    epsilon,
):
    """Update ``variable`` and the moments in place. ``max_second_moment`` is
    None unless AMSGrad is on."""
    if kernels.use_numba() and variable.flags.c_contiguous and gradient.flags.c_contiguous:
        amsgrad = max_second_moment is not None
        dtype = variable.dtype.type
        arrays = [
            variable,
            gradient.astype(variable.dtype, copy=False),
            first_moment,
            second_moment,
        ]
        arrays += [max_second_moment] if amsgrad else []
        scalars = [dtype(alpha), dtype(1 - beta_1), dtype(1 - beta_2), dtype(epsilon)]
        scalars.append(np.finfo(dtype).tiny)
        name = "adam_amsgrad" if amsgrad else "adam"
        kernels.launch(name, lambda: _compile(amsgrad), arrays, scalars)
        return
    adam_update_numpy(
        variable,
        gradient,
        first_moment,
        second_moment,
        max_second_moment,
        alpha,
        beta_1,
        beta_2,
        epsilon,
    )


def adam_update_numpy(
    variable,
    gradient,
    first_moment,
    second_moment,
    max_second_moment,
    alpha,
    beta_1,
    beta_2,
    epsilon,
):
    """The NumPy twin: one temporary, every operation in place."""
    # Scalars in the parameter's dtype, as the fused kernel has them: a float64
    # alpha against float32 moments would otherwise round differently.
    dtype = variable.dtype.type
    alpha, epsilon = dtype(alpha), dtype(epsilon)
    tiny = np.finfo(dtype).tiny
    one_minus_beta_1, one_minus_beta_2 = dtype(1 - beta_1), dtype(1 - beta_2)
    scratch = gradient - first_moment
    scratch *= one_minus_beta_1
    first_moment += scratch
    np.copyto(first_moment, 0, where=np.abs(first_moment) < tiny)
    np.square(gradient, out=scratch)
    scratch -= second_moment
    scratch *= one_minus_beta_2
    second_moment += scratch
    np.copyto(second_moment, 0, where=second_moment < tiny)
    if max_second_moment is not None:
        second_moment = np.maximum(max_second_moment, second_moment, out=max_second_moment)
    np.sqrt(second_moment, out=scratch)
    scratch += epsilon
    np.divide(first_moment, scratch, out=scratch)
    scratch *= alpha
    variable -= scratch


def _compile(amsgrad: bool):
    import numba

    # error_model="numpy" drops the zero-division check that would stop LLVM
    # from vectorizing the loop; no fastmath, so rounding stays NumPy's.
    jit = numba.njit(cache=True, nogil=True, error_model="numpy")

    if not amsgrad:

        @jit
        def fused(
            variable,
            gradient,
            first_moment,
            second_moment,
            alpha,
            one_minus_beta_1,
            one_minus_beta_2,
            epsilon,
            tiny,
        ):
            for i in range(variable.size):
                g = gradient[i]
                m = first_moment[i] + (g - first_moment[i]) * one_minus_beta_1
                v = second_moment[i] + (g * g - second_moment[i]) * one_minus_beta_2
                m = tiny - tiny if abs(m) < tiny else m
                v = tiny - tiny if v < tiny else v
                first_moment[i] = m
                second_moment[i] = v
                variable[i] -= (m / (np.sqrt(v) + epsilon)) * alpha

        return fused

    @jit
    def fused_amsgrad(
        variable,
        gradient,
        first_moment,
        second_moment,
        max_second_moment,
        alpha,
        one_minus_beta_1,
        one_minus_beta_2,
        epsilon,
        tiny,
    ):
        for i in range(variable.size):
            g = gradient[i]
            m = first_moment[i] + (g - first_moment[i]) * one_minus_beta_1
            v = second_moment[i] + (g * g - second_moment[i]) * one_minus_beta_2
            m = tiny - tiny if abs(m) < tiny else m
            v = tiny - tiny if v < tiny else v
            first_moment[i] = m
            second_moment[i] = v
            v_max = max(max_second_moment[i], v)
            max_second_moment[i] = v_max
            variable[i] -= (m / (np.sqrt(v_max) + epsilon)) * alpha

    return fused_amsgrad
