"""The warning a conversion gives where the other library will not compute
what gradstep computes (importing it imports no other library)."""


class TorchConversionWarning(UserWarning):
    """``to_torch_optimizer``: PyTorch's optimizer will not continue the run
    exactly as gradstep would, and why."""
