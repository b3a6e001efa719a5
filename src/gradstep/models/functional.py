"""Functional: a model made from symbolic tensors, ``Model(inputs, outputs)``.

    inputs = layers.Input(shape=(64,))
    hidden = layers.Dense(64, activation="relu")(inputs)
    outputs = layers.Dense(10, activation="softmax")(hidden)
    model = Model(inputs, outputs)

Its configuration is Keras 3's: each layer with its ``inbound_nodes`` (the
tensors each call took, as ``[layer name, node index, tensor index]``), and
the model's ``input_layers`` and ``output_layers`` in the same form.
``from_config`` replays the calls, and refuses a configuration that names a
layer that does not exist, repeats a name, loops, or leaves a node that
cannot be reached, with a ValueError that says which.
"""

from __future__ import annotations

from typing import Any

from gradstep.graph import Graph, SymbolicTensor
from gradstep.layers.base import LAYERS
from gradstep.models.model import Model
from gradstep.validation import is_int


@LAYERS.register("Functional")
class Functional(Model):
    """A model whose graph runs from ``inputs`` to ``outputs``.

    Args:
        inputs: a symbolic tensor from ``Input()``, or a list or dict of them.
        outputs: a symbolic tensor computed from the inputs, or a list or dict
            of them (a dict names the outputs for ``compile``, ``fit`` and
            ``predict``).
        name: the model's name (``functional``, ``functional_1``, ... by default).
        trainable: whether the optimizer updates the model's weights.
        seed: when given, every weight is drawn again from the model's own
            generator, in the order of the layers, so that the same seed
            gives the same starting weights (as ``Sequential(seed=...)``).
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, seed=None):
        super().__init__(name=name, trainable=trainable, seed=seed)
        flat_inputs, self._input_structure = _flatten(inputs, "inputs")
        flat_outputs, self._output_structure = _flatten(outputs, "outputs")
        graph = Graph(flat_inputs, flat_outputs)
        self._functional_layers = graph.layers
        if seed is not None:
            for layer in graph.layers:
                layer.reinitialize(self._generators["init"])
        self._set_graph(graph)
        if not trainable:
            self.trainable = False

    @property
    def layers(self):
        """Every layer, ``InputLayer``s included, in Keras's order (by depth)."""
        return list(self.__dict__.get("_functional_layers", []))

    def _summary_shows_connections(self) -> bool:
        from gradstep.summary import is_chain

        return not is_chain(self.graph())

    @property
    def input_names(self) -> list[str]:
        if isinstance(self._input_structure, dict):
            return list(self._input_structure)
        return super().input_names

    def _prepare_inputs(self, x):
        return super()._prepare_inputs(_keyed_by_tensor_names(x, self))

    # --- configuration ----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        graph = self.graph(False)
        kept = {id(node) for node in graph.nodes}
        new_index = {}
        for layer in self.layers:
            position = 0
            for node in layer.inbound_nodes:
                if id(node) in kept:
                    new_index[id(node)] = position
                    position += 1

        def reference(tensor: SymbolicTensor) -> list:
            return [tensor.node.layer.name, new_index[id(tensor.node)], tensor.index]

        def node_config(node) -> dict[str, Any]:
            def argument(tensor):
                return {
                    "class_name": "__keras_tensor__",
                    "config": {
                        "shape": list(tensor.shape),
                        "dtype": tensor.dtype,
                        "keras_history": reference(tensor),
                    },
                }

            inputs = node.inputs
            if isinstance(inputs, list):
                tensors = [argument(t) for t in inputs]
                args = tensors if node.layer.positional_tensors else [tensors]
            else:
                args = [argument(inputs)]
            kwargs = {} if node.training is None else {"training": node.training}
            call_arguments = getattr(node.layer, "call_arguments", None)
            if call_arguments is not None:  # a call with several tensors (MultiHeadAttention)
                args, extra = call_arguments([argument(t) for t in node.input_tensors])
                kwargs.update(extra)
            return {"args": args, "kwargs": kwargs}

        layers = []
        for layer in self.layers:
            nodes = [
                node_config(node)
                for node in layer.inbound_nodes
                if id(node) in kept and not node.is_input
            ]
            layers.append(
                {
                    "class_name": type(layer).__name__,
                    "config": layer.get_config(),
                    "name": layer.name,
                    "inbound_nodes": nodes,
                }
            )
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layers,
            "input_layers": _map_structure(self._input_structure, graph.inputs, reference),
            "output_layers": _map_structure(self._output_structure, graph.outputs, reference),
        }

    @classmethod
    def from_config(cls, config_: dict[str, Any], seed=None) -> Functional:
        """The model that ``get_config()`` describes (new weights, not compiled).
        Class names resolve only through the ``LAYERS`` registry."""
        created = _create_layers(config_)
        _replay_calls(config_, created)
        inputs = _tensors_from(config_.get("input_layers"), created, "input_layers")
        outputs = _tensors_from(config_.get("output_layers"), created, "output_layers")
        return cls(
            inputs,
            outputs,
            name=config_.get("name"),
            trainable=config_.get("trainable", True),
            seed=seed,
        )


def _flatten(value, argument: str) -> tuple[list, Any]:
    if isinstance(value, dict):
        return list(value.values()), {key: None for key in value}
    if isinstance(value, list | tuple):
        return list(value), [None] * len(value)
    return [value], "single"


def _map_structure(structure, tensors, function):
    if isinstance(structure, dict):
        return {key: function(t) for key, t in zip(structure, tensors, strict=True)}
    if structure == "single":
        return function(tensors[0])
    return [function(t) for t in tensors]


def _keyed_by_tensor_names(x, model):
    """Inputs given as a dict by the keys of the model's input dict, keyed by
    the Inputs' names (what the graph knows them by)."""
    structure = model._input_structure
    if not (isinstance(x, dict) and isinstance(structure, dict)):
        return x
    names = [tensor.name for tensor in model.inputs]
    keys = list(structure)
    if set(x) != set(keys):
        unknown = sorted(set(x) - set(keys))
        raise ValueError(
            f"x must have one array per model input, keyed by {keys}; received keys {sorted(x)}"
            + (f" (no input named {unknown[0]!r})" if unknown else "")
        )
    return {name: x[key] for name, key in zip(names, keys, strict=True)}


# --- rebuilding a graph from its configuration --------------------------------------------
def _create_layers(config_: dict[str, Any]) -> dict[str, Any]:
    entries = config_.get("layers")
    if not isinstance(entries, list):
        raise ValueError(f"a Functional config needs a list of layers, received {entries!r}")
    created = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"layers[{position}] must be a dict with a 'name', received {entry!r}")
        name = entry["name"]
        if name in created:
            raise ValueError(f"layers[{position}]: the name {name!r} is used by two layers")
        layer_config = entry.get("config", {})
        layer = LAYERS.lookup_class(entry.get("class_name")).from_config(layer_config)
        if isinstance(layer_config, dict) and "name" not in layer_config:
            # A get_config of yours that leaves the name out (as keras.io's saving
            # guide writes one): the layer keeps the graph's name for it, as in Keras.
            layer.name = name
        if layer.name != name:
            raise ValueError(
                f"layers[{position}] is named {name!r} but its config names it {layer.name!r}"
            )
        if not isinstance(entry.get("inbound_nodes", []), list):
            raise ValueError(f"layers[{position}] ({name!r}): inbound_nodes must be a list")
        created[name] = layer
    return created


def _replay_calls(config_: dict[str, Any], created: dict[str, Any]) -> None:
    """Call each layer on its inbound tensors, in rounds: a call whose inputs
    do not exist yet waits for a later round; a round in which nothing can be
    called means a loop or a node that nothing leads to."""
    waiting = [
        (created[entry["name"]], list(entry.get("inbound_nodes", [])))
        for entry in config_["layers"]
    ]
    waiting = [(layer, nodes) for layer, nodes in waiting if nodes]
    while waiting:
        progressed, still_waiting = False, []
        for layer, nodes in waiting:
            while nodes:
                arguments = _resolve(nodes[0], created, layer.name)
                if arguments is None:
                    break
                args, kwargs = arguments
                layer(*args, **kwargs)
                nodes.pop(0)
                progressed = True
            if nodes:
                still_waiting.append((layer, nodes))
        if not progressed:
            names = [layer.name for layer, _ in still_waiting]
            raise ValueError(
                "Invalid Functional model configuration: the graph has a loop, or a node whose "
                f"inputs nothing produces; these layers' calls cannot be made: {names}"
            )
        waiting = still_waiting


def _resolve(node_data, created, layer_name: str):
    """``(args, kwargs)`` of one call with the tensors it names, or None when a
    tensor it names does not exist yet."""
    if not isinstance(node_data, dict) or not isinstance(node_data.get("args"), list):
        raise ValueError(
            f"layer {layer_name!r}: each inbound node must be a dict with a list of args, "
            f"received {str(node_data)[:200]}"
        )
    missing = []

    def tensor(value):
        if isinstance(value, list):
            return [tensor(v) for v in value]
        history = _history(value, layer_name)
        found = _tensor(created, *history, where=f"an input of layer {layer_name!r}")
        if found is None:
            missing.append(history)
        return found

    args = [tensor(value) for value in node_data["args"]]
    kwargs = node_data.get("kwargs", {})
    keywords = {"training", *getattr(created.get(layer_name), "call_keywords", ())}
    if not isinstance(kwargs, dict) or set(kwargs) - keywords:
        raise ValueError(
            f"layer {layer_name!r}: an inbound node's kwargs may only hold 'training', "
            f"received {kwargs!r}"
        )
    kwargs = {key: _tensors_in(value, tensor) for key, value in kwargs.items()}
    return None if missing else (args, kwargs)


def _tensors_in(value, tensor):
    """A call's keyword value with its tensors resolved: one tensor, or a list
    of them (an RNN's ``initial_state``); anything else as it is."""
    if isinstance(value, dict) and "class_name" in value:
        return tensor(value)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(v, dict) and "class_name" in v for v in value)
    ):
        return [tensor(v) for v in value]
    return value


def _history(value, layer_name: str) -> list:
    history = value.get("config", {}).get("keras_history") if isinstance(value, dict) else None
    if not _is_reference(history):
        raise ValueError(
            f"layer {layer_name!r}: an input must be a __keras_tensor__ with keras_history "
            f"[layer name, node index, tensor index], received {str(value)[:200]}"
        )
    return history


def _is_reference(value) -> bool:
    """``[layer name, node index, tensor index]``, the indices non-negative integers."""
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and all(is_int(i) and i >= 0 for i in value[1:])
    )


def _tensor(created, name: str, node_index: int, tensor_index: int, where: str):
    """The output of call ``node_index`` of layer ``name``, or None if that call
    has not been made yet."""
    if name not in created:
        raise ValueError(
            f"Invalid Functional model configuration: {where} refers to layer {name!r}, which "
            f"the configuration does not define (its layers are {sorted(created)})"
        )
    nodes = created[name].inbound_nodes
    if node_index >= len(nodes):
        return None
    outputs = nodes[node_index].outputs
    if tensor_index >= len(outputs):
        raise ValueError(
            f"{where} refers to output {tensor_index} of layer {name!r}, whose call "
            f"{node_index} has {len(outputs)} output(s)"
        )
    return outputs[tensor_index]


def _tensors_from(structure, created, argument: str):
    def leaf(value):
        if not _is_reference(value):
            raise ValueError(
                f"{argument} must hold [layer name, node index, tensor index] entries, "
                f"received {str(value)[:200]}"
            )
        found = _tensor(created, *value, where=argument)
        if found is None:
            raise ValueError(
                f"{argument} refers to call {value[1]} of layer {value[0]!r}, which the "
                "configuration never makes"
            )
        return found

    if isinstance(structure, dict):
        return {key: leaf(value) for key, value in structure.items()}
    if isinstance(structure, list) and structure and isinstance(structure[0], str):
        return leaf(structure)
    if isinstance(structure, list) and structure:
        return [leaf(value) for value in structure]
    raise ValueError(f"{argument} must name at least one tensor, received {structure!r}")
