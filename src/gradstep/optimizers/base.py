"""What every optimizer shares: the learning rate (a float or a schedule),
the step counter, gradient accumulation, clipping, decoupled weight decay,
the moving average of the weights (EMA) and the slot state.

An optimizer subclass writes ``build`` (its slots, one array per parameter,
e.g. Adam's two moments) and ``update_step(gradient, variable, step)``, the
update rule of its paper, where ``step`` is the ``StepContext`` of this
update: its number, its learning rate and momentum, computed once for all
parameters, and any values of the optimizer's own from ``step_values`` (Adam's
bias-corrected rate). The model hands the optimizer ``WeightGradient``
triples ``(path, weight, gradient)``. One update runs Keras 3's order of
operations (``keras/src/optimizers/base_optimizer.py``)::

    if gradient_accumulation_steps = k:       # k calls make one update
        on calls 1 .. k-1:  accumulator += g, and nothing else moves
        on call k:          g <- (g + accumulator) / k; accumulator <- 0
    g <- clip(g)                               # clipnorm | global_clipnorm | clipvalue
    w <- w - w * weight_decay * learning_rate  # decoupled, unless excluded
    update_step(g, w, step)                    # the optimizer's own rule
    if use_ema:  average <- m * average + (1 - m) * w,
                 with m = 0 on the first update and ema_momentum after;
                 every ema_overwrite_frequency updates, w <- average
    real_iterations += 1

``iterations`` counts updates (``real_iterations // k`` with accumulation);
a schedule sees ``real_iterations``, as in Keras.

``step(closure)`` is how a model trains with any optimizer, as in
``torch.optim``: the closure computes the loss and the triples at the
weights as they are; a first-order optimizer calls it once and updates,
L-BFGS calls it as often as its line search needs.
"""

from __future__ import annotations

import inspect
import math
import re
import weakref
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

from gradstep.kernels import memory, trace
from gradstep.kernels.trace import follow, note, note_step
from gradstep.kernels.weight_decay import decay_weights
from gradstep.optimizers import schedules
from gradstep.registry import Registry
from gradstep.validation import check_int, check_non_negative_int, check_real

OPTIMIZERS = Registry("optimizer")


class WeightGradient(NamedTuple):
    """One weight and the slope of the loss with respect to it, as a model's
    backward pass hands them to the optimizer."""

    path: str  #: ``"dense/kernel"``: the layer's name, then the weight's
    weight: np.ndarray  #: the array the optimizer updates in place
    gradient: np.ndarray | None  #: None leaves the weight as it is (Keras's rule)


class KeptGradients(list):
    """``WeightGradient`` triples that their maker hands over at every step
    unchanged: the same triples, of the same weights and gradient arrays
    (written again in place), as fit's planned step for Dense chains does.
    An optimizer checks such a list once, not at every step (``_plain_step``)."""


class StepContext(NamedTuple):
    """What one update shares across every parameter, computed once for it.

    Attributes:
        iteration: ``t``, the number of this update (1 for the first).
        learning_rate: the rate of this update (a schedule evaluated at it).
        momentum: this update's momentum (or ``beta_1``): a momentum-cycling
            schedule's value, else the optimizer's own; None for an optimizer
            that declares none.
        values: the optimizer's own values for this update, from
            ``step_values`` (filled in once, before any parameter's step),
            e.g. Adam's bias-corrected rate.
    """

    iteration: int
    learning_rate: float
    momentum: float | None
    values: dict[str, Any]


class Optimizer:
    """Base class for optimizers.

    Args:
        learning_rate: a float, or a schedule called as ``schedule(iterations)``
            (or, as Keras allows, a callable without arguments).
        weight_decay: if set, every update first shrinks each weight:
            ``w <- w - w * weight_decay * learning_rate`` (decoupled, as Keras).
        clipnorm: if set, each gradient is rescaled so its L2 norm is at most this.
        clipvalue: if set, each gradient entry is clipped to ``[-clipvalue, clipvalue]``.
        global_clipnorm: if set, all gradients are rescaled together so that
            the norm of their concatenation is at most this.
        use_ema: whether to keep an exponential moving average of the weights.
            Defaults to False.
        ema_momentum: ``new_average = ema_momentum * average + (1 - ema_momentum)
            * weight``. Defaults to 0.99.
        ema_overwrite_frequency: if set, every this many updates the weights
            are overwritten by their average; otherwise ``finalize_variable_values``
            (called by ``fit`` at the end) does it once. Defaults to None.
        loss_scale_factor: accepted for Keras configurations; gradstep trains in
            float32 or float64 and has no loss scaling, so it must be None.
        gradient_accumulation_steps: if set (an int >= 2), the weights move once
            every this many calls, by the mean of the gradients since the last move.
        name: the optimizer's name.
    """

    name = "optimizer"
    #: GD and L-BFGS: ``fit`` uses the whole data set as one batch.
    full_batch = False
    #: The hyperparameter that a momentum-cycling schedule (``OneCycle``,
    #: ``Cyclic``) replaces at each update, as PyTorch's schedulers cycle
    #: ``momentum`` or ``betas[0]``: ``"momentum"`` or ``"beta_1"``. None: the
    #: optimizer has no momentum to cycle and follows the rate alone (where
    #: PyTorch would refuse the scheduler).
    momentum_attribute: str | None = None

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
    ):
        _check_clipping(clipnorm, clipvalue, global_clipnorm)
        check_real(weight_decay, "weight_decay", low=0, finite=False, allow_none=True)
        if loss_scale_factor is not None:
            raise ValueError(
                "loss_scale_factor applies to mixed-precision training, which gradstep does "
                f"not have; it must be None, received {loss_scale_factor!r}"
            )
        check_int(
            gradient_accumulation_steps, "gradient_accumulation_steps", minimum=2, allow_none=True
        )
        _check_ema(use_ema, ema_momentum, ema_overwrite_frequency)
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if name is not None:
            self.name = name
        self._iterations = 0
        self.built = False
        # the KeptGradients _plain_step last found plain, weakly (its arrays are not kept)
        self._plain_checked: weakref.ref | None = None
        self._variables: list[np.ndarray] = []
        self._variable_names: list[str | None] = []
        self._slots: dict[str, list[np.ndarray | None]] = {}
        self._state: dict[str, np.ndarray] = {}
        self._index_of: dict[int, int] = {}
        self._excluded_ids: set[int] = set()
        self._excluded_pattern: re.Pattern | None = None

    # --- step counters ----------------------------------------------------------------
    @property
    def iterations(self) -> int:
        """The number of updates made (calls of ``apply`` divided by
        ``gradient_accumulation_steps`` when accumulating)."""
        return self._iterations // (self.gradient_accumulation_steps or 1)

    @iterations.setter
    def iterations(self, value) -> None:
        iterations = check_non_negative_int(value, "iterations")
        self._iterations = iterations * (self.gradient_accumulation_steps or 1)

    # --- learning rate ---------------------------------------------------------------
    @property
    def learning_rate(self):
        """The learning rate in use now (a schedule is evaluated at the call count)."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if not callable(value):
            if callable(getattr(self, "_learning_rate", None)):
                raise TypeError(
                    "This optimizer was created with a learning-rate schedule, so its "
                    f"learning rate is not settable to a float (received {value!r}); "
                    "create it with a float learning_rate to change it during training"
                )
            expected = "a non-negative float or a schedule"
            value = float(check_real(value, "learning_rate", low=0, expected=expected))
        self._learning_rate = value
        self._learning_rate_takes_step = callable(value) and _takes_an_argument(value)
        self._schedule_cycles_momentum = (
            isinstance(value, schedules.LearningRateSchedule) and value.cycle_momentum
        )

    def _current_learning_rate(self) -> float:
        if not callable(self._learning_rate):
            return self._learning_rate
        if self._learning_rate_takes_step:
            return float(self._learning_rate(self._iterations))
        return float(self._learning_rate())  # Keras's callable without arguments

    # --- variables and slots ----------------------------------------------------------
    def build(self, variables: list[np.ndarray]) -> None:
        """Remember the parameters; subclasses then add their slots."""
        self._variables = list(variables)
        self._index_of = {id(v): i for i, v in enumerate(self._variables)}
        self._plain_checked = None
        if len(self._variable_names) != len(self._variables):
            self._variable_names = [None] * len(self._variables)
        self._slots = {}
        self._state = {}
        if self.use_ema:
            self.add_slot("average", self._variables)
        if self.gradient_accumulation_steps:
            self.add_slot("gradient_accumulator", self._variables)
        self.built = True

    def add_slot(self, name: str, variables: list[np.ndarray], fill: float = 0.0) -> None:
        """One array per parameter, shaped and typed like it, filled with ``fill``
        (placed apart from the parameter and its other slots in memory, see
        ``gradstep.kernels.memory``)."""
        index = len(self._slots) + 1
        self._slots[name] = [memory.slot_like(v, index, fill) for v in variables]

    def add_slot_arrays(self, name: str, arrays: list[np.ndarray | None]) -> None:
        """A slot whose arrays have their own shapes, or None for parameters
        that do not use it (Adafactor's factored moments, Muon's Adam velocity)."""
        self._slots[name] = list(arrays)

    def add_state(self, name: str, value) -> None:
        """Optimizer-wide state that is not per parameter (Nadam's momentum product)."""
        self._state[name] = np.array(value)

    def slot(self, name: str, variable: np.ndarray) -> np.ndarray:
        return self._slots[name][self._index_of[id(variable)]]

    def variable_name(self, variable: np.ndarray) -> str:
        """The parameter's path (``"dense/kernel"``) when the model gave names, else ''."""
        return self._variable_names[self._index_of[id(variable)]] or ""

    @property
    def variables(self) -> dict[str, list[np.ndarray | None]]:
        """The optimizer's slots as plain named arrays."""
        return self._slots

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Exempt parameters from weight decay: those in ``var_list``, and those
        whose name (``kernel``, ``bias``) contains any of ``var_names`` (regular
        expressions, as Keras). Call it before the optimizer is built."""
        if self.built:
            raise ValueError(
                "exclude_from_weight_decay() can only be configured before the optimizer "
                "is built (before the first training step)"
            )
        self._excluded_ids = {id(v) for v in var_list or []}
        names = sorted(set(var_names or []))
        self._excluded_pattern = re.compile("|".join(names)) if names else None

    def decays(self, variable: np.ndarray) -> bool:
        """Whether ``weight_decay`` shrinks ``variable`` (set, and the variable
        not excluded by ``exclude_from_weight_decay``)."""
        return bool(self.weight_decay) and self._use_weight_decay(variable)

    def _use_weight_decay(self, variable: np.ndarray) -> bool:
        if id(variable) in self._excluded_ids:
            return False
        if self._excluded_pattern is not None:
            short_name = self.variable_name(variable).rsplit("/", 1)[-1]
            return self._excluded_pattern.search(short_name) is None
        return True

    # --- state ------------------------------------------------------------------------
    def get_state(self) -> dict[str, np.ndarray]:
        """The optimizer's state as named arrays (copies): ``iterations`` (calls
        of ``apply``), each slot of each parameter as ``"<slot>/<parameter
        index>"`` and any optimizer-wide state by its name."""
        state = {"iterations": np.array(self._iterations, dtype=np.int64)}
        for slot_name, arrays in self._slots.items():
            for index, array in enumerate(arrays):
                if array is not None:
                    state[f"{slot_name}/{index}"] = array.copy()
        for name, value in self._state.items():
            state[name] = value.copy()
        return state

    def set_state(
        self,
        state: dict[str, np.ndarray],
        variables: list[np.ndarray],
        variable_names: list[str] | None = None,
    ) -> None:
        """Restore ``get_state()`` for ``variables`` (the same parameters, in the same
        order, with the same ``variable_names`` if they were given). Every array
        is checked before any is copied in, so a bad state leaves the optimizer
        as it was.

        Raises:
            ValueError: a slot that is missing, unexpected, or of the wrong shape or dtype.
        """
        variables = list(variables)
        if variable_names is None and len(self._variable_names) == len(variables):
            variable_names = self._variable_names
        expected = self.state_template(variables, variable_names)
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        if missing or unexpected:
            raise ValueError(
                f"Optimizer state does not fit {type(self).__name__} for {len(variables)} "
                f"parameters: missing {missing}, unexpected {unexpected}"
            )
        for name, template in expected.items():
            value = np.asarray(state[name])
            if value.shape != template.shape or value.dtype != template.dtype:
                raise ValueError(
                    f"Optimizer state {name!r} must have shape {template.shape} and dtype "
                    f"{template.dtype}, received shape {value.shape} and dtype {value.dtype}"
                )
        self._build(variables, variable_names)
        self._iterations = int(state["iterations"])
        for slot_name, arrays in self._slots.items():
            for index, array in enumerate(arrays):
                if array is not None:
                    array[...] = state[f"{slot_name}/{index}"]
        for name, value in self._state.items():
            value[...] = state[name]

    def state_template(self, variables, variable_names=None) -> dict[str, np.ndarray]:
        """What ``get_state()`` holds for these variables (named as the model
        names them; Muon's slots depend on the names): a fresh copy's state.
        This optimizer is left as it is."""
        fresh = type(self).from_config(self.get_config())
        fresh._build(variables, variable_names)
        return fresh.get_state()

    # --- one step ---------------------------------------------------------------------
    def step(self, closure: Callable[[], tuple[float, list]], variables=None) -> float:
        """One update of the weights. ``closure()`` computes the loss and the
        ``WeightGradient`` triples at the weights as they are (a model's
        forward and backward pass), or, with ``variables`` given (arrays, as
        ``torch.optim`` takes its parameters), ``(loss, gradients)`` with one
        gradient per variable. A first-order optimizer calls it once; L-BFGS as
        often as it needs. Returns the loss before the update."""
        loss, gradients = closure()
        if variables is None:
            self.apply_weight_gradients(gradients)
        else:
            self.apply(gradients, variables)
        return loss

    def apply_weight_gradients(self, gradients: Iterable[WeightGradient]) -> None:
        """Update each triple's weight in place from its gradient (see the
        module docstring for the order of operations); the paths are what
        ``exclude_from_weight_decay(var_names=...)`` and Muon read."""
        if not isinstance(gradients, KeptGradients):
            gradients = list(gradients)
        if self._plain_step(gradients) and self._apply_plainly(gradients):
            return
        paths, weights, grads = zip(*gradients, strict=True) if gradients else ((), (), ())
        self.apply(list(grads), list(weights), variable_names=list(paths))

    def _plain_step(self, gradients: list[WeightGradient]) -> bool:
        """Whether this update has nothing to apply but the optimizer's own rule
        to the weights it was built for: the gradients are for exactly those
        weights, in its order, each an array of its weight's shape and dtype;
        no clipping, weight decay, moving average, accumulation or explained
        step is on; and the class keeps the general path (``apply`` and what it
        calls). Then ``_apply_plainly`` may stand in for ``apply``."""
        if (
            not self.built
            or trace.ACTIVE is not None
            or self.clipnorm
            or self.global_clipnorm
            or self.clipvalue
            or self.use_ema
            or self.gradient_accumulation_steps
            or self.weight_decay is not None
            or "apply" in self.__dict__  # (an instance's own apply, such as a wrapper)
            or not _keeps_the_general_path(type(self))
            or len(gradients) != len(self._variables)
        ):
            return False
        if self._plain_checked is not None and self._plain_checked() is gradients:
            return True  # the very triples checked at an earlier step
        for (_, weight, gradient), variable in zip(gradients, self._variables, strict=True):
            if not (
                weight is variable
                and type(gradient) is np.ndarray
                and gradient.dtype == variable.dtype
                and gradient.shape == variable.shape
            ):
                return False
        if isinstance(gradients, KeptGradients):
            self._plain_checked = weakref.ref(gradients)
        return True

    def _apply_plainly(self, gradients: list[WeightGradient]) -> bool:
        """A faster update of every weight for a ``_plain_step``, with the same
        numbers as ``apply``'s; whether it updated (the base class has none)."""
        return False

    def apply_gradients(self, grads_and_vars: Iterable[tuple[np.ndarray, np.ndarray]]) -> int:
        """Keras's form: ``(gradient, variable)`` pairs. Returns ``iterations``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    def apply(
        self,
        grads: list[np.ndarray],
        trainable_variables: list[np.ndarray] | None = None,
        *,
        variable_names: list[str] | None = None,
    ) -> None:
        """Update ``trainable_variables`` in place from ``grads`` (one per variable).

        ``variable_names`` (paths such as ``"dense/kernel"``) are read when the
        optimizer builds. Without ``trainable_variables`` the optimizer must be
        built, and ``grads`` follow the order it was built with.
        """
        grads, variables = self._pair(grads, trainable_variables, variable_names)
        if not grads:
            return
        if self.gradient_accumulation_steps:
            self._accumulate(grads, variables)
        else:
            self._update(grads, variables)
        if self.use_ema:
            self._update_moving_average()
        self._iterations += 1

    def update_step(self, gradient: np.ndarray, variable: np.ndarray, step: StepContext) -> None:
        """The optimizer's own rule for one parameter: a subclass writes it."""
        raise NotImplementedError

    def step_values(self, step: StepContext) -> dict[str, Any]:
        """Values that every parameter's ``update_step`` of this update shares,
        computed once (Adam's bias-corrected rate); an optimizer with state
        shared by all parameters (Nadam's momentum product) advances it here."""
        return {}

    @property
    def cycles_momentum(self) -> bool:
        """Whether the learning-rate schedule sets this optimizer's momentum at each update."""
        return self.momentum_attribute is not None and self._schedule_cycles_momentum

    def momentum_at(self, real_iteration: int) -> float | None:
        """The momentum (or ``beta_1``) of the update made at call count
        ``real_iteration``: the schedule's when it cycles the momentum, else
        the optimizer's own; None for an optimizer without one."""
        if self.momentum_attribute is None:
            return None
        if self.cycles_momentum:
            return float(self._learning_rate.momentum(real_iteration))
        return getattr(self, self.momentum_attribute)

    def _step_context(self) -> StepContext:
        step = StepContext(
            self.iterations + 1,
            self._current_learning_rate(),
            self.momentum_at(self._iterations),
            {},
        )
        note_step("learning rate at this update", step.learning_rate)
        if step.momentum is not None:
            note_step("momentum (or beta_1) at this update", step.momentum)
        step.values.update(self.step_values(step))
        return step

    def finalize_variable_values(self, var_list: list[np.ndarray]) -> None:
        """With ``use_ema``, overwrite the weights with their moving average (``fit``
        calls this once, after the last epoch)."""
        if not (self.use_ema and self.built):
            return
        for variable in var_list:
            if id(variable) in self._index_of:
                variable[...] = self.slot("average", variable)

    def _pair(self, grads, trainable_variables, variable_names):
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "apply(grads) without variables needs a built optimizer: call "
                    "optimizer.build(variables) first, or pass the variables"
                )
            variables = list(self._variables)
        else:
            variables = list(trainable_variables)
            if not self.built or any(id(v) not in self._index_of for v in variables):
                self._build(variables, variable_names)
        if len(grads) != len(variables):
            raise ValueError(
                f"apply() needs one gradient per variable, received {len(grads)} gradients "
                f"for {len(variables)} variables"
            )
        paired_grads, paired_variables = [], []
        for gradient, variable in zip(grads, variables, strict=True):
            if gradient is None:  # as Keras: a variable without a gradient is left alone
                continue
            if type(gradient) is not np.ndarray or gradient.dtype != variable.dtype:
                gradient = np.asarray(gradient, dtype=variable.dtype)
            if gradient.shape != variable.shape:
                raise ValueError(
                    f"A gradient must have its variable's shape {variable.shape}, "
                    f"received shape {gradient.shape}"
                )
            paired_grads.append(gradient)
            paired_variables.append(variable)
        if grads and not paired_grads:
            raise ValueError("No gradients provided for any variable (every gradient is None)")
        return paired_grads, paired_variables

    def _build(self, variables, variable_names=None) -> None:
        if variable_names is not None:
            names = list(variable_names)
            if len(names) != len(variables):
                raise ValueError(
                    f"variable_names must name each of the {len(variables)} variables, "
                    f"received {len(names)} names"
                )
            self._variable_names = names
        else:
            self._variable_names = [None] * len(variables)
        self.build(variables)

    def _accumulate(self, grads, variables) -> None:
        steps = self.gradient_accumulation_steps
        accumulators = [self.slot("gradient_accumulator", v) for v in variables]
        if (self._iterations + 1) % steps:
            for gradient, accumulator in zip(grads, accumulators, strict=True):
                accumulator += gradient
            for variable, accumulator in zip(variables, accumulators, strict=True):
                note(variable, "gradient accumulated (no update on this call)", accumulator)
            return
        for gradient, variable in zip(grads, variables, strict=True):
            note(variable, "gradient of this call", gradient)
            note(
                variable, "gradient accumulated before", self.slot("gradient_accumulator", variable)
            )
        mean_grads = [(g + a) / steps for g, a in zip(grads, accumulators, strict=True)]
        self._update(mean_grads, variables)
        for accumulator in accumulators:
            accumulator[...] = 0

    def _update(self, grads, variables) -> None:
        step = self._step_context()
        tracing = trace.ACTIVE is not None  # explaining a step (lab.explain_step)
        if tracing:
            _note_gradients(grads, variables, "gradient g (from the backward pass)")
        grads = self._clip(grads)
        self._apply_weight_decay(variables, step.learning_rate)
        if tracing:
            _note_gradients(grads, variables, "gradient after clipping")
        for gradient, variable in zip(grads, variables, strict=True):
            self.update_step(gradient, variable, step)
            if tracing:
                note(variable, "weight after the update", variable)

    def _apply_weight_decay(self, variables, learning_rate: float) -> None:
        if (
            self.weight_decay is None
            and type(self)._weight_decay_rate is Optimizer._weight_decay_rate
        ):
            return  # no parameter decays: not asked once per parameter and step
        for variable in variables:
            rate = self._weight_decay_rate(variable)
            if rate is not None:
                note(variable, "weight before weight decay", variable)
                decay_weights(variable, rate, learning_rate)
                note(variable, "weight_decay", rate)
                note(
                    variable, "weight after decay = w - w * weight_decay * learning_rate", variable
                )

    def _weight_decay_rate(self, variable: np.ndarray) -> float | None:
        """The decay for this parameter, or None (Muon has one rate per kind)."""
        if self.weight_decay is None or not self._use_weight_decay(variable):
            return None
        return self.weight_decay

    def _clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        if self.clipnorm:
            clipped = []
            for g in grads:
                norm = _l2_norm(g)
                factor = self.clipnorm / max(norm, self.clipnorm)
                clipped.append(g * factor)
                note(g, "clipnorm", self.clipnorm)
                note(g, "gradient norm ||g|| of this weight array", norm)
                note(g, "clip factor clipnorm / max(||g||, clipnorm)", factor)
            return clipped
        if self.global_clipnorm:
            norm = math.sqrt(sum(_l2_norm(g) ** 2 for g in grads))
            # An infinite or NaN norm makes every gradient NaN, as in Keras,
            # so TerminateOnNaN sees it instead of a silent zero step.
            scale = self.global_clipnorm / max(norm, self.global_clipnorm)
            scale = scale if math.isfinite(norm) else math.nan
            note_step("global_clipnorm", self.global_clipnorm)
            note_step("global gradient norm (all weights together)", norm)
            note_step("clip factor global_clipnorm / max(norm, global_clipnorm)", scale)
            return [g * scale for g in grads]
        if self.clipvalue:
            note_step("clipvalue: each entry clipped to [-clipvalue, clipvalue]", self.clipvalue)
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _update_moving_average(self) -> None:
        momentum = self.ema_momentum if self.iterations != 0 else 0.0
        for variable, average in zip(self._variables, self._slots["average"], strict=True):
            dtype = variable.dtype.type
            note(variable, "EMA of the weight before", average)
            average *= dtype(momentum)
            average += dtype(1 - momentum) * variable
            note(variable, "EMA after = m * average + (1 - m) * w", average)
        frequency = self.ema_overwrite_frequency
        if frequency and (self.iterations + 1) % frequency == 0:
            self.finalize_variable_values(self._variables)

    # --- configuration ----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        learning_rate = self._learning_rate
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            learning_rate = {
                "class_name": type(learning_rate).__name__,
                "config": learning_rate.get_config(),
            }
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _deserialize_schedule(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"<{name} learning_rate={self._learning_rate!r} iterations={self.iterations}>"


def _takes_an_argument(function) -> bool:
    """Whether a learning-rate callable wants the step (a schedule) or, as
    Keras also allows, takes no argument at all."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: assume a schedule
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters
    )


def _deserialize_schedule(config: dict[str, Any]) -> Callable[[int], float]:
    """A schedule saved by ``get_config``, resolved through the schedules registry."""
    return schedules.deserialize(config)


EPSILON_PLACEMENTS = ("keras", "pytorch")


MOMENTUM_FORMS = ("keras", "pytorch")


def check_momentum_form(value) -> str:
    """``'keras'`` or ``'pytorch'``: whether the momentum buffer holds steps
    (the learning rate inside it) or gradients (the rate applied after it)."""
    if value not in MOMENTUM_FORMS:
        raise ValueError(f"momentum_form must be one of {MOMENTUM_FORMS}, received {value!r}")
    return value


def check_epsilon_placement(value) -> str:
    """``'keras'`` or ``'pytorch'``: where an optimizer adds its epsilon."""
    if value not in EPSILON_PLACEMENTS:
        raise ValueError(
            f"epsilon_placement must be one of {EPSILON_PLACEMENTS}, received {value!r}"
        )
    return value


def _check_clipping(clipnorm, clipvalue, global_clipnorm) -> None:
    clips = [c for c in (clipnorm, clipvalue, global_clipnorm) if c is not None]
    if len(clips) > 1:
        raise ValueError(
            "Only one of clipnorm, clipvalue and global_clipnorm can be set, received "
            f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
        )
    for argument, value in (
        ("clipnorm", clipnorm),
        ("clipvalue", clipvalue),
        ("global_clipnorm", global_clipnorm),
    ):
        # Infinity passes: a clipnorm of infinity clips nothing.
        check_real(value, argument, low=0, finite=False, allow_none=True)


def _check_ema(use_ema, ema_momentum, ema_overwrite_frequency) -> None:
    if not use_ema:
        return
    check_real(ema_momentum, "ema_momentum", low=0, high=1)
    check_int(ema_overwrite_frequency, "ema_overwrite_frequency", minimum=1, allow_none=True)


def _note_gradients(grads, variables, name: str) -> None:
    """Note the watched weight's gradient, and let the gradient stand for the
    weight in the notes of code that sees only the gradient (clipping, Lamb)."""
    for gradient, variable in zip(grads, variables, strict=True):
        note(variable, name, gradient)
        follow(variable, gradient)


def _l2_norm(array: np.ndarray) -> float:
    return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))


#: The methods of the general update path, which ``_apply_plainly`` skips.
_GENERAL_PATH = ("apply", "_pair", "_update", "_clip", "_apply_weight_decay", "_weight_decay_rate")
_KEEPS_THE_GENERAL_PATH: dict[type, bool] = {}


def _keeps_the_general_path(cls: type) -> bool:
    """Whether ``cls`` overrides none of ``_GENERAL_PATH`` (asked once per class)."""
    keeps = _KEEPS_THE_GENERAL_PATH.get(cls)
    if keeps is None:
        keeps = all(getattr(cls, name) is getattr(Optimizer, name) for name in _GENERAL_PATH)
        _KEEPS_THE_GENERAL_PATH[cls] = keeps
    return keeps
