"""Adam: adaptive moment estimation."""

from __future__ import annotations

import math

from gradstep.kernels.adam import adam_update
from gradstep.optimizers.base import OPTIMIZERS, Optimizer


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
    ``w -= lr * m_hat / (sqrt(v_hat) + eps)``; Keras's ``epsilon`` equals
    PyTorch's ``eps * sqrt(1 - beta_2^t)``, so the two agree exactly only when
    epsilon is negligible. PyTorch's default eps is 1e-8; Keras's is 1e-7.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        beta_1: decay of the first-moment mean. Defaults to 0.9.
        beta_2: decay of the second-moment mean. Defaults to 0.999.
        epsilon: keeps the denominator away from 0. Defaults to 1e-7.
        amsgrad: whether to use the AMSGrad variant. Defaults to False.
    """

    name = "adam"

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, variables):
        super().build(variables)
        self.add_slot("momentum", variables)
        self.add_slot("velocity", variables)
        if self.amsgrad:
            self.add_slot("velocity_hat", variables)

    def update_step(self, gradient, variable, learning_rate):
        step = self.iterations + 1
        alpha = learning_rate * math.sqrt(1 - self.beta_2**step) / (1 - self.beta_1**step)
        adam_update(
            variable,
            gradient,
            self.slot("momentum", variable),
            self.slot("velocity", variable),
            self.slot("velocity_hat", variable) if self.amsgrad else None,
            alpha,
            self.beta_1,
            self.beta_2,
            self.epsilon,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }
