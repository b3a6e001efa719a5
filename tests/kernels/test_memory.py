"""Slots of large parameters sit apart from them in memory (kernels/memory.py)."""

import numpy as np
import pytest

from gradstep import optimizers
from gradstep.kernels import memory

LARGE = memory.MIN_BYTES // 4  # float32 entries that make a parameter large


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", [1, 2, 3])
def test_a_large_slot_is_staggered_from_its_parameter(dtype, index):
    variable = np.ones((LARGE // 64, 64), dtype)
    slot = memory.slot_like(variable, index, fill=0.25)
    assert slot.shape == variable.shape and slot.dtype == variable.dtype
    assert slot.flags.c_contiguous and slot.flags.writeable and slot.flags.aligned
    assert memory.distance(variable, slot) == index * memory.STAGGER % memory.PERIOD
    assert np.all(slot == 0.25)


def test_small_or_strided_parameters_get_plain_slots():
    small = np.ones((8, 8), np.float32)
    strided = np.ones((LARGE // 32, 64), np.float32)[:, ::2]
    for variable in (small, strided):
        slot = memory.slot_like(variable, 1, fill=2.0)
        assert slot.shape == variable.shape and np.all(slot == 2.0)
        assert slot.base is None  # an array of its own, as np.full_like gives


def test_adam_places_its_moments_apart_from_the_weight_and_each_other():
    variable = np.zeros((LARGE // 128, 128), np.float32)
    optimizer = optimizers.Adam(amsgrad=True)
    optimizer.build([variable])
    slots = [optimizer.slot(name, variable) for name in ("momentum", "velocity", "velocity_hat")]
    distances = [memory.distance(variable, slot) for slot in slots]
    assert distances == [k * memory.STAGGER for k in (1, 2, 3)]
    assert all(abs(d % (1 << 19)) >= 1024 for d in distances)


def test_restoring_state_keeps_the_staggered_slots():
    variable = np.linspace(0, 1, LARGE, dtype=np.float32)
    optimizer = optimizers.Adam()
    optimizer.apply([np.ones_like(variable)], [variable])
    state = optimizer.get_state()
    state["momentum/0"] = np.full_like(variable, 0.5)
    optimizer.set_state(state, [variable])
    momentum, velocity = (optimizer.slot(name, variable) for name in ("momentum", "velocity"))
    assert memory.distance(variable, momentum) == memory.STAGGER
    assert memory.distance(variable, velocity) == 2 * memory.STAGGER
    assert np.all(momentum == 0.5)
    np.testing.assert_array_equal(velocity, state["velocity/0"])
