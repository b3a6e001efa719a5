"""The contract of a recurrent cell: one step forward, one step backward.

A cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``) computes one step of a
recurrence, ``output_t, states_t = cell(x_t, states_{t-1})``. ``RNN`` runs it
over the steps of a sequence, and backpropagation through time runs the
cell's ``step_backward`` in reverse, summing each weight's slope over the
steps. For speed the product of the inputs with the kernel is done for all
steps at once (``project``), and its slope once at the end (``project_backward``):

    xw = dropout(x) @ kernel (+ input bias)        # (batch, steps, gates * units)
    for t: output_t, states_t, cache_t = step(xw[:, t], states_{t-1})
    for t reversed: d xw[:, t], d states_{t-1} = step_backward(cache_t, d output_t, d states_t)
    dx, d kernel = project_backward(x, d xw)

Dropout masks (``dropout`` on the inputs, ``recurrent_dropout`` on the
previous state) are drawn once per sequence by ``begin`` and used at every
step, as Keras's ``DropoutRNNCell`` does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gradstep import activations, constraints, initializers, regularizers
from gradstep.layers.base import Layer
from gradstep.layers.recurrent.products import (
    draw_masks,
    masked_matmul,
    masked_matmul_backward,
)
from gradstep.validation import check_bool


class Run(NamedTuple):
    """What stays fixed over one sequence: the dropout masks (None, or an
    array ``(count, batch, features)``: one mask, or one per gate)."""

    input_masks: np.ndarray | None
    recurrent_masks: np.ndarray | None


def _rate(value, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"{label} must be a number in [0, 1], received {value!r}")
    return min(1.0, max(0.0, float(value)))  # Keras clips the rates to [0, 1]


class RecurrentCell(Layer):
    """Base of the cells: Keras's common arguments, weights and dropout.

    Subclasses set ``gates`` (how many blocks of ``units`` columns the
    kernels have), ``state_size`` and write ``step`` and ``step_backward``.
    """

    gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        kind = f"{type(self).__name__} {self.name!r}"
        if isinstance(units, bool) or not isinstance(units, int | np.integer) or units <= 0:
            raise ValueError(
                f"{kind}: received an invalid value for argument `units`, expected a positive "
                f"integer, got {units!r}"
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = check_bool(use_bias, f"{kind} use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(dropout, f"{kind} dropout")
        self.recurrent_dropout = _rate(recurrent_dropout, f"{kind} recurrent_dropout")
        self.seed = seed
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.output_size = self.units

    @property
    def draws_noise(self) -> bool:
        return self.dropout > 0 or self.recurrent_dropout > 0

    # --- weights ----------------------------------------------------------------------
    def build(self, input_shape):
        """``kernel (features, gates * units)``, ``recurrent_kernel (units,
        gates * units)`` and ``bias`` (``bias_shape``), in Keras's order."""
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
            name="recurrent_kernel",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                initializer=self.bias_initializer_for_build(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
                name="bias",
            )
        super().build(input_shape)

    def bias_shape(self) -> tuple:
        return (self.gates * self.units,)

    def bias_initializer_for_build(self):
        return self.bias_initializer

    def zero_grads(self) -> dict[str, np.ndarray]:
        return {name: np.zeros_like(value) for name, value in self.named_weights(True)}

    # --- one sequence -----------------------------------------------------------------
    def mask_count(self) -> int:
        """Keras draws one input mask, or one per gate with recurrent dropout."""
        return self.gates if self.recurrent_dropout > 0 else 1

    def begin(self, batch: int, features: int, training: bool, dtype, rng=None) -> Run:
        """The dropout masks of one sequence (none outside training), drawn
        from the cell's own generator when it has a ``seed``, else ``rng``
        (the layer's: the model's dropout generator)."""
        if not training:
            return Run(None, None)
        rng = self.rng if self.seed is not None or rng is None else rng
        rng = rng or self._init_generator()
        count = self.mask_count()
        return Run(
            draw_masks(rng, self.dropout, count, (batch, features), dtype),
            draw_masks(rng, self.recurrent_dropout, count, (batch, self.units), dtype),
        )

    def input_bias(self):
        return self.bias

    def project(self, x: np.ndarray, run: Run) -> np.ndarray:
        """``dropout(x) @ kernel + input bias`` for every step of ``x``."""
        xw = masked_matmul(x, run.input_masks, self.kernel)
        bias = self.input_bias() if self.use_bias else None
        return xw if bias is None else xw + bias

    def project_backward(self, x, xw_slope, run: Run, grads: dict, need_x: bool):
        """Adds the kernel's (and input bias's) slopes; the slope at ``x``."""
        x_slope = masked_matmul_backward(
            x, run.input_masks, self.kernel, xw_slope, grads["kernel"], need_x
        )
        if self.use_bias:
            self.add_input_bias_slope(grads, xw_slope.reshape(-1, xw_slope.shape[-1]).sum(0))
        return x_slope

    def add_input_bias_slope(self, grads, slope) -> None:
        grads["bias"] += slope

    def initial_states(self, batch: int, dtype) -> list[np.ndarray]:
        return [np.zeros((batch, size), dtype) for size in self.state_sizes]

    @property
    def state_sizes(self) -> list[int]:
        """``state_size`` as a list (Keras writes an int for a single state)."""
        size = self.state_size
        return [size] if isinstance(size, int) else list(size)

    # --- configuration ----------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
