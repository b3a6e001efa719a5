"""SimpleRNNCell: ``h_t = activation(x_t W + b + h_{t-1} U)``.

Backward, with ``a_t`` the pre-activation and ``dh_t`` the slope at ``h_t``
(from the output and from the next step):

    da_t = dh_t * activation'(a_t)
    dW += x_t^T da_t,  dU += h_{t-1}^T da_t,  db += sum da_t
    dx_t = da_t W^T,   dh_{t-1} = da_t U^T
"""

from __future__ import annotations

from gradstep import scratch
from gradstep.layers.base import LAYERS
from gradstep.layers.recurrent.cell import RecurrentCell
from gradstep.layers.recurrent.products import masked_matmul, masked_matmul_backward


@LAYERS.register("SimpleRNNCell")
class SimpleRNNCell(RecurrentCell):
    """One step of a fully connected recurrence (Keras's ``SimpleRNNCell``):
    weights ``kernel (features, units)``, ``recurrent_kernel (units, units)``,
    ``bias (units,)``; state ``[h]``; output ``h``."""

    gates = 1

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.state_size = self.units

    def allocate(self, run, batch, steps, dtype):
        super().allocate(run, batch, steps, dtype)
        run.saved["h"] = scratch.empty((steps, batch, self.units), dtype)

    def step(self, run, t, states):
        h_prev = states[0]
        run.h_prev[t] = h_prev
        pre = run.z[t]
        pre += masked_matmul(h_prev, run.recurrent_masks, self.recurrent_kernel)
        h = run.saved["h"][t]
        h[...] = self.activation(pre)
        return h, [h]

    def step_backward(self, run, t, output_slope, state_slopes, grads):
        slope = output_slope + state_slopes[0]
        pre_slope = run.z_slope[t]
        pre_slope[...] = self.activation.backward(run.z[t], run.saved["h"][t], slope)
        h_prev_slope = masked_matmul_backward(
            run.h_prev[t], run.recurrent_masks, self.recurrent_kernel, pre_slope, None, True
        )
        return [h_prev_slope]
