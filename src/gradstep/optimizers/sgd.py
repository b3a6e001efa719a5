"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from gradstep.optimizers.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    r"""Gradient descent: step every weight against its slope.

    Without momentum (``momentum=0``), the rule the lessons teach::

        w <- w - learning_rate * g

    With momentum ``mu`` (Keras's formulation; the velocity ``v`` starts at 0)::

        v <- mu * v - learning_rate * g
        w <- w + v                                  (nesterov=False)
        w <- w + mu * v - learning_rate * g         (nesterov=True)

    Reference: Polyak (1964), "Some methods of speeding up the convergence of
    iteration methods"; Sutskever et al. (2013) for the Nesterov form.

    PyTorch's ``torch.optim.SGD(lr, momentum, nesterov)`` keeps ``b = mu b + g``
    and steps ``w -= lr * b``; with a constant learning rate the two give the
    same weights (``v = -lr * b``). They differ when the learning rate changes.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.01.
        momentum: ``mu`` in [0, 1). Defaults to 0.0.
        nesterov: whether to apply Nesterov momentum. Defaults to False.
    """

    name = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be a float in [0, 1], received {momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        super().build(variables)
        if self.momentum:
            self.add_slot("momentum", variables)

    def update_step(self, gradient, variable, learning_rate):
        if not self.momentum:
            variable -= learning_rate * gradient
            return
        velocity = self.slot("momentum", variable)
        velocity *= self.momentum
        velocity -= learning_rate * gradient
        if self.nesterov:
            variable += self.momentum * velocity - learning_rate * gradient
        else:
            variable += velocity

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
