"""The graph of a model: symbolic tensors, nodes, and the plan that runs them.

``Input(shape)`` returns a ``SymbolicTensor``. Calling a layer on symbolic
tensors records a ``Node`` (the layer, its input tensors, its output tensors)
and returns the output's symbolic tensor, or a list of them for a layer with
several outputs (an ``LSTM(return_state=True)``: its output and its states).
``Graph(inputs, outputs)`` walks back from the outputs, sorts the nodes so
that each runs after the nodes it depends on (Keras's order: by depth, then
by first use), and runs them:

- ``forward``: each node computes its output from its inputs and keeps what
  its backward pass needs (its ``saved``);
- ``backward``: in reverse order, each node receives the slope of the loss at
  its output and passes slopes on to its inputs and its weights. A tensor
  used by several nodes receives the sum of their slopes, and a weight of a
  layer used at several nodes the sum of its slopes: the chain rule's sum
  over every path, as ``+=`` does in micrograd.

Every value is a plain NumPy array; the plan runs over numbered slots, one
per tensor, so that a step costs a list lookup rather than a search.

Masks (Keras's): a layer such as ``Embedding(mask_zero=True)`` gives its
output a mask, a boolean array over its leading axes (``tokens != 0``), and
each layer that ``supports_masking`` passes it on through ``compute_mask``;
the mask of an output then leaves its masked positions out of the loss and
the metrics. Which tensors carry a mask is known when the graph is built (a
``SymbolicTensor``'s ``mask_shape``, found by ``compute_mask`` on
placeholders, as Keras finds its symbolic masks); a graph in which none does
runs exactly as it would without masks.
"""

from __future__ import annotations

import collections
import warnings
from typing import Any, NamedTuple

import numpy as np

from gradstep import config
from gradstep.validation import check_bool


class SymbolicTensor:
    """A placeholder for an array in a graph under construction: its shape
    (``None`` for the batch axis), its dtype, and the node that produces it."""

    def __init__(
        self, shape, dtype: str, node: Node | None = None, name: str | None = None, index=0
    ):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        #: Which of its node's outputs it is (0 for a layer with one output).
        self.index = index
        self.name = name or (node.layer.name if node is not None else "tensor")
        #: The shape of the mask the tensor will carry (unknown sizes as 1), or
        #: None when it carries none: Keras's symbolic ``_keras_mask``.
        self.mask_shape: tuple | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def history(self) -> tuple[Any, int, int]:
        """``(layer, node index, tensor index)``: Keras's ``_keras_history``."""
        return self.node.layer, self.node.index, self.index

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype} name={self.name!r}>"

    def __bool__(self):
        raise TypeError(
            f"{self!r} is symbolic: it has no truth value while a model is built; branch "
            "with ops.where or ops.cond on values"
        )

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic: it stands for the arrays a model will receive, and has no "
            "values. Call layers on it to build a model, then call the model on arrays."
        )


class Node:
    """One call of a layer in a graph: its inputs (a tensor, or a list of
    tensors for a layer such as ``Add``; none for an ``InputLayer``), its
    outputs, and the ``training`` flag it was called with (None: the model's).
    A node with several outputs (``several_outputs``) hands its layer's
    ``forward`` result on as a list, one array per output, and gives its
    ``backward`` a list of slopes (None for an output nothing uses)."""

    def __init__(self, layer, inputs, training: bool | None = None):
        self.layer = layer
        self.inputs = inputs
        self.training = training
        self.outputs: list[SymbolicTensor] = []
        self.several_outputs = False
        self.index = len(layer.inbound_nodes)
        layer.inbound_nodes.append(self)

    @property
    def output(self) -> SymbolicTensor | None:
        """The node's output (its first, for a node with several)."""
        return self.outputs[0] if self.outputs else None

    @output.setter
    def output(self, tensor: SymbolicTensor) -> None:
        self.outputs = [tensor]

    @property
    def input_tensors(self) -> list[SymbolicTensor]:
        if self.inputs is None:
            return []
        return list(self.inputs) if isinstance(self.inputs, list) else [self.inputs]

    @property
    def is_input(self) -> bool:
        return self.inputs is None

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}[{self.index}]>"


def is_symbolic(inputs) -> bool:
    """Whether ``inputs`` (a value, or a list or tuple of values) is symbolic."""
    if isinstance(inputs, list | tuple):
        return any(isinstance(x, SymbolicTensor) for x in inputs)
    return isinstance(inputs, SymbolicTensor)


def call_symbolic(layer, inputs, training: bool | None):
    """Record ``layer(inputs)`` as a node and return its symbolic output (a
    list of them when ``compute_output_shape`` gives a list of shapes)."""
    if isinstance(inputs, list | tuple):
        inputs = list(inputs)
        strays = [x for x in inputs if not isinstance(x, SymbolicTensor)]
        if strays:
            raise TypeError(
                f"Layer {layer.name!r} was called on a list mixing symbolic tensors and "
                f"values ({type(strays[0]).__name__}); pass tensors from Input() or layers"
            )
        shapes = [x.shape for x in inputs]
    else:
        shapes = inputs.shape
    if training is not None:
        check_bool(training, "training")
    layer.build_once(shapes)
    layer.check_input_shape(shapes)
    node = Node(layer, inputs, training)
    output_shape = layer.compute_output_shape(shapes)
    dtype = layer.dtype or config.floatx()
    mask_shape = _symbolic_mask_shape(layer, inputs)
    if not _is_shape_list(output_shape):
        node.output = SymbolicTensor(output_shape, dtype, node)
        node.output.mask_shape = mask_shape
        return node.output
    node.several_outputs = True
    node.outputs = [
        SymbolicTensor(shape, dtype, node, index=index) for index, shape in enumerate(output_shape)
    ]
    mask_shapes = mask_shape if isinstance(mask_shape, list) else [mask_shape] * len(node.outputs)
    for tensor, shape in zip(node.outputs, mask_shapes, strict=True):
        tensor.mask_shape = shape
    return list(node.outputs)


def _is_shape_list(shape) -> bool:
    """Whether ``compute_output_shape`` gave several shapes (a list of tuples)
    rather than one (a tuple, or a list of sizes)."""
    return (
        isinstance(shape, list)
        and bool(shape)
        and all(isinstance(item, tuple | list) for item in shape)
    )


def _symbolic_mask_shape(layer, inputs) -> tuple | None:
    """The shape of the mask ``layer``'s output will carry, or None: its
    ``compute_mask`` on zero placeholders of the inputs' and their masks'
    shapes (unknown sizes as 1). A layer that does not support masking stops
    a mask, with Keras's warning."""
    tensors = inputs if isinstance(inputs, list) else [inputs]
    if not layer.supports_masking:
        if any(t.mask_shape is not None for t in tensors):
            warnings.warn(
                f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input "
                "with a mask attached to it. However, this layer does not support masking and "
                "will therefore destroy the mask information. Downstream layers will not see "
                "the mask.",
                stacklevel=4,
            )
        return None
    values = [_placeholder(t.shape, t.dtype) for t in tensors]
    masks = [None if t.mask_shape is None else _placeholder(t.mask_shape, bool) for t in tensors]
    listed = isinstance(inputs, list)
    mask = layer.compute_mask(values if listed else values[0], masks if listed else masks[0])
    if isinstance(mask, list):  # one mask per output
        return [None if m is None else tuple(np.shape(m)) for m in mask]
    return None if mask is None else tuple(np.shape(mask))


def _placeholder(shape, dtype) -> np.ndarray:
    """Zeros of ``shape`` (unknown sizes as 1), without allocating them."""
    return np.broadcast_to(np.zeros((), dtype=dtype), tuple(1 if d is None else d for d in shape))


class _Step(NamedTuple):
    """One node of the plan, with its tensors as slot numbers."""

    node: Node
    layer: Any
    input_slots: tuple[int, ...]
    listed: bool  # the layer takes a list of inputs
    output_slots: tuple[int, ...]  # its outputs' (several for a node with several)
    several_outputs: bool
    training: bool | None
    feeds_on_nodes: bool  # some input comes from another node (needs its slope)
    path_prefix: str  # "dense/": the layer's weights' paths begin with it

    @property
    def output_slot(self) -> int:
        """Its (first) output's slot."""
        return self.output_slots[0]


class Saved(NamedTuple):
    """What ``Graph.forward`` keeps for ``Graph.backward``."""

    steps: list  # each step's ``saved``, in the order of ``Graph.steps``
    penalty: float  # the activity regularizers' penalties on this pass, summed
    penalty_slopes: list  # (slot, slope of that penalty at the tensor in the slot)
    state_updates: list  # (weight, new value): moving statistics to assign after the step
    output_masks: list | None = None  # each output's mask (None: unmasked); None: no masks


class Graph:
    """The nodes between ``inputs`` and ``outputs``, in the order they run.

    Raises:
        ValueError: naming the problem, when an output needs a tensor that is
            not computed from ``inputs`` ("graph disconnected"), an input is
            given twice or is not from ``Input()``, the nodes form a cycle,
            or two layers share a name.
    """

    def __init__(self, inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        _check_endpoints(self.inputs, self.outputs)
        ordered, first_seen = _nodes_from_inputs_to_outputs(self.inputs, self.outputs)
        depths = self.depths = _depths(ordered)
        position = {node: i for i, node in enumerate(ordered)}
        self.nodes = sorted(ordered, key=lambda node: (-depths[node], position[node]))
        self.layers = _layers_by_depth(self.inputs, self.nodes, depths, first_seen)
        _check_computable(self.inputs, self.nodes)
        _check_unique_names(self.layers)
        self._compile_steps()
        #: Whether some tensor of the graph carries a mask, so that ``forward``
        #: tracks masks (a model used as a layer may make them inside).
        self.carries_masks = any(
            any(tensor.mask_shape is not None for tensor in node.outputs)
            or (node.layer.holds_layers and node.layer.carries_masks)
            for node in self.nodes
        )

    def _compile_steps(self) -> None:
        slot_of: dict[int, int] = {id(t): i for i, t in enumerate(self.inputs)}
        steps = []
        for node in self.nodes:
            if node.is_input:
                continue
            slots = tuple(slot_of[id(t)] for t in node.input_tensors)
            for tensor in node.outputs:
                slot_of[id(tensor)] = len(slot_of)
            steps.append(
                _Step(
                    node=node,
                    layer=node.layer,
                    input_slots=slots,
                    listed=isinstance(node.inputs, list),
                    output_slots=tuple(slot_of[id(t)] for t in node.outputs),
                    several_outputs=node.several_outputs,
                    training=node.training,
                    feeds_on_nodes=any(slot >= len(self.inputs) for slot in slots),
                    path_prefix=f"{node.layer.name}/",
                )
            )
        self.steps = steps
        self.slot_count = len(slot_of)
        self.output_slots = [slot_of[id(t)] for t in self.outputs]

    # --- running ----------------------------------------------------------------------
    def forward(
        self, arrays: list[np.ndarray], training: bool, masks: list | None = None
    ) -> tuple[list, Saved]:
        """The outputs for ``arrays`` (one per input), and what ``backward``
        needs (``Saved``): each step's ``saved``, and the penalty of the
        layers' activity regularizers with its slopes. In training, also the
        new values of moving statistics, which the caller assigns (after the
        optimizer step, or never for ``Model.gradients``). When masks flow
        (the graph ``carries_masks``, or ``masks`` gives the inputs' masks, for
        a model used as a layer), also each output's mask."""
        values: list[Any] = [None] * self.slot_count
        values[: len(arrays)] = arrays
        carried = None
        if self.carries_masks or (masks is not None and any(m is not None for m in masks)):
            carried = [None] * self.slot_count
            carried[: len(arrays)] = masks or [None] * len(arrays)
        saved = []
        penalty, penalty_slopes, state_updates = 0.0, [], []
        for step in self.steps:
            if step.listed:
                inputs = [values[slot] for slot in step.input_slots]
            else:
                inputs = values[step.input_slots[0]]
            mode = training if step.training is None else step.training
            if carried is None:
                output, step_saved = step.layer.forward(inputs, training=mode)
            else:
                output, step_saved = _forward_masked(step, inputs, mode, carried)
            outputs = output if step.several_outputs else [output]
            saved.append(step_saved)
            regularizer = step.layer.activity_regularizer
            for slot, value in zip(step.output_slots, outputs, strict=True):
                values[slot] = value
                if regularizer is not None:
                    value_penalty, slope = _activity_penalty(regularizer, value)
                    penalty += value_penalty
                    penalty_slopes.append((slot, slope))
            penalty += step.layer.activity_penalty(step_saved)
            if mode and step.layer.updates_state:
                state_updates.extend(step.layer.state_updates(step_saved))
        outputs = [values[slot] for slot in self.output_slots]
        output_masks = None if carried is None else [carried[slot] for slot in self.output_slots]
        return outputs, Saved(saved, penalty, penalty_slopes, state_updates, output_masks)

    def backward(self, saved, output_grads, fused_steps=frozenset(), input_gradients=False):
        """The chain rule from the outputs back to the inputs.

        Args:
            saved: what ``forward`` returned beside the outputs (its ``Saved``).
            output_grads: the slope of the loss at each output (None for an
                output without a loss).
            fused_steps: indices of the steps whose activation fused with the
                loss: their slope is at the activation's input already.
            input_gradients: also compute the slopes at the graph's inputs
                (for a model used as a layer of another).

        Returns:
            ``(input_grads, weight_grads)``: the slope at each input (None
            unless ``input_gradients``), and a dict from each weight's path
            (``"dense/kernel"``) to its slope, summed over the layer's uses.

        The pass consumes ``saved``: each step's saved values, and the slope
        at its output, are let go as soon as the step is done (as autograd
        frees what a node saved), so that memory peaks at the first layers'
        backward rather than at the sum of everything a forward pass kept.
        A ``Saved`` therefore serves one backward pass.
        """
        grads: list[Any] = [None] * self.slot_count
        for slot, grad in zip(self.output_slots, output_grads, strict=True):
            _accumulate(grads, slot, grad)
        for slot, slope in saved.penalty_slopes:
            _accumulate(grads, slot, slope)
        steps_saved = saved.steps
        weight_grads: dict[str, np.ndarray] = {}
        for index in range(len(self.steps) - 1, -1, -1):
            step = self.steps[index]
            grad = _take_output_slopes(grads, step)
            step_saved, steps_saved[index] = steps_saved[index], None
            if grad is None and not step.layer.adds_losses(step_saved):
                continue  # nothing downstream of this node has a loss, nor does it add one
            wants_input = step.feeds_on_nodes or input_gradients
            if index in fused_steps:
                input_grad, own = step.layer.backward_from_pre_activation(
                    step_saved, grad, wants_input
                )
            else:
                input_grad, own = step.layer.backward(step_saved, grad, wants_input)
            del step_saved, grad
            if wants_input:
                input_grad = input_grad if step.listed else [input_grad]
                for slot, slope in zip(step.input_slots, input_grad, strict=True):
                    _accumulate(grads, slot, slope)
            for name, slope in own.items():
                path = step.path_prefix + name
                weight_grads[path] = weight_grads[path] + slope if path in weight_grads else slope
        input_grads = [grads[slot] for slot in range(len(self.inputs))] if input_gradients else None
        return input_grads, weight_grads

    # --- what the graph is made of ----------------------------------------------------
    def consumers(self, tensor: SymbolicTensor) -> list[Node]:
        """The nodes of this graph that take ``tensor`` as an input."""
        return [node for node in self.nodes if any(t is tensor for t in node.input_tensors)]

    def step_index(self, node: Node) -> int:
        return next(i for i, step in enumerate(self.steps) if step.node is node)


def _take_output_slopes(grads: list, step: _Step):
    """The slope at the step's output (a list of them, None where an output
    has none, for a node with several; None when no output has one), taken
    out of ``grads`` so that it is let go with the step."""
    if not step.several_outputs:
        grad, grads[step.output_slot] = grads[step.output_slot], None
        return grad
    slopes = [grads[slot] for slot in step.output_slots]
    for slot in step.output_slots:
        grads[slot] = None
    return None if all(slope is None for slope in slopes) else slopes


def _forward_masked(step: _Step, inputs, mode: bool, masks: list):
    """A step's forward pass when masks flow: the input's mask goes to a layer
    whose ``forward_takes_mask``, and the output's mask into ``masks``."""
    if step.listed:
        mask = [masks[slot] for slot in step.input_slots]
        present = any(m is not None for m in mask)
    else:
        mask = masks[step.input_slots[0]]
        present = mask is not None
    if present and step.layer.forward_takes_mask:
        output, saved = step.layer.forward(inputs, training=mode, mask=mask)
    else:
        output, saved = step.layer.forward(inputs, training=mode)
    output_mask = step.layer.output_mask(inputs, mask, saved)
    if step.several_outputs:
        if not isinstance(output_mask, list):
            output_mask = [output_mask] * len(step.output_slots)
        for slot, each in zip(step.output_slots, output_mask, strict=True):
            masks[slot] = each
    else:
        masks[step.output_slot] = output_mask
    return output, saved


def _activity_penalty(regularizer, output: np.ndarray) -> tuple[float, np.ndarray]:
    """An activity regularizer's penalty on a layer's output and its slope,
    divided by the batch size as Keras 3 divides it."""
    batch_size = output.dtype.type(max(len(output), 1))
    return float(regularizer(output) / batch_size), regularizer.gradient(output) / batch_size


def _accumulate(grads: list, slot: int, grad) -> None:
    if grad is None:
        return
    grads[slot] = grad if grads[slot] is None else grads[slot] + grad


# --- sorting and checking (Keras's map_graph) --------------------------------------------
def _check_endpoints(inputs, outputs) -> None:
    for kind, tensors in (("inputs", inputs), ("outputs", outputs)):
        for tensor in tensors:
            if not isinstance(tensor, SymbolicTensor):
                raise TypeError(
                    f"Model {kind} must be symbolic tensors (from Input() and layer calls), "
                    f"received {tensor!r}"
                )
    if not outputs:
        raise ValueError("A model needs at least one output tensor, received none")
    for position, tensor in enumerate(inputs):
        if tensor.node is None or not tensor.node.is_input:
            raise ValueError(
                f"Model inputs must come from Input(); input {position} ({tensor!r}) is "
                f"the output of layer {tensor.node.layer.name!r}"
            )
        if any(other is tensor for other in inputs[:position]):
            raise ValueError(
                f"Model inputs must be distinct: {tensor.name!r} is given twice, "
                f"at positions {[i for i, t in enumerate(inputs) if t is tensor]}"
            )


def _nodes_from_inputs_to_outputs(inputs, outputs):
    """Depth-first from each output: the nodes in an order where every node
    comes after its parents, and each layer's first-seen position."""
    finished: set[Node] = set()
    in_progress: set[Node] = set()
    ordered: list[Node] = []
    first_seen: dict[int, int] = {}

    def visit(tensor: SymbolicTensor) -> None:
        node = tensor.node
        if node in finished:
            return
        if node in in_progress:
            raise ValueError(
                f"The graph has a cycle through layer {node.layer.name!r}: "
                "a layer's input depends on its own output"
            )
        first_seen.setdefault(id(node.layer), len(first_seen))
        in_progress.add(node)
        for parent in node.input_tensors:
            visit(parent)
        in_progress.discard(node)
        finished.add(node)
        ordered.append(node)

    for tensor in outputs:
        visit(tensor)
    for tensor in inputs:  # inputs that no output uses still belong to the model
        visit(tensor)
    return ordered, first_seen


def _depths(ordered: list[Node]) -> dict[Node, int]:
    """Keras's depth: 0 for the last nodes, parents one deeper than their
    deepest child (a shared layer's nodes share their deepest depth)."""
    depths: dict[Node, int] = {}
    layer_depths: dict[int, int] = {}
    for node in reversed(ordered):
        depth = max(depths.setdefault(node, 0), layer_depths.get(id(node.layer), 0))
        layer_depths[id(node.layer)] = depths[node] = depth
        for parent in node.input_tensors:
            depths[parent.node] = max(depth + 1, depths.get(parent.node, 0))
    return depths


def _layers_by_depth(inputs, nodes, depths, first_seen) -> list:
    deepest: dict[int, tuple[int, Any]] = {}
    for node in nodes:
        layer = node.layer
        depth = max(depths[node], deepest.get(id(layer), (0, None))[0])
        deepest[id(layer)] = (depth, layer)
    return [
        layer
        for _, layer in sorted(
            deepest.values(), key=lambda item: (-item[0], first_seen[id(item[1])])
        )
    ]


def _check_computable(inputs, nodes) -> None:
    available = {id(tensor) for tensor in inputs}
    for node in nodes:
        if node.is_input:
            if id(node.output) not in available:
                raise ValueError(
                    f"Graph disconnected: the model's outputs need the Input "
                    f"{node.output.name!r}, which is not among the model's inputs "
                    f"{[t.name for t in inputs]}"
                )
            continue
        available.update(id(tensor) for tensor in node.outputs)


def _check_unique_names(layers) -> None:
    names = collections.Counter(layer.name for layer in layers)
    repeated = [name for name, count in names.items() if count > 1]
    if repeated:
        raise ValueError(
            f"All layers of a model need unique names; {repeated[0]!r} is used by "
            f"{names[repeated[0]]} different layers"
        )
