"""Ops on symbolic tensors: nodes of the graph, as Keras's ops are.

``ops.exp(x)`` on arrays computes; on a symbolic tensor (from ``Input``, in
the functional API, or while a subclassed model's ``call`` is traced) it
records a node whose layer is an ``OpLayer``: the op with its other
arguments fixed. The node runs the op on arrays in the model's forward pass,
and its backward pass is the op's slope, from a tape.

The output's shape is found by running the op on zeros of the inputs'
shapes twice, with the unknown sizes (the batch axis) as 2 and as 3: a size
that differs between the two is unknown too.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from gradstep import config
from gradstep.layers.base import LAYERS, Layer, unique_name
from gradstep.ops import tape as tape_module

#: Every op by name, for an ``OpLayer`` loaded from a file.
OPS: dict[str, Any] = {}


def op(function):
    """Make ``function`` an op: on symbolic tensors, a graph node; else itself."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        if _has_symbolic(args) or _has_symbolic(list(kwargs.values())):
            return call_symbolic(run, args, kwargs)
        return function(*args, **kwargs)

    run.is_op = True  # found by its exported name too (``amax = op(lambda ...)``)
    OPS[function.__name__] = run
    return run


def _is_symbolic(value) -> bool:
    from gradstep.graph import SymbolicTensor

    return isinstance(value, SymbolicTensor)


def _has_symbolic(values) -> bool:
    return any(
        _is_symbolic(v) or (isinstance(v, list | tuple) and any(_is_symbolic(i) for i in v))
        for v in values
    )


class _Slot:
    """Where the ``index``-th symbolic tensor goes among an op's arguments."""

    def __init__(self, index: int):
        self.index = index


def _template(value, tensors: list):
    """``value`` with each symbolic tensor replaced by a ``_Slot`` (collected in ``tensors``)."""
    if _is_symbolic(value):
        tensors.append(value)
        return _Slot(len(tensors) - 1)
    if isinstance(value, list | tuple):
        return type(value)(_template(v, tensors) for v in value)
    if isinstance(value, dict):
        return {k: _template(v, tensors) for k, v in value.items()}
    return value


def _fill(template, arrays):
    if isinstance(template, _Slot):
        return arrays[template.index]
    if isinstance(template, list | tuple):
        return type(template)(_fill(v, arrays) for v in template)
    if isinstance(template, dict):
        return {k: _fill(v, arrays) for k, v in template.items()}
    return template


def call_symbolic(function, args, kwargs):
    """The symbolic output(s) of ``function(*args, **kwargs)``: one node per
    output (an op with several outputs, ``moments``, gets one node for each)."""
    tensors: list = []
    arguments = _template((list(args), kwargs), tensors)
    text = [t for t in tensors if t.dtype == config.STRING_DTYPE]
    if text:
        raise TypeError(
            f"ops.{function.__name__} works on numbers, received a string tensor {text[0]!r}; "
            "turn text into numbers first with StringLookup or Hashing"
        )
    probe = _probe(function, arguments, [t.shape for t in tensors], [t.dtype for t in tensors])
    if isinstance(probe, tuple | list):
        return type(probe)(
            OpLayer(function, arguments, output_index=i)(tensors) for i in range(len(probe))
        )
    return OpLayer(function, arguments)(tensors)


def _probe(function, arguments, shapes, dtypes, unknown: int = 2):
    zeros = [
        np.zeros(tuple(unknown if d is None else d for d in shape), dtype=dtype)
        for shape, dtype in zip(shapes, dtypes, strict=True)
    ]
    args, kwargs = _fill(arguments, zeros)
    with np.errstate(all="ignore"), tape_module.paused():
        return function(*args, **kwargs)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@LAYERS.register("OpLayer")
class OpLayer(Layer):
    """A node's op in a graph: ``function`` with its non-tensor arguments
    fixed and its tensor arguments taken from the node's inputs."""

    supports_masking = False

    def __init__(self, function, arguments, output_index: int | None = None, **kwargs):
        kwargs.setdefault("name", unique_name(re.sub(r"_+$", "", function.__name__)))
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments
        self.output_index = output_index

    @property
    def class_name(self) -> str:
        """Keras's name for the op's class (``Multiply`` for ``ops.multiply``)."""
        return _camel(self.function.__name__.rstrip("_"))

    def __call__(self, tensors, training=None, mask=None, **kwargs):
        self.input_dtypes = [t.dtype for t in tensors]
        return super().__call__(list(tensors), training=training)

    def compute_output_shape(self, input_shapes):
        dtypes = self.input_dtypes
        first = self._pick(_probe(self.function, self.arguments, input_shapes, dtypes, 2))
        second = self._pick(_probe(self.function, self.arguments, input_shapes, dtypes, 3))
        self.dtype = np.asarray(first).dtype.name
        return tuple(
            None if a != b else a for a, b in zip(np.shape(first), np.shape(second), strict=True)
        )

    def build_once(self, input_shape) -> None:
        self.built = True

    def _pick(self, result):
        return result if self.output_index is None else result[self.output_index]

    def forward(self, inputs, training=False):
        with tape_module.Tape() as tape:
            traced = [tape.watch(x) for x in inputs]
            args, kwargs = _fill(self.arguments, traced)
            output = self._pick(self.function(*args, **kwargs))
        return tape_module.unwrap(output), (tape, traced, output)

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        tape, traced, output = saved
        if not input_gradient:
            return None, {}
        return tape.gradients([output], [grad_wrt_output], traced), {}

    def get_config(self):
        return {
            "name": self.name,
            "function": self.function.__name__,
            "arguments": _serialize_template(self.arguments),
            "output_index": self.output_index,
        }

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        name = config_.pop("function")
        if name not in OPS:
            raise ValueError(f"Unknown op {name!r} in a saved model's Operation layer")
        arguments = _deserialize_template(config_.pop("arguments"))
        return cls(OPS[name], arguments, **config_)


def _serialize_template(value):
    if isinstance(value, _Slot):
        return {"__tensor__": value.index}
    if isinstance(value, tuple):
        return {"__tuple__": [_serialize_template(v) for v in value]}
    if isinstance(value, list):
        return [_serialize_template(v) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_template(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _deserialize_template(value):
    if isinstance(value, dict):
        if "__tensor__" in value:
            return _Slot(value["__tensor__"])
        if "__tuple__" in value:
            return tuple(_deserialize_template(v) for v in value["__tuple__"])
        if "__array__" in value:
            return np.asarray(value["__array__"], dtype=value["dtype"])
        return {k: _deserialize_template(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_template(v) for v in value]
    return value
