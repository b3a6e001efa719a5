"""Callbacks: code that runs at the edges of epochs and batches, with Keras's
interface. The model calls them through ``CallbackList``; a callback sees
the model through ``self.model`` (its weights, ``optimizer`` and
``stop_training``) and the numbers of the moment through ``logs``.
"""

from __future__ import annotations

import sys
import time

import numpy as np


class Callback:
    """Base class: every hook does nothing until a subclass overrides it."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks=None, model=None, **params):
        self.callbacks = list(callbacks or [])
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    "callbacks must be gradstep.callbacks.Callback instances, "
                    f"received {callback!r}"
                )
            callback.set_model(model)
            callback.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call_all(*args, **kwargs):
            for callback in self.callbacks:
                getattr(callback, hook)(*args, **kwargs)

        return call_all


class History(Callback):
    """Records each epoch's logs: ``history.history['loss'][epoch]``."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite, and says so."""

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream or sys.stdout
        self.terminated_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(
                f"Batch {batch}: Invalid loss, terminating training", file=self.stream, flush=True
            )
            self.terminated_at = (self._epoch, batch)
            self.model.stop_training = True


def format_logs(logs: dict) -> str:
    """Keras's way to print a number: 4 decimals, or scientific when tiny."""
    parts = []
    for key, value in logs.items():
        text = f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"
        parts.append(f"{key}: {text}")
    return " - ".join(parts)


def _time_per_step(seconds: float, steps: int) -> str:
    per_step = seconds / max(steps, 1)
    if per_step >= 1:
        return f"{per_step:.0f}s/step"
    if per_step >= 1e-3:
        return f"{per_step * 1e3:.0f}ms/step"
    return f"{per_step * 1e6:.0f}us/step"


class ProgbarLogger(Callback):
    """Keras-style progress: ``verbose=1`` draws a bar per epoch with the ETA,
    the time per step and the running metrics (through ``tqdm`` when it is
    installed, one line per epoch otherwise); ``verbose=2`` prints one line
    per epoch."""

    def __init__(self, verbose: int = 1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self._bar = None

    # --- training ---------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs")
        if epochs is not None:
            print(f"Epoch {epoch + 1}/{epochs}", file=self.stream, flush=True)
        self._begin(self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    # --- evaluate and predict --------------------------------------------------------
    def on_test_begin(self, logs=None):
        if self.params.get("epochs") is None:
            self._begin(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if self.params.get("epochs") is None:
            self._advance(batch, logs)

    def on_test_end(self, logs=None):
        if self.params.get("epochs") is None:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._begin(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_predict_end(self, logs=None):
        self._finish(logs)

    # --- drawing ----------------------------------------------------------------------
    def _begin(self, steps):
        self._start = time.perf_counter()
        self._steps = steps or 0
        self._done = 0
        if self.verbose == 1:
            self._bar = _make_bar(self._steps, self.stream)

    def _advance(self, batch, logs):
        self._done = batch + 1
        if self._bar is not None:
            elapsed = time.perf_counter() - self._start
            self._bar.set_description_str(_suffix(elapsed, self._done, logs), refresh=False)
            self._bar.update(1)

    def _finish(self, logs):
        elapsed = time.perf_counter() - self._start
        suffix = _suffix(elapsed, self._done, logs)
        if self._bar is not None:
            self._bar.bar_format = "{n_fmt}/{total_fmt} {bar:20} " + f"{elapsed:.0f}s {suffix}"
            self._bar.close()
            self._bar = None
        elif self.verbose in (1, 2):
            print(
                f"{self._done}/{self._steps} - {elapsed:.0f}s {suffix}",
                file=self.stream,
                flush=True,
            )


def _suffix(elapsed, steps, logs):
    text = _time_per_step(elapsed, steps)
    shown = {k: v for k, v in (logs or {}).items() if np.ndim(v) == 0}
    return f"{text} - {format_logs(shown)}" if shown else text


def _make_bar(steps, stream):
    try:
        from tqdm import tqdm
    except ImportError:  # the progress bar is an extra; fall back to a line per epoch
        return None
    return tqdm(
        total=steps,
        file=stream,
        ascii="─━",
        mininterval=0.1,
        leave=True,
        bar_format="{n_fmt}/{total_fmt} {bar:20} {remaining} {desc}",
    )
