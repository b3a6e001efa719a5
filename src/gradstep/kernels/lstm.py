"""One LSTM step's backward pass between the products, as a fused kernel
(numba): the twin of the NumPy lines of ``LSTMCell.step_backward`` for
Keras's default activations (sigmoid gates, tanh candidate and cell output).

With the gates ``i, f, g, o`` and ``phi = tanh(c_t)`` saved by the forward
pass, for every entry (the NumPy pass does each line as a whole-array
operation, about twenty of them; the kernel visits each entry once)::

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


def fused(*arrays: np.ndarray) -> bool:
    """Whether the kernel may run on ``arrays``: numba allowed and installed,
    all of one float dtype it is compiled for."""
    dtype = arrays[0].dtype
    return (
        dtype in FUSED_DTYPES
        and all(array.dtype == dtype for array in arrays)
        and kernels.use_numba()
    )


def lstm_step_backward(output_slope, h_slope_next, c_slope_next, gates, c_prev, phi_c, z_slope):
    """Write the slope at the pre-activations ``z`` (``(batch, 4 units)``,
    gates i, f, g, o) into ``z_slope``; return the slope at ``c_{t-1}``."""
    c_prev_slope = np.empty_like(c_prev)
    kernel = kernels.compiled("lstm_step_backward", _compile)
    kernel(
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
    return c_prev_slope


def _compile():
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
