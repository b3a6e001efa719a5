"""Layers, one module per family: ``core`` (Input, Dense, Activation, Flatten),
``activations`` (ReLU, LeakyReLU, ELU, Softmax, PReLU), ``convolutional``
(Conv1D, Conv2D, DepthwiseConv2D, SeparableConv2D, Conv1DTranspose,
Conv2DTranspose),
``embedding`` (Embedding), ``merging`` (Add, Concatenate, ...),
``normalization`` (BatchNormalization, LayerNormalization,
GroupNormalization), ``regularization`` (Dropout and its spatial and Gaussian
kin, ActivityRegularization), ``pooling`` (MaxPooling2D,
GlobalAveragePooling1D, ...), ``preprocessing`` (Rescaling,
Normalization) and
``reshaping`` (Reshape, Permute, ZeroPadding2D, UpSampling2D, ...); ``base``
holds the contract every layer follows, ``spatial`` what the layers over
steps and pixels share.

Each layer module is imported the first time one of its names is read
(``gradstep.layers.Dense`` imports ``core``; PEP 562), and the layer registry
imports the module that registers a class name when a saved configuration
names it: a script pays only for the layers it uses."""

import importlib
import importlib.util

from gradstep.layers.base import LAYERS, Layer

#: Each public name, by the module (under ``gradstep.layers``) that defines it.
_EXPORTS = {
    "activations": ("ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"),
    "attention": ("AdditiveAttention", "Attention"),
    "convolutional": (
        "Conv1D",
        "Conv1DTranspose",
        "Conv2D",
        "Conv2DTranspose",
        "Convolution1D",
        "Convolution1DTranspose",
        "Convolution2D",
        "Convolution2DTranspose",
        "DepthwiseConv2D",
        "SeparableConv2D",
        "SeparableConvolution2D",
    ),
    "core": ("Activation", "Dense", "Flatten", "Input", "InputLayer"),
    "embedding": ("Embedding",),
    "image_preprocessing": (
        "CenterCrop",
        "RandomContrast",
        "RandomCrop",
        "RandomFlip",
        "RandomRotation",
        "RandomTranslation",
        "RandomZoom",
        "Resizing",
    ),
    "lambda_layer": ("Lambda",),
    "masking": ("Masking",),
    "merging": (
        "Add",
        "Average",
        "Concatenate",
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
    ),
    "multi_head_attention": ("MultiHeadAttention",),
    "normalization": ("BatchNormalization", "GroupNormalization", "LayerNormalization"),
    "pooling": (
        "AveragePooling1D",
        "AveragePooling2D",
        "AvgPool1D",
        "AvgPool2D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAvgPool1D",
        "GlobalAvgPool2D",
        "GlobalMaxPool1D",
        "GlobalMaxPool2D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "MaxPool1D",
        "MaxPool2D",
        "MaxPooling1D",
        "MaxPooling2D",
    ),
    "preprocessing": ("Normalization", "Rescaling"),
    "preprocessing_lookup": (
        "CategoryEncoding",
        "Discretization",
        "Hashing",
        "IntegerLookup",
        "StringLookup",
    ),
    "recurrent": (
        "GRU",
        "LSTM",
        "RNN",
        "Bidirectional",
        "GRUCell",
        "LSTMCell",
        "SimpleRNN",
        "SimpleRNNCell",
        "StackedRNNCells",
        "TimeDistributed",
    ),
    "regularization": (
        "ActivityRegularization",
        "Dropout",
        "GaussianDropout",
        "GaussianNoise",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
    ),
    "reshaping": (
        "Cropping1D",
        "Cropping2D",
        "Permute",
        "RepeatVector",
        "Reshape",
        "UpSampling1D",
        "UpSampling2D",
        "ZeroPadding1D",
        "ZeroPadding2D",
    ),
}
_MODULE_OF = {name: f"{__name__}.{module}" for module, names in _EXPORTS.items() for name in names}
# The layer classes registered outside this package: the models (a model is a
# layer of another model) and the graph node of an op.
LAYERS.defer(
    {
        **_MODULE_OF,
        "Functional": "gradstep.models.functional",
        "Sequential": "gradstep.models.sequential",
        "OpLayer": "gradstep.ops.symbolic",
    }
)


def __getattr__(name: str):
    if name in _MODULE_OF:
        value = getattr(importlib.import_module(_MODULE_OF[name]), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")  # a module: layers.core
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CenterCrop",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Resizing",
    "CategoryEncoding",
    "Discretization",
    "Hashing",
    "IntegerLookup",
    "StringLookup",
    "GRU",
    "LSTM",
    "RNN",
    "Bidirectional",
    "GRUCell",
    "LSTMCell",
    "Lambda",
    "Masking",
    "SimpleRNN",
    "SimpleRNNCell",
    "StackedRNNCells",
    "TimeDistributed",
    "LAYERS",
    "Activation",
    "ActivityRegularization",
    "Add",
    "AdditiveAttention",
    "Attention",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "Concatenate",
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "Cropping1D",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GroupNormalization",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "Maximum",
    "MultiHeadAttention",
    "Minimum",
    "Multiply",
    "Normalization",
    "SeparableConv2D",
    "SeparableConvolution2D",
    "PReLU",
    "Permute",
    "ReLU",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "Subtract",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
