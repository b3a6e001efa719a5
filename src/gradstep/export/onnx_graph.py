"""The ONNX graph under construction, and the registry of layer converters.

A converter turns one call of a layer into ONNX nodes. It is a function

    @converts(Dense)
    def dense(graph: OnnxGraph, call: Call) -> str:
        ...
        return output_name

that receives the ``OnnxGraph`` being built and the ``Call`` (the layer, the
names of its input values in the ONNX graph, their shapes), adds nodes with
``graph.op(...)`` and constants with ``graph.constant(...)``, and returns the
name of the value that holds the layer's output.

Nothing here imports ``onnx``: nodes are kept as plain tuples and become an
ONNX model only in ``OnnxGraph.to_model`` (so the converters can be read, and
imported, without it). Every float value of the graph is float32, as in the
models Keras exports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

#: Layer class -> the function that converts one of its calls.
CONVERTERS: dict[type, Callable[[OnnxGraph, Call], str | list[str]]] = {}


#: Layer classes that take their input's mask only for what they do in
#: training (BatchNormalization's batch moments): at inference a mask leaves
#: their output as it is.
MASK_FREE_AT_INFERENCE: set[type] = set()
#: Layer classes whose converter uses the input's mask (``Call.masks``).
TAKES_MASKS: set[type] = set()
#: Layer class -> function(graph, call) -> the ONNX value of its output's mask,
#: for the layers that make a mask (Embedding, Masking).
MASK_MAKERS: dict[type, Callable[[OnnxGraph, Call], str]] = {}


def converts(*layer_classes: type, mask_free_at_inference: bool = False, takes_masks=False):
    """Register the decorated function as the converter of ``layer_classes``
    (exact classes: a subclass with its own ``call`` is not assumed to compute
    what its parent computes). ``takes_masks``: it reads ``call.masks``."""

    def register(function):
        for layer_class in layer_classes:
            CONVERTERS[layer_class] = function
            if mask_free_at_inference:
                MASK_FREE_AT_INFERENCE.add(layer_class)
            if takes_masks:
                TAKES_MASKS.add(layer_class)
        return function

    return register


def makes_mask(*layer_classes: type):
    """Register the decorated function as the writer of ``layer_classes``'s output mask."""

    def register(function):
        for layer_class in layer_classes:
            MASK_MAKERS[layer_class] = function
        return function

    return register


class NotExportable(ValueError):
    """A layer that the ONNX export cannot write (its name and class are in the message)."""


def refuse(layer, why: str) -> NotExportable:
    """The error for ``layer``, naming it and its class, with the reason."""
    return NotExportable(
        f"Cannot export layer {layer.name!r} ({type(layer).__name__}) to ONNX: {why}"
    )


def convert_layer(graph: OnnxGraph, call: Call) -> str | list[str]:
    """The ONNX value of ``call`` through its layer's converter (a list of
    values for a call with several outputs)."""
    converter = CONVERTERS.get(type(call.layer))
    if converter is None:
        raise refuse(call.layer, "gradstep has no ONNX converter for this class of layer")
    return converter(graph, call)


class Call(NamedTuple):
    """One call of a layer, as its converter sees it."""

    layer: Any
    inputs: list[str]  # the ONNX names of its input values
    shapes: list[tuple]  # their shapes (None: unknown, as the batch axis)
    dtypes: list[str]  # their dtypes ('float32', 'int64', ...)
    output_shape: tuple
    output_dtype: str = "float32"  # the graph's dtype of the output (floats: float32)
    #: Each input's mask (an ONNX bool value, True where a step counts), or
    #: None: given to the converters that take masks.
    masks: tuple = ()

    @property
    def x(self) -> str:
        """The first (for most layers, the only) input."""
        return self.inputs[0]

    @property
    def shape(self) -> tuple:
        return self.shapes[0]

    @property
    def rank(self) -> int:
        return len(self.shapes[0])


#: ONNX's element types (TensorProto's numbers), for Cast; floats are float32 in the file.
ONNX_TYPES = {
    "float16": 10,
    "float32": 1,
    "float64": 1,
    "int8": 3,
    "int16": 5,
    "int32": 6,
    "int64": 7,
    "uint8": 2,
    "bool": 9,
    "string": 8,
}
#: gradstep's dtype of text (``Input(dtype="string")``): ONNX's string tensors.
STRING = "string"
#: The domain of ONNX's traditional machine-learning ops (LabelEncoder), and the
#: version of it written: 3, the one released with opset 18 (onnx 1.13).
ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 3


def file_dtype(dtype) -> str:
    """The dtype a value of ``dtype`` has in the file: float32 for every
    float, ``'string'`` for text."""
    if isinstance(dtype, str) and dtype == STRING:
        return STRING
    dtype = np.dtype(dtype)
    if dtype.kind in "OUS":
        return STRING
    return "float32" if dtype.kind == "f" else dtype.name


class OnnxGraph:
    """Nodes and constants, named uniquely, in the order they were added."""

    def __init__(self):
        self.nodes: list[tuple[str, list[str], list[str], dict]] = []
        self.constants: dict[str, np.ndarray] = {}
        #: The values whose type is not their symbolic tensor's (the text an
        #: inverted StringLookup gives, which gradstep's graph calls float32).
        self.value_dtypes: dict[str, str] = {}
        self._taken: set[str] = set()

    def name(self, hint: str) -> str:
        """A value name not used yet: ``hint``, or ``hint_1``, ``hint_2``, ..."""
        hint = hint.replace("/", "_") or "value"
        name, number = hint, 0
        while name in self._taken:
            number += 1
            name = f"{hint}_{number}"
        self._taken.add(name)
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attributes):
        """Add the node ``op_type(inputs, **attributes)``; the name of its
        output (a list of names when ``outputs`` > 1). An empty string stands
        for an optional input left out, as in ONNX (trailing ones are dropped).
        ``domain=ML_DOMAIN`` among the attributes takes the op from ai.onnx.ml."""
        names = [self.name(op_type.lower()) for _ in range(outputs)]
        inputs = list(inputs)
        while inputs and inputs[-1] == "":
            inputs.pop()
        self.nodes.append((op_type, inputs, names, attributes))
        return names[0] if outputs == 1 else names

    def op_named(self, op_type: str, x: str, name: str, **attributes) -> None:
        """Add ``op_type(x)`` whose output is the (already reserved) ``name``."""
        self.nodes.append((op_type, [x], [name], attributes))

    def constant(self, value, hint: str = "const", dtype=None) -> str:
        """A constant (an initializer of the graph): floats as float32,
        integers as int64 unless ``dtype`` says otherwise."""
        array = np.asarray(value)
        if dtype is None:
            dtype = np.float32 if array.dtype.kind in "fc" else np.int64
            if array.dtype == bool:
                dtype = bool
        name = self.name(hint)
        self.constants[name] = np.array(array, dtype=dtype, order="C")  # 0-d stays 0-d
        return name

    def ints(self, values, hint: str = "ints") -> str:
        """An int64 vector constant (shapes, axes, pads as ONNX takes them)."""
        return self.constant(np.asarray(values, dtype=np.int64).reshape(-1), hint)

    def scalar(self, value: float, hint: str = "scalar") -> str:
        return self.constant(np.float32(value), hint)

    # --- a few compositions used by many converters ---------------------------------
    def transpose(self, x: str, perm) -> str:
        perm = [int(p) for p in perm]
        if perm == list(range(len(perm))):
            return x
        return self.op("Transpose", x, perm=perm)

    def reshape(self, x: str, shape) -> str:
        """Reshape to ``shape``: 0 keeps the input's size on that axis (the
        batch axis), -1 takes what is left."""
        return self.op("Reshape", x, self.ints(shape, "shape"))

    def reduce(self, op_type: str, x: str, axes, keepdims: bool = True) -> str:
        """``ReduceMean``, ``ReduceMax``, ... over ``axes`` (axes are an input
        since opset 18)."""
        return self.op(op_type, x, self.ints(axes, "axes"), keepdims=int(keepdims))

    def slice(self, x: str, starts, ends, axes, steps=None) -> str:
        inputs = [x, self.ints(starts, "starts"), self.ints(ends, "ends"), self.ints(axes, "axes")]
        if steps is not None:
            inputs.append(self.ints(steps, "steps"))
        return self.op("Slice", *inputs)

    def reverse(self, x: str, axis: int) -> str:
        """``x`` backwards along ``axis`` (a Slice with step -1)."""
        return self.slice(x, [-1], [-(2**63) + 1], [axis], [-1])

    # --- the model ----------------------------------------------------------------------
    def to_model(self, inputs, outputs, opset: int, name: str):
        """The ``onnx.ModelProto``. ``inputs`` and ``outputs`` are
        ``(name, dtype, shape)`` with shapes of ints and strings (a string
        names a size known only when the model runs: ``'batch'``)."""
        import onnx
        from onnx import helper, numpy_helper

        def value_info(name, dtype, shape):
            element = ONNX_TYPES[STRING] if dtype == STRING else None
            element = element or helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
            return helper.make_tensor_value_info(name, element, list(shape))

        nodes = [
            helper.make_node(op_type, node_inputs, node_outputs, **attributes)
            for op_type, node_inputs, node_outputs, attributes in self.nodes
        ]
        initializers = [
            numpy_helper.from_array(array, name) for name, array in self.constants.items()
        ]
        graph = helper.make_graph(
            nodes,
            name,
            [value_info(*entry) for entry in inputs],
            [value_info(*entry) for entry in outputs],
            initializer=initializers,
        )
        opsets = [helper.make_opsetid("", opset)]
        if any(attributes.get("domain") == ML_DOMAIN for *_, attributes in self.nodes):
            opsets.append(helper.make_opsetid(ML_DOMAIN, ML_OPSET))
        model = helper.make_model(
            graph,
            opset_imports=opsets,
            producer_name="gradstep",
            ir_version=helper.find_min_ir_version_for(opsets),
        )
        onnx.checker.check_model(model, full_check=True)
        return model
