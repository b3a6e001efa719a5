"""gradstep models in other libraries, and back: ``to_torch``,
``to_torch_optimizer``, ``from_torch`` (PyTorch). Importing this package
imports none of them: each function imports its library when called."""

from gradstep.interop.pytorch import from_torch, to_torch, to_torch_optimizer  # noqa: F401
