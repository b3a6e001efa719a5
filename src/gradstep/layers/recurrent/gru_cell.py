"""GRUCell: Keras's gated recurrent unit step, gates in the order z, r, h.

Forward (``W`` kernel, ``U`` recurrent kernel, ``sigma`` the recurrent
activation, ``phi`` the activation; ``reset_after=True``, Keras's default,
with bias ``b`` of shape ``(2, 3 units)``: input bias ``b[0]``, recurrent ``b[1]``):

    x_z, x_r, x_h = x_t W + b[0]
    u_z, u_r, u_h = h_{t-1} U + b[1]
    z = sigma(x_z + u_z),  r = sigma(x_r + u_r)
    hh = phi(x_h + r * u_h)
    h_t = z * h_{t-1} + (1 - z) * hh

With ``reset_after=False`` (bias ``(3 units,)``, inputs only) the reset gate
acts before the product: ``hh = phi(x_h + (r * h_{t-1}) U_h)``.

Backward, given ``dh`` (output's slope plus next step's):

    dz = dh * (h_{t-1} - hh),  dhh = dh * (1 - z),  dh_{t-1} = dh * z + ...
    da_h = dhh * phi'(x_h + r * u_h)
    reset_after:  du_h = da_h * r,  dr = da_h * u_h
    otherwise:    d(r h_{t-1}) = da_h U_h^T,  dr = d(r h_{t-1}) * h_{t-1}
    da_z = dz sigma'(.),  da_r = dr sigma'(.)
    dW += x_t^T [da_z, da_r, da_h];  dU += h_{t-1}^T [da_z, da_r, du_h]
    dh_{t-1} += [da_z, da_r, du_h] U^T
"""

from __future__ import annotations

import numpy as np

from gradstep import activations
from gradstep.layers.base import LAYERS
from gradstep.layers.recurrent.cell import RecurrentCell
from gradstep.layers.recurrent.products import masked_matmul, masked_matmul_backward
from gradstep.validation import check_bool


@LAYERS.register("GRUCell")
class GRUCell(RecurrentCell):
    """One GRU step (Keras's ``GRUCell``): weights ``kernel (features, 3
    units)``, ``recurrent_kernel (units, 3 units)``, ``bias`` ``(2, 3 units)``
    with ``reset_after=True`` else ``(3 units,)``; state ``[h]``; output ``h``."""

    gates = 3

    def __init__(self, units, recurrent_activation="sigmoid", reset_after=True, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = check_bool(reset_after, f"GRUCell {self.name!r} reset_after")
        self.state_size = self.units

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    def add_input_bias_slope(self, grads, slope):
        if self.reset_after:
            grads["bias"][0] += slope
        else:
            grads["bias"] += slope

    def _recurrent_masks(self, run, gates: slice):
        masks = run.recurrent_masks
        if masks is None or len(masks) == 1:
            return masks
        return masks[gates]

    def allocate(self, run, batch, steps, dtype):
        run.saved["caches"] = [None] * steps

    def recurrent_backward(self, run, grads):
        """Nothing left to add: ``step_backward`` adds each step's part of the
        recurrent kernel's slope (the reset gate multiplies the product)."""

    def step(self, run, t, states):
        (h_prev,) = states
        xw_t = run.z[t]
        units = self.units
        kernel = self.recurrent_kernel
        if self.reset_after:
            u = masked_matmul(h_prev, run.recurrent_masks, kernel)
            if self.use_bias:
                u = u + self.bias[1]
            zr_pre = xw_t[:, : 2 * units] + u[:, : 2 * units]
            zr = self.recurrent_activation(zr_pre)
            r = zr[:, units:]
            reset_input = u[:, 2 * units :]
            a_h = xw_t[:, 2 * units :] + r * reset_input
        else:
            u = masked_matmul(
                h_prev, self._recurrent_masks(run, slice(0, 2)), kernel[:, : 2 * units]
            )
            zr_pre = xw_t[:, : 2 * units] + u
            zr = self.recurrent_activation(zr_pre)
            r = zr[:, units:]
            h_masked = self._masked_state(h_prev, run)
            reset_input = r * h_masked
            a_h = xw_t[:, 2 * units :] + reset_input @ kernel[:, 2 * units :]
        z = zr[:, :units]
        hh = self.activation(a_h)
        h = z * h_prev + (1 - z) * hh
        run.saved["caches"][t] = (h_prev, zr_pre, zr, reset_input, a_h, hh)
        return h, [h]

    def _masked_state(self, h_prev, run):
        """``h_{t-1}`` as the candidate's product sees it (its dropout mask)."""
        masks = run.recurrent_masks
        if masks is None:
            return h_prev
        return h_prev * masks[-1] if len(masks) > 1 else h_prev * masks[0]

    def step_backward(self, run, t, output_slope, state_slopes, grads):
        h_prev, zr_pre, zr, reset_input, a_h, hh = run.saved["caches"][t]
        units = self.units
        kernel = self.recurrent_kernel
        z, r = zr[:, :units], zr[:, units:]
        h_slope = output_slope + state_slopes[0]
        a_h_slope = self.activation.backward(a_h, hh, h_slope * (1 - z))
        zr_slope = np.empty_like(zr)
        zr_slope[:, :units] = h_slope * (h_prev - hh)
        xw_slope = run.z_slope[t]
        xw_slope[:, 2 * units :] = a_h_slope
        h_prev_slope = h_slope * z
        if self.reset_after:
            zr_slope[:, units:] = a_h_slope * reset_input
            xw_slope[:, : 2 * units] = self.recurrent_activation.backward(zr_pre, zr, zr_slope)
            u_slope = np.concatenate([xw_slope[:, : 2 * units], a_h_slope * r], axis=1)
            if self.use_bias:
                grads["bias"][1] += u_slope.sum(0)
            h_prev_slope += masked_matmul_backward(
                h_prev, run.recurrent_masks, kernel, u_slope, grads["recurrent_kernel"], True
            )
        else:
            h_masked = self._masked_state(h_prev, run)
            grads["recurrent_kernel"][:, 2 * units :] += reset_input.T @ a_h_slope
            reset_input_slope = a_h_slope @ kernel[:, 2 * units :].T
            zr_slope[:, units:] = reset_input_slope * h_masked
            masks = run.recurrent_masks
            candidate_mask = 1 if masks is None else (masks[-1] if len(masks) > 1 else masks[0])
            h_prev_slope += reset_input_slope * r * candidate_mask
            xw_slope[:, : 2 * units] = self.recurrent_activation.backward(zr_pre, zr, zr_slope)
            h_prev_slope += masked_matmul_backward(
                h_prev,
                self._recurrent_masks(run, slice(0, 2)),
                kernel[:, : 2 * units],
                xw_slope[:, : 2 * units],
                grads["recurrent_kernel"][:, : 2 * units],
                True,
            )
        return [h_prev_slope]

    def get_config(self):
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["reset_after"] = self.reset_after
        return config
