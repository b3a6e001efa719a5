"""The slope of a loss written with ``gradstep.ops`` or NumPy, by automatic
differentiation.

A loss that defines ``call`` but not its slope (a ``LossFunctionWrapper``
around your function, or a ``Loss`` subclass without ``call_gradient``) gets
it here: gradstep's tape (``gradstep.ops.tape``) records the ops ``call``
runs, NumPy functions included (they run the op of the same name). A NumPy
function the ops lack falls back to the ``autograd`` package when it is
installed (an extra: ``pip install "gradstep[autodiff]"``).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

AUTODIFF_HINT = 'pip install "gradstep[autodiff]" (the autograd package)'
SUBCLASS_HINT = (
    "subclass gradstep.losses.Loss and implement call_gradient(y_true, y_pred), the slope "
    "of each sample's loss with respect to y_pred"
)


def autodiff_vjp(loss, y_true, y_pred, upstream) -> np.ndarray:
    """Slope of ``sum(upstream * loss.call(y_true, y_pred))`` with respect to
    ``y_pred``, by automatic differentiation of ``loss.call`` (gradstep's tape;
    autograd for NumPy functions the tape lacks)."""
    from gradstep.ops.tape import value_and_gradients

    prediction = np.asarray(y_pred, dtype=np.float64)
    try:
        _, (slope,) = value_and_gradients(
            lambda p: loss.call(y_true, p), [prediction], slope=np.asarray(upstream)
        )
        return np.asarray(slope, dtype=y_pred.dtype)
    except TypeError as tape_error:
        try:
            import autograd  # noqa: F401
        except ImportError:
            raise TypeError(
                f"The slope of the loss {loss.name!r} could not be found automatically: "
                f"{tape_error}"
            ) from tape_error
    return _autograd_vjp(loss, y_true, y_pred, upstream)


def _autograd_vjp(loss, y_true, y_pred, upstream) -> np.ndarray:
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
