"""The ONNX converter of ``OpLayer``: ``gradstep.ops`` called on symbolic
tensors (``x + 1``, ``ops.mean(x, axis=1)``, ``x[:, 0]``) in a functional or
subclassed model.

An OpLayer holds the op and its arguments, the tensors among them as
placeholders; its config (the file format's) spells a tensor as
``{"__tensor__": i}``, a tuple as ``{"__tuple__": [...]}`` and an array as
``{"__array__": ..., "dtype": ...}``. The arguments are read from there and
bound to the op's parameter names; each op below writes the ONNX nodes for
them. An op without an entry here is refused, naming the layer.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gradstep import activations as gs
from gradstep.export.onnx_activations import ACTIVATIONS, softmax
from gradstep.export.onnx_graph import (
    ONNX_TYPES,
    Call,
    OnnxGraph,
    converts,
    file_dtype,
    refuse,
)
from gradstep.ops.symbolic import OpLayer

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class Tensor(NamedTuple):
    """An argument that is one of the node's input tensors."""

    name: str
    dtype: str  # the file's dtype: 'float32' for every float
    shape: tuple

    @property
    def rank(self) -> int:
        return len(self.shape)


class OpCall(NamedTuple):
    """One op call: its arguments by parameter name, the node's output dtype
    (the file's), the OpLayer (for errors), and which output of an op with
    several (``split``, ``moments``) the node is (None: the op has one)."""

    arguments: dict
    dtype: str
    layer: object
    output_index: int | None = None


def _decode(value, tensors: list[Tensor]):
    """An argument from the OpLayer's config, with its tensors as ``Tensor``s."""
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__tuple__" in value:
            return tuple(_decode(v, tensors) for v in value["__tuple__"])
        if "__array__" in value:
            return np.asarray(value["__array__"], dtype=value["dtype"])
        return {k: _decode(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    return value


def value_of(graph: OnnxGraph, argument, dtype: str) -> str:
    """An argument as an ONNX value of ``dtype``: a tensor (cast if its type
    differs), or a constant."""
    if isinstance(argument, Tensor):
        if argument.dtype == dtype:
            return argument.name
        return graph.op("Cast", argument.name, to=ONNX_TYPES[dtype])
    return graph.constant(np.asarray(argument), "operand", dtype=np.dtype(dtype))


def _operand_dtype(arguments) -> str:
    """The dtype the operands of an elementwise op share: NumPy's promotion of
    the tensors' dtypes (a Python number does not widen a tensor's type)."""
    dtypes = [a.dtype for a in arguments if isinstance(a, Tensor)]
    return file_dtype(np.result_type(*dtypes)) if dtypes else "float32"


def _axes(axis, rank: int) -> list[int] | None:
    if axis is None:
        return None
    axes = [axis] if isinstance(axis, int | np.integer) else list(axis)
    return [int(a) % rank for a in axes]


# --- the ops --------------------------------------------------------------------------------
UNARY = {
    "exp": "Exp",
    "log": "Log",
    "sqrt": "Sqrt",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "relu": "Relu",
    "negative": "Neg",
    "absolute": "Abs",
    "abs": "Abs",
    "sin": "Sin",
    "cos": "Cos",
    "floor": "Floor",
    "ceil": "Ceil",
    "erf": "Erf",
    "sign": "Sign",
    "reciprocal": "Reciprocal",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "logical_not": "Not",
}
BINARY = {
    "add": "Add",
    "subtract": "Sub",
    "multiply": "Mul",
    "divide": "Div",
    "true_divide": "Div",
    "power": "Pow",
    "maximum": "Max",
    "minimum": "Min",
    "matmul": "MatMul",
    "logical_and": "And",
    "logical_or": "Or",
}
COMPARISONS = {
    "greater": "Greater",
    "less": "Less",
    "greater_equal": "GreaterOrEqual",
    "less_equal": "LessOrEqual",
    "equal": "Equal",
}
REDUCTIONS = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin"}
#: Ops that are one of gradstep's activations: name -> (activation class, its arguments).
ACTIVATION_OPS = {
    "silu": (gs.SiLU, ()),
    "swish": (gs.SiLU, ()),
    "selu": (gs.SELU, ()),
    "elu": (gs.ELU, ("alpha",)),
    "leaky_relu": (gs.LeakyReLU, ("negative_slope",)),
    "gelu": (gs.GELU, ("approximate",)),
    "hard_sigmoid": (gs.HardSigmoid, ()),
}


def _unary(op_type: str):
    def write(graph: OnnxGraph, call: OpCall) -> str:
        (x,) = [v for k, v in call.arguments.items() if isinstance(v, Tensor)]
        return graph.op(op_type, value_of(graph, x, call.dtype))

    return write


def _binary(op_type: str):
    def write(graph: OnnxGraph, call: OpCall) -> str:
        a, b = list(call.arguments.values())[:2]
        return graph.op(op_type, value_of(graph, a, call.dtype), value_of(graph, b, call.dtype))

    return write


def _comparison(op_type: str):
    def write(graph: OnnxGraph, call: OpCall) -> str:
        a, b = list(call.arguments.values())[:2]
        dtype = _operand_dtype([a, b])
        return graph.op(op_type, value_of(graph, a, dtype), value_of(graph, b, dtype))

    return write


def _reduction(op_type: str):
    def write(graph: OnnxGraph, call: OpCall) -> str:
        x = call.arguments["x"]
        keepdims = int(bool(call.arguments.get("keepdims", False)))
        axes = _axes(call.arguments.get("axis"), x.rank)
        if axes is None:
            return graph.op(op_type, value_of(graph, x, call.dtype), keepdims=keepdims)
        return graph.reduce(op_type, value_of(graph, x, call.dtype), axes, keepdims=bool(keepdims))

    return write


def _activation(activation_class, parameters):
    def write(graph: OnnxGraph, call: OpCall) -> str:
        options = {p: call.arguments[p] for p in parameters if p in call.arguments}
        activation = activation_class(**options)
        x = value_of(graph, call.arguments["x"], call.dtype)
        return ACTIVATIONS[activation_class](graph, x, activation)

    return write


def _square(graph: OnnxGraph, call: OpCall) -> str:
    x = value_of(graph, call.arguments["x"], call.dtype)
    return graph.op("Mul", x, x)


def _softmax_op(graph: OnnxGraph, call: OpCall) -> str:
    return softmax(graph, value_of(graph, call.arguments["x"], call.dtype), call.arguments["axis"])


def _log_softmax(graph: OnnxGraph, call: OpCall) -> str:
    x = value_of(graph, call.arguments["x"], call.dtype)
    return graph.op("LogSoftmax", x, axis=int(call.arguments.get("axis", -1)))


def _reshape(graph: OnnxGraph, call: OpCall) -> str:
    # ONNX reads a 0 as "keep this axis"; NumPy as an empty axis: only -1 and sizes pass.
    shape = [int(s) for s in np.atleast_1d(call.arguments["newshape"])]
    return graph.op("Reshape", call.arguments["x"].name, graph.ints(shape, "shape"), allowzero=1)


def _transpose(graph: OnnxGraph, call: OpCall) -> str:
    x = call.arguments["x"]
    axes = call.arguments.get("axes")
    rank = x.rank
    perm = list(reversed(range(rank))) if axes is None else [int(a) % rank for a in axes]
    return graph.op("Transpose", x.name, perm=perm)


def _concatenate(graph: OnnxGraph, call: OpCall) -> str:
    xs = call.arguments["xs"]
    values = [value_of(graph, x, call.dtype) for x in xs]
    rank = next(x.rank for x in xs if isinstance(x, Tensor))
    return graph.op("Concat", *values, axis=int(call.arguments.get("axis", 0)) % rank)


def _stack(graph: OnnxGraph, call: OpCall) -> str:
    rank = next(x.rank for x in call.arguments["x"] if isinstance(x, Tensor)) + 1
    axis = int(call.arguments.get("axis", 0)) % rank
    values = [
        graph.op("Unsqueeze", value_of(graph, x, call.dtype), graph.ints([axis]))
        for x in call.arguments["x"]
    ]
    return graph.op("Concat", *values, axis=axis)


def _expand_dims(graph: OnnxGraph, call: OpCall) -> str:
    x, axis = call.arguments["x"], call.arguments["axis"]
    rank = x.rank + (1 if isinstance(axis, int) else len(axis))
    return graph.op("Unsqueeze", x.name, graph.ints(_axes(axis, rank)))


def _squeeze(graph: OnnxGraph, call: OpCall) -> str:
    axes = _axes(call.arguments.get("axis"), call.arguments["x"].rank)
    if axes is None:
        return graph.op("Squeeze", call.arguments["x"].name)
    return graph.op("Squeeze", call.arguments["x"].name, graph.ints(axes))


def _clip(graph: OnnxGraph, call: OpCall) -> str:
    values = [value_of(graph, call.arguments[k], call.dtype) for k in ("x", "x_min", "x_max")]
    return graph.op("Clip", *values)


def _where(graph: OnnxGraph, call: OpCall) -> str:
    arguments = call.arguments
    if arguments.get("x1") is None or arguments.get("x2") is None:
        raise refuse(call.layer, "where(condition) without x1 and x2 has a data-dependent shape")
    condition = value_of(graph, arguments["condition"], "bool")
    return graph.op(
        "Where",
        condition,
        value_of(graph, arguments["x1"], call.dtype),
        value_of(graph, arguments["x2"], call.dtype),
    )


def _cast(graph: OnnxGraph, call: OpCall) -> str:
    return value_of(graph, call.arguments["x"], call.dtype)


def _argmax(graph: OnnxGraph, call: OpCall) -> str:
    axis = call.arguments.get("axis")
    if axis is None:
        raise refuse(call.layer, "argmax over the flattened array is not exported; give an axis")
    keepdims = int(bool(call.arguments.get("keepdims", False)))
    result = graph.op("ArgMax", call.arguments["x"].name, axis=int(axis), keepdims=keepdims)
    return result if call.dtype == "int64" else graph.op("Cast", result, to=ONNX_TYPES[call.dtype])


def _take(graph: OnnxGraph, call: OpCall) -> str:
    axis = call.arguments.get("axis")
    if axis is None:
        raise refuse(call.layer, "take over the flattened array is not exported; give an axis")
    indices = value_of(graph, call.arguments["indices"], "int64")
    return graph.op("Gather", call.arguments["x"].name, indices, axis=int(axis))


def _getitem(graph: OnnxGraph, call: OpCall) -> str:
    """``x[key]`` for integers, slices, None and Ellipsis: one Slice, then a
    Squeeze of the integer-indexed axes, then an Unsqueeze for each None."""
    x, key = call.arguments["x"], call.arguments["key"]
    key = key if isinstance(key, tuple) else (key,)
    if any(not isinstance(k, int | slice | type(None) | type(Ellipsis)) for k in key):
        raise refuse(call.layer, "indexing with arrays or tensors is not exported")
    rank = x.rank
    real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (rank - real) + key[at + 1 :]
    starts, ends, axes, steps, squeezed, new_axes = [], [], [], [], [], []
    axis = position = 0
    for entry in key:
        if entry is None:
            new_axes.append(position)
            position += 1
            continue
        if isinstance(entry, int):
            starts.append(entry)
            ends.append(entry + 1 if entry != -1 else INT64_MAX)
            steps.append(1)
            axes.append(axis)
            squeezed.append(axis)
        elif entry != slice(None):
            step = 1 if entry.step is None else entry.step
            backwards = step < 0
            starts.append(entry.start if entry.start is not None else (-1 if backwards else 0))
            end = entry.stop
            ends.append(end if end is not None else (INT64_MIN if backwards else INT64_MAX))
            steps.append(step)
            axes.append(axis)
            position += 1
        else:
            position += 1
        axis += 1
    y = x.name
    if axes:
        y = graph.slice(y, starts, ends, axes, steps)
    if squeezed:
        y = graph.op("Squeeze", y, graph.ints(squeezed))
    if new_axes:
        y = graph.op("Unsqueeze", y, graph.ints(new_axes))
    return y


# --- ops with several outputs: one node per output, ``call.output_index`` says which ---------
def _static_size(call: OpCall, x: Tensor, axis: int) -> int:
    size = x.shape[axis]
    if size is None:
        raise refuse(call.layer, f"the size of axis {axis} it cuts must be known")
    return size


def _split(graph: OnnxGraph, call: OpCall) -> str:
    """Piece ``output_index`` of ``np.split``: a Slice between its bounds."""
    x, sections = call.arguments["x"], call.arguments["indices_or_sections"]
    axis = int(call.arguments.get("axis", 0)) % x.rank
    size = _static_size(call, x, axis)
    if isinstance(sections, int):
        bounds = list(range(0, size + 1, size // sections))
    else:
        bounds = [0, *[int(i) for i in sections], size]
    lo, hi = bounds[call.output_index], bounds[call.output_index + 1]
    return graph.slice(x.name, [lo], [hi], [axis])


def _unstack(graph: OnnxGraph, call: OpCall) -> str:
    """Slice ``output_index`` along ``axis``, the axis dropped (a Gather)."""
    x = call.arguments["x"]
    axis = int(call.arguments.get("axis", 0)) % x.rank
    index = graph.constant(np.int64(call.output_index), "index")
    return graph.op("Gather", x.name, index, axis=axis)


def _moments(graph: OnnxGraph, call: OpCall) -> str:
    """The mean (output 0) or the variance (output 1) over ``axes``."""
    x = value_of(graph, call.arguments["x"], call.dtype)
    axes = _axes(call.arguments["axes"], call.arguments["x"].rank)
    keepdims = bool(call.arguments.get("keepdims", False))
    if call.output_index == 0:
        return graph.reduce("ReduceMean", x, axes, keepdims=keepdims)
    centered = graph.op("Sub", x, graph.reduce("ReduceMean", x, axes, keepdims=True))
    return graph.reduce("ReduceMean", graph.op("Mul", centered, centered), axes, keepdims=keepdims)


#: Ops with several outputs that the export writes (each output's node on its own).
SEVERAL_OUTPUTS = {"split": _split, "unstack": _unstack, "moments": _moments}

#: Op name -> function(graph, OpCall) -> ONNX value.
OPS: dict[str, Callable[[OnnxGraph, OpCall], str]] = {
    **{name: _unary(op_type) for name, op_type in UNARY.items()},
    **{name: _binary(op_type) for name, op_type in BINARY.items()},
    **{name: _comparison(op_type) for name, op_type in COMPARISONS.items()},
    **{name: _reduction(op_type) for name, op_type in REDUCTIONS.items()},
    **{name: _activation(*entry) for name, entry in ACTIVATION_OPS.items()},
    "square": _square,
    "softmax": _softmax_op,
    "log_softmax": _log_softmax,
    "reshape": _reshape,
    "transpose": _transpose,
    "concatenate": _concatenate,
    "stack": _stack,
    "expand_dims": _expand_dims,
    "squeeze": _squeeze,
    "clip": _clip,
    "where": _where,
    "cast": _cast,
    "argmax": _argmax,
    "take": _take,
    "getitem": _getitem,
    **SEVERAL_OUTPUTS,
}


@converts(OpLayer)
def op_layer(graph: OnnxGraph, call: Call) -> str:
    layer = call.layer
    config = layer.get_config()
    name = config["function"]
    write = OPS.get(name)
    if write is None:
        raise refuse(layer, f"the op {name!r} has no ONNX converter (these do: {sorted(OPS)})")
    if config["output_index"] is not None and name not in SEVERAL_OUTPUTS:
        raise refuse(
            layer,
            f"the op {name!r} has several outputs; of such ops the export writes "
            f"{sorted(SEVERAL_OUTPUTS)}",
        )
    tensors = [
        Tensor(value, file_dtype(dtype), shape)
        for value, dtype, shape in zip(call.inputs, call.dtypes, call.shapes, strict=True)
    ]
    args, kwargs = _decode(config["arguments"], tensors)
    arguments = _by_name(layer.function, args, kwargs)
    return write(graph, OpCall(arguments, file_dtype(layer.dtype), layer, config["output_index"]))


def _by_name(function, args, kwargs) -> dict:
    """The arguments by parameter name, in order, defaults included (those of
    ``*args`` as ``arg0``, ``arg1``, ...: the comparisons take ``*args``)."""
    signature = inspect.signature(function)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            arguments.update({f"arg{i}": v for i, v in enumerate(value)})
        elif kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        else:
            arguments[name] = value
    return arguments
