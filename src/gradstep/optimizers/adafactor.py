"""Adafactor: Adam-like steps with factored second moments."""

from __future__ import annotations

import math

import numpy as np

from gradstep.kernels import trace
from gradstep.kernels.adafactor import (
    apply_update,
    factored_update,
    regulated_square,
    unfactored_update,
)
from gradstep.kernels.trace import note
from gradstep.optimizers.base import OPTIMIZERS, Optimizer


@OPTIMIZERS.register("adafactor")
class Adafactor(Optimizer):
    r"""Adafactor keeps, for a matrix of weights, only the running means of the
    squared gradient over its rows ``r`` and over its columns ``c`` (memory
    ``n + m`` instead of ``n * m``), rebuilds the second moment as their outer
    product, clips the update by its root mean square and scales the step by
    the weights' own scale.

    At step ``t = iterations + 1`` (``rms(x) = sqrt(mean(x^2))``)::

        rho_t = min(learning_rate, 1 / sqrt(t))
        alpha_t = max(epsilon_2, rms(w)) * rho_t
        beta_t = 1 - t^beta_2_decay
        G = g^2 + epsilon_1
        r <- beta_t * r + (1 - beta_t) * mean(G, last axis)     (2+ dims)
        c <- beta_t * c + (1 - beta_t) * mean(G, second-last axis)
        v = (r / mean(r)) outer c                               (2+ dims)
        v <- beta_t * v + (1 - beta_t) * G                      (0 or 1 dim)
        u = g / sqrt(v);  u_hat = u / max(1, rms(u) / clip_threshold)
        w <- w - alpha_t * u_hat

    For more than two dimensions the last two are factored. Reference: Shazeer
    and Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear Memory
    Cost", Algorithms 4 and 5 (no first moment). ``relative_step`` caps a
    float learning rate at ``1 / sqrt(t)`` as Keras does (``rho_t`` above caps
    it in any case). PyTorch's ``torch.optim.Adafactor`` differs (it has no
    ``relative_step``, and its default ``lr`` is 0.01 with ``beta2_decay=-0.8``).

    Args:
        learning_rate: a float or a schedule. Defaults to 0.001.
        beta_2_decay: the decay exponent of ``beta_t``. Defaults to -0.8.
        epsilon_1: added to the squared gradients. Defaults to 1e-30.
        epsilon_2: the smallest weight scale. Defaults to 1e-3.
        clip_threshold: the update's largest root mean square. Defaults to 1.0.
        relative_step: whether to cap a float learning rate at ``1 / sqrt(t)``.
            Defaults to True.
        **kwargs: the options every optimizer takes (``weight_decay``,
            ``clipnorm``, ``use_ema``, ...; see ``Optimizer``).
    """

    name = "adafactor"

    def __init__(
        self,
        learning_rate=0.001,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, variables):
        super().build(variables)
        rows = [np.zeros(v.shape[:-1], v.dtype) if v.ndim >= 2 else None for v in variables]
        columns = [
            np.zeros(v.shape[:-2] + v.shape[-1:], v.dtype) if v.ndim >= 2 else None
            for v in variables
        ]
        self.add_slot_arrays("row_mean", rows)
        self.add_slot_arrays("column_mean", columns)
        self.add_slot("velocity", variables)

    def step_values(self, step):
        t, learning_rate = step.iteration, step.learning_rate
        if not callable(self._learning_rate) and self.relative_step:
            learning_rate = min(learning_rate, 1 / math.sqrt(t))
        return {"rho": min(learning_rate, 1 / math.sqrt(t)), "beta": 1 - t**self.beta_2_decay}

    def update_step(self, gradient, variable, step):
        alpha = max(self.epsilon_2, _rms(variable)) * step.values["rho"]
        beta = step.values["beta"]
        note(variable, "rho = min(learning_rate, 1 / sqrt(t))", step.values["rho"])
        note(variable, "alpha = max(epsilon_2, rms(w)) * rho", alpha)
        velocity = self.slot("velocity", variable)
        if variable.ndim >= 2:
            squared = regulated_square(gradient, self.epsilon_1)
            rows, columns = self.slot("row_mean", variable), self.slot("column_mean", variable)
            rows[...] = beta * rows + (1 - beta) * squared.mean(axis=-1)
            columns[...] = beta * columns + (1 - beta) * squared.mean(axis=-2)
            row_share = rows / rows.mean(axis=-1, keepdims=True)
            _note_factors(variable, row_share, columns)
            update = squared  # spent once the means are taken: its memory takes the update
            factored_update(gradient, row_share, columns, velocity, out=update)
        else:
            update = unfactored_update(gradient, velocity, beta, self.epsilon_1)
        denominator = max(1.0, _rms(update) / self.clip_threshold)
        note(variable, "d = max(1, rms(u) / clip_threshold)", denominator)
        apply_update(variable, update, alpha, denominator)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        }


def _note_factors(variable, row_share, column_mean) -> None:
    """Note the row share and column mean that make the watched entry's v."""
    index = trace.watched_index(variable)
    if index is None:
        return
    *batch, row, column = np.unravel_index(index, variable.shape)
    trace.note(variable, "row share r / mean(r) of its row", row_share[(*batch, row)])
    trace.note(variable, "column mean c of its column", column_mean[(*batch, column)])


def _rms(array: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(array))))
