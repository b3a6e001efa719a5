"""Adagrad: per-weight learning rates from the sum of squared gradients."""

from __future__ import annotations

from gradstep.kernels.adagrad import adagrad_update
from gradstep.optimizers.base import OPTIMIZERS, Optimizer, check_epsilon_placement
from gradstep.validation import check_real


@OPTIMIZERS.register("adagrad")
class Adagrad(Optimizer):
    r"""Adagrad divides each step by the root of the sum of all past squared
    gradients of that weight: weights that rarely get a gradient (rare
    features) keep large steps, frequently updated ones slow down.

    With the accumulator ``s`` starting at ``initial_accumulator_value``::

        s <- s + g^2
        w <- w - learning_rate * g / sqrt(s + epsilon)   (PyTorch: / (sqrt(s) + epsilon))

    Reference: Duchi, Hazan and Singer (2011), "Adaptive Subgradient Methods
    for Online Learning and Stochastic Optimization".

    PyTorch's ``torch.optim.Adagrad`` starts the sum at 0 (Keras 0.1), adds
    ``eps`` (default 1e-10) outside the square root (``g / (sqrt(s) + eps)``)
    and defaults to ``lr=0.01`` (Keras 0.001): ``Adagrad(learning_rate=0.01,
    initial_accumulator_value=0.0, epsilon=1e-10, epsilon_placement="pytorch")``
    is ``torch.optim.Adagrad()``'s rule; its ``lr_decay`` is the schedule
    ``lr / (1 + iterations * lr_decay)``.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        initial_accumulator_value: the accumulator's starting value, >= 0.
            Defaults to 0.1.
        epsilon: keeps the denominator away from 0. Defaults to 1e-7.
        epsilon_placement: ``"keras"`` (inside the square root) or ``"pytorch"``
            (outside it). Defaults to "keras".
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "adagrad"

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        epsilon_placement="keras",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check_real(initial_accumulator_value, "initial_accumulator_value", low=0, finite=False)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon
        self.epsilon_placement = check_epsilon_placement(epsilon_placement)

    def build(self, variables):
        super().build(variables)
        self.add_slot("accumulator", variables, fill=self.initial_accumulator_value)

    def update_step(self, gradient, variable, step):
        accumulator = self.slot("accumulator", variable)
        # inside the square root (Keras) or outside it (PyTorch)
        keras = self.epsilon_placement == "keras"
        inside, outside = (self.epsilon, 0.0) if keras else (0.0, self.epsilon)
        adagrad_update(variable, gradient, accumulator, step.learning_rate, inside, outside)

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
            "epsilon_placement": self.epsilon_placement,
        }
