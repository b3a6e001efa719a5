"""Where randomness comes from: one ``SeedSequence`` per model.

A model's seed spawns independent child generators for weight
initialisation, shuffling and dropout, so changing the batch order never
changes the starting weights. Without a seed, models draw from the default
sequence that ``set_random_seed`` fixes (Keras's
``keras.utils.set_random_seed``), or from fresh entropy when it was never called.
"""

from __future__ import annotations

import numpy as np

_default_sequence: np.random.SeedSequence | None = None


def set_random_seed(seed: int) -> None:
    """Make every model created afterwards (without its own seed) reproducible."""
    global _default_sequence
    _default_sequence = np.random.SeedSequence(seed)


def model_generators(seed: int | None) -> dict[str, np.random.Generator]:
    """Independent generators ``init``, ``shuffle`` and ``dropout`` for one model."""
    if seed is not None:
        sequence = np.random.SeedSequence(seed)
    elif _default_sequence is not None:
        sequence = _default_sequence.spawn(1)[0]
    else:
        sequence = np.random.SeedSequence()
    init, shuffle, dropout = sequence.spawn(3)
    return {
        "init": np.random.default_rng(init),
        "shuffle": np.random.default_rng(shuffle),
        "dropout": np.random.default_rng(dropout),
    }
