"""Moving a model to other frameworks in one process: Keras 3 (``to_keras``,
``from_keras``). Each needs its framework installed (the ``interop`` extra)."""

from gradstep.interop.keras_live import from_keras, to_keras

__all__ = ["from_keras", "to_keras"]
