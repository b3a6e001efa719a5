"""A training step planned once per ``fit``: a chain of layers as a straight
line of calls.

``Graph.forward`` and ``Graph.backward`` serve every graph: several inputs and
outputs, shared layers, masks, activity regularizers, losses added by layers.
For each node of each step they look up slots, test for masks, penalties and
state, and build dictionaries of slopes by weight path; on the reference model
(two Dense layers) that bookkeeping cost about as much as the loss. Most models
a learner trains are a chain: each layer takes the previous one's output and
nothing else. For those, ``fit`` decides once, at its start, what the graph
would decide at every step, and ``ChainPlan.loss_and_gradients`` runs only the
layers' own calls:

    forward:   x_1 = layer_1.forward(x_0),  ...,  x_n = layer_n.forward(x_{n-1})
    loss:      the compiled loss's value and slope at x_n (at the last
               activation's input when the loss fuses with it)
    backward:  slope_{i-1}, weights' slopes = layer_i.backward(saved_i, slope_i),
               for i = n, ..., 1 (no slope at the model's input)

The calls, their arguments and their order are the graph's, so the numbers are
the same bits (tests/models/test_step_plan.py trains with and without the plan).
The layers are called through their attributes, so a callback that wraps a
layer's ``forward`` on the instance (``callbacks.Diagnostics``) still sees it.

A graph is a chain when each of its steps is a layer called once on one
tensor, the previous step's output (the model's input for the first), giving
one tensor, without masks; the plan then also needs: no activity regularizer
and no loss added by a layer (the graph adds their penalties), no weight
regularizer (the model adds those), and one loss on the one output without
per-output weights. Any other model keeps the graph's general step.
"""

from __future__ import annotations

from typing import NamedTuple

from gradstep.layers.base import Layer
from gradstep.optimizers import WeightGradient


class _PlannedLayer(NamedTuple):
    layer: object
    training: bool  # the mode the graph's node runs it in
    wants_input_slope: bool  # False for the first layer: the model's input needs none
    fused_with_loss: bool  # its activation's slope comes with the loss's
    slots: tuple  # (weight name, position in the gradient list) of its trained weights


class ChainPlan:
    """The straight-line step for a chain graph (see the module's description)."""

    def __init__(self, planned: list[_PlannedLayer], compiled_loss, named_weights: list):
        self.planned = planned  # the layers, in the order of the forward pass
        self._reversed = planned[::-1]
        self.compiled_loss = compiled_loss
        self.named_weights = named_weights  # (path, weight): the gradients' order

    @classmethod
    def build(cls, graph, compiled_loss, named_weights, regularized) -> ChainPlan | None:
        """The plan for ``graph`` trained with ``compiled_loss`` on the weights
        ``named_weights`` ((path, array) in the optimizer's order), or None when
        the graph's general step is needed (see the module's description)."""
        if regularized or not _one_plain_loss(graph, compiled_loss):
            return None
        steps = graph.steps
        if not _is_chain(graph):
            return None
        position = {path: index for index, (path, _) in enumerate(named_weights)}
        planned, covered = [], 0
        for index, step in enumerate(steps):
            layer = step.layer
            slots = tuple(
                (name, position[step.path_prefix + name])
                for name, _ in layer.named_weights(trainable_only=True)
                if step.path_prefix + name in position
            )
            covered += len(slots)
            planned.append(
                _PlannedLayer(
                    layer,
                    True if step.training is None else step.training,
                    index > 0,
                    index in compiled_loss.fused_steps,
                    slots,
                )
            )
        if covered != len(named_weights):
            return None  # a trained weight outside the chain's layers
        return cls(planned, compiled_loss, named_weights)

    def loss_and_gradients(self, inputs, targets, sample_weights):
        """What ``Model._loss_and_gradients`` returns, for the chain: ``(loss,
        gradients, outputs, each output's loss, state updates, masks)``."""
        value = inputs[0]
        saved = []
        state_updates = []
        for planned in self.planned:
            layer = planned.layer
            value, layer_saved = layer.forward(value, training=planned.training)
            saved.append(layer_saved)
            if planned.training and layer.updates_state:
                state_updates.extend(layer.state_updates(layer_saved))
        outputs = [value]
        loss, slopes, per_output = self.compiled_loss.value_and_slopes(
            targets, outputs, sample_weights, None
        )
        loss += 0.0  # as the graph adds its (zero) penalties: a loss of -0.0 logs as 0.0
        slope = slopes[0]
        found = [None] * len(self.named_weights)
        for planned in self._reversed:
            layer_saved = saved.pop()
            if slope is None:
                break  # a layer gave no slope to its input (integer inputs): none flows further
            if planned.fused_with_loss:
                backward = planned.layer.backward_from_pre_activation
            else:
                backward = planned.layer.backward
            slope, own = backward(layer_saved, slope, planned.wants_input_slope)
            for name, position in planned.slots:
                found[position] = own.get(name)
        gradients = [
            WeightGradient(path, weight, gradient)
            for (path, weight), gradient in zip(self.named_weights, found, strict=True)
        ]
        return loss, gradients, outputs, per_output, state_updates, None


def _one_plain_loss(graph, compiled_loss) -> bool:
    """One output, one loss on it, without a loss weight."""
    entries = compiled_loss.entries
    return len(graph.outputs) == 1 and len(entries) == 1 and entries[0].weight is None


def _is_chain(graph) -> bool:
    """Each step a layer of its own, called on the previous step's one output
    (the model's one input for the first), no masks, nothing the graph adds."""
    if len(graph.inputs) != 1 or graph.carries_masks or not graph.steps:
        return False
    previous_slot, layers = 0, set()
    for step in graph.steps:
        layer = step.layer
        if (
            step.listed
            or step.several_outputs
            or step.input_slots != (previous_slot,)
            or id(layer) in layers
            or layer.activity_regularizer is not None
            or not _adds_no_losses(layer)
        ):
            return False
        layers.add(id(layer))
        previous_slot = step.output_slots[0]
    return graph.output_slots == [previous_slot]


def _adds_no_losses(layer) -> bool:
    """The layer's class keeps the base's ``activity_penalty`` (losses added in
    ``call`` are recorded by layers that run their own ``call``), and it holds
    no layers whose penalties it would pass on."""
    return (
        type(layer).activity_penalty is Layer.activity_penalty
        and type(layer).forward is not Layer.forward
        and not layer.holds_layers
    )
