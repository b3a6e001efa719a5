"""gradstep models in other libraries, and back: ``to_torch``,
``to_torch_optimizer``, ``from_torch`` (PyTorch); ``to_keras``, ``from_keras``
(Keras 3, live objects in one process). Importing this package imports none
of those libraries: each function imports its library when called (the
``interop`` extra brings them)."""

from gradstep.interop.keras_live import from_keras, to_keras
from gradstep.interop.pytorch import from_torch, to_torch, to_torch_optimizer

__all__ = ["from_keras", "from_torch", "to_keras", "to_torch", "to_torch_optimizer"]
