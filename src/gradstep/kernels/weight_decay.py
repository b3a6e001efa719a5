"""Decoupled weight decay of one parameter, in NumPy and fused in one pass (numba).

Both compute, in the parameter's dtype and in Keras's order::

    w -= (w * weight_decay) * learning_rate

so the two give the same numbers (tests/kernels/test_twins.py); the NumPy
twin needs a temporary and three passes, the kernel one.
"""

from __future__ import annotations

from gradstep import kernels


def decay_weights(variable, weight_decay, learning_rate):
    """Shrink ``variable`` in place."""
    dtype = variable.dtype.type
    rate, lr = dtype(weight_decay), dtype(learning_rate)
    if kernels.fusable(variable) and kernels.try_launch(
        "weight_decay", _compile, [variable], (rate, lr)
    ):
        return
    decay_weights_numpy(variable, rate, lr)


def decay_weights_numpy(variable, rate, lr):
    """The NumPy twin."""
    decay = variable * rate
    decay *= lr
    variable -= decay


def _compile():
    @kernels.jit()
    def weight_decay(variable, rate, lr):
        for i in range(variable.size):
            variable[i] -= (variable[i] * rate) * lr

    return weight_decay
