"""Schedule-Free AdamW: no learning-rate schedule needed."""

from __future__ import annotations

from gradstep.kernels.schedule_free import schedule_free_update
from gradstep.kernels.trace import note_step
from gradstep.optimizers.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("schedulefreeadamw", "schedule_free_adamw")
class ScheduleFreeAdamW(Optimizer):
    r"""Schedule-Free AdamW replaces the learning-rate schedule by averaging:
    it takes Adam-scaled SGD steps on a sequence ``z``, keeps ``x``, the
    running (uniform) average of ``z``, and gives the model the interpolation
    ``y`` between them, where the gradient is taken. It needs no stopping time
    and matches cosine or linear decay.

    At step ``t = iterations + 1``, with ``z`` starting at the weights, ``v``
    at 0 and ``lr_t = learning_rate * min(t / warmup_steps, 1)`` (or
    ``learning_rate`` without warm-up); the weights ``w`` are ``y``::

        v <- beta_2 * v + (1 - beta_2) * g^2
        z_new = z - lr_t * g / (sqrt(v / (1 - beta_2^t)) + epsilon)
        x = (y - (1 - beta_1) * z) / beta_1                (the average so far)
        x <- (1 - 1/t) * x + (1/t) * z_new
        y <- (1 - beta_1) * z_new + beta_1 * x;   z <- z_new

    Reference: Defazio et al. (2024), "The Road Less Scheduled"
    (github.com/facebookresearch/schedule_free). As in Keras, the weights stay
    ``y`` for evaluation too (the authors evaluate at ``x``). PyTorch has no
    Schedule-Free AdamW (the authors' ``schedulefree`` package adds one).

    Args:
        learning_rate: a float or a schedule. Defaults to 0.0025.
        beta_1: the interpolation between ``z`` and ``x``. Defaults to 0.9.
        beta_2: decay of the second moment. Defaults to 0.999.
        epsilon: Defaults to 1e-8.
        warmup_steps: steps of linear warm-up of the learning rate. Defaults to 0.
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "schedule_free_adamw"

    def __init__(
        self,
        learning_rate=0.0025,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        warmup_steps=0,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def build(self, variables):
        super().build(variables)
        self.add_slot_arrays("momentum", [v.copy() for v in variables])
        self.add_slot("velocity", variables)

    def step_values(self, step):
        learning_rate = step.learning_rate
        if self.warmup_steps > 0:
            learning_rate = learning_rate * min(step.iteration / self.warmup_steps, 1.0)
        note_step("rate after warmup: learning_rate * min(t / warmup_steps, 1)", learning_rate)
        return {"warmed_up_rate": learning_rate}

    def update_step(self, gradient, variable, step):
        schedule_free_update(
            variable,
            gradient,
            self.slot("momentum", variable),
            self.slot("velocity", variable),
            step.values["warmed_up_rate"],
            self.beta_1,
            self.beta_2,
            self.epsilon,
            1 - self.beta_2**step.iteration,
            1.0 / step.iteration,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "warmup_steps": self.warmup_steps,
        }
