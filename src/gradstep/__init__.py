"""gradstep: train neural networks with the loss, the optimizer and the
learning rate first-class, inspectable and verified.

The API is Keras's: swap ``from tensorflow import keras`` (or ``import keras``)
for ``import gradstep as keras`` and a Sequential or functional program runs
on NumPy.

``import gradstep`` imports NumPy and this module only: each subpackage
(``gradstep.layers``, ``gradstep.optimizers``, ...) and each name below is
imported the first time it is read (PEP 562), so a script pays only for what
it uses.
"""

import importlib
import importlib.util

from gradstep.version import __version__ as __version__

_SUBPACKAGES = (
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
)
#: Top-level names -> the module that defines them.
_NAMES = {
    "Input": "gradstep.layers",
    "Metric": "gradstep.metrics",
    "Model": "gradstep.models",
    "Sequential": "gradstep.models",
}

__all__ = sorted([*_NAMES, *_SUBPACKAGES])


def __getattr__(name: str):
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    # A subpackage or module (gradstep.layers, gradstep.graph), as once an import made it.
    if not name.startswith("_") and importlib.util.find_spec(f"gradstep.{name}") is not None:
        return importlib.import_module(f"gradstep.{name}")
    raise AttributeError(f"module 'gradstep' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
