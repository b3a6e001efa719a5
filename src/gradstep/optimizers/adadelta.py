"""Adadelta: steps in the units of the weights, from two running means."""

from __future__ import annotations

from gradstep.kernels.adadelta import adadelta_update
from gradstep.optimizers.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("adadelta")
class Adadelta(Optimizer):
    r"""Adadelta scales each step by the ratio of two running root mean
    squares: of past updates over past gradients. The ratio has the units of
    the weight, so the paper needs no learning rate (use 1.0 for that).

    With ``s`` (mean square gradient) and ``u`` (mean square update) at 0::

        s <- rho * s + (1 - rho) * g^2
        delta = -sqrt(u + epsilon) / sqrt(s + epsilon) * g
        u <- rho * u + (1 - rho) * delta^2
        w <- w + learning_rate * delta

    Reference: Zeiler (2012), "ADADELTA: An Adaptive Learning Rate Method".

    PyTorch's ``torch.optim.Adadelta`` has the same rule (epsilon inside both
    square roots) with defaults ``lr=1.0``, ``rho=0.9``, ``eps=1e-6`` (Keras
    0.001, 0.95, 1e-7); ``Adadelta(learning_rate=1.0, rho=0.9, epsilon=1e-6)``
    reproduces it exactly.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        rho: decay of both running means. Defaults to 0.95.
        epsilon: keeps both roots away from 0. Defaults to 1e-7.
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, variables):
        super().build(variables)
        self.add_slot("accumulated_grad", variables)
        self.add_slot("accumulated_delta_var", variables)

    def update_step(self, gradient, variable, step):
        adadelta_update(
            variable,
            gradient,
            self.slot("accumulated_grad", variable),
            self.slot("accumulated_delta_var", variable),
            step.learning_rate,
            self.rho,
            self.epsilon,
        )

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
