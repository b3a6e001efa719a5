"""Optional fast paths, each with a plain NumPy twin that gives the same numbers.

A kernel is used when its engine is installed (``pip install "gradstep[speed]"``
brings numba) and ``set_backend`` allows it; otherwise the NumPy twin
runs. Engines are imported on first use, never by ``import gradstep``.
"""

from __future__ import annotations

_BACKEND = "auto"
_BACKENDS = ("auto", "numpy", "numba")


def set_backend(name: str) -> None:
    """``'auto'`` (numba when installed, the default), ``'numpy'`` or ``'numba'``."""
    global _BACKEND
    if name not in _BACKENDS:
        raise ValueError(f"kernel backend must be one of {_BACKENDS}, received {name!r}")
    if name == "numba" and not numba_available():
        raise ValueError("kernel backend 'numba' needs numba: pip install 'gradstep[speed]'")
    _BACKEND = name


def backend() -> str:
    return _BACKEND


def use_numba() -> bool:
    return _BACKEND == "numba" or (_BACKEND == "auto" and numba_available())


_NUMBA_AVAILABLE: bool | None = None


def numba_available() -> bool:
    global _NUMBA_AVAILABLE
    if _NUMBA_AVAILABLE is None:
        try:
            import numba  # noqa: F401
        except ImportError:
            _NUMBA_AVAILABLE = False
        else:
            _NUMBA_AVAILABLE = True
    return _NUMBA_AVAILABLE
