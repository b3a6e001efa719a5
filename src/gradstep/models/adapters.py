"""Every kind of data ``fit``, ``evaluate`` and ``predict`` take, as batches of
arrays, with Keras 3's rules (``keras/src/trainers/epoch_iterator.py`` and
``data_adapters/``).

A *source* makes passes over its batches (``batches()``) and knows how many
there are (``num_batches``, None when only running out tells):

- ``ArrayBatches``: arrays checked once (``data.py``), sliced batch by batch
  and shuffled at each pass when asked: the fast path, nothing is checked again;
- ``GeneratorBatches``: a Python generator (or any iterator) of ``(x,)``,
  ``(x, y)`` or ``(x, y, sample_weight)`` tuples;
- ``PyDatasetBatches``: a ``utils.PyDataset`` (``__len__``, ``__getitem__``);
- ``TorchBatches``: a PyTorch ``DataLoader``; its tensors become arrays
  (torch is never imported: a tensor is known by its type's module).

``Epochs`` walks a source epoch by epoch as Keras's ``EpochIterator`` does.
Without ``steps`` each epoch is one whole pass. With ``steps`` an epoch is
``steps`` batches, and the next epoch goes on where the last one stopped; a
source that runs out ends the epoch early with Keras's warning ("Your input
ran out of data"), and the next epoch starts a new pass. A generator cannot
start again: as in Keras, a new pass over it replays the two batches read
ahead to check it, then whatever the generator still yields.

The batches of a stream (every source but arrays) are checked one by one as
they come, by the model's ``prepare`` function; an error names the batch.
"""

from __future__ import annotations

import collections.abc
import itertools
import math
import types
import warnings

import numpy as np

from gradstep.models import data
from gradstep.py_dataset import PyDataset

#: How many batches Keras reads ahead from a generator (to check it; replayed later).
PEEKED_BATCHES = 2

_RAN_OUT = (
    "Your input ran out of data; interrupting training. Make sure that your dataset or "
    "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
    "use the `.repeat()` function when building your dataset."
)


# --- what kind of data -------------------------------------------------------------------
def is_torch_dataloader(value) -> bool:
    """Whether ``value`` is a ``torch.utils.data.DataLoader`` (of a subclass), by its
    classes' names and modules, so that torch is not imported to ask."""
    return any(
        cls.__name__ == "DataLoader" and cls.__module__.startswith("torch.utils.data")
        for cls in type(value).__mro__
    )


def is_stream(value) -> bool:
    """Whether ``value`` is data that comes batch by batch (not arrays)."""
    return isinstance(
        value, PyDataset | types.GeneratorType | collections.abc.Iterator
    ) or is_torch_dataloader(value)


def stream_source(x, y, sample_weight, class_weight, shuffle_rng):
    """The source for a stream ``x``, refusing what Keras refuses with it:
    ``y`` and ``sample_weight`` (the batches carry them), ``class_weight`` for a
    generator or a DataLoader, and warning that ``shuffle`` is ignored where
    Keras warns. ``shuffle_rng`` (None: no shuffling) shuffles the order of a
    PyDataset's batches, as Keras does with ``shuffle=True``."""
    kind = _kind(x)
    if y is not None:
        _refuse("y", "the targets", kind)
    if sample_weight is not None:
        _refuse("sample_weights", "the sample weights", kind)
    if isinstance(x, PyDataset):
        return PyDatasetBatches(x, class_weight, shuffle_rng)
    if class_weight is not None:
        raise ValueError(
            f"Argument `class_weight` is not supported for {kind} inputs: make the batches "
            f"carry sample weights, (x, y, sample_weight). Received: class_weight={class_weight}"
        )
    if shuffle_rng is not None:
        warnings.warn(
            f"`shuffle=True` was passed, but will be ignored since the data `x` was provided "
            f"as a {kind}. The {kind} is expected to yield already-shuffled data.",
            stacklevel=4,
        )
    if is_torch_dataloader(x):
        return TorchBatches(x)
    return GeneratorBatches(x)


def _kind(x) -> str:
    if isinstance(x, PyDataset):
        return "PyDataset"
    if is_torch_dataloader(x):
        return "torch DataLoader"
    return "generator"


def _refuse(argument: str, description: str, kind: str):
    raise ValueError(
        f"When providing `x` as a {kind}, `{argument}` should not be passed. Instead, "
        f"{description} should be included as part of the {kind}."
    )


def refuse_validation_split(x) -> None:
    """Keras's error: only arrays can be split."""
    raise ValueError(
        "Argument `validation_split` is only supported for tensors or NumPy arrays. "
        f"Found incompatible type in the input: [{type(x)}]. Pass validation_data instead."
    )


# --- one batch ---------------------------------------------------------------------------
def unpack(batch, kind: str) -> tuple:
    """``(x, y, sample_weight)`` of one batch, by Keras's rule: a list counts as a
    tuple; anything that is not a tuple is ``x`` alone."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if len(batch) not in (1, 2, 3):
        raise ValueError(
            f"a batch from the {kind} must be x, (x,), (x, y) or (x, y, sample_weight); "
            f"received a tuple of {len(batch)} items"
        )
    return batch + (None,) * (3 - len(batch))


def to_numpy(value):
    """``value`` with every torch tensor in it (nested in tuples, lists and
    dicts) as a NumPy array."""
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    if isinstance(value, dict):
        return {key: to_numpy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(to_numpy(item) for item in value)
    return value


# --- sources -----------------------------------------------------------------------------
class ArrayBatches:
    """Batches of arrays already checked: ``arrays`` is a tuple of lists (inputs,
    and for training the targets and weights), sliced alike; ``shuffle_rng``
    (None: in order) draws a new order at each pass."""

    prepared = True
    description = "x"

    def __init__(self, arrays: tuple, batch_size: int, shuffle_rng=None):
        self.arrays = arrays
        self.batch_size = batch_size
        self.shuffle_rng = shuffle_rng
        self.count = len(arrays[0][0])
        self.num_batches = math.ceil(self.count / batch_size)

    def batches(self):
        count = self.count
        order = None if self.shuffle_rng is None else self.shuffle_rng.permutation(count)
        for step in range(self.num_batches):
            rows = data.batch_rows(order, step, self.batch_size, count)
            yield tuple(data.take(part, rows) for part in self.arrays)

    def on_epoch_begin(self) -> None: ...

    def on_epoch_end(self) -> None: ...


class GeneratorBatches:
    """A generator's (or iterator's) batches. The first ones are read at once,
    as Keras does, to check that there is a batch and that it is a tuple."""

    prepared = False
    num_batches = None

    def __init__(self, generator):
        self.description = f"x (a {type(generator).__name__})"
        self.generator = generator
        self.peeked = list(itertools.islice(generator, PEEKED_BATCHES))
        if not self.peeked:
            raise ValueError(
                "When passing a Python generator to a model, the generator must yield at "
                "least one batch. Received an empty generator."
            )
        if not isinstance(self.peeked[0], tuple):
            raise ValueError(
                "When passing a Python generator to a model, the generator must return a "
                "tuple, either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Received a {type(self.peeked[0]).__name__}: "
                f"{str(self.peeked[0])[:100]}"
            )

    def first(self):
        return unpack(to_numpy(self.peeked[0]), "generator")

    def batches(self):
        for batch in itertools.chain(self.peeked, self.generator):
            yield unpack(to_numpy(batch), "generator")

    def on_epoch_begin(self) -> None: ...

    def on_epoch_end(self) -> None: ...


class PyDatasetBatches:
    """A ``PyDataset``'s batches, read one after the other (its ``workers`` and
    ``use_multiprocessing`` are accepted and not used); with ``shuffle_rng``,
    in a new order at each pass (Keras shuffles the batches of a PyDataset of
    known length when ``shuffle=True``)."""

    prepared = False

    def __init__(self, dataset: PyDataset, class_weight=None, shuffle_rng=None):
        self.description = f"x (the PyDataset {type(dataset).__name__})"
        self.dataset = dataset
        self.class_weight = class_weight
        self.num_batches = dataset.num_batches
        if self.num_batches is None and shuffle_rng is not None:
            warnings.warn(
                "`shuffle=True` was passed, but will be ignored since the data `x` was "
                "provided as an infinite PyDataset. The PyDataset is expected to already be "
                "shuffled.",
                stacklevel=5,
            )
            shuffle_rng = None
        self.shuffle_rng = shuffle_rng
        dataset.workers  # noqa: B018 -- warns, as Keras does, if super().__init__ was not called

    def first(self):
        return self._standardized(self.dataset[0])

    def batches(self):
        count = self.num_batches
        if count is None:
            indices = itertools.count()
        elif self.shuffle_rng is None:
            indices = range(count)
        else:
            indices = self.shuffle_rng.permutation(count).tolist()
        for index in indices:
            yield self._standardized(self.dataset[index])

    def _standardized(self, batch):
        batch = to_numpy(batch)
        if isinstance(batch, dict | np.ndarray):
            batch = (batch,)
        if isinstance(batch, list):
            batch = tuple(batch)
        if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
            raise ValueError(
                "PyDataset.__getitem__() must return a tuple or a dict. If a tuple, it must "
                "be ordered either (input,) or (inputs, targets) or (inputs, targets, "
                f"sample_weights). Received: {str(batch)[:100]}... of type {type(batch)}"
            )
        if self.class_weight is not None and len(batch) == 3:
            raise ValueError(
                "You cannot specify `class_weight` and `sample_weight` at the same time."
            )
        return batch + (None,) * (3 - len(batch))

    def on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()


class TorchBatches:
    """A PyTorch ``DataLoader``'s batches, its tensors as arrays; its length is
    known when its data set has one."""

    prepared = False

    def __init__(self, loader):
        self.description = f"x (the {type(loader).__name__})"
        self.loader = loader
        self.num_batches = len(loader) if hasattr(loader.dataset, "__len__") else None

    def first(self):
        return unpack(to_numpy(next(iter(self.loader))), "torch DataLoader")

    def batches(self):
        for batch in self.loader:
            yield unpack(to_numpy(batch), "torch DataLoader")

    def on_epoch_begin(self) -> None: ...

    def on_epoch_end(self) -> None: ...


# --- epochs ------------------------------------------------------------------------------
class Epochs:
    """Keras's ``EpochIterator`` over a source: ``epoch()`` yields ``(step,
    batch)`` for one epoch, each batch of a stream passed through ``prepare``
    (which checks it and returns the model's arrays).

    Args:
        source: one of the sources above.
        steps: the batches per epoch (``steps_per_epoch``, ``validation_steps``,
            ``steps``); None for one whole pass.
        prepare: turns a stream's ``(x, y, sample_weight)`` into arrays.
    """

    def __init__(self, source, steps=None, prepare=None):
        self.source = source
        self.steps = steps
        self.prepare = prepare
        self._num_batches = source.num_batches
        self._current = None
        self._seen = 0

    @property
    def num_batches(self):
        """Batches per epoch: ``steps``, else the source's count (None until a
        pass over a generator has run out)."""
        return self.steps or self._num_batches

    def epoch(self):
        """``(step, batch)`` for the batches of one epoch. Close it (``.close()``)
        when leaving early, so that the source hears the epoch's end."""
        self.source.on_epoch_begin()
        try:
            for step, batch in self._walk():
                yield step, batch if self.source.prepared else self._prepared(batch, step)
        finally:
            self.source.on_epoch_end()

    def _walk(self):
        steps = self.steps or self._num_batches
        if not steps:  # a generator, until it runs out
            self._current, self._seen = iter(self.source.batches()), 0
            steps = None
        elif self._current is None or self.steps is None:
            self._current, self._seen = iter(self.source.batches()), 0
        for step in itertools.count() if steps is None else range(steps):
            if self._num_batches and self._seen >= self._num_batches:
                if self.steps:
                    warnings.warn(_RAN_OUT, stacklevel=4)
                break
            batch = next(self._current, _END)
            if batch is _END:
                self._ran_out()
                return
            self._seen += 1
            yield step, batch
        if self._num_batches and self._seen >= self._num_batches:
            self._current, self._seen = None, 0

    def _ran_out(self) -> None:
        if self._num_batches is None:
            self._num_batches = self._seen
        warnings.warn(_RAN_OUT, stacklevel=5)
        self._current = None

    def _prepared(self, batch, step: int):
        try:
            return self.prepare(batch)
        except (TypeError, ValueError) as error:
            where = f"{self.source.description}, the batch of step {step}"
            raise type(error)(f"{where}: {error}") from error


_END = object()
