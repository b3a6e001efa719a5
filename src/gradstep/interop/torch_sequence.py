"""Recurrent and attention layers as PyTorch modules (batch first, as gradstep's).

A recurrent layer (``LSTM``, ``GRU``, ``SimpleRNN``, ``RNN(cell)`` with
gradstep's ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell`` or ``StackedRNNCells``)
becomes a ``Recurrent`` module holding one ``Cell`` per cell. A cell with
Keras's default activations runs on ``nn.LSTM``, ``nn.GRU``
(``reset_after=True``) or ``nn.RNN``; other activations, the GRU that resets
before its candidate (``reset_after=False``, which PyTorch does not have),
masked steps and dropout in training run the same cell step by step.
Gates: Keras's LSTM kernel columns are (input, forget, cell, output),
PyTorch's rows (i, f, g, o): the same order, transposed. Keras's GRU columns
are (update z, reset r, candidate h), PyTorch's rows (r, z, n): the first two
blocks swap. Keras's one LSTM/SimpleRNN bias is PyTorch's ``bias_ih``;
``bias_hh`` is zero and frozen, so that it is trained once. A GRU with
``reset_after=True`` has two biases in Keras too (rows of its ``(2, 3 units)``
bias): ``bias_ih``, ``bias_hh``.

A stack of cells runs as one cell after another over the whole sequence:
at a masked step every cell keeps its states and repeats its output, which is
what the stack does step by step. The module takes ``initial_state`` as
further inputs after the sequences (``[x, *states]``, as the graph gives
them), returns ``[output, *final states]`` with ``return_state=True``, and a
``stateful`` layer keeps its final states (detached) for the next call, until
``reset_states()``.

Dropout, as Keras's ``DropoutRNNCell``: in training each cell draws its masks
once per sequence (``dropout`` on the inputs, ``recurrent_dropout`` on the
previous output; one mask per gate when ``recurrent_dropout`` is set, else one
input mask) and uses them at every step; ``eval()`` draws none.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from gradstep.interop.torch_module import LayerWeights, activation_module, refuse

_CELL_KINDS = {"LSTMCell": "lstm", "GRUCell": "gru", "SimpleRNNCell": "simple"}
#: Keras's gate (block of the kernel's columns) of each of PyTorch's row blocks
_KERAS_GATE = {"lstm": (0, 1, 2, 3), "gru": (1, 0, 2), "simple": (0,)}


# --- layouts ----------------------------------------------------------------------------
def _gates_to_torch(array, kind):
    """A kernel ``(in, gates * units)`` or bias ``(gates * units,)`` in Keras's
    gate order, as PyTorch's rows in its order."""
    rows = array.T if array.ndim == 2 else array
    if kind != "gru":
        return rows
    z, r, h = np.split(rows, 3, axis=0)
    return np.concatenate([r, z, h], axis=0)


def _converter(kind, row=None):
    def to_torch(array):
        return _gates_to_torch(array if row is None else array[row], kind)

    return to_torch


# --- dropout ----------------------------------------------------------------------------
def draw_masks(rate: float, count: int, shape: tuple, like: torch.Tensor):
    """``count`` inverted-dropout masks of ``shape`` (keep / (1 - rate)), or
    None when ``rate`` is 0: one sequence's masks, as gradstep draws them."""
    if rate <= 0:
        return None
    keep = torch.rand((count, *shape), dtype=like.dtype, device=like.device) >= rate
    return keep.to(like.dtype) / (1 - rate)


def _masked_product(x, weight, masks, kind, blocks=slice(None)):
    """``x @ W.T`` for the gate ``blocks`` of ``weight`` (PyTorch's rows), with
    the dropout ``masks`` (None, one mask, or one per Keras gate) applied to
    ``x`` first, gate by gate; ``x`` is ``(batch, features)`` or ``(batch,
    steps, features)``."""
    gates = _KERAS_GATE[kind]
    chosen = range(len(gates))[blocks]
    units = weight.shape[0] // len(gates)
    if masks is None or len(masks) == 1:
        rows = weight[chosen.start * units : chosen.stop * units]
        return x @ rows.T if masks is None else (x * _along(masks[0], x)) @ rows.T
    return torch.cat(
        [(x * _along(masks[gates[j]], x)) @ weight[j * units : (j + 1) * units].T for j in chosen],
        dim=-1,
    )


def _along(mask, x):
    """A ``(batch, features)`` mask for ``x``, the same at every step."""
    return mask[:, None] if x.ndim == 3 else mask


# --- recurrent layers -------------------------------------------------------------------
class Cell(nn.Module):
    """One of Keras's cells over a whole sequence: PyTorch's recurrent module
    (``core``, when the cell has its defaults) or the same cell step by step.

    ``spec`` is ``(kind, units, activation, recurrent activation, reset_after)``;
    ``names`` the core's (weight_ih, weight_hh, bias_ih, bias_hh) attributes."""

    def __init__(self, core, spec, names, dropout, recurrent_dropout):
        super().__init__()
        self.core = core
        self.spec = spec
        self.names = names
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout

    @property
    def state_count(self) -> int:
        return 2 if self.spec[0] == "lstm" else 1

    def run(self, x, states, mask, zero_output_for_mask):
        """``(outputs (batch, steps, units), final states)`` from ``states``."""
        masks = self._draw(x) if self.training else (None, None)
        dropped = any(m is not None for m in masks)
        stepwise = mask is not None or dropped or isinstance(self.core, StepByStep)
        if not stepwise:
            return self._run_core(x, states)
        weights = [getattr(self.core, name, None) for name in self.names]
        return _run_steps(self.spec, weights, x, states, mask, zero_output_for_mask, masks)

    def _draw(self, x):
        """This sequence's (input masks, recurrent masks), as Keras draws them."""
        if self.dropout <= 0 and self.recurrent_dropout <= 0:
            return None, None
        kind, units = self.spec[0], self.spec[1]
        count = len(_KERAS_GATE[kind]) if self.recurrent_dropout > 0 else 1
        batch = x.shape[0]
        return (
            draw_masks(self.dropout, count, (batch, x.shape[-1]), x),
            draw_masks(self.recurrent_dropout, count, (batch, units), x),
        )

    def _run_core(self, x, states):
        given = [s.unsqueeze(0).contiguous() for s in states]
        if self.spec[0] == "lstm":
            outputs, (h, c) = self.core(x, tuple(given))
            return outputs, [h[0], c[0]]
        outputs, h = self.core(x, given[0])
        return outputs, [h[0]]


class StepByStep(nn.Module):
    """The parameters of a cell run step by step, in PyTorch's layouts and gate orders."""

    def __init__(self):
        super().__init__()
        self.weight_ih = self.weight_hh = self.bias_ih = self.bias_hh = None


class Recurrent(nn.Module):
    """A recurrent layer: its cells (one, or a stack) with Keras's
    ``go_backwards``, ``return_sequences``, ``return_state``, ``stateful``,
    ``zero_output_for_mask`` and ``initial_state`` (inputs after the
    sequences). Under a mask a masked step keeps the states, and outputs the
    previous output (zeros with ``zero_output_for_mask``)."""

    def __init__(self, cells, options, states=None):
        super().__init__()
        self.cells = nn.ModuleList(cells)
        self.go_backwards = options["go_backwards"]
        self.return_sequences = options["return_sequences"]
        self.return_state = options["return_state"]
        self.stateful = options["stateful"]
        self.zero_output_for_mask = options["zero_output_for_mask"]
        self.name = options["name"]
        #: a stateful layer's states after its last call (None: zeros)
        self.states = states

    def forward(self, inputs, mask=None):
        x, given = (inputs[0], list(inputs[1:])) if isinstance(inputs, list) else (inputs, [])
        mask = mask[0] if isinstance(mask, list) else mask
        if self.go_backwards:
            x = torch.flip(x, dims=(1,))
            mask = None if mask is None else torch.flip(mask, dims=(1,))
        states = given or self._start_states(x)
        finals, start = [], 0
        for cell in self.cells:
            own = states[start : start + cell.state_count]
            start += cell.state_count
            x, final = cell.run(x, own, mask, self.zero_output_for_mask)
            finals += final
        if self.stateful:
            self.states = [state.detach() for state in finals]
        output = x if self.return_sequences else x[:, -1]
        return [output, *finals] if self.return_state else output

    def _start_states(self, x):
        if self.stateful and self.states is not None:
            if len(self.states[0]) != len(x):
                raise ValueError(
                    f"layer {self.name!r} is stateful: its batch size is "
                    f"{len(self.states[0])}, received a batch of {len(x)} sequences"
                )
            return [state.to(device=x.device, dtype=x.dtype) for state in self.states]
        zeros = [x.new_zeros(len(x), cell.spec[1]) for cell in self.cells]
        return [
            state
            for cell, state in zip(self.cells, zeros, strict=True)
            for _ in range(cell.state_count)
        ]

    def reset_states(self):
        """Zero the states a stateful layer keeps (Keras's ``reset_states``)."""
        if self.states is not None:
            for state in self.states:
                state.zero_()


def _run_steps(spec, weights, x, states, mask, zero_output_for_mask, masks):
    """The outputs of every step ``(batch, steps, units)`` and the final states."""
    kind, units = spec[0], spec[1]
    weight_ih, _, bias_ih, _ = weights
    input_masks, recurrent_masks = masks
    h = states[0]
    c = states[1] if kind == "lstm" else None
    output = x.new_zeros(x.shape[0], units)
    projected = _masked_product(x, weight_ih, input_masks, kind)
    if bias_ih is not None:
        projected = projected + bias_ih
    outputs = []
    for t in range(x.shape[1]):
        new_h, new_c = _step(spec, weights, projected[:, t], h, c, recurrent_masks)
        if mask is None:
            output, h, c = new_h, new_h, new_c
        else:
            keep = mask[:, t, None].bool()
            output = torch.where(keep, new_h, 0.0 if zero_output_for_mask else output)
            h = torch.where(keep, new_h, h)
            c = None if c is None else torch.where(keep, new_c, c)
        outputs.append(output)
    return torch.stack(outputs, dim=1), ([h, c] if kind == "lstm" else [h])


def _step(spec, weights, x_t, h, c, masks):
    kind, units, act, gate, reset_after = spec
    _, weight_hh, _, bias_hh = weights

    def recurrent(state, blocks=slice(None), width=None):
        out = _masked_product(state, weight_hh, masks, kind, blocks)
        if bias_hh is None:
            return out
        return out + (bias_hh if width is None else bias_hh[:width])

    if kind == "simple":
        return act(x_t + recurrent(h)), c
    if kind == "lstm":
        i, f, g, o = torch.chunk(x_t + recurrent(h), 4, dim=-1)
        c = gate(f) * c + gate(i) * act(g)
        return gate(o) * act(c), c
    x_r, x_z, x_n = torch.split(x_t, units, dim=-1)
    if reset_after:
        h_r, h_z, h_n = torch.split(recurrent(h), units, dim=-1)
        r, z = gate(x_r + h_r), gate(x_z + h_z)
        n = act(x_n + r * h_n)
    else:
        h_rz = recurrent(h, slice(0, 2), 2 * units)
        r, z = gate(x_r + h_rz[:, :units]), gate(x_z + h_rz[:, units:])
        candidate = h if masks is None else h * masks[-1]
        n = act(x_n + (r * candidate) @ weight_hh[2 * units :].T)
    return z * h + (1 - z) * n, c


def _cells_of(layer):
    """The layer's cells and their weights' name prefixes; a cell gradstep
    did not write is refused by its class name."""
    holder = layer.cell
    stacked = type(holder).__name__ == "StackedRNNCells"
    cells = holder.cells if stacked else [holder]
    for cell in [holder, *cells] if stacked else cells:
        name = type(cell).__name__
        known = name in _CELL_KINDS or name == "StackedRNNCells"
        if not known or not type(cell).__module__.startswith("gradstep.layers"):
            raise refuse(
                layer,
                f"its cell is a {name}, a cell class written outside gradstep: its step is "
                "Python code, which to_torch does not translate (use SimpleRNNCell, LSTMCell, "
                "GRUCell or StackedRNNCells)",
            )
    prefix = f"{holder.name}/" if stacked else ""
    return [(cell, f"{prefix}{cell.name}/") for cell in cells]


def _cell(layer, cell, prefix, weights: LayerWeights):
    kind = _CELL_KINDS[type(cell).__name__]
    kernel = weights.arrays[prefix + "kernel"]
    dtype = torch.from_numpy(np.zeros((), kernel.dtype)).dtype
    activation = activation_module(cell.activation, layer)
    gate = activation_module(getattr(cell, "recurrent_activation", None), layer)
    reset_after = getattr(cell, "reset_after", True)
    default = activation.name == "tanh" and (kind == "simple" or gate.name == "sigmoid")
    if kind == "simple" and activation.name == "relu":
        default = True
    spec = (kind, cell.units, activation, gate, reset_after)
    if default and reset_after:
        core = _torch_module(
            kind, kernel.shape[0], cell.units, cell.use_bias, activation.name, dtype
        )
        names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    else:
        core = StepByStep()
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    _set_recurrent_weights(core, names, weights, prefix, kind, cell, reset_after, dtype)
    return Cell(core, spec, names, cell.dropout, cell.recurrent_dropout)


def _recurrent(layer, weights: LayerWeights):
    cells = [_cell(layer, cell, prefix, weights) for cell, prefix in _cells_of(layer)]
    options = {
        name: getattr(layer, name)
        for name in (
            "go_backwards",
            "return_sequences",
            "return_state",
            "stateful",
            "zero_output_for_mask",
            "name",
        )
    }
    states = None
    if layer.stateful and layer.states is not None:
        states = [torch.from_numpy(np.array(state, copy=True)) for state in layer.states]
    return Recurrent(cells, options, states)


def _torch_module(kind, inputs, units, bias, activation, dtype):
    if kind == "lstm":
        return nn.LSTM(inputs, units, bias=bias, batch_first=True, dtype=dtype)
    if kind == "gru":
        return nn.GRU(inputs, units, bias=bias, batch_first=True, dtype=dtype)
    return nn.RNN(inputs, units, nonlinearity=activation, bias=bias, batch_first=True, dtype=dtype)


def _set_recurrent_weights(core, names, weights, prefix, kind, cell, reset_after, dtype):
    weight_ih, weight_hh, bias_ih, bias_hh = names
    setattr(core, weight_ih, weights.parameter(prefix + "kernel", _converter(kind)))
    setattr(core, weight_hh, weights.parameter(prefix + "recurrent_kernel", _converter(kind)))
    if not cell.use_bias:
        return
    bias = weights.arrays[prefix + "bias"]
    if kind == "gru" and reset_after:
        setattr(core, bias_ih, weights.parameter(prefix + "bias", _converter(kind, 0)))
        setattr(core, bias_hh, weights.parameter(prefix + "bias", _converter(kind, 1)))
        return
    setattr(core, bias_ih, weights.parameter(prefix + "bias", _converter(kind)))
    if kind == "gru":
        return  # reset_after=False (step by step): Keras's one bias is the input's
    frozen = torch.zeros(_gates_to_torch(bias, kind).shape, dtype=dtype)
    setattr(core, bias_hh, nn.Parameter(frozen, requires_grad=False))


class Bidirectional(nn.Module):
    """The forward and backward layers' outputs merged (``merge_mode=None``:
    both), then with ``return_state`` the forward layer's final states and the
    backward one's."""

    def __init__(self, forward_layer, backward_layer, merge_mode, return_sequences, return_state):
        super().__init__()
        self.forward_layer = forward_layer
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences = return_sequences
        self.return_state = return_state

    def forward(self, x, mask=None):
        masked = {} if mask is None else {"mask": mask}
        y, y_rev = self.forward_layer(x, **masked), self.backward_layer(x, **masked)
        states = []
        if self.return_state:
            (y, *states), (y_rev, *backward_states) = y, y_rev
            states += backward_states
        if self.return_sequences:
            y_rev = torch.flip(y_rev, dims=(1,))
        outputs = [y, y_rev] if self.merge_mode is None else [self._merge(y, y_rev)]
        if self.return_state or self.merge_mode is None:
            return outputs + states
        return outputs[0]

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return torch.cat([y, y_rev], dim=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        return y * y_rev


class TimeDistributed(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        batch, steps = x.shape[0], x.shape[1]
        y = self.inner(x.reshape(batch * steps, *x.shape[2:]))
        return y.reshape(batch, steps, *y.shape[1:])


# --- attention --------------------------------------------------------------------------
class MultiHeadAttention(nn.Module):
    """Keras's multi-head attention, its per-head kernels as linear maps:
    ``query``/``key``/``value`` ``(dim, heads, d)`` -> ``nn.Linear(dim, heads * d)``
    (weight ``(heads * d, dim)``), ``attention_output`` ``(heads, value_dim,
    *out)`` -> ``nn.Linear(heads * value_dim, prod(out))``."""

    def __init__(self, heads, key_dim, value_dim, output_shape, attention_axes, layout, dropout):
        super().__init__()
        self.heads, self.key_dim, self.value_dim = heads, key_dim, value_dim
        self.output_shape = tuple(output_shape)
        self.attention_axes = tuple(attention_axes)
        self.key_given, self.mask_given, self.causal, self.return_scores = layout
        self.dropout = dropout

    def forward(self, inputs, mask=None):
        inputs = list(inputs)
        masks = list(mask or []) + [None] * (len(inputs) - len(mask or []))
        # the query's, value's and key's masks (Keras's _compute_attention_mask)
        own_masks = (masks[0], masks[1], masks[2] if self.key_given else None)
        query_in, value_in = inputs[0], inputs[1]
        rest = inputs[2:]
        key_in = rest.pop(0) if self.key_given else value_in
        attention_mask = rest.pop(0) if self.mask_given else None
        query = self._project(self.query, query_in, self.key_dim)
        key = self._project(self.key, key_in, self.key_dim)
        value = self._project(self.value, value_in, self.value_dim)
        rank = query.ndim
        others = [i for i in range(1, rank - 2) if i not in self.attention_axes]
        perm = (0, *others, rank - 2, *self.attention_axes, rank - 1)
        batch = math.prod(query.shape[i] for i in (0, *others))
        steps_q = math.prod(query.shape[i] for i in self.attention_axes)
        steps_k = math.prod(key.shape[i] for i in self.attention_axes)
        q = query.permute(perm).reshape(batch, self.heads, steps_q, self.key_dim)
        k = key.permute(perm).reshape(batch, self.heads, steps_k, self.key_dim)
        v = value.permute(perm).reshape(batch, self.heads, steps_k, self.value_dim)
        scores = (q * (1.0 / math.sqrt(self.key_dim))) @ k.transpose(-1, -2)
        mask = self._mask(
            query, key, query_in, value_in, attention_mask, others, scores.shape, own_masks
        )
        if mask is not None:
            scores = torch.where(mask, scores, torch.full_like(scores, -1.0e9))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:
            weights = torch.where(mask, weights, torch.zeros_like(weights))
        scores_shape = (
            *[query.shape[i] for i in (0, *others)],
            self.heads,
            *[query.shape[i] for i in self.attention_axes],
            *[key.shape[i] for i in self.attention_axes],
        )
        attention = weights
        if self.training and self.dropout > 0:
            weights = nn.functional.dropout(weights, self.dropout, True)
        combined = weights @ v
        permuted_shape = [query.shape[i] for i in perm[:-1]] + [self.value_dim]
        combined = combined.reshape(permuted_shape).permute(tuple(np.argsort(perm)))
        flat = combined.reshape(*combined.shape[:-2], self.heads * self.value_dim)
        output = self.attention_output(flat)
        output = output.reshape(*output.shape[:-1], *self.output_shape)
        if self.return_scores:  # Keras's scores: the softmax before dropout
            return [output, attention.reshape(scores_shape)]
        return output

    def _project(self, linear, x, depth):
        y = linear(x)
        return y.reshape(*y.shape[:-1], self.heads, depth)

    def _mask(self, query, key, query_in, value_in, attention_mask, others, scores_shape, masks):
        combined = None
        query_mask, value_mask, key_mask = masks
        if query_mask is not None:
            combined = query_mask.bool().unsqueeze(-1)
        for given in (value_mask, key_mask):
            if given is not None:
                given = given.bool().unsqueeze(-2)
                combined = given if combined is None else combined & given
        steps_q, steps_v = query_in.shape[1], value_in.shape[1]
        if self.causal:
            rows = torch.arange(steps_q)[None, :, None]
            cols = torch.arange(steps_v)[None, None, :]
            causal = (rows >= cols).to(query_in.device)
            combined = causal if combined is None else combined & causal
        if attention_mask is not None:
            given = attention_mask != 0
            combined = given if combined is None else given & combined
        if combined is None:
            return None
        keras_scores = (
            *[query.shape[i] for i in (0, *others)],
            self.heads,
            *[query.shape[i] for i in self.attention_axes],
            *[key.shape[i] for i in self.attention_axes],
        )
        while combined.ndim < len(keras_scores):
            combined = combined.unsqueeze(-2 * len(self.attention_axes) - 1)
        return combined.expand(keras_scores).reshape(scores_shape)


def _heads_kernel(array):
    """``(dim, heads, d)`` -> ``(heads * d, dim)``."""
    return array.reshape(array.shape[0], -1).T


def _heads_bias(array):
    return array.reshape(-1)


def _output_kernel(array):
    """``(heads, value_dim, *out)`` -> ``(prod(out), heads * value_dim)``."""
    return array.reshape(array.shape[0] * array.shape[1], -1).T


def _multi_head_attention(layer, weights: LayerWeights):
    _, kwargs = layer.call_arguments([0, 1, 2, 3])
    layout = (
        "key" in kwargs,
        "attention_mask" in kwargs,
        bool(kwargs.get("use_causal_mask")),
        bool(kwargs.get("return_attention_scores")),
    )
    output_kernel = weights.arrays["attention_output/kernel"]
    output_shape = output_kernel.shape[2:]
    module = MultiHeadAttention(
        layer.num_heads,
        layer.key_dim,
        layer.value_dim,
        output_shape,
        layer.attention_axes,
        layout,
        layer.dropout,
    )
    dtype = torch.from_numpy(np.zeros((), output_kernel.dtype)).dtype
    for name in ("query", "key", "value"):
        kernel = weights.arrays[f"{name}/kernel"]
        linear = nn.Linear(
            kernel.shape[0], kernel.shape[1] * kernel.shape[2], bias=layer.use_bias, dtype=dtype
        )
        linear.weight = weights.parameter(f"{name}/kernel", _heads_kernel)
        if layer.use_bias:
            linear.bias = weights.parameter(f"{name}/bias", _heads_bias)
        setattr(module, name, linear)
    linear = nn.Linear(
        output_kernel.shape[0] * output_kernel.shape[1],
        math.prod(output_shape),
        bias=layer.use_bias,
        dtype=dtype,
    )
    linear.weight = weights.parameter("attention_output/kernel", _output_kernel)
    if layer.use_bias:
        linear.bias = weights.parameter("attention_output/bias", _heads_bias)
    module.attention_output = linear
    return module


class Attention(nn.Module):
    """Keras's ``Attention`` (dot or concat scores) and ``AdditiveAttention``."""

    def __init__(self, score_mode, causal, dropout, scale=None, concat_weight=None):
        super().__init__()
        self.score_mode = score_mode
        self.causal = causal
        self.dropout = dropout
        self.scale = scale
        self.concat_weight = concat_weight

    def forward(self, inputs, mask=None):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        query_mask, value_mask = (list(mask) + [None, None])[:2] if mask else (None, None)
        scores = self._scores(query, key)
        keep = None if value_mask is None else value_mask.bool().unsqueeze(-2)
        if self.causal:
            steps_q, steps_v = scores.shape[-2], scores.shape[-1]
            causal = torch.arange(steps_q)[:, None] >= torch.arange(steps_v)[None, :]
            causal = causal.to(scores.device)
            keep = causal if keep is None else keep & causal
        if keep is not None:
            scores = torch.where(keep, scores, scores - 1.0e9)
        weights = torch.softmax(scores, dim=-1)
        if self.training and self.dropout > 0:
            weights = nn.functional.dropout(weights, self.dropout, True)
        output = weights @ value
        if query_mask is not None:
            output = torch.where(query_mask.bool().unsqueeze(-1), output, 0.0)
        return output

    def _scores(self, query, key):
        if self.score_mode == "dot":
            raw = query @ key.transpose(-1, -2)
            return raw if self.scale is None else raw * self.scale
        summed = query[..., :, None, :] + key[..., None, :, :]
        if self.score_mode == "concat":
            scale = 1 if self.scale is None else self.scale
            return self.concat_weight * torch.tanh(scale * summed).sum(dim=-1)
        tanh = torch.tanh(summed)
        return tanh.sum(dim=-1) if self.scale is None else tanh @ self.scale


def _attention(layer, weights: LayerWeights):
    additive = type(layer).__name__ == "AdditiveAttention"
    scale = weights.parameter("scale") if "scale" in weights.arrays else None
    concat = (
        weights.parameter("concat_score_weight")
        if "concat_score_weight" in weights.arrays
        else None
    )
    mode = "additive" if additive else layer.score_mode
    return Attention(mode, layer.use_causal_mask, layer.dropout, scale, concat)


CONVERTERS = {
    "LSTM": _recurrent,
    "GRU": _recurrent,
    "SimpleRNN": _recurrent,
    "RNN": _recurrent,
    "MultiHeadAttention": _multi_head_attention,
    "Attention": _attention,
    "AdditiveAttention": _attention,
}
