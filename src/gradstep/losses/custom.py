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

from gradstep import registry
from gradstep.losses.autodiff import autodiff_vjp
from gradstep.losses.base import Loss


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
        come from ``custom_objects`` (``{"my_loss": my_loss}``) or be registered
        (``saving.register_keras_serializable``), by its name."""
        config = dict(config)
        name = config.pop("fn", None)
        fn = (custom_objects or {}).get(name) or registry.custom_object(name)
        if fn is None:
            raise ValueError(
                f"The loss function {name!r} is not built into gradstep: pass the function "
                f"itself, as load_model(..., custom_objects={{{name!r}: {name}}}), or "
                "load with compile=False"
            )
        return cls(fn, **config)
