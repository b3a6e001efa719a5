"""SimpleRNN, LSTM and GRU: ``RNN`` with its cell built from Keras's arguments.

Each layer takes its cell's arguments and ``RNN``'s (``return_sequences``,
``return_state``, ``go_backwards``, ``stateful``, ``unroll``), holds the cell
under Keras's name (``simple_rnn_cell``, ``lstm_cell``, ``gru_cell``), and
writes a flat config (the cell's arguments beside the layer's), as Keras 3.
"""

from __future__ import annotations

from gradstep.layers.base import LAYERS
from gradstep.layers.recurrent.gru_cell import GRUCell
from gradstep.layers.recurrent.lstm_cell import LSTMCell
from gradstep.layers.recurrent.rnn import RNN
from gradstep.layers.recurrent.simple_rnn_cell import SimpleRNNCell

_RNN_ARGUMENTS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
)
_LAYER_ARGUMENTS = (
    "name",
    "dtype",
    "trainable",
    "input_shape",
    "input_dim",
    "batch_input_shape",
    "activity_regularizer",
)


class _CellLayer(RNN):
    """An RNN whose cell is built from the layer's own arguments."""

    cell_class: type = SimpleRNNCell
    cell_name = "simple_rnn_cell"

    def __init__(self, units, **kwargs):
        kwargs.pop("use_cudnn", None)  # Keras's choice of a GPU kernel; no GPU here
        layer_kwargs = {k: kwargs.pop(k) for k in _RNN_ARGUMENTS + _LAYER_ARGUMENTS if k in kwargs}
        cell = self.cell_class(
            units,
            name=self.cell_name,
            dtype=layer_kwargs.get("dtype"),
            trainable=layer_kwargs.get("trainable", True),
            **kwargs,
        )
        super().__init__(cell, **layer_kwargs)

    def __getattr__(self, name):
        # The cell's arguments read as the layer's (Keras's properties: units, dropout, ...).
        if name != "cell" and "cell" in self.__dict__ and not name.startswith("_"):
            return getattr(self.__dict__["cell"], name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.setdefault("activity_regularizer", None)
        return {**config, **cell_config}


@LAYERS.register("SimpleRNN")
class SimpleRNN(_CellLayer):
    """Keras's ``SimpleRNN(units)``: ``h_t = tanh(x_t W + h_{t-1} U + b)`` over
    the steps (see ``SimpleRNNCell`` and ``RNN``)."""

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"

    def get_config(self):
        config = super().get_config()
        del config["seed"]  # Keras's SimpleRNN writes no seed (its cell does)
        return config


@LAYERS.register("LSTM")
class LSTM(_CellLayer):
    """Keras's ``LSTM(units)``: long short-term memory over the steps (see
    ``LSTMCell`` for the gates and their slopes, ``RNN`` for the loop)."""

    cell_class = LSTMCell
    cell_name = "lstm_cell"


@LAYERS.register("GRU")
class GRU(_CellLayer):
    """Keras's ``GRU(units)``, ``reset_after=True`` by default (see ``GRUCell``)."""

    cell_class = GRUCell
    cell_name = "gru_cell"
