"""Stochastic gradient descent, with optional (Nesterov) momentum; and GD,
the same rule on the whole data set at once."""

from __future__ import annotations

from gradstep.kernels.sgd import sgd_update
from gradstep.optimizers.base import OPTIMIZERS, Optimizer, check_momentum_form
from gradstep.validation import check_real


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    r"""Gradient descent: step every weight against its slope.

    Without momentum (``momentum=0``), the rule the lessons teach::

        w <- w - learning_rate * g

    With momentum ``mu``, Keras's formulation (``momentum_form="keras"``, the
    default; the velocity ``v`` starts at 0 and carries the learning rate)::

        v <- mu * v - learning_rate * g
        w <- w + v                                  (nesterov=False)
        w <- w + mu * v - learning_rate * g         (nesterov=True)

    PyTorch's formulation (``momentum_form="pytorch"``; the buffer ``b``
    starts at 0 and holds gradients only, the learning rate applies after it)::

        b <- mu * b + g
        w <- w - learning_rate * b                  (nesterov=False)
        w <- w - learning_rate * (g + mu * b)       (nesterov=True)

    Reference: Robbins and Monro (1951), "A stochastic approximation method";
    Polyak (1964), "Some methods of speeding up the convergence of iteration
    methods"; Sutskever et al. (2013), "On the importance of initialization and
    momentum in deep learning", for the Nesterov form.

    With a constant learning rate the two forms give the same weights
    (``v = -learning_rate * b``). When the rate changes (a schedule, a decay,
    OneCycle), Keras's velocity still carries the steps taken at the old
    rates, while PyTorch's buffer rescales the whole remembered direction by
    the new rate: the weights part. ``SGD(lr, momentum=mu, nesterov=n,
    momentum_form="pytorch")`` is ``torch.optim.SGD(lr=lr, momentum=mu,
    nesterov=n)`` (dampening 0) under any learning-rate schedule. PyTorch's
    default ``lr`` is 1e-3, Keras's 0.01. PyTorch's ``weight_decay`` adds
    ``wd * w`` to the gradient (an L2 penalty), Keras's shrinks the weight
    (decoupled).

    Args:
        learning_rate: a float or a schedule. Defaults to 0.01.
        momentum: ``mu`` in [0, 1]. Defaults to 0.0.
        nesterov: whether to apply Nesterov momentum. Defaults to False.
        momentum_form: ``"keras"`` (the learning rate inside the velocity) or
            ``"pytorch"`` (outside the buffer, as ``torch.optim.SGD``).
            Defaults to "keras".
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "SGD"
    momentum_attribute = "momentum"

    def __init__(
        self, learning_rate=0.01, momentum=0.0, nesterov=False, momentum_form="keras", **kwargs
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        check_real(momentum, "momentum", low=0, high=1)
        self.momentum = momentum
        self.nesterov = nesterov
        self.momentum_form = check_momentum_form(momentum_form)

    @property
    def _momentum_slot(self) -> str:
        # PyTorch's buffer has its own name, so neither form's saved state
        # can be restored into the other (their values differ by -learning_rate).
        return "momentum_buffer" if self.momentum_form == "pytorch" else "momentum"

    def build(self, variables):
        super().build(variables)
        # A cycled momentum needs the velocity even if created with momentum=0,
        # as PyTorch's OneCycleLR gives an SGD without momentum one.
        self._uses_velocity = bool(self.momentum) or self.cycles_momentum
        if self._uses_velocity:
            self.add_slot(self._momentum_slot, variables)

    def update_step(self, gradient, variable, step):
        velocity = self.slot(self._momentum_slot, variable) if self._uses_velocity else None
        sgd_update(
            variable,
            gradient,
            velocity,
            step.learning_rate,
            step.momentum,
            self.nesterov,
            self.momentum_form,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "momentum_form": self.momentum_form,
        }


@OPTIMIZERS.register("gd")
class GD(SGD):
    r"""Full-batch gradient descent: SGD whose every step sees all the data.

    With ``L`` the loss over the whole training set, every step is::

        w <- w - learning_rate * dL/dw

    (with ``momentum``, SGD's velocity form, Keras's or PyTorch's). ``fit``
    uses the whole data set as one batch (``batch_size`` may be left out), so
    one epoch is one step and the path downhill is deterministic: no sampling
    noise, but one step per pass over the data. Reference: Cauchy (1847),
    "Méthode générale pour la résolution des systèmes d'équations
    simultanées". In PyTorch it is ``torch.optim.SGD`` stepped once per epoch
    on the full-batch loss (``momentum_form="pytorch"`` for its momentum).

    Args:
        learning_rate: a float or a schedule. Defaults to 0.01.
        momentum: Defaults to 0.0.
        nesterov: Defaults to False.
        momentum_form: ``"keras"`` or ``"pytorch"`` (see ``SGD``). Defaults to "keras".
        **kwargs: the options every optimizer takes.
    """

    name = "GD"
    full_batch = True
