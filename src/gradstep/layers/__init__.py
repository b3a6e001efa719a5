"""Layers, one module per family: ``core`` (Input, Dense, Activation, Flatten),
``convolutional`` (Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D,
Conv2DTranspose), ``merging`` (Add, Concatenate, ...) and ``regularization``
(Dropout, ActivityRegularization); ``base`` holds the contract every layer
follows."""

from gradstep.layers.base import LAYERS, Layer
from gradstep.layers.convolutional import (
    Conv1D,
    Conv2D,
    Conv2DTranspose,
    Convolution1D,
    Convolution2D,
    Convolution2DTranspose,
    DepthwiseConv2D,
    SeparableConv2D,
    SeparableConvolution2D,
)
from gradstep.layers.core import Activation, Dense, Flatten, Input, InputLayer
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
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution2D",
    "Convolution2DTranspose",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "Maximum",
    "Minimum",
    "Multiply",
    "SeparableConv2D",
    "SeparableConvolution2D",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
