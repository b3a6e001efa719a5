"""Layers, one module per family: ``core`` (Input, Dense, Activation, Flatten)
and ``regularization`` (Dropout)."""

from gradstep.layers.base import LAYERS, Layer
from gradstep.layers.core import Activation, Dense, Flatten, Input, InputLayer
from gradstep.layers.regularization import Dropout

__all__ = ["LAYERS", "Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer"]
