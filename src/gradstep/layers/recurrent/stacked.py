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

    def start(self, runs, x):
        """The first cell takes the sequences; each other cell its inputs step
        by step (the previous cell's outputs)."""
        batch, steps = x.shape[:2]
        self.cells[0].start(runs[0], x)
        features = self.cells[0].output_size
        for cell, run in zip(self.cells[1:], runs[1:], strict=True):
            cell.start_stepwise(run, batch, steps, features, x.dtype)
            features = cell.output_size

    def _split(self, states):
        parts, start = [], 0
        for cell in self.cells:
            count = len(cell.state_sizes)
            parts.append(list(states[start : start + count]))
            start += count
        return parts

    def step(self, runs, t, states):
        output, new_states = None, []
        cells = zip(self.cells, runs, self._split(states), strict=True)
        for index, (cell, run, cell_states) in enumerate(cells):
            if index:
                cell.project_step(run, t, output)
            output, cell_new = cell.step(run, t, cell_states)
            new_states += cell_new
        return output, new_states

    def start_backward(self, runs):
        for cell, run in zip(self.cells, runs, strict=True):
            cell.start_backward(run)

    def step_backward(self, runs, t, output_slope, state_slopes, grads):
        slopes = self._split(state_slopes)
        previous = []
        for index in range(len(self.cells) - 1, -1, -1):
            cell, run = self.cells[index], runs[index]
            cell_previous = cell.step_backward(
                run, t, output_slope, slopes[index], self._own(cell, grads)
            )
            if index:
                output_slope = cell.input_slope_step(run, t)
            previous = cell_previous + previous
        return previous

    def finish_backward(self, runs, grads, need_x):
        x_slope = None
        for index, (cell, run) in enumerate(zip(self.cells, runs, strict=True)):
            slope = cell.finish_backward(run, self._own(cell, grads), need_x and index == 0)
            x_slope = slope if index == 0 else x_slope
        return x_slope

    def get_config(self):
        return {
            **super().get_config(),
            "cells": [serialization.serialize_keras_object(cell) for cell in self.cells],
        }
