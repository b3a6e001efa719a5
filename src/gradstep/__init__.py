"""gradstep: train neural networks with the loss, the optimizer and the
learning rate first-class, inspectable and verified.

The API is Keras's: swap ``from tensorflow import keras`` (or ``import keras``)
for ``import gradstep as keras`` and a Sequential or functional program runs
on NumPy.
"""

from gradstep import (
    activations,
    backend,
    callbacks,
    config,
    constraints,
    datasets,
    initializers,
    kernels,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    random,
    regularizers,
    saving,
    utils,
)
from gradstep.layers import Input
from gradstep.metrics import Metric
from gradstep.models import Model, Sequential
from gradstep.version import __version__ as __version__

__all__ = [
    "Input",
    "Metric",
    "Model",
    "Sequential",
    "activations",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "datasets",
    "initializers",
    "kernels",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "random",
    "regularizers",
    "saving",
    "utils",
]
