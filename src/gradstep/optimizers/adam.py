"""Adam: adaptive moment estimation."""

from __future__ import annotations

import math
import operator

from gradstep.kernels.adam import AdamScalars, PreparedAdam, adam_scalars
from gradstep.kernels.trace import note_step
from gradstep.optimizers.base import OPTIMIZERS, Optimizer, check_epsilon_placement


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    r"""Adam keeps running means of the gradient and of its square, and steps
    each weight by their ratio: large where the slope is steady, small where
    it is noisy. It combines AdaGrad's per-weight scale with RMSprop's decay.

    At step ``t = iterations + 1``, with ``m`` and ``v`` starting at 0::

        m <- m + (1 - beta_1) * (g - m)
        v <- v + (1 - beta_2) * (g^2 - v)
        alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - alpha * m / (sqrt(v) + epsilon)

    with ``amsgrad=True``, ``v_hat <- max(v_hat, v)`` replaces ``v`` in the last line.

    This is Algorithm 1 of the paper in the form given just before its section
    2.1, where epsilon ("epsilon hat") sits outside the bias correction, as
    Keras does. Reference: Kingma and Ba (2015), "Adam: A Method for Stochastic
    Optimization"; Reddi et al. (2018) for AMSGrad.

    PyTorch's ``torch.optim.Adam`` adds epsilon after bias-correcting ``v``:
    ``w -= lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - beta_1^t)``
    and ``v_hat = v / (1 - beta_2^t)``; its ``eps`` is Keras's ``epsilon / sqrt(1
    - beta_2^t)``, which changes with t, and the two differ wherever ``sqrt(v_hat)``
    is not much larger than epsilon (small gradients). ``epsilon_placement=
    "pytorch"`` places it as PyTorch does: ``Adam(epsilon=1e-8,
    epsilon_placement="pytorch")`` is ``torch.optim.Adam()``'s rule (see
    docs/optimizers.md).

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        beta_1: decay of the first-moment mean. Defaults to 0.9.
        beta_2: decay of the second-moment mean. Defaults to 0.999.
        epsilon: keeps the denominator away from 0. Defaults to 1e-7.
        amsgrad: whether to use the AMSGrad variant. Defaults to False.
        epsilon_placement: ``"keras"`` (epsilon added before the bias
            correction, Keras's and the paper's "epsilon hat") or ``"pytorch"``
            (after it). Defaults to "keras".
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "adam"
    momentum_attribute = "beta_1"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        epsilon_placement="keras",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        self.epsilon_placement = check_epsilon_placement(epsilon_placement)

    def build(self, variables):
        super().build(variables)
        self._prepared: dict[int, PreparedAdam] = {}  # by parameter index, made at its first step
        # (the slots' arrays, every PreparedAdam): see _every_prepared
        self._every: tuple | None = None
        self._dtypes = {variable.dtype for variable in variables}
        self.add_slot("momentum", variables)
        self.add_slot("velocity", variables)
        if self.amsgrad:
            self.add_slot("velocity_hat", variables)

    def step_values(self, step):
        """This update's bias-corrected rate ``alpha`` and the epsilon added to
        ``sqrt(v)``, as the kernel's scalars for each dtype of the parameters
        (converted once an update rather than once per parameter)."""
        alpha, epsilon, root_correction = self._rates(
            step.learning_rate, step.momentum, step.iteration
        )
        note_step("t, the update's number", step.iteration)
        note_step("bias correction of m: 1 - beta_1^t", 1 - step.momentum**step.iteration)
        note_step("bias correction of v, under its root: sqrt(1 - beta_2^t)", root_correction)
        note_step("alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)", alpha)
        if self.epsilon_placement == "pytorch":
            note_step(
                "epsilon * sqrt(1 - beta_2^t): PyTorch's epsilon, after the correction", epsilon
            )
        return {"scalars": self._scalars(alpha, step.momentum, epsilon)}

    def _rates(self, learning_rate, beta_1, iteration) -> tuple[float, float, float]:
        """``alpha``, the epsilon added to ``sqrt(v)``, and ``sqrt(1 - beta_2^t)``."""
        root_correction = math.sqrt(1 - self.beta_2**iteration)
        alpha = learning_rate * root_correction / (1 - beta_1**iteration)
        # PyTorch adds eps to sqrt(v) / root_correction: that is Keras's rule
        # with epsilon scaled by root_correction.
        epsilon = self.epsilon * (root_correction if self.epsilon_placement == "pytorch" else 1)
        return alpha, epsilon, root_correction

    def _scalars(self, alpha, beta_1, epsilon) -> dict:
        return {
            dtype: adam_scalars(dtype, alpha, beta_1, self.beta_2, epsilon)
            for dtype in self._dtypes
        }

    def _apply_plainly(self, gradients):
        """The update of a plain step (``Optimizer._plain_step``): what ``apply``
        does for Adam, without the general path's per-step and per-weight
        bookkeeping (a StepContext, notes for an explained step, pairing
        gradients with weights, looking up each weight's index)."""
        cls = type(self)
        if cls.update_step is not Adam.update_step or cls.step_values is not Adam.step_values:
            return False  # a subclass's own rule: the general path calls it
        iteration = self._iterations + 1
        beta_1 = self.momentum_at(self._iterations)
        alpha, epsilon, _ = self._rates(self._current_learning_rate(), beta_1, iteration)
        scalars = self._scalars(alpha, beta_1, epsilon)
        for prepared, (_, _, gradient) in zip(self._every_prepared(), gradients, strict=True):
            prepared.update(gradient, scalars[prepared.dtype])
        self._iterations = iteration
        return True

    def _every_prepared(self) -> list[PreparedAdam]:
        """Every parameter's prepared update, in order (``_prepared_for``):
        those of the last step while the slots hold the same arrays."""
        slots = self._slots
        arrays = (slots["momentum"], slots["velocity"], slots.get("velocity_hat", ()))
        kept = self._every
        if kept is not None and all(map(_same_arrays, arrays, kept[0])):
            return kept[1]
        prepared = [self._prepared_for(index, v) for index, v in enumerate(self._variables)]
        self._every = (tuple(tuple(each) for each in arrays), prepared)
        return prepared

    def update_step(self, gradient, variable, step):
        scalars: AdamScalars = step.values["scalars"][variable.dtype]
        self._prepared_for(self._index_of[id(variable)], variable).update(gradient, scalars)

    def _prepared_for(self, index: int, variable) -> PreparedAdam:
        """Parameter ``index``'s prepared update, made again when its arrays
        are not the ones it was made for (a slot replaced)."""
        slots = self._slots  # (one lookup for all slots)
        arrays = (
            variable,
            slots["momentum"][index],
            slots["velocity"][index],
            slots["velocity_hat"][index] if self.amsgrad else None,
        )
        prepared = self._prepared.get(index)
        if prepared is None or not prepared.holds(*arrays):
            prepared = self._prepared[index] = PreparedAdam(*arrays)
        return prepared

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
            "epsilon_placement": self.epsilon_placement,
        }


def _same_arrays(now: list, then: tuple) -> bool:
    """Whether a slot holds the very arrays it held (``then``)."""
    return len(now) == len(then) and all(map(operator.is_, now, then))
