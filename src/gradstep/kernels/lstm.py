"""One LSTM step's element-wise work, forward and backward, as fused kernels
(numba): twins of the NumPy lines of ``LSTMCell.step`` and
``LSTMCell.step_backward`` for Keras's default activations (sigmoid gates,
tanh candidate and cell output). The NumPy pass does each line as a
whole-array operation (about ten forward, twenty backward); a kernel visits
each entry once.

Forward, given ``z`` (the step's pre-activations, blocks i, f, g, o), ``e =
exp(-|z|)`` and ``g = tanh(z_g)`` (NumPy's exp and tanh: the kernel computes
no transcendental function, so that its bits are NumPy's)::

    sigmoid(z) = 1 / (1 + e)  where z >= 0,  e / (1 + e)  elsewhere   (as activations.sigmoid)
    c_t = f * c_prev + i * g

Backward, with the gates ``i, f, g, o`` and ``phi = tanh(c_t)`` saved by the
forward pass::

    dh   = output_slope + dh_next
    dc   = dc_next + (dh * o) * (1 - phi * phi)
    dz_i = ((dc * g) * i) * (1 - i)          dz_f = ((dc * c_prev) * f) * (1 - f)
    dz_g = (dc * i) * (1 - g * g)            dz_o = ((dh * phi) * o) * (1 - o)
    dc_prev = dc * f

Each operation in the NumPy pass's order and in the arrays' dtype (no
fastmath, so no fused multiply-add): both give the same bits
(tests/kernels/test_lstm.py).
"""

from __future__ import annotations

import numpy as np

from gradstep import kernels

#: The dtypes the kernel is compiled for.
FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def fused(dtype) -> bool:
    """Whether the kernels may run on arrays of ``dtype``: numba allowed and
    installed, a float dtype they are compiled for."""
    return np.dtype(dtype) in FUSED_DTYPES and kernels.use_numba()


def lstm_step_forward(z, exp_neg_abs, c_prev, gates, c) -> None:
    """Write the gates i, f, o (``sigmoid(z)``) into ``gates``, whose block g
    already holds ``tanh(z_g)``, and ``c_t`` into ``c``."""
    arguments = (z, exp_neg_abs, c_prev, gates, c, gates.dtype.type(1))
    kernels.compiled("lstm_step_forward", _compile_forward, arguments)(*arguments)


def lstm_step_backward(output_slope, h_slope_next, c_slope_next, gates, c_prev, phi_c, z_slope):
    """Write the slope at the pre-activations ``z`` (``(batch, 4 units)``,
    gates i, f, g, o) into ``z_slope``; return the slope at ``c_{t-1}``."""
    c_prev_slope = np.empty_like(c_prev)
    arguments = (
        output_slope,
        h_slope_next,
        c_slope_next,
        gates,
        c_prev,
        phi_c,
        z_slope,
        c_prev_slope,
        gates.dtype.type(1),
    )
    kernels.compiled("lstm_step_backward", _compile_backward, arguments)(*arguments)
    return c_prev_slope


def _compile_forward():
    @kernels.jit()
    def sigmoid(x, e, one):
        return one / (one + e) if x >= 0 else e / (one + e)

    @kernels.jit()
    def lstm_step_forward(z, exp_neg_abs, c_prev, gates, c, one):
        batch, units = c_prev.shape
        for b in range(batch):
            for j in range(units):
                for block in (0, 1, 3):
                    k = block * units + j
                    gates[b, k] = sigmoid(z[b, k], exp_neg_abs[b, k], one)
                i = gates[b, j]
                f = gates[b, units + j]
                g = gates[b, 2 * units + j]
                c[b, j] = f * c_prev[b, j] + i * g

    return lstm_step_forward


def _compile_backward():
    @kernels.jit()
    def lstm_step_backward(
        output_slope, h_slope_next, c_slope_next, gates, c_prev, phi_c, z_slope, c_prev_slope, one
    ):
        batch, units = c_prev.shape
        for b in range(batch):
            for j in range(units):
                i = gates[b, j]
                f = gates[b, units + j]
                g = gates[b, 2 * units + j]
                o = gates[b, 3 * units + j]
                phi = phi_c[b, j]
                h_slope = output_slope[b, j] + h_slope_next[b, j]
                c_slope = c_slope_next[b, j] + (h_slope * o) * (one - phi * phi)
                z_slope[b, j] = ((c_slope * g) * i) * (one - i)
                z_slope[b, units + j] = ((c_slope * c_prev[b, j]) * f) * (one - f)
                z_slope[b, 2 * units + j] = (c_slope * i) * (one - g * g)
                z_slope[b, 3 * units + j] = ((h_slope * phi) * o) * (one - o)
                c_prev_slope[b, j] = c_slope * f

    return lstm_step_backward
