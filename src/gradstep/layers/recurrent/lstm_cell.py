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
"""

from __future__ import annotations

import numpy as np

from gradstep import activations, initializers
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

    def step(self, xw_t, states, run):
        h_prev, c_prev = states
        units = self.units
        z = xw_t + masked_matmul(h_prev, run.recurrent_masks, self.recurrent_kernel)
        gates = self.recurrent_activation(z)  # i, f, (unused), o
        candidate = self.activation(z[:, 2 * units : 3 * units])
        i, f, o = gates[:, :units], gates[:, units : 2 * units], gates[:, 3 * units :]
        c = f * c_prev + i * candidate
        phi_c = self.activation(c)
        h = o * phi_c
        return h, [h, c], (h_prev, c_prev, z, gates, candidate, c, phi_c)

    def step_backward(self, cache, output_slope, state_slopes, run, grads):
        h_prev, c_prev, z, gates, candidate, c, phi_c = cache
        units = self.units
        i, f, o = gates[:, :units], gates[:, units : 2 * units], gates[:, 3 * units :]
        h_slope = output_slope + state_slopes[0]
        c_slope = state_slopes[1] + self.activation.backward(c, phi_c, h_slope * o)
        gate_slopes = np.empty_like(z)
        gate_slopes[:, :units] = c_slope * candidate
        gate_slopes[:, units : 2 * units] = c_slope * c_prev
        gate_slopes[:, 2 * units : 3 * units] = 0
        gate_slopes[:, 3 * units :] = h_slope * phi_c
        z_slope = self.recurrent_activation.backward(z, gates, gate_slopes)
        z_slope[:, 2 * units : 3 * units] = self.activation.backward(
            z[:, 2 * units : 3 * units], candidate, c_slope * i
        )
        h_prev_slope = masked_matmul_backward(
            h_prev,
            run.recurrent_masks,
            self.recurrent_kernel,
            z_slope,
            grads["recurrent_kernel"],
            True,
        )
        return z_slope, [h_prev_slope, c_slope * f]

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        return config
