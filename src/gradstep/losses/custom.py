"""Custom losses: any NumPy function of ``(y_true, y_pred)``, differentiated
automatically.

``losses.get(fn)`` (and ``model.compile(loss=fn)``) wraps a function that
returns the loss of each sample in a ``LossFunctionWrapper``. Its slope comes
from the ``autograd`` package, which traces the NumPy calls the function
makes (``pip install "gradstep[autodiff]"``). A ``Loss`` subclass that writes
``call`` without ``call_gradient`` gets its slope the same way.

    >>> import numpy as np
    >>> from gradstep.losses import get
    >>> def cubed_error(y_true, y_pred):
    ...     return np.mean(np.abs(y_pred - y_true) ** 3, axis=-1)
    >>> loss = get(cubed_error)
    >>> float(loss([[0.0, 0.0]], [[1.0, 2.0]]))
    4.5
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from gradstep.losses.base import Loss

AUTODIFF_HINT = 'pip install "gradstep[autodiff]" (the autograd package)'
SUBCLASS_HINT = (
    "subclass gradstep.losses.Loss and implement call_gradient(y_true, y_pred), the slope "
    "of each sample's loss with respect to y_pred"
)


class LossFunctionWrapper(Loss):
    """A loss from a function ``fn(y_true, y_pred, **kwargs)`` that returns the
    loss of each sample (Keras's class of the same name).

    The function sees ``y_true`` and ``y_pred`` as float arrays of matching
    rank (``(n,)`` targets against ``(n, 1)`` predictions are aligned first).
    Its slope is computed by ``autograd``; write it with NumPy functions,
    without in-place assignment into arrays.

    Args:
        fn: the function.
        reduction: as for every loss.
        name: the name shown in logs (default the function's name).
        **kwargs: passed to ``fn`` on every call.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"fn must be a function of (y_true, y_pred), received {fn!r}")
        super().__init__(reduction, name or getattr(fn, "__name__", "loss"))
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def call_vjp(self, y_true, y_pred, upstream):
        # The function may mix samples (a loss normalized over the batch), so
        # the weighted sum itself is differentiated: exact in every case.
        return autodiff_vjp(self, y_true, y_pred, upstream)

    def get_config(self):
        return {
            **super().get_config(),
            "fn": getattr(self.fn, "__name__", repr(self.fn)),
            **self._fn_kwargs,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the wrapper; the function itself is code, not data, so it must
        come from ``custom_objects`` (``{"my_loss": my_loss}``), by its name."""
        config = dict(config)
        name = config.pop("fn", None)
        fn = (custom_objects or {}).get(name)
        if fn is None:
            raise ValueError(
                f"The loss function {name!r} is not built into gradstep: pass the function "
                f"itself, as load_model(..., custom_objects={{{name!r}: {name}}}), or "
                "load with compile=False"
            )
        return cls(fn, **config)


def autodiff_vjp(loss: Loss, y_true, y_pred, upstream) -> np.ndarray:
    """Slope of ``sum(upstream * loss.call(y_true, y_pred))`` with respect to
    ``y_pred``, by automatic differentiation of ``loss.call`` with autograd."""
    try:
        from autograd import grad
    except ImportError:
        raise ImportError(
            f"The loss {loss.name!r} ({type(loss).__name__}) defines call() but not its "
            f"slope, and computing the slope automatically needs autograd, which is not "
            f"installed. Either {AUTODIFF_HINT}, or {SUBCLASS_HINT}."
        ) from None

    def weighted_total(prediction):
        return np.sum(loss.call(y_true, prediction) * upstream)

    try:
        with _numpy_functions_on_autograd_arrays():
            slope = grad(weighted_total)(np.asarray(y_pred, dtype=np.float64))
    except Exception as error:
        raise RuntimeError(
            f"autograd could not differentiate the loss {loss.name!r}: {error}. Write it with "
            "NumPy functions on whole arrays (no in-place assignment, no float() or "
            f"np.asarray() of y_pred), or {SUBCLASS_HINT}."
        ) from error
    return np.asarray(slope, dtype=y_pred.dtype)


_PATCH_LOCK = threading.Lock()
_PATCH_USERS = 0


@contextlib.contextmanager
def _numpy_functions_on_autograd_arrays():
    """Let plain ``numpy`` functions (``np.mean``, ``np.where``, ``np.clip``, ...)
    accept autograd's traced arrays, by sending them to ``autograd.numpy``
    (NumPy's ``__array_function__`` protocol). Ufuncs such as ``np.log``
    already dispatch. Undone when the last user exits, so autograd is
    unchanged elsewhere; counted under a lock, so that threads computing
    slopes at once (a threaded grid search) never see it undone mid-way."""
    global _PATCH_USERS
    from autograd.numpy.numpy_boxes import ArrayBox

    with _PATCH_LOCK:
        ours = _PATCH_USERS > 0 or "__array_function__" not in vars(ArrayBox)
        if ours:
            if _PATCH_USERS == 0:
                ArrayBox.__array_function__ = _send_to_autograd
            _PATCH_USERS += 1
    try:
        yield
    finally:
        if ours:
            with _PATCH_LOCK:
                _PATCH_USERS -= 1
                if _PATCH_USERS == 0:
                    del ArrayBox.__array_function__


def _send_to_autograd(self, func, types, args, kwargs):
    import autograd.numpy as anp

    namespace = {"numpy.linalg": anp.linalg, "numpy.fft": anp.fft}.get(func.__module__, anp)
    twin = getattr(namespace, func.__name__, None)
    if twin is None or twin is func:
        return NotImplemented
    return twin(*args, **kwargs)
