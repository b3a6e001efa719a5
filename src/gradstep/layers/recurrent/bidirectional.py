"""Bidirectional: an RNN run forward and a copy run backward, outputs merged.

``y = rnn_forward(x)``, ``y' = rnn_backward(x)`` (``go_backwards=True``; with
``return_sequences`` its outputs are flipped back into the input's order), and
the output is ``merge(y, y')``: ``concat`` (last axis), ``sum``, ``mul``,
``ave``, or ``None`` (the list ``[y, y']``). Backward splits the slope by the
merge's derivative (``concat``: the two halves; ``mul``: ``dy = g * y'``;
``ave``: ``g / 2``) and runs each RNN's backpropagation through time; the
slopes at the input add.
"""

from __future__ import annotations

import numpy as np

from gradstep import serialization
from gradstep.layers.base import LAYERS, Layer

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _copy(layer, **changes):
    config = serialization.serialize_keras_object(layer)
    config["config"].update(changes)
    return serialization.deserialize_keras_object(config)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix) :] if name.startswith(prefix) else name


@LAYERS.register("Bidirectional")
class Bidirectional(Layer):
    """Keras's ``Bidirectional(layer, merge_mode='concat', backward_layer=None)``:
    the weights of the forward copy, then the backward one's."""

    supports_masking = True
    forward_takes_mask = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if isinstance(layer, dict):
            layer = serialization.deserialize_keras_object(layer)
        if isinstance(backward_layer, dict):
            backward_layer = serialization.deserialize_keras_object(backward_layer)
        super().__init__(**kwargs)
        if not hasattr(layer, "go_backwards") or not hasattr(layer, "cell"):
            raise ValueError(
                f"Bidirectional {self.name!r}: argument `layer` must be a recurrent layer "
                f"(an RNN, LSTM, GRU or SimpleRNN), received {layer!r}"
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional {self.name!r}: invalid merge mode. Received: {merge_mode!r}. "
                'Merge mode should be one of {"sum", "mul", "ave", "concat", None}'
            )
        self.forward_layer = _copy(layer, name=f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _copy(
                layer, go_backwards=True, name=f"backward_{_strip(layer.name, 'backward_')}"
            )
        self.backward_layer = backward_layer
        self._check_pair()
        for rnn in (self.forward_layer, self.backward_layer):
            rnn.zero_output_for_mask = rnn.return_sequences  # as Keras forces it
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        if weights:
            half = len(weights) // 2
            self._initial_weights = (weights[:half], weights[half:])

    def _check_pair(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                f"Bidirectional {self.name!r}: forward layer and backward layer should have "
                f"different `go_backwards` values, received {forward.go_backwards} for both"
            )
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(
                    f"Bidirectional {self.name!r}: forward layer and backward layer are "
                    f"expected to have the same value for attribute {attribute!r}"
                )

    @property
    def draws_noise(self) -> bool:
        return self.forward_layer.draws_noise or self.backward_layer.draws_noise

    def build(self, input_shape):
        for rnn in (self.forward_layer, self.backward_layer):
            rnn.build_once(input_shape)
        if getattr(self, "_initial_weights", None):
            self.forward_layer.set_weights(self._initial_weights[0])
            self.backward_layer.set_weights(self._initial_weights[1])
            self._initial_weights = None
        super().build(input_shape)

    def check_input_shape(self, input_shape):
        self.forward_layer.check_input_shape(input_shape)

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = (*shape[:-1], shape[-1] * 2)
        outputs = [shape, shape] if self.merge_mode is None else [shape]
        if self.return_state:
            return outputs + states + states
        return outputs if self.merge_mode is None else shape

    def compute_mask(self, inputs, mask=None):
        mask = mask[0] if isinstance(mask, list) else mask
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            states = [None] * len(self.forward_layer.cell.state_sizes) * 2
            return masks + states
        return masks if self.merge_mode is None else output_mask

    def forward(self, inputs, training=False, mask=None):
        masked = {} if mask is None else {"mask": mask}
        y, forward_saved = self.forward_layer.forward(inputs, training, **masked)
        y_rev, backward_saved = self.backward_layer.forward(inputs, training, **masked)
        states = []
        if self.return_state:
            y, states = y[0], y[1:] + y_rev[1:]
            y_rev = y_rev[0]
        if self.return_sequences:
            y_rev = y_rev[:, ::-1]
        merged = self._merge(y, y_rev)
        saved = (forward_saved, backward_saved, y, y_rev)
        if self.return_state:
            outputs = merged if self.merge_mode is None else [merged]
            return outputs + list(states), saved
        return merged, saved

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return np.concatenate([y, y_rev], axis=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / y.dtype.type(2)
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, y_rev]

    def _unmerge(self, slope, y, y_rev):
        if self.merge_mode == "concat":
            half = y.shape[-1]
            return slope[..., :half], slope[..., half:]
        if self.merge_mode == "sum":
            return slope, slope
        if self.merge_mode == "ave":
            half = slope / slope.dtype.type(2)
            return half, half
        if self.merge_mode == "mul":
            return slope * y_rev, slope * y
        return slope[0], slope[1]

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        forward_saved, backward_saved, y, y_rev = saved
        state_slopes = []
        if self.return_state:
            count = 2 if self.merge_mode is None else 1
            output_slope = grad_wrt_output[:count] if count == 2 else grad_wrt_output[0]
            state_slopes = list(grad_wrt_output[count:])
        else:
            output_slope = grad_wrt_output
        slope_forward, slope_backward = self._unmerge(output_slope, y, y_rev)
        if self.return_sequences and slope_backward is not None:
            slope_backward = slope_backward[:, ::-1]
        half = len(state_slopes) // 2
        if self.return_state:
            slope_forward = [slope_forward, *state_slopes[:half]]
            slope_backward = [slope_backward, *state_slopes[half:]]
        results = [
            rnn.backward(rnn_saved, slope, input_gradient)
            for rnn, rnn_saved, slope in (
                (self.forward_layer, forward_saved, slope_forward),
                (self.backward_layer, backward_saved, slope_backward),
            )
        ]
        weight_grads = {}
        if self.trainable:
            for rnn, (_, grads) in zip(
                (self.forward_layer, self.backward_layer), results, strict=True
            ):
                weight_grads.update({f"{rnn.name}/{k}": g for k, g in grads.items()})
        if not input_gradient:
            return None, weight_grads
        first, second = results[0][0], results[1][0]
        if isinstance(first, list):
            return [a + b for a, b in zip(first, second, strict=True)], weight_grads
        return first + second, weight_grads

    def get_config(self):
        return {
            **super().get_config(),
            "merge_mode": self.merge_mode,
            "layer": serialization.serialize_keras_object(self.forward_layer),
            "backward_layer": serialization.serialize_keras_object(self.backward_layer),
        }
