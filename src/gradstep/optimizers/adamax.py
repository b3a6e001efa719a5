"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from gradstep.kernels.adamax import adamax_update
from gradstep.optimizers.base import OPTIMIZERS, Optimizer, check_epsilon_placement


@OPTIMIZERS.register("adamax")
class Adamax(Optimizer):
    r"""Adamax replaces Adam's root mean square by an exponentially weighted
    maximum of past gradient magnitudes (the infinity norm), which needs no
    bias correction and is robust to rare huge gradients.

    At step ``t = iterations + 1``, with ``m`` and ``u`` starting at 0::

        m <- beta_1 * m + (1 - beta_1) * g
        u <- max(beta_2 * u, |g|)                 (PyTorch: max(beta_2 * u, |g| + epsilon))
        w <- w - learning_rate * m / ((1 - beta_1^t) * (u + epsilon))   (PyTorch: * u)

    Reference: Kingma and Ba (2015), "Adam: A Method for Stochastic
    Optimization", section 7.1 (Algorithm 2).

    PyTorch's ``torch.optim.Adamax`` puts ``eps`` inside the maximum
    (``u <- max(beta_2 u, |g| + eps)``) and defaults to ``lr=0.002``, ``eps=1e-8``
    (Keras 0.001, 1e-7): ``Adamax(learning_rate=0.002, epsilon=1e-8,
    epsilon_placement="pytorch")`` is ``torch.optim.Adamax()``'s rule.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        beta_1: decay of the first moment. Defaults to 0.9.
        beta_2: decay of the infinity norm. Defaults to 0.999.
        epsilon: keeps the denominator away from 0. Defaults to 1e-7.
        epsilon_placement: ``"keras"`` (added to ``u`` in the step) or
            ``"pytorch"`` (added to ``|g|`` inside the maximum). Defaults to "keras".
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "adamax"
    momentum_attribute = "beta_1"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        epsilon_placement="keras",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.epsilon_placement = check_epsilon_placement(epsilon_placement)

    def build(self, variables):
        super().build(variables)
        self.add_slot("momentum", variables)
        self.add_slot("norm", variables)

    def update_step(self, gradient, variable, step):
        # added to |g| inside the maximum (PyTorch) or to u in the step (Keras)
        keras = self.epsilon_placement == "keras"
        inside, outside = (0.0, self.epsilon) if keras else (self.epsilon, 0.0)
        adamax_update(
            variable,
            gradient,
            self.slot("momentum", variable),
            self.slot("norm", variable),
            step.learning_rate,
            step.momentum,
            self.beta_2,
            inside,
            outside,
            1 - step.momentum**step.iteration,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "epsilon_placement": self.epsilon_placement,
        }
