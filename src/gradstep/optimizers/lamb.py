"""LAMB: layer-wise adaptive moments for large batches."""

from __future__ import annotations

from gradstep.kernels.lamb import apply_direction, lamb_direction, trust_ratio
from gradstep.kernels.trace import note
from gradstep.optimizers.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("lamb")
class Lamb(Optimizer):
    r"""LAMB takes Adam's direction for each weight array and rescales the
    whole step so that its norm is the learning rate times the norm of the
    weights (the "trust ratio"): every layer moves by the same relative amount,
    which keeps very large batches stable.

    At step ``t = iterations + 1``, with ``m`` and ``v`` starting at 0::

        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g^2
        r = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon)
        ratio = ||w|| / ||r||   (1 if either norm is 0)
        w <- w - ratio * learning_rate * r

    Reference: You et al. (2020), "Large Batch Optimization for Deep Learning:
    Training BERT in 76 minutes", Algorithm 2 (with the identity scaling
    function, and weight decay decoupled as everywhere in gradstep). PyTorch
    has no LAMB.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        beta_1: decay of the first moment. Defaults to 0.9.
        beta_2: decay of the second moment. Defaults to 0.999.
        epsilon: keeps the denominator away from 0. Defaults to 1e-7.
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "lamb"
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

    def update_step(self, gradient, variable, step):
        direction = lamb_direction(
            gradient,
            self.slot("momentum", variable),
            self.slot("velocity", variable),
            step.momentum,
            self.beta_2,
            self.epsilon,
            1 - step.momentum**step.iteration,
            1 - self.beta_2**step.iteration,
        )
        ratio = trust_ratio(variable, direction)
        note(variable, "trust_ratio = ||w|| / ||r|| (over the whole weight array)", ratio)
        apply_direction(variable, direction, ratio * step.learning_rate)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
