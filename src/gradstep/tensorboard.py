"""``callbacks.TensorBoard``: Keras 3's callback, writing event files that
TensorBoard reads, through tensorboardX (the ``tensorboard`` extra)::

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
"""

from __future__ import annotations

import os
import time

import numpy as np

from gradstep.callbacks import Callback
from gradstep.validation import check_non_negative_int, check_positive_int


class TensorBoard(Callback):
    """Write the training's numbers and the weights' histograms for TensorBoard.

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
        _refuse_if_set("profile_batch", profile_batch, "gradstep has no profiler to trace")
        _refuse_if_set(
            "embeddings_freq", embeddings_freq, "gradstep does not write the embedding projector"
        )
        _refuse_if_set("write_images", write_images, "gradstep does not write weight images")
        self.log_dir = str(os.fspath(log_dir))
        self.histogram_freq = check_non_negative_int(histogram_freq, "histogram_freq")
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = _update_freq(update_freq)
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


def _refuse_if_set(argument: str, value, reason: str) -> None:
    if value:
        raise ValueError(
            f"TensorBoard(): {argument} must be {0 if argument != 'write_images' else False} "
            f"({reason}); received {argument}={value!r}"
        )


def _update_freq(update_freq):
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
