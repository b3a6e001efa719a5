"""RMSprop: root mean square propagation."""

from __future__ import annotations

from gradstep.kernels.rmsprop import rmsprop_update
from gradstep.optimizers.base import (
    OPTIMIZERS,
    Optimizer,
    check_epsilon_placement,
    check_momentum_form,
)


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
    r"""RMSprop divides each step by a running root mean square of recent
    gradients, so every weight moves at a similar pace whatever its slope's scale.

    With ``s`` (and ``a``, ``b``) starting at 0::

        s <- rho * s + (1 - rho) * g^2
        a <- rho * a + (1 - rho) * g                (centered=True only)
        d = s - a^2 if centered else s
        r = sqrt(d + epsilon)                       (epsilon_placement="keras")
        r = sqrt(d) + epsilon                       (epsilon_placement="pytorch")
        w <- w - learning_rate * g / r              (momentum = 0)

    With momentum, Keras's form (``momentum_form="keras"``, the default: the
    buffer ``b`` holds steps, the learning rate inside it)::

        b <- momentum * b + learning_rate * g / r;  w <- w - b

    PyTorch's form (``momentum_form="pytorch"``: the buffer holds scaled
    gradients, the learning rate applies after it)::

        b <- momentum * b + g / r;  w <- w - learning_rate * b

    Epsilon sits inside the square root by default, as in Keras. Reference:
    Hinton, Srivastava and Swersky, "Neural Networks for Machine Learning",
    lecture 6e (2012); Graves (2013) for the centered form.

    PyTorch's ``torch.optim.RMSprop`` calls ``rho`` ``alpha`` (default 0.99, Keras
    0.9), defaults to ``lr=0.01`` (Keras 0.001), adds ``eps`` (default 1e-8)
    outside the square root, and keeps its momentum buffer before the learning
    rate. The two momentum forms give the same weights while the learning rate
    is constant; under a schedule they part, as SGD's do.
    ``RMSprop(learning_rate=lr, rho=alpha, epsilon=eps, momentum=mu,
    centered=c, epsilon_placement="pytorch", momentum_form="pytorch")`` is
    ``torch.optim.RMSprop(lr=lr, alpha=alpha, eps=eps, momentum=mu,
    centered=c)``'s rule under any learning-rate schedule.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        rho: decay of the mean square. Defaults to 0.9.
        momentum: Defaults to 0.0.
        epsilon: Defaults to 1e-7.
        centered: whether to divide by the estimated variance instead of the
            mean square. Defaults to False.
        epsilon_placement: ``"keras"`` (inside the square root) or ``"pytorch"``
            (outside it). Defaults to "keras".
        momentum_form: ``"keras"`` (the learning rate inside the momentum
            buffer) or ``"pytorch"`` (outside it). Defaults to "keras".
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "rmsprop"
    momentum_attribute = "momentum"

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        epsilon_placement="keras",
        momentum_form="keras",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
        self.epsilon_placement = check_epsilon_placement(epsilon_placement)
        self.momentum_form = check_momentum_form(momentum_form)

    @property
    def _momentum_slot(self) -> str:
        # PyTorch's buffer has its own name, so neither form's saved state
        # can be restored into the other (their values differ by learning_rate).
        return "momentum_buffer" if self.momentum_form == "pytorch" else "momentum"

    def build(self, variables):
        super().build(variables)
        self.add_slot("velocity", variables)
        self._uses_momentum = self.momentum > 0 or self.cycles_momentum
        if self._uses_momentum:
            self.add_slot(self._momentum_slot, variables)
        if self.centered:
            self.add_slot("average_gradient", variables)

    def update_step(self, gradient, variable, step):
        # inside the square root (Keras) or outside it (PyTorch)
        keras = self.epsilon_placement == "keras"
        inside, outside = (self.epsilon, 0.0) if keras else (0.0, self.epsilon)
        rmsprop_update(
            variable,
            gradient,
            self.slot("velocity", variable),
            self.slot("average_gradient", variable) if self.centered else None,
            self.slot(self._momentum_slot, variable) if self._uses_momentum else None,
            step.learning_rate,
            self.rho,
            step.momentum,
            inside,
            outside,
            self.momentum_form,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
            "epsilon_placement": self.epsilon_placement,
            "momentum_form": self.momentum_form,
        }
