"""``gradstep.ops``: Keras 3's ``keras.ops`` over NumPy arrays, differentiable.

Three families, as in Keras: the NumPy ops (``add``, ``matmul``, ``mean``,
``reshape``, ...), the neural-network ops (``relu``, ``softmax``,
``categorical_crossentropy``, ...) and the core ops (``convert_to_tensor``,
``cast``, ``shape``, ``cond``, ...).

Each op works three ways:

- on arrays, it computes (it is NumPy with Keras's signature);
- on values a tape traces (inside a layer's ``call``, a loss's ``call``), it
  also records its slope, so the caller's slope comes by reverse-mode
  automatic differentiation (``gradstep.ops.tape``);
- on symbolic tensors (the functional API), it adds a node to the graph.

``ops.KERAS_OPS_LEFT_OUT`` names each Keras op gradstep leaves out, with the reason.
"""

from __future__ import annotations

from gradstep.graph import SymbolicTensor
from gradstep.ops import convolution as _convolution
from gradstep.ops import core as _core
from gradstep.ops import dispatch as _dispatch
from gradstep.ops import linalg
from gradstep.ops import math as _math
from gradstep.ops import nn as _nn
from gradstep.ops import nn_extra as _nn_extra
from gradstep.ops import numpy as _numpy
from gradstep.ops import numpy_extra as _numpy_extra
from gradstep.ops import symbolic as _symbolic
from gradstep.ops import tape as _tape
from gradstep.ops.core import *  # noqa: F403
from gradstep.ops.left_out import KERAS_OPS_LEFT_OUT as KERAS_OPS_LEFT_OUT
from gradstep.ops.nn import *  # noqa: F403
from gradstep.ops.numpy import *  # noqa: F403
from gradstep.ops.tape import Tape as Tape
from gradstep.ops.tape import Traced
from gradstep.ops.tape import value_and_gradients as value_and_gradients

# Looked up in this order: a name in several modules is the first one's.
_MODULES = (_numpy, _numpy_extra, _nn, _nn_extra, _convolution, _math, linalg, _core)
__all__ = sorted(
    {
        name
        for module in _MODULES
        for name in dir(module)
        if not name.startswith("_")
        and callable(getattr(module, name))
        and getattr(getattr(module, name), "__module__", "").startswith("gradstep.ops")
    }
    | {"Tape", "Traced", "value_and_gradients", "linalg", "KERAS_OPS_LEFT_OUT"}
)
#: Helpers the op modules share, which are not Keras ops.
_NOT_OPS = {
    "Primitive",
    "ListPrimitive",
    "op",
    "lift",
    "unwrap",
    "packed",
    "operand",
    "window_patches",
    "normalized_axes",
    "axis_tuple",
    "axis_slice",
}
__all__ = [name for name in __all__ if name not in _NOT_OPS]
for _name in __all__:
    globals()[_name] = next(
        (getattr(m, _name) for m in _MODULES if hasattr(m, _name)), globals().get(_name)
    )
# Keras's ops.norm is the linear-algebra norm (matrix norms too).
norm = linalg.norm
# Ops made under another name (``amax = op(lambda ...)``) are found by their exported name
# when a saved model's OpLayer is loaded.
for _name in __all__:
    if getattr(globals()[_name], "is_op", False):
        _symbolic.OPS[_name] = globals()[_name]
_symbolic.OPS.pop("<lambda>", None)


def _operators(cls) -> None:
    """Python's arithmetic on ``cls`` (traced and symbolic values) runs the ops."""
    n = _numpy

    def binary(function, reflected=False):
        if reflected:
            return lambda self, other: function(other, self)
        return lambda self, other: function(self, other)

    for name, function in {
        "add": n.add,
        "sub": n.subtract,
        "mul": n.multiply,
        "truediv": n.divide,
        "pow": n.power,
        "matmul": n.matmul,
        "floordiv": n.floor_divide,
        "mod": n.mod,
    }.items():
        setattr(cls, f"__{name}__", binary(function))
        setattr(cls, f"__r{name}__", binary(function, reflected=True))
    for name, function in {
        "lt": n.less,
        "le": n.less_equal,
        "gt": n.greater,
        "ge": n.greater_equal,
    }.items():
        setattr(cls, f"__{name}__", binary(function))
    cls.__neg__ = lambda self: n.negative(self)
    cls.__pos__ = lambda self: self
    cls.__abs__ = lambda self: n.absolute(self)
    cls.__getitem__ = lambda self, key: n.getitem(self, key)
    cls.T = property(lambda self: n.transpose(self))
    cls.reshape = lambda self, *shape: n.reshape(self, shape[0] if len(shape) == 1 else shape)
    cls.astype = lambda self, dtype: _core.cast(self, dtype)
    cls.sum = lambda self, axis=None, keepdims=False: n.sum(self, axis, keepdims)
    cls.mean = lambda self, axis=None, keepdims=False: n.mean(self, axis, keepdims)


_tape.handle_numpy_with(_dispatch.ufunc, _dispatch.function)
_operators(Traced)
_operators(SymbolicTensor)
