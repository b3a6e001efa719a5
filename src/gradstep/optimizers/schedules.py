"""Learning-rate schedules: callables ``step -> learning rate``.

Pass one as any optimizer's ``learning_rate``; the optimizer calls it with
its step counter ``iterations`` (0 for the first update) before every update.
A schedule also takes an array of steps and returns an array, which is how
the plots in the docs are drawn:

    >>> from gradstep.optimizers import SGD, schedules
    >>> schedule = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> schedule(0), schedule(10), schedule(20)
    (0.1, 0.05, 0.025)
    >>> SGD(learning_rate=schedule).learning_rate
    0.1

The Keras 3 schedules keep Keras's names, arguments and values;
``LinearWarmup``, ``OneCycle`` and ``Cyclic`` give PyTorch's ``LinearLR``,
``OneCycleLR`` and ``CyclicLR`` values with PyTorch's argument names, and
``InverseScaling`` is scikit-learn's ``'invscaling'``. Every value is checked
against its reference library (tests/fixtures/schedules.json, made by
tools/make_schedule_fixtures.py). Values are computed in float64.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from gradstep.registry import Registry
from gradstep.validation import check_bool, check_positive_int, check_real

SCHEDULES = Registry("learning rate schedule")

__all__ = [
    "SCHEDULES",
    "CosineDecay",
    "CosineDecayRestarts",
    "Cyclic",
    "ExponentialDecay",
    "InverseScaling",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "LinearWarmup",
    "OneCycle",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "get",
    "serialize",
]


class LearningRateSchedule:
    """Base class: a subclass writes ``rate(step)`` for an array of steps and
    ``get_config()``; calling the schedule checks the step and returns a float
    for one step, an array for an array of steps.

    A schedule that also moves the momentum (``OneCycle``, ``Cyclic``, as
    PyTorch's schedulers do) sets ``cycle_momentum`` and writes
    ``momentum(step)``; an optimizer that declares a momentum
    (``Optimizer.momentum_attribute``) then steps with it.
    """

    cycle_momentum = False

    def momentum(self, step):
        raise NotImplementedError(f"{type(self).__name__} does not cycle the momentum")

    def __call__(self, step):
        return self._evaluate(self.rate, step)

    def _evaluate(self, function, step):
        """``function`` of the checked steps: a float for one step, an array for many."""
        steps = np.asarray(step, dtype=np.float64)
        if steps.size and not (np.all(np.isfinite(steps)) and np.min(steps) >= 0):
            raise ValueError(f"{type(self).__name__} takes non-negative steps, received {step!r}")
        value = function(steps)
        return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)

    def rate(self, step: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define rate(step)")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    __hash__ = object.__hash__


def _register(*aliases: str):
    """Register a schedule under its class name and snake/reference aliases."""

    def decorate(cls):
        for name in (cls.__name__, *aliases):
            SCHEDULES.add(name, cls)
        return cls

    return decorate


# --- Keras 3 -------------------------------------------------------------------------


@_register("exponential_decay")
class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (Keras).

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``: the
    rate drops by ``decay_rate`` once every ``decay_steps`` steps.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; the number of steps over which the rate is
            multiplied by ``decay_rate``.
        decay_rate: the factor per ``decay_steps``.
        staircase: decay at discrete intervals (default ``False``).
        name: Keras's name argument (default ``"ExponentialDecay"``).
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="ExponentialDecay",
    ):
        self.initial_learning_rate = check_real(
            initial_learning_rate, "initial_learning_rate", low=0
        )
        self.decay_steps = check_real(decay_steps, "decay_steps", low=0, include_low=False)
        self.decay_rate = check_real(decay_rate, "decay_rate", low=0)
        self.staircase = bool(staircase)
        self.name = name

    def rate(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = np.floor(exponent)
        return self.initial_learning_rate * np.power(self.decay_rate, exponent)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@_register("piecewise_constant_decay", "piecewise_constant")
class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate per interval of steps (Keras).

    ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` after the
    last boundary.

        >>> schedule = PiecewiseConstantDecay(boundaries=[100, 200], values=[1.0, 0.5, 0.1])
        >>> schedule(100), schedule(101), schedule(500)
        (1.0, 0.5, 0.1)

    Args:
        boundaries: strictly increasing steps.
        values: one more value than boundaries.
        name: Keras's name argument (default ``"PiecewiseConstant"``).
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        if any(later <= earlier for earlier, later in itertools.pairwise(boundaries)):
            raise ValueError(f"boundaries must be strictly increasing, received {boundaries}")
        for value in values:
            check_real(value, "values", low=0)
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def rate(self, step):
        # searchsorted(side="left") counts the boundaries strictly below step,
        # which is the index of the interval (b[i-1], b[i]] that holds it.
        index = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), step, "left")
        return np.asarray(self.values, dtype=np.float64)[index]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@_register("polynomial_decay")
class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` in ``decay_steps`` (Keras):

    ``(initial - end) * (1 - step / decay_steps) ** power + end``, with
    ``step = min(step, decay_steps)``. With ``cycle=True`` the decay restarts:
    ``decay_steps`` becomes its first multiple at or above ``step``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; steps to reach ``end_learning_rate``.
        end_learning_rate: the final rate (default ``0.0001``).
        power: the power of the polynomial (default ``1.0``, a straight line).
        cycle: restart the decay every ``decay_steps`` (default ``False``).
        name: Keras's name argument (default ``"PolynomialDecay"``).
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        self.initial_learning_rate = check_real(
            initial_learning_rate, "initial_learning_rate", low=0
        )
        self.decay_steps = check_real(decay_steps, "decay_steps", low=0, include_low=False)
        self.end_learning_rate = check_real(end_learning_rate, "end_learning_rate", low=0)
        self.power = check_real(power, "power")
        self.cycle = bool(cycle)
        self.name = name

    def rate(self, step):
        if self.cycle:
            # Keras: the first multiple of decay_steps above step; 1 at step 0.
            multiplier = np.where(step == 0, 1.0, np.ceil(step / self.decay_steps))
            decay_steps = self.decay_steps * multiplier
        else:
            decay_steps = self.decay_steps
            step = np.minimum(step, decay_steps)
        remaining = 1 - step / decay_steps
        span = self.initial_learning_rate - self.end_learning_rate
        return span * np.power(remaining, self.power) + self.end_learning_rate

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


@_register("inverse_time_decay")
class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (Keras).

    With ``staircase=True`` the ratio ``step / decay_steps`` is floored.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; how often the decay is applied.
        decay_rate: the decay rate.
        staircase: decay at discrete intervals (default ``False``).
        name: Keras's name argument (default ``"InverseTimeDecay"``).
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="InverseTimeDecay",
    ):
        self.initial_learning_rate = check_real(
            initial_learning_rate, "initial_learning_rate", low=0
        )
        self.decay_steps = check_real(decay_steps, "decay_steps", low=0, include_low=False)
        self.decay_rate = check_real(decay_rate, "decay_rate", low=0)
        self.staircase = bool(staircase)
        self.name = name

    def rate(self, step):
        ratio = step / self.decay_steps
        if self.staircase:
            ratio = np.floor(ratio)
        return self.initial_learning_rate / (1 + self.decay_rate * ratio)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@_register("cosine_decay")
class CosineDecay(LearningRateSchedule):
    """Half a cosine from the start rate down to ``alpha`` times it (Keras; SGDR).

    Without warmup the decay starts from ``initial_learning_rate``:
    ``initial * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)``
    with ``step = min(step, decay_steps)``. With ``warmup_target`` the rate
    first rises linearly from ``initial_learning_rate`` to ``warmup_target``
    over ``warmup_steps`` steps (Goyal et al.), then decays from
    ``warmup_target`` over the next ``decay_steps``.

        >>> warm = CosineDecay(0.0, decay_steps=100, warmup_target=0.1, warmup_steps=10)
        >>> warm(5), warm(10), warm(60), warm(110)
        (0.05, 0.1, 0.05, 0.0)

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; steps to decay over.
        alpha: the final rate as a fraction of the decay's start (default ``0.0``).
        name: Keras's name argument (default ``"CosineDecay"``).
        warmup_target: the rate reached by the warmup; ``None`` (default) means no warmup.
        warmup_steps: steps of warmup (default ``0``).
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        name="CosineDecay",
        warmup_target=None,
        warmup_steps=0,
    ):
        self.initial_learning_rate = check_real(
            initial_learning_rate, "initial_learning_rate", low=0
        )
        self.decay_steps = check_real(decay_steps, "decay_steps", low=0, include_low=False)
        self.alpha = check_real(alpha, "alpha", low=0)
        self.name = name
        self.warmup_target = (
            None if warmup_target is None else check_real(warmup_target, "warmup_target", low=0)
        )
        self.warmup_steps = check_real(warmup_steps, "warmup_steps", low=0)

    def _decay(self, step, decay_from):
        cosine = 0.5 * (1.0 + np.cos(math.pi * (step / self.decay_steps)))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def rate(self, step):
        if self.warmup_target is None:
            return self._decay(np.minimum(step, self.decay_steps), self.initial_learning_rate)
        step = np.minimum(step, self.decay_steps + self.warmup_steps)
        rise = self.warmup_target - self.initial_learning_rate
        # Warmup and decay are computed for every step and one is picked, so
        # that arrays of steps work; the warmup's 0/0 at warmup_steps=0 is never picked.
        with np.errstate(divide="ignore", invalid="ignore"):
            warmup = rise * (step / self.warmup_steps) + self.initial_learning_rate
        decay = self._decay(step - self.warmup_steps, self.warmup_target)
        return np.where(step < self.warmup_steps, warmup, decay)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


@_register("cosine_decay_restarts", "sgdr")
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (Keras; Loshchilov & Hutter's SGDR).

    The first period decays from ``initial_learning_rate`` to ``alpha`` times
    it in ``first_decay_steps``; then the rate jumps back up. Period ``i``
    lasts ``t_mul ** i`` times longer and starts ``m_mul ** i`` times lower.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: positive; the length of the first period.
        t_mul: how much longer each period is than the one before (default ``2.0``).
        m_mul: how much lower each restart starts (default ``1.0``).
        alpha: the lowest rate as a fraction of ``initial_learning_rate`` (default ``0.0``).
        name: Keras's name argument (default ``"SGDRDecay"``).
    """

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        name="SGDRDecay",
    ):
        self.initial_learning_rate = check_real(
            initial_learning_rate, "initial_learning_rate", low=0
        )
        self.first_decay_steps = check_real(
            first_decay_steps, "first_decay_steps", low=0, include_low=False
        )
        self.t_mul = check_real(t_mul, "t_mul", low=0, include_low=False)
        self.m_mul = check_real(m_mul, "m_mul", low=0)
        self.alpha = check_real(alpha, "alpha", low=0)
        self.name = name

    def _period(self, completed):
        """The restart index and the fraction completed of that period."""
        if self.t_mul == 1.0:
            restart = np.floor(completed)
            return restart, completed - restart
        # Periods of 1, t, t^2, ... end at (1 - t^(i+1)) / (1 - t) periods.
        restart = np.floor(np.log(1.0 - completed * (1.0 - self.t_mul)) / np.log(self.t_mul))
        elapsed = (1.0 - self.t_mul**restart) / (1.0 - self.t_mul)
        return restart, (completed - elapsed) / self.t_mul**restart

    def rate(self, step):
        restart, fraction = self._period(step / self.first_decay_steps)
        cosine = 0.5 * self.m_mul**restart * (1.0 + np.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


# --- from PyTorch and scikit-learn ---------------------------------------------------


@_register("linear_warmup", "LinearLR")
class LinearWarmup(LearningRateSchedule):
    """A linear ramp of the rate's factor, PyTorch's ``LinearLR``:

    ``learning_rate * (start_factor + (end_factor - start_factor) * min(step, warmup_steps)
    / warmup_steps)``.

    ``learning_rate`` may itself be a schedule: the factor then multiplies its
    value at each step, as PyTorch's ``ChainedScheduler([LinearLR, ...])``
    does, so a warmup can lead into any decay.

        >>> warmup = LinearWarmup(0.1, warmup_steps=4, start_factor=0.25)
        >>> [round(warmup(step), 6) for step in range(6)]
        [0.025, 0.04375, 0.0625, 0.08125, 0.1, 0.1]

    Args:
        learning_rate: the rate (a float or a schedule) the factor multiplies.
        warmup_steps: positive; steps of the ramp (PyTorch's ``total_iters``, default ``5``).
        start_factor: the factor at step 0, in (0, 1] (default ``1/3``, PyTorch's).
        end_factor: the factor from ``warmup_steps`` on, in [0, 1] (default ``1.0``).
    """

    def __init__(self, learning_rate, warmup_steps=5, start_factor=1.0 / 3, end_factor=1.0):
        if isinstance(learning_rate, dict):
            learning_rate = deserialize(learning_rate)
        elif not callable(learning_rate):
            learning_rate = check_real(learning_rate, "learning_rate", low=0)
        self.learning_rate = learning_rate
        self.warmup_steps = check_real(warmup_steps, "warmup_steps", low=0, include_low=False)
        self.start_factor = float(
            check_real(start_factor, "start_factor", low=0, high=1, include_low=False)
        )
        self.end_factor = float(check_real(end_factor, "end_factor", low=0, high=1))

    def rate(self, step):
        progress = np.minimum(step, self.warmup_steps) / self.warmup_steps
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress
        base = self.learning_rate
        if callable(base):
            base = base.rate(step) if isinstance(base, LearningRateSchedule) else base(step)
        return base * factor

    def get_config(self):
        learning_rate = self.learning_rate
        if isinstance(learning_rate, LearningRateSchedule):
            learning_rate = serialize(learning_rate)
        return {
            "learning_rate": learning_rate,
            "warmup_steps": self.warmup_steps,
            "start_factor": self.start_factor,
            "end_factor": self.end_factor,
        }


@_register("one_cycle", "OneCycleLR")
class OneCycle(LearningRateSchedule):
    """The 1cycle policy (Smith & Topin, *Super-Convergence*), PyTorch's ``OneCycleLR``.

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first
    ``pct_start`` of ``total_steps``, then anneals to
    ``max_lr / div_factor / final_div_factor``. With ``three_phase=True`` it
    comes back down to the start rate symmetrically before the final anneal.
    Phase ends are at ``pct_start * total_steps - 1`` (and ``2 * pct_start *
    total_steps - 2``) and ``total_steps - 1``, as PyTorch computes them.

    With ``cycle_momentum`` (the default, as in PyTorch) the momentum moves the
    other way, from ``max_momentum`` down to ``base_momentum`` while the rate
    rises and back up while it falls: ``momentum(step)`` gives it, and the
    optimizer uses it at each step in place of its own ``momentum`` (SGD,
    RMSprop, Muon) or ``beta_1`` (the Adam family, Lion, Lamb). An optimizer
    with neither (Adagrad) follows the rate alone, where PyTorch refuses.

    Args:
        max_lr: the peak rate.
        total_steps: the number of steps in the cycle; or give ``epochs`` and
            ``steps_per_epoch`` instead.
        epochs: with ``steps_per_epoch``, ``total_steps = epochs * steps_per_epoch``.
        steps_per_epoch: see ``epochs``.
        pct_start: the fraction of the cycle spent rising (default ``0.3``).
        anneal_strategy: ``'cos'`` (default) or ``'linear'``.
        cycle_momentum: cycle the momentum inversely to the rate (default ``True``).
        base_momentum: the momentum at the peak rate (default ``0.85``).
        max_momentum: the momentum at the start and the end (default ``0.95``).
        div_factor: the start rate is ``max_lr / div_factor`` (default ``25.0``).
        final_div_factor: the last rate is the start rate divided by this (default ``1e4``).
        three_phase: come back down before the final anneal (default ``False``).

    Raises:
        ValueError: when called past ``total_steps`` (PyTorch's "Tried to step").
    """

    def __init__(
        self,
        max_lr,
        total_steps=None,
        epochs=None,
        steps_per_epoch=None,
        pct_start=0.3,
        anneal_strategy="cos",
        cycle_momentum=True,
        base_momentum=0.85,
        max_momentum=0.95,
        div_factor=25.0,
        final_div_factor=1e4,
        three_phase=False,
    ):
        self.max_lr = check_real(max_lr, "max_lr", low=0)
        if total_steps is not None:
            self.total_steps = check_positive_int(total_steps, "total_steps")
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = check_positive_int(epochs, "epochs") * check_positive_int(
                steps_per_epoch, "steps_per_epoch"
            )
        else:
            raise ValueError(
                "OneCycle needs total_steps, or epochs and steps_per_epoch; "
                f"received total_steps={total_steps}, epochs={epochs}, "
                f"steps_per_epoch={steps_per_epoch}"
            )
        self._given = {
            "total_steps": total_steps,
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
        }
        check_real(pct_start, "pct_start", low=0, high=1)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be 'cos' or 'linear', received {anneal_strategy!r}"
            )
        self.pct_start = float(pct_start)
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = check_bool(cycle_momentum, "cycle_momentum")
        self.base_momentum = check_real(base_momentum, "base_momentum", low=0, high=1)
        self.max_momentum = check_real(max_momentum, "max_momentum", low=0, high=1)
        self.div_factor = check_real(div_factor, "div_factor", low=0, include_low=False)
        self.final_div_factor = check_real(
            final_div_factor, "final_div_factor", low=0, include_low=False
        )
        self.three_phase = bool(three_phase)

    def _phases(self):
        """(end step, start rate, end rate, start momentum, end momentum) of each
        phase, PyTorch's arithmetic."""
        initial = self.max_lr / self.div_factor
        final = initial / self.final_div_factor
        low, high = self.base_momentum, self.max_momentum
        rise_end = float(self.pct_start * self.total_steps) - 1
        last = self.total_steps - 1
        if self.three_phase:
            fall_end = float(2 * self.pct_start * self.total_steps) - 2
            return [
                (rise_end, initial, self.max_lr, high, low),
                (fall_end, self.max_lr, initial, low, high),
                (last, initial, final, high, high),
            ]
        return [(rise_end, initial, self.max_lr, high, low), (last, self.max_lr, final, low, high)]

    def _anneal(self, start, end, fraction):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (np.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    def rate(self, step):
        return self._along_phases(step, rates=True)

    def momentum(self, step):
        """The momentum (or ``beta_1``) the optimizer uses at ``step``."""
        return self._evaluate(lambda steps: self._along_phases(steps, rates=False), step)

    def _along_phases(self, step, rates):
        if np.max(step, initial=0) > self.total_steps:
            raise ValueError(
                f"Tried to step {int(np.max(step))} times. The specified number of total "
                f"steps is {self.total_steps}: OneCycle(total_steps=...) must cover the training"
            )
        result = np.zeros_like(step)
        done = np.zeros(np.shape(step), dtype=bool)
        phase_start = 0.0
        phases = self._phases()
        for index, (phase_end, *values) in enumerate(phases):
            start, end = values[:2] if rates else values[2:]
            here = ~done & ((step <= phase_end) | (index == len(phases) - 1))
            with np.errstate(divide="ignore", invalid="ignore"):
                fraction = (step - phase_start) / (phase_end - phase_start)
            result = np.where(here, self._anneal(start, end, fraction), result)
            done |= here
            phase_start = phase_end
        return result

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            **self._given,
            "pct_start": self.pct_start,
            "anneal_strategy": self.anneal_strategy,
            "cycle_momentum": self.cycle_momentum,
            "base_momentum": self.base_momentum,
            "max_momentum": self.max_momentum,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "three_phase": self.three_phase,
        }


@_register("cyclic", "CyclicLR")
class Cyclic(LearningRateSchedule):
    """Cyclical learning rates (Smith, 2017), PyTorch's ``CyclicLR``.

    The rate climbs linearly from ``base_lr`` to ``max_lr`` in
    ``step_size_up`` steps, comes back down in ``step_size_down`` steps, and
    repeats. ``mode`` scales the height of each cycle: ``'triangular'`` keeps
    it, ``'triangular2'`` halves it every cycle, ``'exp_range'`` multiplies it
    by ``gamma ** step``. A ``scale_fn`` of your own replaces ``mode``: it
    receives the cycle number (from 1) with ``scale_mode='cycle'``, or the
    step with ``scale_mode='iterations'``, and returns the factor.

        >>> triangle = Cyclic(base_lr=0.1, max_lr=0.5, step_size_up=2)
        >>> [round(triangle(step), 6) for step in range(6)]
        [0.1, 0.3, 0.5, 0.3, 0.1, 0.3]
        >>> [round(triangle.momentum(step), 6) for step in range(3)]
        [0.9, 0.85, 0.8]

    With ``cycle_momentum`` (the default, as in PyTorch) the momentum moves the
    other way, between ``max_momentum`` and ``base_momentum``, scaled like
    the rate: see ``OneCycle`` for how the optimizer uses it.

    Args:
        base_lr: the lowest rate, at the start of each cycle.
        max_lr: the highest rate.
        step_size_up: steps from ``base_lr`` up to ``max_lr`` (default ``2000``).
        step_size_down: steps back down (default: ``step_size_up``).
        mode: ``'triangular'`` (default), ``'triangular2'`` or ``'exp_range'``.
        gamma: the factor per step in ``'exp_range'`` (default ``1.0``).
        scale_fn: a function of one number giving the height factor, in place
            of ``mode`` (default ``None``). A model whose schedule has one
            cannot be saved to a file (a function is code, not data).
        scale_mode: what ``scale_fn`` receives: ``'cycle'`` (default) or
            ``'iterations'``.
        cycle_momentum: cycle the momentum inversely to the rate (default ``True``).
        base_momentum: the momentum at the peak rate (default ``0.8``).
        max_momentum: the momentum at the start of each cycle (default ``0.9``).
    """

    MODES = ("triangular", "triangular2", "exp_range")
    SCALE_MODES = ("cycle", "iterations")

    def __init__(
        self,
        base_lr,
        max_lr,
        step_size_up=2000,
        step_size_down=None,
        mode="triangular",
        gamma=1.0,
        scale_fn=None,
        scale_mode="cycle",
        cycle_momentum=True,
        base_momentum=0.8,
        max_momentum=0.9,
    ):
        self.base_lr = check_real(base_lr, "base_lr", low=0)
        self.max_lr = check_real(max_lr, "max_lr", low=0)
        self.step_size_up = check_real(step_size_up, "step_size_up", low=0, include_low=False)
        self.step_size_down = (
            None
            if step_size_down is None
            else check_real(step_size_down, "step_size_down", low=0, include_low=False)
        )
        if scale_fn is None and mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, received {mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"scale_fn must be a function or None, received {scale_fn!r}")
        if scale_mode not in self.SCALE_MODES:
            raise ValueError(
                f"scale_mode must be one of {self.SCALE_MODES}, received {scale_mode!r}"
            )
        self.mode = mode
        self.gamma = check_real(gamma, "gamma", low=0)
        self.scale_fn = scale_fn
        self.scale_mode = scale_mode
        self.cycle_momentum = check_bool(cycle_momentum, "cycle_momentum")
        self.base_momentum = check_real(base_momentum, "base_momentum", low=0, high=1)
        self.max_momentum = check_real(max_momentum, "max_momentum", low=0, high=1)

    def rate(self, step):
        return self.base_lr + (self.max_lr - self.base_lr) * self._height(step)

    def momentum(self, step):
        """The momentum (or ``beta_1``) the optimizer uses at ``step``."""
        return self._evaluate(
            lambda steps: (
                self.max_momentum - (self.max_momentum - self.base_momentum) * self._height(steps)
            ),
            step,
        )

    def _height(self, step):
        """Where in the cycle ``step`` is, from 0 (bottom) to 1 (top), times the
        cycle's scale."""
        down = self.step_size_up if self.step_size_down is None else self.step_size_down
        cycle_size = float(self.step_size_up) + float(down)
        up_ratio = self.step_size_up / cycle_size
        cycle = np.floor(1 + step / cycle_size)
        position = 1.0 + step / cycle_size - cycle
        rising = position <= up_ratio
        fraction = np.where(rising, position / up_ratio, (position - 1) / (up_ratio - 1))
        return fraction * self._scale(cycle, step)

    def _scale(self, cycle, step):
        if self.scale_fn is not None:
            argument = cycle if self.scale_mode == "cycle" else step
            factors = [float(self.scale_fn(int(x))) for x in np.ravel(argument)]
            return np.reshape(factors, np.shape(argument))
        if self.mode == "triangular2":
            return 1 / (2.0 ** (cycle - 1))
        if self.mode == "exp_range":
            return self.gamma**step
        return 1.0

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size_up": self.step_size_up,
            "step_size_down": self.step_size_down,
            "mode": self.mode,
            "gamma": self.gamma,
            "scale_fn": self.scale_fn,
            "scale_mode": self.scale_mode,
            "cycle_momentum": self.cycle_momentum,
            "base_momentum": self.base_momentum,
            "max_momentum": self.max_momentum,
        }


@_register("inverse_scaling", "invscaling")
class InverseScaling(LearningRateSchedule):
    """scikit-learn's ``'invscaling'``: ``initial_learning_rate / (step + 1) ** power_t``.

    scikit-learn's ``SGDOptimizer`` (``MLPClassifier(solver='sgd',
    learning_rate='invscaling')``) counts ``t`` in samples seen and updates the
    rate once per epoch; here ``step`` is the optimizer's step counter.

    Args:
        initial_learning_rate: the rate at step 0 (scikit-learn's ``learning_rate_init``).
        power_t: the exponent (default ``0.5``, scikit-learn's).
    """

    def __init__(self, initial_learning_rate, power_t=0.5):
        self.initial_learning_rate = check_real(
            initial_learning_rate, "initial_learning_rate", low=0
        )
        self.power_t = check_real(power_t, "power_t")

    def rate(self, step):
        return self.initial_learning_rate / np.power(step + 1, self.power_t)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "power_t": self.power_t}


# --- names and configurations --------------------------------------------------------


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``, the form optimizers save."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"serialize expects a gradstep LearningRateSchedule, received {schedule!r}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """The schedule saved by ``serialize`` (or Keras's ``schedules.serialize``):
    the class is looked up among the registered schedules only."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "A schedule configuration must be a dict {'class_name': ..., 'config': {...}}, "
            f"received {config!r}"
        )
    return SCHEDULES.lookup_class(config["class_name"]).from_config(dict(config.get("config", {})))


def get(identifier: Any) -> LearningRateSchedule:
    """A schedule from itself or from its ``serialize`` dict."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(
        "A learning-rate schedule must be a gradstep.optimizers.schedules."
        f"LearningRateSchedule or its serialized dict, received {identifier!r}"
    )
