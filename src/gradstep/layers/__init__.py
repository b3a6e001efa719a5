"""Layers, one module per family: ``core`` (Input, Dense, Activation, Flatten),
``embedding`` (Embedding), ``merging`` (Add, Concatenate, ...) and
``regularization`` (Dropout, ActivityRegularization); ``base`` holds the
contract every layer follows."""

from gradstep.layers.base import LAYERS, Layer
from gradstep.layers.core import Activation, Dense, Flatten, Input, InputLayer
from gradstep.layers.embedding import Embedding
from gradstep.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from gradstep.layers.regularization import ActivityRegularization, Dropout

__all__ = [
    "LAYERS",
    "Activation",
    "ActivityRegularization",
    "Add",
    "Average",
    "Concatenate",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
