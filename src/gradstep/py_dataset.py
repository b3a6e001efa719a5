"""``utils.PyDataset`` (alias ``utils.Sequence``): Keras 3's base class for a
data set written in Python, handed to ``fit``, ``evaluate`` and ``predict``.

A subclass gives ``__len__`` (the number of batches, not of samples) and
``__getitem__(index)`` (a whole batch: ``(x,)``, ``(x, y)`` or
``(x, y, sample_weight)``, or ``x`` alone), and may give ``on_epoch_begin``
and ``on_epoch_end``, which the model calls at each epoch's edges::

    class Batches(PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, index):
            rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return self.x[rows], self.y[rows]

``workers``, ``use_multiprocessing`` and ``max_queue_size`` are accepted and
kept, as Keras's are, but gradstep reads the batches one after the other on
the training loop's thread: a batch costs the same, with no worker threads
or processes (NumPy's own threads already use the cores).
"""

from __future__ import annotations

import itertools
import warnings

__all__ = ["PyDataset"]


class PyDataset:
    """Base class for a data set of batches computed in Python (Keras's ``PyDataset``).

    Args:
        workers: accepted for Keras programs; batches are read sequentially.
        use_multiprocessing: accepted for Keras programs; no processes are started.
        max_queue_size: accepted for Keras programs; nothing is queued.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self) -> None:
        missing = False
        for name, default in (
            ("_workers", 1),
            ("_use_multiprocessing", False),
            ("_max_queue_size", 10),
        ):
            if not hasattr(self, name):
                setattr(self, name, default)
                missing = True
        if missing:
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be "
                "ignored.",
                stacklevel=3,
            )

    @property
    def workers(self):
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """The batch at position ``index``."""
        raise NotImplementedError(
            f"{type(self).__name__} must define __getitem__(index), returning one batch"
        )

    def __iter__(self):
        count = self.num_batches
        indices = itertools.count() if count is None else range(count)
        for index in indices:
            yield self[index]

    @property
    def num_batches(self):
        """The number of batches (``len(self)``), or None for an endless data set."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must define __len__ (the number of batches) or the "
            "num_batches property (None for an endless data set)"
        )

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""
