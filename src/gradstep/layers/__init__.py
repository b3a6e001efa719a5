"""Layers, one module per family: ``core`` (Input, Dense, Activation, Flatten),
``embedding`` (Embedding), ``merging`` (Add, Concatenate, ...),
``normalization`` (BatchNormalization, LayerNormalization, GroupNormalization)
and ``regularization`` (Dropout and its spatial and Gaussian kin,
ActivityRegularization); ``base`` holds the contract every layer follows."""

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
from gradstep.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
)
from gradstep.layers.regularization import (
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)

__all__ = [
    "LAYERS",
    "Activation",
    "ActivityRegularization",
    "Add",
    "Average",
    "BatchNormalization",
    "Concatenate",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "GroupNormalization",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "Maximum",
    "Minimum",
    "Multiply",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
