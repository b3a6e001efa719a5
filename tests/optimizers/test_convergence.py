"""Every optimizer, with a tuned learning rate, reaches the minimum of the
Rosenbrock function from (-1.5, 2) and of a quadratic bowl from (3, -2), as
PyTorch's and optax's test suites check (optax's tolerance: 3e-2).

The weights are one (1, 2) matrix, so Adafactor factors it and Muon takes its
matrix step (a (1, 2) matrix orthogonalized is its direction: Muon then moves
by a fixed length, hence its decaying rate).
"""

import numpy as np
import pytest

from gradstep import optimizers
from gradstep.optimizers import schedules


def rosenbrock(weights):
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1)."""
    x, y = weights[0]
    valley = y - x * x
    value = (1 - x) ** 2 + 100 * valley**2
    slope = np.array([[-2 * (1 - x) - 400 * x * valley, 200 * valley]])
    return value, slope


CURVATURES = np.array([[1.0, 10.0]])


def bowl(weights):
    """f(x, y) = (x^2 + 10 y^2) / 2, minimum 0 at (0, 0), condition number 10."""
    return 0.5 * float(np.sum(CURVATURES * weights**2)), CURVATURES * weights


def decay(rate, steps, factor=0.5):
    return schedules.ExponentialDecay(rate, decay_steps=steps, decay_rate=factor)


# name: (optimizer on Rosenbrock, steps), (optimizer on the bowl, steps)
TUNED = {
    "SGD": (lambda: optimizers.SGD(1e-3, momentum=0.9), 2000, lambda: optimizers.SGD(0.15), 100),
    "GD": (lambda: optimizers.GD(1e-3, momentum=0.9), 2000, lambda: optimizers.GD(0.15), 100),
    "RMSprop": (
        lambda: optimizers.RMSprop(decay(5e-3, 500, 0.3), momentum=0.9),
        2000,
        lambda: optimizers.RMSprop(decay(0.1, 50)),
        400,
    ),
    "Adam": (lambda: optimizers.Adam(0.02), 2000, lambda: optimizers.Adam(0.2), 300),
    "AdamW": (
        lambda: optimizers.AdamW(0.02, weight_decay=1e-4),
        2000,
        lambda: optimizers.AdamW(0.2),
        300,
    ),
    "Adagrad": (lambda: optimizers.Adagrad(1.8), 6000, lambda: optimizers.Adagrad(1.0), 300),
    "Adadelta": (
        lambda: optimizers.Adadelta(decay(0.2, 1000), rho=0.99, epsilon=3e-3),
        6000,
        lambda: optimizers.Adadelta(decay(1.0, 100), epsilon=1e-3),
        400,
    ),
    "Adamax": (lambda: optimizers.Adamax(0.05), 3000, lambda: optimizers.Adamax(0.2), 300),
    "Nadam": (lambda: optimizers.Nadam(0.02), 2000, lambda: optimizers.Nadam(0.2), 300),
    "Lion": (
        lambda: optimizers.Lion(decay(0.01, 300)),
        2000,
        lambda: optimizers.Lion(decay(0.2, 30)),
        500,
    ),
    "Ftrl": (
        lambda: optimizers.Ftrl(1.8, initial_accumulator_value=1.0),
        6000,
        lambda: optimizers.Ftrl(1.0),
        300,
    ),
    "Adafactor": (
        lambda: optimizers.Adafactor(1.0, clip_threshold=0.5, epsilon_2=0.5),
        4000,
        lambda: optimizers.Adafactor(1.0, epsilon_2=0.5),
        300,
    ),
    "Lamb": (
        lambda: optimizers.Lamb(
            schedules.PiecewiseConstantDecay([1000, 2000], [0.02, 0.004, 0.0008])
        ),
        3000,
        lambda: optimizers.Lamb(decay(0.2, 50)),
        400,
    ),
    "Muon": (
        lambda: optimizers.Muon(decay(0.05, 300, 0.6), momentum=0.9, weight_decay=None),
        2000,
        lambda: optimizers.Muon(decay(0.5, 60), weight_decay=None),
        400,
    ),
    "ScheduleFreeAdamW": (
        lambda: optimizers.ScheduleFreeAdamW(0.1),
        3000,
        lambda: optimizers.ScheduleFreeAdamW(0.2),
        400,
    ),
    "LBFGS": (
        lambda: optimizers.LBFGS(line_search_fn="strong_wolfe"),
        10,
        lambda: optimizers.LBFGS(),
        2,
    ),
}


def minimize(optimizer, function, start, steps):
    """Every optimizer takes a closure, as in torch.optim: a first-order one
    calls it once per step, L-BFGS as often as its line search needs."""
    weights = np.array([start], dtype=np.float64)
    for _ in range(steps):
        optimizer.step(lambda: (function(weights)[0], [function(weights)[1]]), [weights])
    return weights[0]


def test_every_optimizer_is_tuned():
    assert set(TUNED) == {cls.__name__ for cls in map(type, _all_optimizers())}


def _all_optimizers():
    return [optimizers.get(name) for name in optimizers.OPTIMIZERS.names()]


@pytest.mark.parametrize("name", sorted(TUNED))
def test_reaches_the_minimum_of_the_rosenbrock_function(name):
    make, steps = TUNED[name][:2]
    found = minimize(make(), rosenbrock, [-1.5, 2.0], steps)
    np.testing.assert_allclose(found, [1.0, 1.0], atol=3e-2)


@pytest.mark.parametrize("name", sorted(TUNED))
def test_reaches_the_bottom_of_a_quadratic_bowl(name):
    make, steps = TUNED[name][2:]
    found = minimize(make(), bowl, [3.0, -2.0], steps)
    np.testing.assert_allclose(found, [0.0, 0.0], atol=1e-3)
