"""Where randomness comes from: one ``SeedSequence`` per model.

A model's seed spawns independent child generators for weight
initialisation, shuffling and dropout, so changing the batch order never
changes the starting weights. Without a seed, models draw from the default
sequence that ``set_random_seed`` fixes (Keras's
``keras.utils.set_random_seed``), or from fresh entropy when it was never called.

Layers built before they belong to a model (called on an ``Input`` for the
functional API) draw their initial weights from ``unseeded_generator()``,
which ``set_random_seed`` also fixes. ``gradstep.random``'s functions called
without a seed draw from ``random_ops_generator()``, a stream of its own that
``set_random_seed`` fixes too (so drawing from it never changes weights).
"""

from __future__ import annotations

import numpy as np

from gradstep.validation import is_int

GENERATOR_NAMES = ("init", "shuffle", "dropout")

_UNSEEDED_KEY = 2**32 - 1
_RANDOM_OPS_KEY = 2**32 - 2
_default_sequence: np.random.SeedSequence | None = None
_unseeded: np.random.Generator | None = None
_random_ops: np.random.Generator | None = None


def set_random_seed(seed: int) -> None:
    """Make every model created afterwards (without its own seed), and every
    layer built outside a model, reproducible."""
    global _default_sequence, _unseeded, _random_ops
    _default_sequence = np.random.SeedSequence(seed)
    # Streams of their own (not spawned children), so that models created after
    # set_random_seed get the same generators whether or not layers drew from them.
    _unseeded = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_UNSEEDED_KEY,)))
    _random_ops = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_RANDOM_OPS_KEY,)))


def unseeded_generator() -> np.random.Generator:
    """The generator of layers that no model has given one (yet)."""
    global _unseeded
    if _unseeded is None:
        _unseeded = np.random.default_rng()
    return _unseeded


def random_ops_generator() -> np.random.Generator:
    """The generator of ``gradstep.random``'s functions called without a seed."""
    global _random_ops
    if _random_ops is None:
        _random_ops = np.random.default_rng()
    return _random_ops


def model_generators(seed: int | None) -> dict[str, np.random.Generator]:
    """Independent generators ``init``, ``shuffle`` and ``dropout`` for one model."""
    if seed is not None:
        sequence = np.random.SeedSequence(seed)
    elif _default_sequence is not None:
        sequence = _default_sequence.spawn(1)[0]
    else:
        sequence = np.random.SeedSequence()
    return {
        name: np.random.default_rng(child)
        for name, child in zip(GENERATOR_NAMES, sequence.spawn(3), strict=True)
    }


def check_generator_state(generator: np.random.Generator, state, what: str) -> None:
    """Raise a ValueError unless ``state`` has the structure of the generator's
    own state (the same keys, non-negative integers) and a fresh generator of
    the same kind accepts it: NumPy alone would truncate floats silently."""
    template = generator.bit_generator.state
    if not _same_structure(template, state):
        raise ValueError(
            f"training_state holds a malformed state for {what}: expected the structure of "
            f"{_describe(template)}, received {str(state)[:200]}"
        )
    probe = type(generator.bit_generator)()
    try:
        probe.state = state
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"training_state holds an invalid state for {what}: {error}") from None


def _same_structure(template, value) -> bool:
    if isinstance(template, dict):
        return (
            isinstance(value, dict)
            and set(value) == set(template)
            and all(_same_structure(template[key], value[key]) for key in template)
        )
    if isinstance(template, str):
        return value == template
    return is_int(value) and value >= 0


def _describe(template) -> str:
    if isinstance(template, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in template.items()) + "}"
    return repr(template) if isinstance(template, str) else "int"


def spawned_seeds(count: int, base_seed: int = 0) -> list[int]:
    """``count`` independent integer seeds spawned from one ``SeedSequence(base_seed)``
    (a sweep's trials, a range test's runs)."""
    children = np.random.SeedSequence(base_seed).spawn(count)
    return [int(child.generate_state(1)[0]) for child in children]
