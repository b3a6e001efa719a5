"""Lion: evolved sign momentum."""

from __future__ import annotations

from gradstep.kernels.lion import lion_update
from gradstep.optimizers.base import OPTIMIZERS, Optimizer
from gradstep.validation import check_real


@OPTIMIZERS.register("lion")
class Lion(Optimizer):
    r"""Lion steps every weight by the same amount, the learning rate, in the
    direction of the sign of an interpolation between momentum and gradient.
    It keeps one slot (Adam keeps two); its steps are larger in norm than
    Adam's, so its learning rate is typically 3-10x smaller than AdamW's and
    its weight decay 3-10x larger.

    With the momentum ``m`` starting at 0::

        c = beta_1 * m + (1 - beta_1) * g
        w <- w - learning_rate * sign(c)
        m <- beta_2 * m + (1 - beta_2) * g

    Reference: Chen et al. (2023), "Symbolic Discovery of Optimization
    Algorithms" (Program 1). PyTorch has no Lion.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        beta_1: interpolation for the step's sign, in (0, 1]. Defaults to 0.9.
        beta_2: decay of the momentum. Defaults to 0.99.
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "lion"
    momentum_attribute = "beta_1"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        # At 0 Lion degenerates to sign SGD.
        check_real(beta_1, "beta_1", low=0, high=1, include_low=False)
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def build(self, variables):
        super().build(variables)
        self.add_slot("momentum", variables)

    def update_step(self, gradient, variable, step):
        momentum = self.slot("momentum", variable)
        lion_update(variable, gradient, momentum, step.learning_rate, step.momentum, self.beta_2)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
