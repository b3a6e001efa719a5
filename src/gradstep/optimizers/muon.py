"""Muon: orthogonalized momentum for weight matrices, AdamW for the rest."""

from __future__ import annotations

import math
import re

import numpy as np

from gradstep.kernels.adam import adam_update
from gradstep.kernels.trace import note
from gradstep.optimizers.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("muon")
class Muon(Optimizer):
    r"""Muon steps each weight matrix along the orthogonalized momentum: the
    momentum matrix with all its singular values pushed towards 1 (five
    Newton-Schulz iterations), so every direction of the layer moves equally.
    Parameters that are not matrices (biases), and those named by
    ``exclude_layers`` or containing "embedding", use AdamW instead.

    For a matrix, with the momentum ``m`` at 0, ``mu = momentum``::

        m <- mu * m + g
        G = g + mu * m   (nesterov)   or   m
        X = G / (||G||_F + 1e-7)   (transposed so that rows <= columns)
        repeat ns_steps times:  A = X X^T;  X <- a X + (b A + c A A) X
        w <- w - learning_rate * X * sqrt(max(rows, cols)) * rms_rate

    (without the last factor when ``rms_rate`` is None), with ``(a, b, c) =
    (muon_a, muon_b, muon_c)``. The AdamW fallback is ``Adam``'s rule with
    ``adam_beta_1``, ``adam_beta_2``, ``epsilon`` and learning rate
    ``learning_rate * adam_lr_ratio``; weight decay is ``weight_decay`` for the
    matrices and ``adam_weight_decay`` for the rest.

    References: Jordan et al. (2024), "Muon: An optimizer for hidden layers in
    neural networks" (github.com/KellerJordan/Muon); Liu et al. (2025), "Muon
    is Scalable for LLM Training" (the ``rms_rate`` scaling). PyTorch's
    ``torch.optim.Muon`` only takes matrices and scales differently.

    Parameter names (``"dense/kernel"``) come from the model; without them only
    the number of dimensions decides.

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        adam_beta_1: the AdamW fallback's first-moment decay. Defaults to 0.9.
        adam_beta_2: its second-moment decay. Defaults to 0.999.
        adam_weight_decay: its weight decay. Defaults to 0.004.
        epsilon: its epsilon. Defaults to 1e-7.
        weight_decay: the matrices' weight decay. Defaults to 0.004.
        exclude_layers: regular expressions; parameters whose path matches one
            use AdamW. Defaults to None.
        exclude_embeddings: whether parameters with "embedding" in their path
            use AdamW. Defaults to True.
        muon_a: Defaults to 3.4445.
        muon_b: Defaults to -4.7750.
        muon_c: Defaults to 2.0315.
        adam_lr_ratio: the AdamW fallback's share of the learning rate.
            Defaults to 1.
        momentum: ``mu``. Defaults to 0.95.
        ns_steps: Newton-Schulz iterations. Defaults to 5.
        nesterov: Defaults to True.
        rms_rate: Defaults to 0.2; None turns the scaling off.
        **kwargs: the options every optimizer takes (``clipnorm``, ``use_ema``,
            ...; see ``Optimizer``).
    """

    name = "muon"
    momentum_attribute = "momentum"

    def __init__(
        self,
        learning_rate=0.001,
        adam_beta_1=0.9,
        adam_beta_2=0.999,
        adam_weight_decay=0.004,
        epsilon=1e-7,
        weight_decay=0.004,
        exclude_layers=None,
        exclude_embeddings=True,
        muon_a=3.4445,
        muon_b=-4.7750,
        muon_c=2.0315,
        adam_lr_ratio=1,
        momentum=0.95,
        ns_steps=5,
        nesterov=True,
        rms_rate=0.2,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.adam_weight_decay = adam_weight_decay
        self.epsilon = epsilon
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = exclude_embeddings
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.rms_rate = rms_rate

    def uses_adamw(self, variable: np.ndarray) -> bool:
        """Whether this parameter takes the AdamW step instead of Muon's."""
        if variable.ndim != 2:
            return True
        path = self.variable_name(variable)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def build(self, variables):
        super().build(variables)
        self.add_slot("momentum", variables)
        velocities = [np.zeros_like(v) if self.uses_adamw(v) else None for v in variables]
        self.add_slot_arrays("velocity", velocities)

    def update_step(self, gradient, variable, step):
        momentum = self.slot("momentum", variable)
        velocity = self.slot("velocity", variable)
        if velocity is not None:
            learning_rate = step.learning_rate * self.adam_lr_ratio
            self._adamw_step(gradient, variable, learning_rate, momentum, velocity, step.iteration)
        else:
            self._muon_step(gradient, variable, step.learning_rate, momentum, step.momentum)

    def _adamw_step(self, gradient, variable, learning_rate, momentum, velocity, t):
        bias_1, bias_2 = 1 - self.adam_beta_1**t, 1 - self.adam_beta_2**t
        alpha = learning_rate * math.sqrt(bias_2) / bias_1
        adam_update(
            variable,
            gradient,
            momentum,
            velocity,
            None,
            alpha,
            self.adam_beta_1,
            self.adam_beta_2,
            self.epsilon,
        )

    def _muon_step(self, gradient, variable, learning_rate, momentum, mu):
        note(variable, "momentum buffer before", momentum)
        momentum *= mu
        momentum += gradient
        note(variable, "momentum buffer after = momentum * buffer + g", momentum)
        direction = gradient + mu * momentum if self.nesterov else momentum
        note(variable, "direction (Nesterov: g + momentum * buffer)", direction)
        update = self.orthogonalize(direction) * learning_rate
        note(variable, "learning_rate * Newton-Schulz orthogonalization of the direction", update)
        if self.rms_rate is not None:
            update *= math.sqrt(max(update.shape)) * self.rms_rate
            note(variable, "times sqrt(max(shape)) * rms_rate", update)
        note(variable, "step, subtracted", update)
        variable -= update

    def orthogonalize(self, matrix: np.ndarray) -> np.ndarray:
        """The quintic Newton-Schulz iteration: ``matrix``'s singular vectors with
        singular values pushed towards 1 (``U S' V^T`` with ``S'`` near ``I``)."""
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = matrix.shape[0] > matrix.shape[1]
        x = matrix.T if tall else matrix
        x = x / (np.linalg.norm(x) + 1e-7)
        for _ in range(self.ns_steps):
            gram = x @ x.T
            x = a * x + (b * gram + c * gram @ gram) @ x
        return x.T if tall else x

    def _weight_decay_rate(self, variable):
        if not self._use_weight_decay(variable):
            return None
        return self.adam_weight_decay if self.uses_adamw(variable) else self.weight_decay

    def get_config(self):
        return {
            **super().get_config(),
            "adam_beta_1": self.adam_beta_1,
            "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon,
            "exclude_layers": self.exclude_layers,
            "muon_a": self.muon_a,
            "muon_b": self.muon_b,
            "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio,
            "momentum": self.momentum,
            "ns_steps": self.ns_steps,
            "nesterov": self.nesterov,
            "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay,
            "rms_rate": self.rms_rate,
        }
