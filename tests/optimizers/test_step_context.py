"""The optimizer's seam: one ``StepContext`` per update (the rate, the cycled
momentum, the optimizer's own values, computed once), handed to every
parameter's ``update_step``; nothing on the optimizer is set and restored
during a step; only optimizers that declare a momentum are cycled."""

import numpy as np
import pytest

from gradstep import optimizers
from gradstep.optimizers import OPTIMIZERS, StepContext, WeightGradient, schedules


class CountingAdam(optimizers.Adam):
    """Adam that records what each update hands its parameters."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.contexts: list[StepContext] = []
        self.step_values_calls = 0

    def step_values(self, step):
        self.step_values_calls += 1
        return super().step_values(step)

    def update_step(self, gradient, variable, step):
        self.contexts.append(step)
        super().update_step(gradient, variable, step)


def test_one_context_per_update_shared_by_every_parameter():
    schedule = schedules.OneCycle(0.1, total_steps=10)
    optimizer = CountingAdam(learning_rate=schedule)
    weights = [np.ones((2, 3)), np.ones(3), np.ones((3, 1))]
    for _ in range(3):
        optimizer.apply([np.full_like(w, 0.5) for w in weights], weights)
    assert optimizer.step_values_calls == 3
    contexts = optimizer.contexts
    assert len(contexts) == 9
    for update in range(3):
        shared = contexts[3 * update : 3 * update + 3]
        assert all(context is shared[0] for context in shared)
        assert shared[0].iteration == update + 1
        assert shared[0].learning_rate == schedule(update)
        assert shared[0].momentum == schedule.momentum(update)
    assert optimizer.beta_1 == 0.9  # the optimizer's own value never changed


def test_the_triples_carry_the_paths_that_weight_decay_reads():
    optimizer = optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    kernel, bias = np.ones((2, 2)), np.ones(2)
    optimizer.apply_weight_gradients(
        [
            WeightGradient("dense/kernel", kernel, np.zeros((2, 2))),
            WeightGradient("dense/bias", bias, np.zeros(2)),
        ]
    )
    assert (kernel < 1).all() and (bias == 1).all()
    assert optimizer.variable_name(kernel) == "dense/kernel"


class RecordingSetattr:
    """Records every attribute set on an optimizer while it is active."""

    def __init__(self, optimizer):
        self.names: list[str] = []
        self.optimizer = optimizer

    def __enter__(self):
        names = self.names
        original = type(self.optimizer).__setattr__

        def record(obj, name, value):
            names.append(name)
            original(obj, name, value)

        self.patched = type("Recorded", (type(self.optimizer),), {"__setattr__": record})
        self.original_class = self.optimizer.__class__
        self.optimizer.__class__ = self.patched
        return self

    def __exit__(self, *exc):
        object.__setattr__(self.optimizer, "__class__", self.original_class)


NAMES = sorted(
    name for name in {type(optimizers.get(n)).__name__: n for n in OPTIMIZERS.names()}.values()
)


@pytest.mark.parametrize("name", NAMES)
def test_no_hyperparameter_is_set_on_the_optimizer_during_a_step(name):
    optimizer = OPTIMIZERS.lookup(name)(learning_rate=schedules.OneCycle(0.05, total_steps=20))
    weight = np.full((3, 2), 0.5)

    def closure():
        return float(np.sum(weight**2)), [2 * weight]

    optimizer.step(closure, [weight])  # builds
    with RecordingSetattr(optimizer) as recorder:
        optimizer.step(closure, [weight])
    assert set(recorder.names) <= {"_iterations"}, recorder.names


def test_only_an_optimizer_that_declares_a_momentum_is_cycled():
    declared = {
        name: OPTIMIZERS.lookup(name).momentum_attribute
        for name in NAMES
        if OPTIMIZERS.lookup(name).momentum_attribute is not None
    }
    assert declared == {
        "adam": "beta_1",
        "adamax": "beta_1",
        "adamw": "beta_1",
        "lamb": "beta_1",
        "lion": "beta_1",
        "muon": "momentum",
        "nadam": "beta_1",
        "rmsprop": "momentum",
        "sgd": "momentum",
        "gd": "momentum",
    }


def test_schedule_free_adamw_beta_1_is_an_interpolation_weight_and_is_not_cycled():
    """OneCycle with cycle_momentum on or off gives ScheduleFreeAdamW the same steps."""
    runs = []
    for cycle in (True, False):
        schedule = schedules.OneCycle(0.05, total_steps=10, cycle_momentum=cycle)
        optimizer = optimizers.ScheduleFreeAdamW(learning_rate=schedule)
        weight = np.array([1.0, -2.0, 3.0])
        for _ in range(5):
            optimizer.step(lambda w=weight: (0.0, [2 * w]), [weight])
        runs.append(weight)
        assert optimizer.momentum_at(0) is None and not optimizer.cycles_momentum
    np.testing.assert_array_equal(*runs)


def test_a_first_order_step_calls_the_closure_once():
    calls = []
    weight = np.ones(2)

    def closure():
        calls.append(1)
        return 1.0, [WeightGradient("w", weight, np.ones(2))]

    assert optimizers.SGD(0.1).step(closure) == 1.0
    assert len(calls) == 1 and np.allclose(weight, 0.9)


def test_lbfgs_takes_the_same_closure_of_triples():
    weight = np.array([3.0, -1.0])

    def closure():
        return float(np.sum((weight - 1) ** 2)), [WeightGradient("w", weight, 2 * (weight - 1))]

    optimizer = optimizers.LBFGS(line_search_fn="strong_wolfe")
    optimizer.step(closure)
    np.testing.assert_allclose(weight, [1.0, 1.0], atol=1e-6)
    with pytest.raises(TypeError, match=r"call step\(closure\)"):
        optimizer.apply_weight_gradients([WeightGradient("w", weight, np.zeros(2))])
