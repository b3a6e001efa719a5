"""FTRL-Proximal: follow the regularized leader."""

from __future__ import annotations

from gradstep.kernels.ftrl import ftrl_update
from gradstep.optimizers.base import OPTIMIZERS, Optimizer
from gradstep.validation import check_real


@OPTIMIZERS.register("ftrl")
class Ftrl(Optimizer):
    r"""FTRL-Proximal keeps, per weight, the sum of squared gradients ``n`` and
    a linear term ``z``, and sets the weight in closed form; an L1 strength
    makes many weights exactly 0 (sparse models, as for click-through rates).

    With ``n`` starting at ``initial_accumulator_value`` and ``z`` at 0, ``p =
    -learning_rate_power`` (0.5 by default), ``l1``, ``l2``, ``l2_shrinkage``
    the regularization strengths and ``l2' = l2 + beta / (2 learning_rate)``::

        g_s = g + 2 * l2_shrinkage * w
        n_new = n + g^2
        sigma = (n_new^p - n^p) / learning_rate
        z <- z + g_s - sigma * w
        w <- (clip(z, -l1, l1) - z) / (n_new^p / learning_rate + 2 * l2')
        n <- n_new

    (``w`` is 0 where ``|z| <= l1``.) Reference: McMahan et al. (2013), "Ad
    Click Prediction: a View from the Trenches", Algorithm 1. PyTorch has no FTRL.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        learning_rate_power: ``-p``, <= 0; 0 keeps the rate fixed. Defaults to -0.5.
        initial_accumulator_value: ``n``'s starting value, >= 0. Defaults to 0.1.
        l1_regularization_strength: >= 0. Defaults to 0.0.
        l2_regularization_strength: >= 0 (stabilizing). Defaults to 0.0.
        l2_shrinkage_regularization_strength: >= 0 (a magnitude penalty added
            to the gradient). Defaults to 0.0.
        beta: the paper's beta. Defaults to 0.0.
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "ftrl"

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check_real(learning_rate_power, "learning_rate_power", high=0, finite=False)
        for argument, value in (
            ("initial_accumulator_value", initial_accumulator_value),
            ("l1_regularization_strength", l1_regularization_strength),
            ("l2_regularization_strength", l2_regularization_strength),
            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength),
        ):
            check_real(value, argument, low=0, finite=False)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, variables):
        super().build(variables)
        self.add_slot("accumulator", variables, fill=self.initial_accumulator_value)
        self.add_slot("linear", variables)

    def update_step(self, gradient, variable, step):
        ftrl_update(
            variable,
            gradient,
            self.slot("accumulator", variable),
            self.slot("linear", variable),
            step.learning_rate,
            -self.learning_rate_power,
            self.l1_regularization_strength,
            self.l2_regularization_strength + self.beta / (2.0 * step.learning_rate),
            self.l2_shrinkage_regularization_strength,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }
