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

import functools
from typing import NamedTuple

import numpy as np

from gradstep import kernels
from gradstep.kernels.trace import note


class AdamScalars(NamedTuple):
    """One step's scalars in the parameter's dtype, in the fused kernel's order.

    Both versions compute with these: a float64 alpha against float32 moments
    would otherwise round differently.
    """

    alpha: np.floating
    one_minus_beta_1: np.floating
    one_minus_beta_2: np.floating
    epsilon: np.floating
    tiny: np.floating


def adam_scalars(dtype, alpha, beta_1, beta_2, epsilon) -> AdamScalars:
    """The scalars of ``adam_update`` for parameters of ``dtype``."""
    cast, one_minus_beta_1, one_minus_beta_2, tiny = _lasting_scalars(
        np.dtype(dtype), beta_1, beta_2
    )
    return AdamScalars(cast(alpha), one_minus_beta_1, one_minus_beta_2, cast(epsilon), tiny)


@functools.lru_cache(maxsize=256)
def _lasting_scalars(dtype: np.dtype, beta_1, beta_2) -> tuple:
    """The dtype's scalar type and the scalars that stay the same from step to
    step (unless a schedule cycles ``beta_1``), converted once."""
    cast = dtype.type
    return cast, cast(1 - beta_1), cast(1 - beta_2), kernels.smallest_normal(cast)


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
    scalars = adam_scalars(variable.dtype, alpha, beta_1, beta_2, epsilon)
    adam_update_in_dtype(
        variable, gradient, first_moment, second_moment, max_second_moment, scalars
    )


def adam_update_in_dtype(
    variable, gradient, first_moment, second_moment, max_second_moment, scalars: AdamScalars
):
    """``adam_update`` with the scalars already in the parameter's dtype (the
    ``Adam`` optimizer converts them once a step, not once per parameter)."""
    if kernels.use_numba() and variable.flags.c_contiguous and gradient.flags.c_contiguous:
        amsgrad = max_second_moment is not None
        arrays = [
            variable,
            gradient.astype(variable.dtype, copy=False),
            first_moment,
            second_moment,
        ]
        arrays += [max_second_moment] if amsgrad else []
        name = "adam_amsgrad" if amsgrad else "adam"
        if kernels.try_launch(name, lambda: _compile(amsgrad), arrays, scalars):
            return
    adam_update_numpy(variable, gradient, first_moment, second_moment, max_second_moment, scalars)


class PreparedAdam:
    """``adam_update_in_dtype`` for one parameter whose arrays stay the same
    from step to step (an optimizer's parameter and its moments), with what
    does not change looked up once: the kernel's name, whether the arrays fit
    it, their flat views, and the kernel once it is ready. Each step then
    costs one check of the new gradient and one call. Same numbers as
    ``adam_update_in_dtype``: the same kernel or the same twin."""

    def __init__(self, variable, first_moment, second_moment, max_second_moment):
        self.arrays = (variable, first_moment, second_moment, max_second_moment)
        slots = [a for a in self.arrays[1:] if a is not None]
        self.amsgrad = max_second_moment is not None
        self.name = "adam_amsgrad" if self.amsgrad else "adam"
        self.dtype = variable.dtype
        self.fits_kernel = all(
            a.flags.c_contiguous and a.flags.writeable and a.dtype == variable.dtype
            for a in (variable, *slots)
        )
        self.flat = [a.reshape(-1) for a in (variable, *slots)] if self.fits_kernel else None
        # after the gradient, the slots' flat views; and whether the kernel runs in slices
        self.flat_slots = tuple(self.flat[1:]) if self.fits_kernel else ()
        self.split = variable.size >= kernels.PARALLEL_MIN_SIZE
        self.kernel = None

    def holds(self, variable, first_moment, second_moment, max_second_moment) -> bool:
        """Whether these are still the arrays it was prepared for."""
        arrays = self.arrays
        return (
            arrays[0] is variable
            and arrays[1] is first_moment
            and arrays[2] is second_moment
            and arrays[3] is max_second_moment
        )

    def update(self, gradient, scalars: AdamScalars) -> None:
        if (
            self.fits_kernel
            and gradient.dtype == self.dtype
            and gradient.flags.c_contiguous
            and kernels.use_numba()
        ):
            variable = self.flat[0]
            arguments = (variable, gradient.reshape(-1), *self.flat_slots, *scalars)
            kernel = self.kernel
            if kernel is None:  # not loaded yet: ask again (which counts the twin's cost)
                kernel = self.kernel = kernels.ready(
                    self.name, lambda: _compile(self.amsgrad), arguments, variable.size
                )
            if kernel is not None and not self.split:
                kernel(*arguments)
            elif kernel is not None:
                kernels.run_flat(kernel, arguments, len(self.flat) + 1)
            else:  # the twin, whose cost ``ready`` counted
                adam_update_numpy(*self.arrays[:1], gradient, *self.arrays[1:], scalars)
            return
        variable, first_moment, second_moment, max_second_moment = self.arrays
        adam_update_in_dtype(
            variable, gradient, first_moment, second_moment, max_second_moment, scalars
        )


def adam_update_numpy(
    variable, gradient, first_moment, second_moment, max_second_moment, scalars: AdamScalars
):
    """The NumPy twin: one temporary, every operation in place."""
    alpha, one_minus_beta_1, one_minus_beta_2, epsilon, tiny = scalars
    note(variable, "m before (first moment)", first_moment)
    note(variable, "v before (second moment)", second_moment)
    scratch = gradient - first_moment
    scratch *= one_minus_beta_1
    first_moment += scratch
    np.copyto(first_moment, 0, where=np.abs(first_moment) < tiny)
    note(variable, "1 - beta_1", one_minus_beta_1)
    note(variable, "m after = m + (g - m) * (1 - beta_1)", first_moment)
    np.square(gradient, out=scratch)
    scratch -= second_moment
    scratch *= one_minus_beta_2
    second_moment += scratch
    np.copyto(second_moment, 0, where=second_moment < tiny)
    note(variable, "1 - beta_2", one_minus_beta_2)
    note(variable, "v after = v + (g*g - v) * (1 - beta_2)", second_moment)
    if max_second_moment is not None:
        note(variable, "v_hat before (AMSGrad's largest v)", max_second_moment)
        second_moment = np.maximum(max_second_moment, second_moment, out=max_second_moment)
        note(variable, "v_hat after = max(v_hat, v), used for v below", second_moment)
    np.sqrt(second_moment, out=scratch)
    note(variable, "sqrt(v)", scratch)
    scratch += epsilon
    note(variable, "epsilon, added outside the square root", epsilon)
    note(variable, "sqrt(v) + epsilon", scratch)
    np.divide(first_moment, scratch, out=scratch)
    note(variable, "m / (sqrt(v) + epsilon)", scratch)
    scratch *= alpha
    note(variable, "alpha, the bias-corrected rate", alpha)
    note(variable, "step = alpha * m / (sqrt(v) + epsilon), subtracted", scratch)
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
            v_old = max_second_moment[i]
            # np.maximum(v_hat, v): a NaN on either side is the result (max() would drop v's)
            v_max = v_old if v_old >= v or v_old != v_old else v
            max_second_moment[i] = v_max
            variable[i] -= (m / (np.sqrt(v_max) + epsilon)) * alpha

    return fused_amsgrad
