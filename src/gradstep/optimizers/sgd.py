"""Stochastic gradient descent, with optional (Nesterov) momentum; and GD,
the same rule on the whole data set at once."""

from __future__ import annotations

from gradstep.kernels.sgd import sgd_update
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

    Reference: Robbins and Monro (1951), "A stochastic approximation method";
    Polyak (1964), "Some methods of speeding up the convergence of iteration
    methods"; Sutskever et al. (2013), "On the importance of initialization and
    momentum in deep learning", for the Nesterov form.

    PyTorch's ``torch.optim.SGD(lr, momentum, nesterov)`` keeps ``b = mu b + g``
    and steps ``w -= lr * b``: with a constant learning rate the two give the
    same weights (``v = -lr * b``); they differ when the learning rate changes,
    because Keras's velocity remembers the old rates. PyTorch's default
    ``lr`` is 1e-3, Keras's 0.01. PyTorch's ``weight_decay`` adds ``wd * w`` to
    the gradient (an L2 penalty), Keras's shrinks the weight (decoupled).

    Args:
        learning_rate: a float or a schedule. Defaults to 0.01.
        momentum: ``mu`` in [0, 1]. Defaults to 0.0.
        nesterov: whether to apply Nesterov momentum. Defaults to False.
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(momentum, bool) or not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be a float in [0, 1], received {momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        super().build(variables)
        if self.momentum:
            self.add_slot("momentum", variables)

    def update_step(self, gradient, variable, learning_rate):
        velocity = self.slot("momentum", variable) if self.momentum else None
        sgd_update(variable, gradient, velocity, learning_rate, self.momentum, self.nesterov)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


@OPTIMIZERS.register("gd")
class GD(SGD):
    r"""Full-batch gradient descent: SGD whose every step sees all the data.

    With ``L`` the loss over the whole training set, every step is::

        w <- w - learning_rate * dL/dw

    (with ``momentum``, SGD's velocity form). ``fit`` uses the whole data set
    as one batch (``batch_size`` may be left out), so one epoch is one step
    and the path downhill is deterministic: no sampling noise, but one step
    per pass over the data. Reference: Cauchy (1847), "Méthode générale pour
    la résolution des systèmes d'équations simultanées". In PyTorch it is
    ``torch.optim.SGD`` stepped once per epoch on the full-batch loss.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.01.
        momentum: Defaults to 0.0.
        nesterov: Defaults to False.
        **kwargs: the options every optimizer takes.
    """

    name = "GD"
    full_batch = True
