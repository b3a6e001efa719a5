"""LSTMCell: Keras's long short-term memory step, gates in the order i, f, c, o.

Forward (``W`` kernel, ``U`` recurrent kernel, ``b`` bias, ``sigma`` the
recurrent activation, ``phi`` the activation):

    z = x_t W + h_{t-1} U + b = [z_i, z_f, z_c, z_o]
    i = sigma(z_i), f = sigma(z_f), g = phi(z_c), o = sigma(z_o)
    c_t = f * c_{t-1} + i * g
    h_t = o * phi(c_t)                                  (output and state h)

Backward, given ``dh`` (output's slope plus next step's) and ``dc`` (next step's):

    do = dh * phi(c_t)
    dc = dc + dh * o * phi'(c_t)
    di = dc * g,  df = dc * c_{t-1},  dg = dc * i,  dc_{t-1} = dc * f
    dz = [di sigma'(z_i), df sigma'(z_f), dg phi'(z_c), do sigma'(z_o)]
    dW += x_t^T dz,  dU += h_{t-1}^T dz,  db += sum dz
    dx_t = dz W^T,   dh_{t-1} = dz U^T

``dW``, ``dU``, ``db`` and ``dx`` are each one product over all the steps
(``RecurrentCell.finish_backward``). With the default activations (sigmoid,
tanh) and numba installed, the element-wise lines of a step run as one fused
kernel each way (``gradstep.kernels.lstm``), giving the same bits.
"""

from __future__ import annotations

import numpy as np

from gradstep import activations, initializers, scratch
from gradstep.kernels import lstm as lstm_kernels
from gradstep.layers.base import LAYERS
from gradstep.layers.recurrent.cell import RecurrentCell
from gradstep.layers.recurrent.products import masked_matmul, masked_matmul_backward
from gradstep.validation import check_bool


class _UnitForgetBias(initializers.Initializer):
    """``bias_initializer`` for ``(4 units,)`` with the forget gate's block at 1."""

    def __init__(self, base, units: int):
        self.base, self.units = base, units

    def __call__(self, shape, dtype=None, rng=None):
        units = self.units
        return np.concatenate(
            [
                self.base((units,), dtype=dtype, rng=rng),
                np.ones((units,), dtype=dtype),
                self.base((2 * units,), dtype=dtype, rng=rng),
            ]
        )


@LAYERS.register("LSTMCell")
class LSTMCell(RecurrentCell):
    """One LSTM step (Keras's ``LSTMCell``): weights ``kernel (features, 4
    units)``, ``recurrent_kernel (units, 4 units)``, ``bias (4 units,)`` with
    blocks i, f, c, o; states ``[h, c]``; output ``h``.
    ``unit_forget_bias=True`` starts the forget gate's bias at 1."""

    gates = 4

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = check_bool(
            unit_forget_bias, f"LSTMCell {self.name!r} unit_forget_bias"
        )
        self.state_size = [self.units, self.units]

    def bias_initializer_for_build(self):
        if self.unit_forget_bias:
            return _UnitForgetBias(self.bias_initializer, self.units)
        return self.bias_initializer

    def allocate(self, run, batch, steps, dtype):
        """Per step: ``h_{t-1}``, ``c_{t-1}``, the gates ``[i, f, g, o]``,
        ``c_t`` and ``phi(c_t)``."""
        super().allocate(run, batch, steps, dtype)
        units = self.units
        run.saved["c_prev"] = scratch.empty((steps, batch, units), dtype)
        run.saved["gates"] = scratch.empty((steps, batch, 4 * units), dtype)
        run.saved["c"] = scratch.empty((steps, batch, units), dtype)
        run.saved["phi_c"] = scratch.empty((steps, batch, units), dtype)
        run.saved["fused"] = self._fused(dtype)

    def step(self, run, t, states):
        h_prev, c_prev = states
        units = self.units
        saved = run.saved
        run.h_prev[t] = h_prev
        saved["c_prev"][t] = c_prev
        z = run.z[t]
        z += masked_matmul(h_prev, run.recurrent_masks, self.recurrent_kernel)
        gates, c = saved["gates"][t], saved["c"][t]  # gates i, f, g, o
        fused = saved["fused"] and c_prev.dtype == z.dtype
        if fused:
            exp_neg_abs = np.abs(z)
            np.negative(exp_neg_abs, out=exp_neg_abs)
            np.exp(exp_neg_abs, out=exp_neg_abs)
            np.tanh(z[:, 2 * units : 3 * units], out=gates[:, 2 * units : 3 * units])
            lstm_kernels.lstm_step_forward(z, exp_neg_abs, c_prev, gates, c)
        else:
            gates[...] = self.recurrent_activation(z)
            gates[:, 2 * units : 3 * units] = self.activation(z[:, 2 * units : 3 * units])
            i, f = gates[:, :units], gates[:, units : 2 * units]
            np.multiply(f, c_prev, out=c)
            c += i * gates[:, 2 * units : 3 * units]
        phi_c = saved["phi_c"][t]
        if fused:
            np.tanh(c, out=phi_c)
        else:
            phi_c[...] = self.activation(c)
        h = gates[:, 3 * units :] * phi_c
        return h, [h, c]

    def step_backward(self, run, t, output_slope, state_slopes, grads):
        saved = run.saved
        gates, phi_c = saved["gates"][t], saved["phi_c"][t]
        z_slope = run.z_slope[t]
        dtype = gates.dtype
        slopes_dtypes = (output_slope.dtype, state_slopes[0].dtype, state_slopes[1].dtype)
        if saved["fused"] and slopes_dtypes == (dtype, dtype, dtype):
            c_prev_slope = lstm_kernels.lstm_step_backward(
                output_slope, *state_slopes, gates, saved["c_prev"][t], phi_c, z_slope
            )
        else:
            c_prev_slope = self._gates_backward(run, t, output_slope, state_slopes, z_slope)
        h_prev_slope = masked_matmul_backward(
            run.h_prev[t], run.recurrent_masks, self.recurrent_kernel, z_slope, None, True
        )
        return [h_prev_slope, c_prev_slope]

    def _fused(self, dtype) -> bool:
        """Whether the fused kernels do the steps' element-wise work: Keras's
        default activations, numba installed (kernels/lstm.py)."""
        return (
            type(self.recurrent_activation) is activations.Sigmoid
            and type(self.activation) is activations.Tanh
            and lstm_kernels.fused(dtype)
        )

    def _gates_backward(self, run, t, output_slope, state_slopes, z_slope):
        """The slope at ``z`` (into ``z_slope``) and at ``c_{t-1}``."""
        units = self.units
        saved = run.saved
        gates, c, phi_c = saved["gates"][t], saved["c"][t], saved["phi_c"][t]
        z = run.z[t]
        i, f = gates[:, :units], gates[:, units : 2 * units]
        candidate, o = gates[:, 2 * units : 3 * units], gates[:, 3 * units :]
        h_slope = output_slope + state_slopes[0]
        c_slope = state_slopes[1] + self.activation.backward(c, phi_c, h_slope * o)
        gate_slopes = np.empty_like(gates)
        np.multiply(c_slope, candidate, out=gate_slopes[:, :units])
        np.multiply(c_slope, saved["c_prev"][t], out=gate_slopes[:, units : 2 * units])
        gate_slopes[:, 2 * units : 3 * units] = 0
        np.multiply(h_slope, phi_c, out=gate_slopes[:, 3 * units :])
        z_slope[...] = self.recurrent_activation.backward(z, gates, gate_slopes)
        z_slope[:, 2 * units : 3 * units] = self.activation.backward(
            z[:, 2 * units : 3 * units], candidate, c_slope * i
        )
        return c_slope * f

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config
