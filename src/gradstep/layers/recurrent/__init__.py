"""Recurrent layers: the cells (one step forward and backward each), ``RNN``
(backpropagation through time), ``SimpleRNN``/``LSTM``/``GRU``, and the
wrappers ``Bidirectional`` and ``TimeDistributed``."""

from gradstep.layers.recurrent.bidirectional import Bidirectional
from gradstep.layers.recurrent.cell import RecurrentCell
from gradstep.layers.recurrent.gru_cell import GRUCell
from gradstep.layers.recurrent.layers import GRU, LSTM, SimpleRNN
from gradstep.layers.recurrent.lstm_cell import LSTMCell
from gradstep.layers.recurrent.rnn import RNN
from gradstep.layers.recurrent.simple_rnn_cell import SimpleRNNCell
from gradstep.layers.recurrent.stacked import StackedRNNCells
from gradstep.layers.recurrent.time_distributed import TimeDistributed

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "GRUCell",
    "LSTMCell",
    "RecurrentCell",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
    "TimeDistributed",
]
