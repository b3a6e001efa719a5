"""gradstep: train neural networks with the loss, the optimizer and the
learning rate first-class, inspectable and verified.

The API is Keras's: swap ``from tensorflow import keras`` (or ``import keras``)
for ``import gradstep as keras`` and a Sequential or functional program runs
on NumPy.
"""

from gradstep import (
    activations,
    callbacks,
    config,
    datasets,
    initializers,
    kernels,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    saving,
    utils,
)
from gradstep.layers import Input
from gradstep.models import Model, Sequential

__version__ = "0.1.0"

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "activations",
    "callbacks",
    "config",
    "datasets",
    "initializers",
    "kernels",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "saving",
    "utils",
]
