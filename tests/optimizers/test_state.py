"""Optimizer state (slots, optimizer-wide state, EMA averages, gradient
accumulators, the step counter) saved with get_state and restored with
set_state: resuming gives the same parameters as never stopping, to the bit."""

import numpy as np
import pytest

from gradstep import optimizers
from gradstep.optimizers import schedules

SHAPES = [(3, 4), (4,), (5, 2), (2, 3, 2)]
NAMES = ["dense/kernel", "dense/bias", "output/kernel", "conv/kernel"]

MAKERS = {
    "sgd": lambda: optimizers.SGD(0.05),
    "sgd_nesterov": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "gd_momentum": lambda: optimizers.GD(0.05, momentum=0.5),
    "rmsprop_centered_momentum": lambda: optimizers.RMSprop(centered=True, momentum=0.5),
    "adam": lambda: optimizers.Adam(0.05),
    "adam_amsgrad": lambda: optimizers.Adam(0.05, amsgrad=True),
    "adamw": lambda: optimizers.AdamW(0.05),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adadelta": lambda: optimizers.Adadelta(1.0),
    "adamax": lambda: optimizers.Adamax(0.05),
    "nadam": lambda: optimizers.Nadam(0.05),
    "lion": lambda: optimizers.Lion(0.01),
    "ftrl": lambda: optimizers.Ftrl(0.1, l1_regularization_strength=0.01),
    "adafactor": lambda: optimizers.Adafactor(0.05),
    "lamb": lambda: optimizers.Lamb(0.05),
    "muon": lambda: optimizers.Muon(0.02, exclude_layers=["output"]),
    "schedule_free": lambda: optimizers.ScheduleFreeAdamW(warmup_steps=3),
    "ema_overwrite": lambda: optimizers.Adam(
        0.05, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3
    ),
    "accumulation": lambda: optimizers.RMSprop(0.01, momentum=0.9, gradient_accumulation_steps=3),
    "schedule": lambda: optimizers.SGD(
        schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5), momentum=0.9
    ),
    "everything": lambda: optimizers.Nadam(
        0.05,
        weight_decay=0.01,
        global_clipnorm=1.0,
        use_ema=True,
        gradient_accumulation_steps=2,
    ),
}


def _gradients(dtype, count=11):
    rng = np.random.default_rng(3)
    return [[rng.normal(size=s).astype(dtype) for s in SHAPES] for _ in range(count)]


def _variables(dtype):
    rng = np.random.default_rng(4)
    return [rng.normal(size=s).astype(dtype) for s in SHAPES]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_resuming_from_saved_state_matches_never_stopping(name, dtype):
    make = MAKERS[name]
    gradients = _gradients(dtype)
    straight = _variables(dtype)
    uninterrupted = make()
    for grads in gradients:
        uninterrupted.apply(grads, straight, variable_names=NAMES)

    resumed = _variables(dtype)
    first = make()
    for grads in gradients[:5]:
        first.apply(grads, resumed, variable_names=NAMES)
    state = first.get_state()
    # the state is plain named arrays, as a file would hold them
    state = {key: np.array(value) for key, value in state.items()}
    second = type(first).from_config(first.get_config())
    second.set_state(state, resumed, variable_names=NAMES)
    for grads in gradients[5:]:
        second.apply(grads, resumed, variable_names=NAMES)

    for a, b in zip(straight, resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    assert second.iterations == uninterrupted.iterations
    final_a, final_b = uninterrupted.get_state(), second.get_state()
    assert final_a.keys() == final_b.keys()
    for key in final_a:
        np.testing.assert_array_equal(final_a[key], final_b[key], err_msg=key)


def test_state_names_every_kind_of_slot():
    optimizer = optimizers.Nadam(use_ema=True, gradient_accumulation_steps=2)
    variables = _variables(np.float32)
    optimizer.apply(_gradients(np.float32)[0], variables)
    state = optimizer.get_state()
    assert {
        "iterations",
        "u_product",
        "momentum/0",
        "velocity/3",
        "average/1",
        "gradient_accumulator/2",
    } <= set(state)
    assert state["iterations"].dtype == np.int64


def test_slots_that_a_parameter_does_not_use_are_not_saved():
    optimizer = optimizers.Adafactor()
    variables = _variables(np.float64)
    optimizer.apply(_gradients(np.float64)[0], variables)
    state = optimizer.get_state()
    assert "row_mean/0" in state and "row_mean/1" not in state
    assert state["column_mean/3"].shape == (2, 2)


def test_muon_state_depends_on_the_names():
    optimizer = optimizers.Muon(exclude_layers=["output"])
    variables = _variables(np.float64)
    optimizer.apply(_gradients(np.float64)[0], variables, variable_names=NAMES)
    state = optimizer.get_state()
    assert "velocity/2" in state and "velocity/0" not in state
    fresh = optimizers.Muon(exclude_layers=["output"])
    with pytest.raises(ValueError, match=r"unexpected \['velocity/2'\]"):
        fresh.set_state(state, variables)  # without the names, output/kernel is a Muon matrix
    fresh.set_state(state, variables, variable_names=NAMES)
    assert fresh.iterations == 1


def test_resuming_lbfgs_matches_never_stopping():
    def closure_for(weights):
        def closure():
            x, y = weights[0]
            loss = (1 - x) ** 2 + 100 * (y - x**2) ** 2
            grad = np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])
            return loss, [grad]

        return closure

    straight = [np.array([-1.5, 2.0])]
    uninterrupted = optimizers.LBFGS(max_iter=5, history_size=3, line_search_fn="strong_wolfe")
    for _ in range(6):
        uninterrupted.step(closure_for(straight), straight)

    resumed = [np.array([-1.5, 2.0])]
    first = optimizers.LBFGS(max_iter=5, history_size=3, line_search_fn="strong_wolfe")
    for _ in range(3):
        first.step(closure_for(resumed), resumed)
    second = optimizers.LBFGS.from_config(first.get_config())
    second.set_state(first.get_state(), resumed)
    for _ in range(3):
        second.step(closure_for(resumed), resumed)
    np.testing.assert_array_equal(straight[0], resumed[0])
    assert second.get_state()["old_dirs"].shape == (3, 2)
