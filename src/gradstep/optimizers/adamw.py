"""AdamW: Adam with decoupled weight decay."""

from __future__ import annotations

from gradstep.optimizers.adam import Adam
from gradstep.optimizers.base import OPTIMIZERS


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    r"""Adam whose weight decay is decoupled from the gradient: every step
    first shrinks each weight, then takes Adam's step::

        w <- w - w * weight_decay * learning_rate
        w <- Adam's update of w with g (see ``Adam``)

    Adding ``wd * w`` to the gradient instead (L2 regularization) would be
    rescaled by Adam's per-weight denominator, so large-gradient weights would
    barely decay; decoupling makes the decay the same for every weight.
    Reference: Loshchilov and Hutter (2019), "Decoupled Weight Decay
    Regularization".

    PyTorch's ``torch.optim.AdamW`` decays the same way (``w *= 1 - lr * wd``)
    but defaults to ``weight_decay=0.01`` (Keras 0.004) and places ``eps`` as
    its Adam does (see ``Adam``).

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        weight_decay: the decay rate; must be a float. Defaults to 0.004.
        beta_1: Defaults to 0.9.
        beta_2: Defaults to 0.999.
        epsilon: Defaults to 1e-7.
        amsgrad: Defaults to False.
        epsilon_placement: ``"keras"`` or ``"pytorch"`` (see ``Adam``).
            Defaults to "keras".
        **kwargs: the options every optimizer takes.
    """

    name = "adamw"

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        epsilon_placement="keras",
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("AdamW needs a float weight_decay, received weight_decay=None")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            epsilon_placement=epsilon_placement,
            weight_decay=weight_decay,
            **kwargs,
        )
