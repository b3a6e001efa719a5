"""StackedRNNCells: several cells as one, each step feeding the next.

At each step ``o^1_t, s^1_t = cell_1(x_t, s^1_{t-1})``, then ``cell_2`` on
``o^1_t``, and so on; the output is the last cell's, the states are all the
cells' states in order. Backward runs the cells' step backward in reverse
order, the slope at each cell's input going to the previous cell's output.
"""

from __future__ import annotations

from gradstep import serialization
from gradstep.layers.base import LAYERS, Layer


@LAYERS.register("StackedRNNCells")
class StackedRNNCells(Layer):
    """Keras's ``StackedRNNCells(cells)``: the cells' weights in order."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = [
            serialization.deserialize_keras_object(c) if isinstance(c, dict) else c for c in cells
        ]
        for cell in cells:
            if not hasattr(cell, "step"):
                raise ValueError(
                    f"StackedRNNCells {self.name!r}: every cell must be a recurrent cell, "
                    f"received {cell!r}"
                )
        self.cells = list(cells)
        for index, cell in enumerate(self.cells):
            setattr(self, f"_cell_{index}", cell)  # tracked: their weights are the stack's

    @property
    def state_sizes(self) -> list[int]:
        return [size for cell in self.cells for size in cell.state_sizes]

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return self.cells[-1].output_size

    @property
    def draws_noise(self) -> bool:
        return any(cell.draws_noise for cell in self.cells)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if not cell.built:
                cell.build(shape)
                cell.built = True
            shape = (shape[0], cell.output_size)
        super().build(input_shape)

    def zero_grads(self):
        return {
            f"{cell.name}/{name}": grad
            for cell in self.cells
            for name, grad in cell.zero_grads().items()
        }

    def _own(self, cell, grads):
        prefix = f"{cell.name}/"
        return {name[len(prefix) :]: g for name, g in grads.items() if name.startswith(prefix)}

    def initial_states(self, batch, dtype):
        return [state for cell in self.cells for state in cell.initial_states(batch, dtype)]

    def begin(self, batch, features, training, dtype, rng=None):
        runs = []
        for cell in self.cells:
            runs.append(cell.begin(batch, features, training, dtype, rng))
            features = cell.output_size
        return runs

    def project(self, x, runs):
        return x  # each cell projects its own input, step by step

    def _split(self, states):
        parts, start = [], 0
        for cell in self.cells:
            count = len(cell.state_sizes)
            parts.append(list(states[start : start + count]))
            start += count
        return parts

    def step(self, x_t, states, runs):
        new_states, caches = [], []
        for cell, run, cell_states in zip(self.cells, runs, self._split(states), strict=True):
            step_input = x_t
            x_t, cell_new, cache = cell.step(cell.project(step_input, run), cell_states, run)
            new_states += cell_new
            caches.append((step_input, cache))
        return x_t, new_states, caches

    def step_backward(self, cache, output_slope, state_slopes, runs, grads):
        caches = cache
        slopes = self._split(state_slopes)
        previous = []
        for index in range(len(self.cells) - 1, -1, -1):
            cell, run = self.cells[index], runs[index]
            own = self._own(cell, grads)
            xw_slope, cell_previous = cell.step_backward(
                caches[index][1], output_slope, slopes[index], run, own
            )
            step_input = caches[index][0]
            output_slope = cell.project_backward(step_input, xw_slope, run, own, True)
            previous = cell_previous + previous
        return output_slope, previous

    def project_backward(self, x, xw_slope, runs, grads, need_x):
        return xw_slope if need_x else None

    def get_config(self):
        return {
            **super().get_config(),
            "cells": [serialization.serialize_keras_object(cell) for cell in self.cells],
        }
