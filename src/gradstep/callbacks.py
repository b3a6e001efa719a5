"""Callbacks: code that runs at the edges of epochs and batches, with Keras's
interface. The model calls them through ``CallbackList``; a callback sees
the model through ``self.model`` (its weights, ``optimizer`` and
``stop_training``) and the numbers of the moment through ``logs``.

The epoch's ``logs`` dict is shared by every callback, in order, and
``History`` comes last: a callback that adds a key (``ReduceLROnPlateau``
and ``LearningRateScheduler`` add ``learning_rate``, as in Keras 3) has it
recorded in ``history.history``. ``History`` records ``learning_rate`` in
every fit, with or without them (Keras 3 only with them).
"""

from __future__ import annotations

import collections
import csv
import inspect
import json
import os
import shutil
import sys
import time
import warnings

import numpy as np

from gradstep.diagnostics import DiagnosticsRecorder
from gradstep.validation import (
    check_non_negative_int,
    check_positive_int,
    check_real,
    is_int,
    is_real,
)


class Callback:
    """Base class: every hook does nothing until a subclass overrides it.

    ``on_train_batch_begin``/``on_train_batch_end`` call ``on_batch_begin``/
    ``on_batch_end`` (Keras's older names), so overriding either works.
    """

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
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

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
        self.callbacks = []
        self.model = model
        self.params = params
        for callback in callbacks or []:
            self.append(callback)

    def append(self, callback: Callback) -> None:
        """Add a callback at the end, giving it the model and the parameters."""
        if not isinstance(callback, Callback):
            raise TypeError(
                f"callbacks must be gradstep.callbacks.Callback instances, received {callback!r}"
            )
        callback.set_model(self.model)
        callback.set_params(self.params)
        self.callbacks.append(callback)

    def __getattr__(self, hook):
        """``on_<...>`` calls that hook on every callback as Keras does: ``logs``
        (``{}`` when not given) positionally, and by keyword after a batch index.
        The caller is made once per hook and kept as an attribute, so later
        calls (every batch) find it directly; it reads ``self.callbacks`` at
        each call, so callbacks appended later are called too."""
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        takes_index = "batch" in hook or "epoch" in hook
        by_keyword = "batch" in hook

        def call_all(*args, logs=None):
            if len(args) > takes_index:
                *args, logs = args
            logs = {} if logs is None else logs
            for callback in self.callbacks:
                method = getattr(callback, hook)
                if by_keyword:
                    method(*args, logs=logs)
                else:
                    method(*args, logs)

        setattr(self, hook, call_all)
        return call_all


class History(Callback):
    """Records each epoch's logs: ``history.history['loss'][epoch]``, and the
    optimizer's learning rate as ``history.history['learning_rate'][epoch]``.

    The rate is read at the end of the epoch, as Keras 3's ``ReduceLROnPlateau``
    and ``TensorBoard`` read it: a schedule is evaluated at the optimizer's
    ``iterations``, the step that comes next. When a callback has already put
    ``learning_rate`` in the logs (``ReduceLROnPlateau``,
    ``LearningRateScheduler``), that value is recorded. Keras 3 has the key
    only with those callbacks; gradstep has it in every fit, so that the rate
    in use is always on the record.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        logs = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if "learning_rate" not in logs and optimizer is not None:
            logs["learning_rate"] = float(optimizer.learning_rate)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite, and says so.

    Kept for Keras programs: ``fit`` already does this by default, and more
    (``Sequential.terminate_on_nan``: it also checks the gradients, and skips
    the bad batch's optimizer step so that the weights stay finite).

    Args:
        raise_error: raise a ``RuntimeError`` at once instead of stopping
            gracefully, so that no other callback's ``on_train_end`` runs
            (Keras 3.15's option; default False).
        stream: where the message goes (default: standard output).
    """

    def __init__(self, raise_error: bool = False, stream=None):
        super().__init__()
        self.raise_error = raise_error
        self.stream = stream or sys.stdout
        self.terminated_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or np.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. "
                f"Loss value: {loss}. Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training", file=self.stream, flush=True)
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
    if per_step >= 1 or per_step == 0:
        return f"{per_step:.0f}s/step"
    if per_step >= 1e-3:
        return f"{per_step * 1e3:.0f}ms/step"
    return f"{per_step * 1e6:.0f}us/step"


class ProgbarLogger(Callback):
    """Keras-style progress of each epoch (and of ``evaluate`` and ``predict``).

    ``verbose=1`` on a terminal or in a notebook draws a bar that fills batch
    by batch, with the ETA, the time per step and the running metrics (through
    ``tqdm``, part of the ``main`` extra). Anywhere else (a file, a CI log,
    captured output), or without tqdm, it prints the finished bar once per
    epoch, as Keras's bar reads at the end of an epoch::

        45/45 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9151 - loss: 0.5391

    ``verbose=2`` prints one line per epoch::

        45/45 - 0s 2ms/step - accuracy: 0.9151 - loss: 0.5391

    When the number of steps is unknown (a generator without
    ``steps_per_epoch``), the bar counts steps with no total
    (``7/Unknown``), as Keras's does, until the first epoch has told it.

    Args:
        verbose: ``1`` (default) or ``2``, as above.
        stream: where the progress goes (default: standard output).
        clock: returns the time in seconds (default ``time.perf_counter``);
            tests pass a fake clock to fix the printed times.
    """

    def __init__(self, verbose: int = 1, stream=None, clock=time.perf_counter):
        super().__init__()
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.clock = clock
        self._bar = None
        self._learned_steps = None  # the steps counted in a first epoch of unknown length

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
        self._start = self.clock()
        self._steps = steps or self._learned_steps or 0
        self._done = 0
        if self.verbose == 1 and _is_interactive(self.stream):
            self._bar = _make_bar(self._steps, self.stream)

    def _advance(self, batch, logs):
        self._done = batch + 1
        if self._bar is not None:
            elapsed = self.clock() - self._start
            self._bar.set_description_str(_suffix(elapsed, self._done, logs), refresh=False)
            self._bar.update(1)

    def _finish(self, logs):
        elapsed = self.clock() - self._start
        if not self._steps:  # the steps were unknown: now they are counted
            self._steps = self._learned_steps = self._done
        suffix = _suffix(elapsed, self._done, logs)
        count = f"{self._done}/{self._steps}"
        if self._bar is not None:
            self._bar.total = self._steps
            self._bar.bar_format = "{n_fmt}/{total_fmt} {bar:20} " + f"{elapsed:.0f}s {suffix}"
            self._bar.close()
            self._bar = None
        elif self.verbose == 1:
            bar = _drawn_bar(self._done, self._steps)
            print(f"{count} {bar} {elapsed:.0f}s {suffix}", file=self.stream, flush=True)
        elif self.verbose == 2:
            print(f"{count} - {elapsed:.0f}s {suffix}", file=self.stream, flush=True)


def _suffix(elapsed, steps, logs):
    text = _time_per_step(elapsed, steps)
    shown = {k: v for k, v in (logs or {}).items() if np.ndim(v) == 0}
    return f"{text} - {format_logs(shown)}" if shown else text


def _is_interactive(stream) -> bool:
    """Whether ``stream`` shows a bar redrawn in place with ``\\r``: a terminal,
    or a notebook's output (which is no tty). In a file or a log the redraws
    would pile up on one line."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


def _drawn_bar(done, steps, width=20):
    """The bar as tqdm draws it: ``━`` for the part done, ``─`` for the rest."""
    filled = width * done // steps if steps else width
    return "━" * filled + "─" * (width - filled)


def _make_bar(steps, stream):
    try:
        from tqdm import tqdm
    except ImportError:  # the progress bar is an extra; fall back to a line per epoch
        return None
    return tqdm(
        total=steps or None,
        file=stream,
        ascii="─━",
        mininterval=0.1,
        leave=True,
        bar_format="{n_fmt}/{total_fmt} {bar:20} {remaining} {desc}"
        if steps
        else "{n_fmt}/Unknown {desc}",
    )


# --- callbacks that watch a number ------------------------------------------------------

# How ``mode='auto'`` tells whether a logged quantity should go up or down (Keras asks
# each metric for its direction; gradstep's metrics are functions, so their names tell).
_HIGHER_IS_BETTER = ("accuracy", "acc", "auc", "precision", "recall", "f1_score", "r2_score")
_LOWER_IS_BETTER = ("loss", "mae", "mse", "rmse", "mape", "msle", "kld", "poisson", "logcosh")


def _direction(monitor: str) -> str:
    """``'max'`` or ``'min'`` for a monitored name such as ``'val_accuracy'``."""
    name = monitor.removeprefix("val_")
    if name in _HIGHER_IS_BETTER or name.endswith("accuracy"):
        return "max"
    lower = ("error", "crossentropy", "hinge", "divergence", "_loss")
    if name in _LOWER_IS_BETTER or name.endswith(lower):
        return "min"
    raise ValueError(
        f"monitor={monitor!r}: gradstep cannot tell whether it should be maximized or "
        "minimized. Pass mode='max' to monitor the highest value, or mode='min' for the lowest."
    )


class MonitorCallback(Callback):
    """Base of the callbacks that watch one logged number (Keras's ``MonitorCallback``).

    Args:
        monitor: the key of the epoch logs to watch (default ``'val_loss'``).
        mode: ``'min'``, ``'max'``, or ``'auto'`` (default): ``'max'`` for
            accuracies, ``'min'`` for losses and errors.
        baseline: the best value to start from (default ``None``: the first value seen).
        min_delta: a change smaller than this is no improvement (default ``0``).
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"{type(self).__name__} mode must be 'auto', 'min' or 'max', received {mode!r}"
            )
        check_real(min_delta, "min_delta", finite=False)
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self) -> None:
        direction = self.mode if self.mode != "auto" else _direction(self.monitor)
        self.monitor_op = np.greater if direction == "max" else np.less
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def _is_improvement(self, monitor_value, reference_value) -> bool:
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))

    def _monitored(self, logs, what: str):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"{what} conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list((logs or {}).keys()))}",
                stacklevel=3,
            )
        return value


class EarlyStopping(MonitorCallback):
    """Stop training when a monitored quantity has stopped improving (Keras).

    At the end of each epoch from ``start_from_epoch`` on, the callback
    counts the epochs since the last improvement; when the count reaches
    ``patience`` (and the epoch is not the first), it sets
    ``model.stop_training``. An improvement is a change of more than
    ``min_delta`` in the right direction; with a ``baseline``, the count only
    restarts for values that beat the baseline too.

    Args:
        monitor: the logged quantity (default ``'val_loss'``).
        min_delta: the smallest change that counts as an improvement (default ``0``).
        patience: epochs without improvement before stopping (default ``0``).
        verbose: ``1`` prints when it stops and restores (default ``0``).
        mode: ``'auto'`` (default), ``'min'`` or ``'max'``.
        baseline: a value the quantity must beat (default ``None``).
        restore_best_weights: at the end, put back the weights of the best
            epoch (default ``False``: keep the last weights).
        start_from_epoch: epochs to wait before watching (default ``0``).
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = check_non_negative_int(patience, "patience")
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = check_non_negative_int(start_from_epoch, "start_from_epoch")
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self._monitored(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Restart the count only for a value that beats the baseline too.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping", flush=True)
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}.",
                    flush=True,
                )
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when a quantity stops improving (Keras).

    After ``patience`` epochs without an improvement of more than
    ``min_delta``, ``new_lr = max(lr * factor, min_lr)``; then ``cooldown``
    epochs pass before the count starts again. Each epoch's logs get the
    rate in use as ``learning_rate``, so ``History`` records it.

    Args:
        monitor: the logged quantity (default ``'val_loss'``).
        factor: the multiplier, below 1 (default ``0.1``).
        patience: epochs without improvement before reducing (default ``10``).
        verbose: ``1`` prints each reduction (default ``0``).
        mode: ``'auto'`` (default), ``'min'`` or ``'max'``.
        min_delta: the smallest change that counts as an improvement (default ``1e-4``).
        cooldown: epochs to wait after a reduction (default ``0``).
        min_lr: the lowest learning rate (default ``0.0``).
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        if not is_real(factor) or factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.factor = factor
        self.min_lr = min_lr
        self.patience = check_non_negative_int(patience, "patience")
        self.verbose = verbose
        self.cooldown = check_non_negative_int(cooldown, "cooldown")
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = self._monitored(logs, "Learning rate reduction")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, epoch) -> bool:
        optimizer = self.model.optimizer
        old_lr = float(optimizer.learning_rate)
        # Keras holds the rate in a float32 variable: compare as it does, so
        # that a rate already at min_lr is not "reduced" to min_lr again.
        if not np.float32(old_lr) > np.float32(self.min_lr):
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.",
                flush=True,
            )
        return True


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch from ``schedule(epoch, lr)`` (Keras).

    ``schedule`` takes the epoch index (from 0) and the current rate and
    returns the new rate; a one-argument ``schedule(epoch)`` works too. Each
    epoch's logs get the rate as ``learning_rate``. For a rate that changes
    every step, give the optimizer a schedule from
    ``gradstep.optimizers.schedules`` instead.

        >>> callback = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.9)

    Args:
        schedule: the function.
        verbose: ``1`` prints the rate set at each epoch (default ``0``).
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be a function (epoch, lr) -> lr, received {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if _positional_arity(self.schedule) == 1:
            learning_rate = self.schedule(epoch)
        else:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        if not is_real(learning_rate):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {learning_rate!r}"
            )
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{float(learning_rate)}.",
                flush=True,
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


def _positional_arity(function) -> int:
    """How many positional arguments ``function`` takes (2 when it cannot be told)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return 2
    kinds = [p.kind for p in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return 2
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(kind in positional for kind in kinds)


# --- logging ----------------------------------------------------------------------------


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (Keras).

    The columns are ``epoch`` (from 0) then the log keys, sorted; when there
    is no validation, ``val_`` columns are still written (as ``NA``), as in Keras.

    Args:
        filename: the CSV file.
        separator: the column separator (default ``','``).
        append: add to an existing file instead of overwriting it (default ``False``).
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as existing:
                    self.append_header = not bool(len(existing.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")  # noqa: SIM115
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                self.keys.extend([f"val_{key}" for key in self.keys])
        if not self.writer:

            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch"] + self.keys, dialect=Dialect
            )
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, _csv_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value):
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class LambdaCallback(Callback):
    """A callback from plain functions (Keras).

    ``on_epoch_begin`` and ``on_epoch_end`` take ``(epoch, logs)``;
    ``on_train_begin`` and ``on_train_end`` take ``(logs)``;
    ``on_train_batch_begin`` and ``on_train_batch_end`` take ``(batch, logs)``.
    Any other hook can be given by name, e.g. ``on_test_end=...``.

        >>> losses = []
        >>> record = LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        hooks = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
            **kwargs,
        )
        for name, function in hooks.items():
            if function is None:
                continue
            if not (name.startswith("on_") and callable(getattr(Callback, name, None))):
                raise ValueError(f"LambdaCallback has no hook named {name!r}")
            if not callable(function):
                raise TypeError(f"{name} must be a function, received {function!r}")
            setattr(self, name, function)


# --- saving -----------------------------------------------------------------------------


class ModelCheckpoint(MonitorCallback):
    """Save the model at the end of each epoch, or every ``save_freq`` batches (Keras).

    ``filepath`` may hold ``{epoch:02d}`` (from 1), ``{batch}`` and any log key
    such as ``{val_loss:.2f}``. The file is gradstep's single-file format
    (``model.save``; ``.keras``, ``.gradstep`` or ``.safetensors``), which
    always holds the weights and the optimizer's state; ``load_model`` or
    ``load_weights`` reads it back.

    Args:
        filepath: where to save, a template as above.
        monitor: the quantity ``save_best_only`` compares (default ``'val_loss'``).
        verbose: ``1`` prints each save (default ``0``).
        save_best_only: save only when ``monitor`` improves (default ``False``).
        save_weights_only: use ``model.save_weights`` (default ``False``; the
            file is the same, Keras's name is kept).
        mode: ``'auto'`` (default), ``'min'`` or ``'max'``.
        save_freq: ``'epoch'`` (default) or a number of batches.
        initial_value_threshold: the value to beat before the first save with
            ``save_best_only`` (default ``None``).
    """

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode, initial_value_threshold)
        from gradstep.file_format import EXTENSIONS

        self.filepath = os.fspath(filepath)
        if not self.filepath.endswith(EXTENSIONS):
            raise ValueError(
                f"The filepath provided must end in {', '.join(EXTENSIONS)} (gradstep's "
                f"model format; e.g. 'best.keras' or 'ckpt.weights.safetensors'). Received: "
                f"filepath={self.filepath}"
            )
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = _check_save_freq(save_freq)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if _due(self, batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _save_model(self, epoch, batch, logs) -> None:
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. "
                f"Filepath used is an existing directory: {filepath}"
            )
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _should_save(self, epoch, logs, filepath) -> bool:
        if not self.save_best_only:
            self._say(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            self._say(
                f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, "
                f"saving model to {filepath}"
            )
            self.best = current
            return True
        self._say(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _get_file_path(self, epoch, batch, logs) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as error:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {error}'
            ) from None

    def _say(self, message: str) -> None:
        if self.verbose > 0:
            print(message, flush=True)


class BackupAndRestore(Callback):
    """Back up the training at every epoch so that an interrupted ``fit`` resumes (Keras).

    At the end of every epoch (or every ``save_freq`` batches) the model is
    saved to ``backup_dir`` with its optimizer state and the states of its
    random generators, and the number of finished epochs beside it. When
    ``fit`` starts and a backup exists, it is loaded and training goes on
    from the first unfinished epoch: with ``save_freq='epoch'`` the result
    is the one the uninterrupted ``fit`` would have given. At the end of a
    ``fit`` that finishes, the backup is deleted (``delete_checkpoint``).
    Other callbacks' counters (``EarlyStopping``'s patience, for example)
    start again, as in Keras.

    Args:
        backup_dir: the folder for the backup (created if needed).
        save_freq: ``'epoch'`` (default), or a number of batches; a backup
            taken mid-epoch restarts that epoch from its first batch.
        double_checkpoint: keep the previous backup too, and fall back to it
            if the latest cannot be read (default ``False``).
        delete_checkpoint: delete the backup files when training finishes (default ``True``).
    """

    WEIGHTS = "latest.weights.safetensors"
    METADATA = "training_metadata.json"

    def __init__(
        self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True
    ):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = _check_save_freq(save_freq)
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, self.WEIGHTS)
        self._metadata_path = os.path.join(self.backup_dir, self.METADATA)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def _previous(self, path: str) -> str:
        return f"{path}.bkp"

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you "
                f"call fit(). Model {self.model.name!r} is unbuilt: give its first layer "
                "input_shape, or call model.build(input_shape)."
            )
        if not os.path.exists(self._weights_path):
            return
        try:
            self._load()
        except (OSError, ValueError):
            previous = self._previous(self._weights_path)
            if not (self.double_checkpoint and os.path.exists(previous)):
                raise
            shutil.copyfile(previous, self._weights_path)
            shutil.copyfile(self._previous(self._metadata_path), self._metadata_path)
            self._load()

    def _load(self) -> None:
        with open(self._metadata_path, encoding="utf-8") as handle:
            epoch = json.load(handle)["epoch"]
        check_non_negative_int(epoch, f"{self._metadata_path}: 'epoch'")
        self.model.load_weights(self._weights_path)
        self._current_epoch = epoch
        self.model.resume_at_epoch(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if _due(self, batch):
            self._save(self._current_epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch + 1)

    def _save(self, finished_epochs: int) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path in (self._weights_path, self._metadata_path):
                if os.path.exists(path):
                    shutil.copyfile(path, self._previous(path))
        self.model.save_weights(self._weights_path, overwrite=True)
        temporary = f"{self._metadata_path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"epoch": finished_epochs, "batch": self._last_batch_seen or 0}, handle)
        os.replace(temporary, self._metadata_path)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        # Only the files this callback writes are removed, and the folder if it is
        # then empty: backup_dir may be a folder the user keeps other things in.
        for path in (self._weights_path, self._metadata_path):
            for candidate in (path, self._previous(path)):
                if os.path.exists(candidate):
                    os.remove(candidate)
        if os.path.isdir(self.backup_dir) and not os.listdir(self.backup_dir):
            os.rmdir(self.backup_dir)


def _check_save_freq(save_freq):
    if save_freq == "epoch":
        return save_freq
    if not (is_int(save_freq) and save_freq >= 1):
        raise ValueError(
            f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or "
            "positive integer values"
        )
    return int(save_freq)


def _due(callback, batch) -> bool:
    """Keras's count of batches for ``save_freq=<int>``: True when a save is due."""
    if callback.save_freq == "epoch":
        return False
    last = callback._last_batch_seen
    added = batch + 1 if last is None or batch <= last else batch - last
    callback._batches_seen_since_last_saving += added
    callback._last_batch_seen = batch
    if callback._batches_seen_since_last_saving >= callback.save_freq:
        callback._batches_seen_since_last_saving = 0
        return True
    return False


# --- TensorBoard -------------------------------------------------------------------------
class TensorBoard(Callback):
    """Write the training's numbers and the weights' histograms for TensorBoard:
    Keras 3's callback, writing event files that TensorBoard reads, through
    tensorboardX (the ``tensorboard`` extra)::

        model.fit(x, y, epochs=5, validation_split=0.2,
                  callbacks=[gradstep.callbacks.TensorBoard("logs", histogram_freq=1)])
        # tensorboard --logdir logs

    What is written, with Keras's tags and steps:

    - ``<log_dir>/train``: ``epoch_<name>`` for the loss, each metric and
      ``epoch_learning_rate`` at step ``epoch`` (0-based); with
      ``update_freq="batch"`` or an int ``n``, ``batch_<name>`` every ``n``
      batches at the count of batches trained since ``fit`` began (from 1);
      with ``histogram_freq=n``, every ``n`` epochs (from epoch 0),
      ``<layer>/<weight>/histogram`` (``dense/kernel/histogram``) for each weight.
    - ``<log_dir>/validation``: the ``val_`` numbers as ``epoch_<name>`` (the
      prefix dropped) at step ``epoch``, and after each evaluation
      ``evaluation_<name>_vs_iterations`` at the optimizer's iteration count.

    Keras's other arguments are accepted where they change nothing gradstep can
    do: ``write_graph`` (gradstep has no TensorFlow graph to write; nothing is
    written for it), ``embeddings_metadata``. ``profile_batch`` (a profiler
    trace), ``embeddings_freq`` (the embedding projector) and ``write_images``
    (weights as images) are refused when asked for, with the reason.
    ``write_steps_per_second`` adds ``epoch_steps_per_second`` and
    ``batch_steps_per_second``, measured by the wall clock.

    Args:
        log_dir: the directory of the run (``train/`` and ``validation/`` go in it).
        histogram_freq: write the weights' histograms every this many epochs
            (0: never).
        write_graph: accepted; gradstep has no graph for TensorBoard's graph tab.
        write_images: must be False (TensorBoard's weight images are not written).
        write_steps_per_second: also write the steps per second (wall clock).
        update_freq: ``"epoch"``, ``"batch"`` (every batch) or an int ``n``
            (every ``n`` batches) for the ``batch_`` scalars.
        profile_batch: must be 0 (there is no profiler to trace).
        embeddings_freq: must be 0 (the embedding projector is not written).
        embeddings_metadata: accepted and unused, as with ``embeddings_freq=0``.
    """

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        _tensorboard_refuse("profile_batch", profile_batch, "gradstep has no profiler to trace")
        _tensorboard_refuse(
            "embeddings_freq", embeddings_freq, "gradstep does not write the embedding projector"
        )
        _tensorboard_refuse("write_images", write_images, "gradstep does not write weight images")
        self.log_dir = str(os.fspath(log_dir))
        self.histogram_freq = check_non_negative_int(histogram_freq, "histogram_freq")
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = _tensorboard_update_freq(update_freq)
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._epoch_start = self._batch_start = 0.0
        self._epoch_first_iteration = 0

    # --- writers ----------------------------------------------------------------------
    def _writer(self, which: str):
        """The writer of ``train`` or ``validation``, opened when first needed."""
        if which not in self._writers:
            try:
                from tensorboardX import SummaryWriter
            except ImportError as error:
                raise ImportError(
                    "callbacks.TensorBoard writes its event files with tensorboardX: "
                    "pip install 'gradstep[tensorboard]'"
                ) from error
            self._writers[which] = SummaryWriter(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # --- hooks ------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_first_iteration = self.model.optimizer.iterations

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        writer = self._writer("train")
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._batch_start
            writer.add_scalar("batch_steps_per_second", 1.0 / max(seconds, 1e-12), step)
        for name, value in (logs or {}).items():
            if np.ndim(value) == 0:
                writer.add_scalar(f"batch_{name}", float(value), step)

    def on_test_end(self, logs=None):
        writer = self._writer("validation")
        iterations = self.model.optimizer.iterations
        for name, value in (logs or {}).items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), iterations)
        if not self._training():  # a lone evaluate(): no on_epoch_end will flush
            writer.flush()

    def on_epoch_end(self, epoch, logs=None):
        self._write_epoch_scalars(epoch, dict(logs or {}))
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_histograms(epoch)
        for writer in self._writers.values():
            writer.flush()

    # --- what is written --------------------------------------------------------------
    def _training(self) -> bool:
        return self.params.get("epochs") is not None

    def _write_epoch_scalars(self, epoch: int, logs: dict) -> None:
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        validation = {k[len("val_") :]: v for k, v in logs.items() if k.startswith("val_")}
        train["learning_rate"] = float(self.model.optimizer.learning_rate)
        if self.write_steps_per_second:
            steps = self.model.optimizer.iterations - self._epoch_first_iteration
            seconds = time.perf_counter() - self._epoch_start
            train["steps_per_second"] = steps / max(seconds, 1e-12)
        for which, scalars in (("train", train), ("validation", validation)):
            if scalars:
                writer = self._writer(which)
                for name, value in scalars.items():
                    if np.ndim(value) == 0:
                        writer.add_scalar(f"epoch_{name}", float(value), epoch)

    def _write_histograms(self, epoch: int) -> None:
        writer = self._writer("train")
        for path, weight in self.model.named_weights():
            writer.add_histogram(f"{path}/histogram", np.asarray(weight), epoch)


def _tensorboard_refuse(argument: str, value, reason: str) -> None:
    if value:
        raise ValueError(
            f"TensorBoard(): {argument} must be {0 if argument != 'write_images' else False} "
            f"({reason}); received {argument}={value!r}"
        )


def _tensorboard_update_freq(update_freq):
    if update_freq == "batch":
        return 1
    if update_freq == "epoch":
        return update_freq
    if isinstance(update_freq, str) or isinstance(update_freq, bool):
        raise ValueError(
            f"TensorBoard(): update_freq must be 'epoch', 'batch' or a positive int, "
            f"received {update_freq!r}"
        )
    return check_positive_int(update_freq, "update_freq")


class Diagnostics(DiagnosticsRecorder, Callback):
    __doc__ = DiagnosticsRecorder.__doc__
