"""The contract of a recurrent cell: one step forward, one step backward.

A cell (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``) computes one step of a
recurrence, ``output_t, states_t = cell(x_t, states_{t-1})``. ``RNN`` runs it
over the steps of a sequence, and backpropagation through time runs the
cell's ``step_backward`` in reverse. For speed every product that does not
need the previous step is done once for the whole sequence: the inputs with
the kernel (``start``), and at the end (``finish_backward``) the kernel's,
the bias's and the recurrent kernel's slopes and the slope at the inputs:

    z = dropout(x) @ kernel (+ input bias)         # (steps, batch, gates * units)
    for t: output_t, states_t = step(t, states_{t-1})    (adds h_{t-1} U into z[t])
    for t reversed: d states_{t-1} = step_backward(t, d output_t, d states_t)
                    (writes d z[t])
    dx, d kernel, d bias, d recurrent_kernel = finish_backward(d z)

What one sequence needs is kept in its ``Run``: the dropout masks (drawn
once per sequence by ``begin`` and used at every step, as Keras's
``DropoutRNNCell`` does), the inputs, ``z`` and its slope, and each step's
values the backward pass reads, in arrays of all the steps (taken from
``scratch``, so that ``fit`` reuses them from one batch to the next).
"""

from __future__ import annotations

import numpy as np

from gradstep import activations, constraints, initializers, regularizers, scratch
from gradstep.layers.base import Layer
from gradstep.layers.recurrent.products import (
    draw_masks,
    masked_matmul,
    masked_matmul_backward,
)
from gradstep.validation import check_bool


class Run:
    """One sequence's record: the dropout masks (None, or an array
    ``(count, batch, features)``: one mask, or one per gate), and, time-major
    (``(steps, batch, ...)``, so that one step's rows are contiguous), the
    inputs ``x``, the pre-activations ``z``, the slope at ``z`` (``z_slope``,
    filled by the backward pass), each step's previous output ``h_prev``, and
    ``saved``, a dict of the cell's own per-step arrays."""

    __slots__ = ("input_masks", "recurrent_masks", "x", "z", "z_slope", "h_prev", "saved")

    def __init__(self, input_masks, recurrent_masks):
        self.input_masks, self.recurrent_masks = input_masks, recurrent_masks
        self.x = self.z = self.z_slope = self.h_prev = None
        self.saved = {}


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

    def project(self, x: np.ndarray, masks, out=None) -> np.ndarray:
        """``dropout(x) @ kernel + input bias`` (``x`` of any rank), into ``out``."""
        xw = masked_matmul(x, masks, self.kernel, out=out)
        bias = self.input_bias() if self.use_bias else None
        if bias is not None:
            xw += bias
        return xw

    def start(self, run: Run, x: np.ndarray) -> None:
        """Ready ``run`` for the sequences ``x`` ``(batch, steps, features)``:
        the inputs time-major, ``z`` for every step at once, and the arrays
        ``step`` fills."""
        batch, steps, features = x.shape
        run.x = scratch.empty((steps, batch, features), x.dtype)
        run.x[...] = x.transpose(1, 0, 2)
        dtype = np.result_type(x, self.kernel)
        z = scratch.empty((steps, batch, self.gates * self.units), dtype)
        run.z = self.project(run.x, run.input_masks, out=z)
        self.allocate(run, batch, steps, dtype)

    def start_stepwise(self, run: Run, batch: int, steps: int, features: int, dtype) -> None:
        """Ready ``run`` for inputs given one step at a time (``project_step``),
        as inside ``StackedRNNCells``."""
        run.x = scratch.empty((steps, batch, features), dtype)
        run.z = scratch.empty((steps, batch, self.gates * self.units), dtype)
        self.allocate(run, batch, steps, dtype)

    def project_step(self, run: Run, t: int, x_t: np.ndarray) -> None:
        run.x[t] = x_t
        self.project(x_t, run.input_masks, out=run.z[t])

    def allocate(self, run: Run, batch: int, steps: int, dtype) -> None:
        """The arrays of every step that ``step`` fills (``h_prev`` here)."""
        run.h_prev = scratch.empty((steps, batch, self.units), dtype)

    def start_backward(self, run: Run) -> None:
        run.z_slope = scratch.empty(run.z.shape, run.z.dtype)

    def input_slope_step(self, run: Run, t: int) -> np.ndarray:
        """The slope at step ``t``'s input, once ``step_backward(t)`` has run."""
        return masked_matmul_backward(
            run.x[t], run.input_masks, self.kernel, run.z_slope[t], None, True
        )

    def finish_backward(self, run: Run, grads: dict, need_x: bool):
        """Adds the slopes of the kernel, the input bias and the recurrent
        kernel (``recurrent_backward``) for all the steps; the slope at the
        inputs ``(batch, steps, features)`` (None unless ``need_x``)."""
        self.recurrent_backward(run, grads)
        z_slope = run.z_slope
        x_slope = masked_matmul_backward(
            run.x, run.input_masks, self.kernel, z_slope, grads["kernel"], need_x
        )
        if self.use_bias:
            self.add_input_bias_slope(grads, z_slope.reshape(-1, z_slope.shape[-1]).sum(0))
        return None if x_slope is None else np.ascontiguousarray(x_slope.transpose(1, 0, 2))

    def recurrent_backward(self, run: Run, grads: dict) -> None:
        """``d recurrent_kernel = sum_t h_{t-1}^T dz_t``, as one product over
        all the steps (for cells whose recurrent product is added into ``z``
        unchanged: SimpleRNN, LSTM)."""
        masked_matmul_backward(
            run.h_prev,
            run.recurrent_masks,
            self.recurrent_kernel,
            run.z_slope,
            grads["recurrent_kernel"],
            False,
        )

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
