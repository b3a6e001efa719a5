"""RNN: a cell run over the steps of a sequence, and backpropagation through time.

Forward over ``x`` of shape ``(batch, steps, features)``, states ``s_0``
(zeros, ``initial_state``, or a stateful layer's last states):

    for t = 1..T:  o_t, s_t = cell(x_t, s_{t-1})
    masked step (mask[b, t] False):  o_t = o_{t-1},  s_t = s_{t-1}   (Keras: o_0 = 0)

The output is ``[o_1..o_T]`` (``return_sequences``) or ``o_T``; with
``return_state`` also ``s_T``. ``go_backwards`` runs the steps from the last
to the first, and returns the outputs in that order, as Keras does.

Backward through time: a slope ``do`` is carried back along the outputs and
``ds`` along the states. At step ``t`` the cell receives the slopes of its
output (``do_t`` plus the slope given at ``o_t``) and of its states where the
step is unmasked, and passes on ``ds_{t-1}`` and the slope at ``x_t``; where
it is masked both slopes skip the cell, to ``o_{t-1}`` and ``s_{t-1}``. Each
weight's slope is the sum over the steps of the cell's per-step slopes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradstep import serialization
from gradstep.layers.base import LAYERS, Layer
from gradstep.validation import check_bool


class _Pass(NamedTuple):
    """What ``RNN.backward`` needs from a forward pass."""

    x: np.ndarray  # the sequences in the order they were run
    mask: np.ndarray | None  # (batch, steps), in that order
    run: object  # the cell's record of the sequence (dropout masks, each step's values)
    has_initial_state: bool
    output_shape: tuple


class RNN(Layer):
    """Keras's ``RNN(cell)``: a recurrent layer from a cell (a list of cells is
    stacked with ``StackedRNNCells``).

    Args:
        cell: a ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell`` or ``StackedRNNCells``.
        return_sequences: the output at every step ``(batch, steps, units)``,
            else the last ``(batch, units)``.
        return_state: also return the final states (``[output, *states]``).
        go_backwards: run the sequence from its last step to its first.
        stateful: each batch starts from the states the previous batch ended
            with (sample ``i`` continues sample ``i``); ``reset_states()`` zeros them.
        unroll: accepted for Keras programs; the loop is always a Python loop.
        zero_output_for_mask: masked steps output zeros instead of the
            previous output.

    Call it with ``initial_state=[...]`` to start from given states, and
    ``mask=`` (or through a graph from ``Embedding(mask_zero=True)`` or
    ``Masking``) to skip steps.
    """

    supports_masking = True
    forward_takes_mask = True

    def __init__(
        self,
        cell,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        if isinstance(cell, list | tuple):
            from gradstep.layers.recurrent.stacked import StackedRNNCells

            cell = StackedRNNCells(cell)
        if isinstance(cell, dict):
            cell = serialization.deserialize_keras_object(cell)
        super().__init__(**kwargs)
        if not hasattr(cell, "step") or not hasattr(cell, "state_size"):
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: argument `cell` must be a recurrent cell "
                f"(SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells), received {cell!r}"
            )
        self.cell = cell
        kind = f"{type(self).__name__} {self.name!r}"
        self.return_sequences = check_bool(return_sequences, f"{kind} return_sequences")
        self.return_state = check_bool(return_state, f"{kind} return_state")
        self.go_backwards = check_bool(go_backwards, f"{kind} go_backwards")
        self.stateful = check_bool(stateful, f"{kind} stateful")
        self.unroll = check_bool(unroll, f"{kind} unroll")
        self.zero_output_for_mask = check_bool(zero_output_for_mask, f"{kind} zero_output_for_mask")
        self.states = None

    @property
    def draws_noise(self) -> bool:
        return self.cell.draws_noise

    # --- calling ----------------------------------------------------------------------
    def __call__(self, inputs, initial_state=None, training=None, mask=None, **kwargs):
        """As Keras: ``initial_state`` is a list of state arrays (or symbolic
        tensors), passed to the layer as inputs after the sequences."""
        if initial_state is not None:
            states = (
                list(initial_state) if isinstance(initial_state, list | tuple) else [initial_state]
            )
            inputs = [inputs, *states]
            if mask is not None:
                mask = [mask] + [None] * len(states)
        return super().__call__(inputs, training=training, mask=mask, **kwargs)

    #: The keyword arguments of its calls a saved graph may hold (besides ``training``).
    call_keywords = ("initial_state",)

    def call_arguments(self, tensors: list):
        """A graph node's call as Keras writes it in a saved file: the sequences
        as ``args``, the states given as ``kwargs["initial_state"]``."""
        if len(tensors) == 1:
            return tensors, {}
        return tensors[:1], {"initial_state": list(tensors[1:])}

    def _sequence_shape(self, input_shape):
        return input_shape[0] if isinstance(input_shape, list) else input_shape

    def check_input_shape(self, input_shape) -> None:
        shape = self._sequence_shape(input_shape)
        if len(shape) != 3:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r} expects inputs of rank 3 (batch, "
                f"steps, features), received input with shape {tuple(shape)}"
            )
        if isinstance(input_shape, list):
            sizes = self.cell.state_sizes
            given = [tuple(s) for s in input_shape[1:]]
            if len(given) != len(sizes) or any(
                len(s) != 2 or s[1] != size for s, size in zip(given, sizes, strict=False)
            ):
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r}: initial_state must be "
                    f"{len(sizes)} arrays of shapes {[(None, size) for size in sizes]}, "
                    f"received shapes {given}"
                )

    def build(self, input_shape):
        shape = self._sequence_shape(input_shape)
        if len(shape) != 3:
            self.check_input_shape(input_shape)
        if not self.cell.built:
            self.cell.build((shape[0], *shape[2:]))
            self.cell.built = True
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        shape = self._sequence_shape(input_shape)
        batch = shape[0]
        size = self.cell.output_size
        output = (batch, shape[1], size) if self.return_sequences else (batch, size)
        if self.return_state:
            return [output] + [(batch, s) for s in self.cell.state_sizes]
        return output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.cell.state_sizes)
        return output_mask

    # --- the two passes ---------------------------------------------------------------
    def forward(self, inputs, training=False, mask=None):
        x, given_states = (
            (inputs[0], list(inputs[1:])) if isinstance(inputs, list) else (inputs, [])
        )
        mask = mask[0] if isinstance(mask, list) else mask
        mask = self._checked_mask(x, mask)
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        batch, steps = x.shape[:2]
        states = given_states or self._start_states(batch, x.dtype)
        cell = self.cell
        run = cell.begin(batch, x.shape[-1], training, x.dtype, self.rng)
        cell.start(run, x)
        output = np.zeros((batch, cell.output_size), x.dtype)
        outputs = (
            np.empty((batch, steps, cell.output_size), x.dtype) if self.return_sequences else None
        )
        for t in range(steps):
            step_output, new_states = cell.step(run, t, states)
            if mask is not None:
                keep = mask[:, t, None]
                fallback = 0 if self.zero_output_for_mask else output
                step_output = np.where(keep, step_output, fallback)
                new_states = [
                    np.where(keep, new, old) for new, old in zip(new_states, states, strict=True)
                ]
            output, states = step_output, new_states
            if outputs is not None:
                outputs[:, t] = output
        if self.stateful:
            self.states = [s.copy() for s in states]
        result = outputs if self.return_sequences else output
        saved = _Pass(x, mask, run, bool(given_states), result.shape)
        if self.return_state:
            return [result, *states], saved
        return result, saved

    def _checked_mask(self, x, mask):
        if mask is None:
            return None
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != x.shape[:2]:
            raise ValueError(
                f"{type(self).__name__} layer {self.name!r}: the mask must have shape (batch, "
                f"steps) = {x.shape[:2]}, received a mask of shape {mask.shape}"
            )
        return mask

    def _start_states(self, batch, dtype):
        if self.stateful and self.states is not None:
            if len(self.states[0]) != batch:
                raise ValueError(
                    f"{type(self).__name__} layer {self.name!r} is stateful: its batch size is "
                    f"{len(self.states[0])}, received a batch of {batch} sequences"
                )
            return [s.astype(dtype, copy=False) for s in self.states]
        return self.cell.initial_states(batch, dtype)

    def reset_states(self):
        """Zero the states of a stateful layer (Keras's ``reset_states``)."""
        if self.states is not None:
            for state in self.states:
                state[...] = 0

    reset_state = reset_states

    def backward(self, saved: _Pass, grad_wrt_output, input_gradient=True):
        cell = self.cell
        if self.return_state:
            output_slope, *state_slopes = grad_wrt_output
        else:
            output_slope, state_slopes = grad_wrt_output, []
        x, mask = saved.x, saved.mask
        batch, steps = x.shape[:2]
        dtype = x.dtype
        state_slopes = [
            np.zeros((batch, size), dtype) if slope is None else slope
            for slope, size in zip(
                state_slopes or [None] * len(cell.state_sizes), cell.state_sizes, strict=True
            )
        ]
        if output_slope is None:
            output_slope = np.zeros(saved.output_shape, dtype)
        carried = np.zeros((batch, cell.output_size), dtype)
        if not self.return_sequences:
            carried = carried + output_slope
        no_slope = np.zeros((batch, cell.output_size), dtype)
        grads = cell.zero_grads()
        cell.start_backward(saved.run)
        for t in range(steps - 1, -1, -1):
            slope = carried + output_slope[:, t] if self.return_sequences else carried
            if mask is not None:
                keep = mask[:, t, None]
                carried = no_slope if self.zero_output_for_mask else np.where(keep, 0, slope)
                slope = np.where(keep, slope, 0)
                skipped = [np.where(keep, 0, s) for s in state_slopes]
                state_slopes = [np.where(keep, s, 0) for s in state_slopes]
            else:
                carried = no_slope
            state_slopes = cell.step_backward(saved.run, t, slope, state_slopes, grads)
            if mask is not None:
                state_slopes = [a + b for a, b in zip(state_slopes, skipped, strict=True)]
        x_slope = cell.finish_backward(saved.run, grads, input_gradient)
        weight_grads = (
            {f"{cell.name}/{name}": g for name, g in grads.items()} if self.trainable else {}
        )
        if not input_gradient:
            return None, weight_grads
        if self.go_backwards:
            x_slope = x_slope[:, ::-1]
        if saved.has_initial_state:
            return [x_slope, *state_slopes], weight_grads
        return x_slope, weight_grads

    # --- configuration ----------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "cell": serialization.serialize_keras_object(self.cell),
        }


LAYERS.register("RNN")(RNN)
