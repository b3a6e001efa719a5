"""RMSprop: root mean square propagation."""

from __future__ import annotations

import numpy as np

from gradstep.optimizers.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
    r"""RMSprop divides each step by a running root mean square of recent
    gradients, so every weight moves at a similar pace whatever its slope's scale.

    With ``s`` (and ``a``, ``b``) starting at 0::

        s <- rho * s + (1 - rho) * g^2
        a <- rho * a + (1 - rho) * g                (centered=True only)
        d = s - a^2 if centered else s
        step = learning_rate * g / sqrt(d + epsilon)
        b <- momentum * b + step; w <- w - b        (momentum > 0)
        w <- w - step                               (momentum = 0)

    Epsilon sits inside the square root, as Keras does. Reference: Hinton,
    Srivastava and Swersky, "Neural Networks for Machine Learning", lecture 6e
    (2012); Graves (2013) for the centered form.

    PyTorch's ``torch.optim.RMSprop`` calls ``rho`` ``alpha`` (default 0.99, Keras
    0.9) and adds ``eps`` (default 1e-8) outside the square root:
    ``g / (sqrt(d) + eps)``.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        rho: decay of the mean square. Defaults to 0.9.
        momentum: Defaults to 0.0.
        epsilon: Defaults to 1e-7.
        centered: whether to divide by the estimated variance instead of the
            mean square. Defaults to False.
    """

    name = "rmsprop"

    def __init__(
        self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, variables):
        super().build(variables)
        self.add_slot("velocity", variables)
        if self.momentum:
            self.add_slot("momentum", variables)
        if self.centered:
            self.add_slot("average_gradient", variables)

    def update_step(self, gradient, variable, learning_rate):
        mean_square = self.slot("velocity", variable)
        mean_square *= self.rho
        mean_square += (1 - self.rho) * np.square(gradient)
        denominator = mean_square
        if self.centered:
            average_gradient = self.slot("average_gradient", variable)
            average_gradient *= self.rho
            average_gradient += (1 - self.rho) * gradient
            denominator = mean_square - np.square(average_gradient)
        step = learning_rate * gradient / np.sqrt(denominator + self.epsilon)
        if self.momentum:
            velocity = self.slot("momentum", variable)
            velocity *= self.momentum
            velocity += step
            variable -= velocity
        else:
            variable -= step

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
