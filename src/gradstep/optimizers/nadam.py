"""Nadam: Adam with Nesterov momentum."""

from __future__ import annotations

import numpy as np

from gradstep.kernels.nadam import nadam_update
from gradstep.kernels.trace import note_step
from gradstep.optimizers.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("nadam")
class Nadam(Optimizer):
    r"""Nadam is Adam whose first moment looks one step ahead (Nesterov
    momentum), with a momentum factor that warms up over the first steps.

    At step ``t = iterations + 1``, with ``m`` and ``v`` at 0 and the product
    ``P_0 = 1`` kept across steps::

        mu_t = beta_1 * (1 - 0.5 * 0.96^t);   P_t = P_{t-1} * mu_t
        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g^2
        m_hat = mu_{t+1} * m / (1 - P_t * mu_{t+1}) + (1 - mu_t) * g / (1 - P_t)
        v_hat = v / (1 - beta_2^t)
        w <- w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Reference: Dozat (2016), "Incorporating Nesterov Momentum into Adam";
    the momentum schedule ``0.96^t`` is from Sutskever et al. (2013).

    PyTorch's ``torch.optim.NAdam`` places ``eps`` as here but its momentum
    schedule is ``0.96^(t * momentum_decay)`` with ``momentum_decay=0.004``
    and its default ``lr`` is 0.002: ``torch.optim.NAdam(lr=0.001, eps=1e-7,
    momentum_decay=1.0)`` gives Keras's (and gradstep's) Nadam exactly.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        beta_1: decay of the first moment. Defaults to 0.9.
        beta_2: decay of the second moment. Defaults to 0.999.
        epsilon: keeps the denominator away from 0. Defaults to 1e-7.
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "nadam"
    momentum_attribute = "beta_1"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, variables):
        super().build(variables)
        self.add_slot("momentum", variables)
        self.add_slot("velocity", variables)
        dtype = variables[0].dtype if variables else np.float32
        self.add_state("u_product", np.ones((), dtype=dtype))

    def step_values(self, step):
        """Advance the momentum product ``P_t`` (shared by every parameter) and
        give this update's two first-moment coefficients."""
        beta_1, t = step.momentum, step.iteration
        mu_now = beta_1 * (1.0 - 0.5 * 0.96**t)
        mu_next = beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        product = self._state["u_product"]
        product[...] = product * beta_1 * (1.0 - 0.5 * 0.96**t)
        product = float(product)
        note_step("t, the update's number", t)
        note_step("mu_t = beta_1 * (1 - 0.5 * 0.96^t)", mu_now)
        note_step("mu_t+1 = beta_1 * (1 - 0.5 * 0.96^(t+1))", mu_next)
        note_step("momentum product mu_1 * ... * mu_t", product)
        return {
            "momentum_coefficient": mu_next / (1 - product * mu_next),
            "gradient_coefficient": (1 - mu_now) / (1 - product),
        }

    def update_step(self, gradient, variable, step):
        nadam_update(
            variable,
            gradient,
            self.slot("momentum", variable),
            self.slot("velocity", variable),
            step.learning_rate,
            step.momentum,
            self.beta_2,
            self.epsilon,
            step.values["momentum_coefficient"],
            step.values["gradient_coefficient"],
            1 - self.beta_2**step.iteration,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
