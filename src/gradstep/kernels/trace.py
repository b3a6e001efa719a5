"""Recording one weight's update as it is computed, to explain a step.

An optimizer's update runs in its kernel. To show a learner each value that
went into one weight's new value (the learning rate, the clipped gradient, the
moments before and after, the denominator...), the update itself records them
when asked, so the explanation cannot drift from the arithmetic that moves the
weight::

    with trace.watch(weight, index) as recorded:
        model.train_on_batch(x, y)        # the real step
    recorded.entries                        # [(name, value), ...] in order

While a trace is active, ``kernels.use_numba()`` is False: the NumPy twins run
(they give the same numbers as the fused kernels, tests/kernels/), and each
calls ``note(variable, name, array)`` after the operations worth showing;
``note`` keeps ``array``'s entry at the watched index when ``variable`` is the
watched weight. Without a trace, ``note`` is one comparison.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """The watched weight (the array itself), its flat index, and what was noted."""

    variable: np.ndarray
    index: int
    entries: list[tuple[str, float]] = field(default_factory=list)
    #: ids of arrays that stand for the weight (its gradient, while it is clipped)
    aliases: set[int] = field(default_factory=set)

    def value(self, name: str, default=None):
        """The last value noted under ``name``."""
        for noted, value in reversed(self.entries):
            if noted == name:
                return value
        return default

    def names(self) -> list[str]:
        return [name for name, _ in self.entries]


#: The trace being recorded, or None (the usual case).
ACTIVE: Trace | None = None


@contextlib.contextmanager
def watch(variable: np.ndarray, index: int):
    """Record the update of ``variable.flat[index]`` while inside."""
    global ACTIVE
    if ACTIVE is not None:
        raise RuntimeError("A step is already being traced; traces do not nest")
    ACTIVE = Trace(variable, int(index))
    try:
        yield ACTIVE
    finally:
        ACTIVE = None


def note(variable, name: str, value) -> None:
    """Record ``value`` (an array shaped like ``variable``: its watched entry;
    or a scalar) under ``name``, when ``variable`` is the watched weight."""
    if ACTIVE is None or not _watched(variable):
        return
    ACTIVE.entries.append((name, _entry(value, ACTIVE)))


def follow(variable, array) -> None:
    """Let ``array`` (the weight's gradient) stand for ``variable`` in later
    notes, for code that sees the gradient without its weight (clipping)."""
    if ACTIVE is not None and variable is ACTIVE.variable:
        ACTIVE.aliases.add(id(array))


def _watched(variable) -> bool:
    return variable is ACTIVE.variable or id(variable) in ACTIVE.aliases


def note_step(name: str, value) -> None:
    """Record a value that the whole update shares (the learning rate, the
    global gradient norm), once per update."""
    if ACTIVE is None:
        return
    ACTIVE.entries.append((name, _entry(value, ACTIVE)))


def watched_index(variable) -> int | None:
    """The watched flat index when ``variable`` is the watched weight, else
    None (for updates on factored slots, which pick their own entries)."""
    if ACTIVE is None or variable is not ACTIVE.variable:
        return None
    return ACTIVE.index


def _entry(value, trace: Trace):
    array = np.asarray(value)
    if array.ndim == 0:
        return array[()]  # a NumPy scalar: it keeps its dtype, for printing
    if array.shape == trace.variable.shape or array.size == trace.variable.size:
        return array.reshape(-1)[trace.index]
    raise ValueError(
        f"note() needs a scalar or an array shaped like the watched weight "
        f"{trace.variable.shape}, received shape {array.shape}"
    )
