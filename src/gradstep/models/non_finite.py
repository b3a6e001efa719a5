"""Where a NaN or an infinity first appeared in a training step.

When ``fit`` stops on a batch whose loss or gradients are not finite (the
step is not applied), it runs that batch once more, forward and backward, with
every layer watched, and names the first place a non-finite value came out of
finite ones:

- forward: the first layer, in the order the layers ran, whose output holds
  NaN or infinity although its inputs were finite (a nested model's own
  layers are watched too, so the innermost one is named);
- the loss: every layer's output was finite, the loss is not;
- backward: the first layer, in the order the chain rule reached them, whose
  slope at its input or at one of its weights is not finite although the
  slope it received was (or the loss's own slope, when that is what arrives
  non-finite).

The operation is the first floating-point error NumPy raised while that
layer (or the loss) ran: overflow, an invalid operation (``inf - inf``,
``0 * inf``, the log of a negative number) or a division by zero, with the
function and source line that did it. The second run restores the model's
random generators afterwards, and the model's weights are not changed by it.
"""

from __future__ import annotations

import inspect
import linecache
import os
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NonFiniteOrigin:
    """The first place a non-finite value appeared in a step.

    Attributes:
        phase: ``'forward'``, ``'loss'`` or ``'backward'``.
        layer: the layer's name (None for the loss).
        layer_class: the layer's class name (None for the loss).
        what: what was not finite (``"its output holds inf"``).
        operation: the first floating-point error NumPy raised there
            (``"overflow in exp, in _softmax (gradstep/activations.py:299):
            np.exp(x - x.max(...))"``), or None when none was raised (a
            non-finite value can also come from a kernel or from an input).
    """

    phase: str
    layer: str | None
    layer_class: str | None
    what: str
    operation: str | None

    def __str__(self) -> str:
        if self.layer is None and self.phase == "loss":
            place = "in the loss (every layer's output was finite)"
        elif self.layer is None:
            place = f"in the {self.phase} pass"
        else:
            place = f"in the {self.phase} pass, at layer {self.layer!r} ({self.layer_class})"
        text = f"it first appeared {place}: {self.what}"
        return text + (f"; operation: {self.operation}" if self.operation else "")


def locate(model, run_step) -> NonFiniteOrigin | None:
    """Run one training step's forward and backward pass again (``run_step()``:
    the model's ``(loss, gradients, ...)`` on the batch), watching every layer;
    the first place a non-finite value appeared, or None if none did. Nothing is
    updated; the random generators are restored."""
    state = model.get_training_state()
    watch = _Watch()
    try:
        with watch.layers(_all_layers(model)), watch.errors():
            try:
                loss, gradients, *_ = run_step()
            except (FloatingPointError, ValueError, ArithmeticError) as error:
                return watch.origin or NonFiniteOrigin(
                    "forward", None, None, f"the step raised {error!r}", None
                )
    finally:
        model.set_training_state(state)
    if watch.origin is not None:
        return watch.origin
    if not np.isfinite(loss):
        return NonFiniteOrigin("loss", None, None, f"the loss is {loss}", watch.loss_error)
    for path, _, slope in gradients:
        if slope is not None and not np.isfinite(slope).all():
            what = f"the weight penalty's slope of {path!r} is not finite"
            return NonFiniteOrigin("backward", None, None, what, None)
    return None


def _all_layers(model):
    """Every layer the model runs, nested ones included (each once)."""
    seen, order, stack = set(), [], list(reversed(_inner(model)))
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        order.append(layer)
        stack.extend(reversed(_inner(layer)))
    return order


def _inner(layer):
    """A layer's own layers: a model's ``layers`` and any layer's tracked ones."""
    inner = list(layer.layers) if layer.holds_layers else []
    return inner + [s for s in layer.sublayers() if all(s is not i for i in inner)]


def _finite(value) -> bool:
    """Whether every float array in ``value`` (an array, or a list/tuple/dict of them,
    None allowed) is finite."""
    return all(bool(np.isfinite(array).all()) for array in _flat_arrays(value))


def _kind(value) -> str:
    """``'NaN'``, ``'inf'`` or ``'NaN and inf'`` for a non-finite value."""
    arrays = _flat_arrays(value)
    nan = any(np.isnan(a).any() for a in arrays)
    inf = any(np.isinf(a).any() for a in arrays)
    return " and ".join(name for name, present in (("NaN", nan), ("inf", inf)) if present)


def _flat_arrays(value) -> list[np.ndarray]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [a for v in value.values() for a in _flat_arrays(v)]
    if isinstance(value, list | tuple):
        return [a for v in value for a in _flat_arrays(v)]
    array = np.asarray(value)
    return [array] if np.issubdtype(array.dtype, np.inexact) else []


_WATCHED_METHODS = ("forward", "backward", "backward_from_pre_activation")


class _Watch:
    """Wraps layers' ``forward``/``backward`` on the instances and catches NumPy's
    floating-point errors, remembering the first non-finite origin."""

    def __init__(self):
        self.origin: NonFiniteOrigin | None = None
        self.running: list = []  # the layers running now, innermost last
        self.errors_in: dict[int, str] = {}  # id(layer) -> its first NumPy error
        self.loss_error: str | None = None

    # --- layers -----------------------------------------------------------------------
    def layers(self, layers):
        return _Patched(self, layers)

    def wrap(self, layer, name, method):
        watch = self

        def watched(*args, **kwargs):
            watch.running.append(layer)
            try:
                result = method(*args, **kwargs)
            finally:
                watch.running.pop()
            if watch.origin is None:
                watch.check(layer, name, args, result)
            return result

        return watched

    def check(self, layer, name, args, result):
        if not args or (name != "forward" and len(args) < 2):
            return  # called with keywords (inside a layer): its caller is watched too
        if name == "forward":
            inputs, (output, _) = args[0], result
            if _finite(inputs) and not _finite(output):
                what = f"its output holds {_kind(output)} (its inputs were finite)"
                if not _finite([w.value for w in getattr(layer, "_weights", [])]):
                    what += "; its weights already hold non-finite values"
                self.found("forward", layer, what)
            return
        incoming = args[1]
        input_slope, weight_slopes = result
        if not _finite(incoming):
            self.origin = NonFiniteOrigin(
                "backward",
                None,
                None,
                f"the loss's slope reaches layer {layer.name!r} holding {_kind(incoming)}",
                self.loss_error,
            )
        elif not _finite(input_slope):
            self.found("backward", layer, f"the slope at its input holds {_kind(input_slope)}")
        else:
            for weight, slope in (weight_slopes or {}).items():
                if not _finite(slope):
                    what = f"the slope of its {weight!r} holds {_kind(slope)}"
                    self.found("backward", layer, what)
                    return

    def found(self, phase, layer, what):
        self.origin = NonFiniteOrigin(
            phase, layer.name, type(layer).__name__, what, self.errors_in.get(id(layer))
        )

    # --- NumPy's floating-point errors ------------------------------------------------
    def errors(self):
        return _Errors(self)

    def error(self, kind, flag):
        text = _where(kind, inspect.currentframe().f_back)
        if self.running:
            self.errors_in.setdefault(id(self.running[-1]), text)
        elif self.loss_error is None:
            self.loss_error = text


class _Patched:
    def __init__(self, watch, layers):
        self.watch, self.layers, self.kept = watch, layers, []

    def __enter__(self):
        for layer in self.layers:
            for name in _WATCHED_METHODS:
                method = getattr(layer, name, None)
                if method is None:
                    continue
                own = layer.__dict__.get(name, _ABSENT)
                self.kept.append((layer, name, own))
                object.__setattr__(layer, name, self.watch.wrap(layer, name, method))
        return self

    def __exit__(self, *exc):
        for layer, name, own in reversed(self.kept):
            if own is _ABSENT:
                del layer.__dict__[name]
            else:
                object.__setattr__(layer, name, own)
        return False


_ABSENT = object()


class _Errors:
    """``np.errstate`` calling the watch on overflow, invalid and divide (not underflow)."""

    def __init__(self, watch):
        self.watch = watch

    def __enter__(self):
        self._previous_call = np.seterrcall(self.watch.error)
        self._state = np.errstate(over="call", invalid="call", divide="call", under="ignore")
        self._state.__enter__()
        return self

    def __exit__(self, *exc):
        self._state.__exit__(*exc)
        np.seterrcall(self._previous_call)
        return False


def _where(kind: str, frame) -> str:
    """``"overflow in _softmax (gradstep/activations.py:299): np.exp(...)"``."""
    code = frame.f_code
    path = code.co_filename
    marker = f"{os.sep}gradstep{os.sep}"
    short = "gradstep" + os.sep + path.split(marker, 1)[1] if marker in path else path
    line = linecache.getline(path, frame.f_lineno).strip()
    place = f"{kind} in {code.co_qualname} ({short}:{frame.f_lineno})"
    return place + (f": {line}" if line else "")
