"""Keras 3's ``model.weights.npz`` member, read without unpickling.

``keras.saving.save_model(model, path, weights_format="npz")`` writes the
weights as a ``.npz`` (a zip of ``.npy`` files, one per store path: ``__root__``,
``layers/dense``, ``layers/lstm/cell``, ``optimizer``), and each ``.npy`` is a
0-d *object* array holding a dict ``{"0": weight, "1": weight, ...}``: the
``.npy`` body is a pickled stream. What the dict holds depends on Keras's
backend: the optimizer's arrays are NumPy arrays; a layer's weights are Keras
``Variable`` objects, whose ``_value`` is a NumPy array (NumPy backend), a
JAX array (JAX backend, pickled as ``jax._src.array._reconstruct_array`` of
a NumPy array) or a PyTorch parameter (PyTorch backend, pickled with its
storage in PyTorch's legacy serialization, itself a few pickles and the raw
bytes).

gradstep never unpickles (unpickling calls whatever the file names). This
module instead *reads* the stream's opcodes with ``pickletools.genops`` and
builds only plain values: ``None``, booleans, numbers, strings, bytes,
tuples, lists, dicts, and NumPy arrays made from raw bytes with
``np.frombuffer``. The globals the stream names are compared, as strings,
with the few that describe such data (``_GLOBALS``); nothing is imported or
called by name. Any other global (``os.system``, ``builtins.eval``,
``torch.load``) or opcode is refused, naming the member, the opcode and the
global, before anything else in the member is read.

How each described object becomes a value:

- ``numpy._core.multiarray._reconstruct(numpy.ndarray, (0,), b"b")`` then
  ``BUILD (version, shape, dtype, fortran_order, raw bytes)``: the array of
  those bytes (their count must be ``prod(shape) * itemsize``); an object
  array only as Keras's 0-d container, holding one value;
- ``numpy.dtype(code, False, True)`` then ``BUILD (3, byte order, ...)``: the
  dtype of that code (numbers and booleans only, or the container's ``O``);
- ``numpy._core.multiarray.scalar(dtype, raw bytes)``: a 0-d array;
- ``jax._src.array._reconstruct_array(reconstruct, args, state, aval)``: the
  NumPy array that ``reconstruct(*args)`` with ``state`` describes;
- ``keras.src.backend.Variable()`` then ``BUILD {"_value": array, ...}``: its
  ``_value``, checked against its ``_shape``;
- ``torch._utils._rebuild_parameter(tensor, ...)``: the tensor;
  ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``: the
  elements of the storage at those strides (every index checked in bounds);
  ``torch.storage._load_from_bytes(bytes)``: the storage's elements, read from
  PyTorch's legacy format (``_torch_storage``), whose own pickled streams
  may name only a storage class (``torch.FloatStorage``, ...) and the
  storage as its persistent id; ``collections.OrderedDict()``: an empty dict (the hooks).
"""

from __future__ import annotations

import io
import math
import pickletools
from typing import Any

import numpy as np

from gradstep import keras_archive
from gradstep.keras_archive import fail

MEMBER = keras_archive.WEIGHTS_NPZ
#: Values nested deeper than this (or in a cycle) are refused: Keras's nest about 6 deep.
MAX_DEPTH = 32

_RECONSTRUCT, _NDARRAY, _DTYPE, _SCALAR = "reconstruct", "ndarray", "dtype", "scalar"
_JAX_ARRAY, _VARIABLE = "jax array", "Variable"
_TORCH_PARAMETER, _TORCH_TENSOR, _TORCH_STORAGE = "parameter", "tensor", "storage"
_ORDERED_DICT, _STORAGE_CLASS = "OrderedDict", "storage class"
#: The globals such members name, by what they describe (numpy 1 and 2 module names).
_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("jax._src.array", "_reconstruct_array"): _JAX_ARRAY,
    ("keras.src.backend", "Variable"): _VARIABLE,
    ("keras.src.backend.jax.core", "Variable"): _VARIABLE,
    ("keras.src.backend.numpy.core", "Variable"): _VARIABLE,
    ("keras.src.backend.torch.core", "Variable"): _VARIABLE,
    ("torch._utils", "_rebuild_parameter"): _TORCH_PARAMETER,
    ("torch._utils", "_rebuild_tensor_v2"): _TORCH_TENSOR,
    ("torch.storage", "_load_from_bytes"): _TORCH_STORAGE,
    ("collections", "OrderedDict"): _ORDERED_DICT,
}
#: PyTorch's legacy storage classes (named inside a torch storage's own
#: pickled stream only), by the NumPy dtype of their elements.
_STORAGE_DTYPES = {
    "DoubleStorage": "<f8", "FloatStorage": "<f4", "HalfStorage": "<f2",
    "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}  # fmt: skip
#: The first value of PyTorch's legacy serialization (``torch.serialization.MAGIC_NUMBER``).
_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_TORCH_PROTOCOL = 1001
#: Kinds of dtype a weight may have: floats, signed and unsigned integers, booleans.
_NUMBER_KINDS = "fiub"


class _Refused(Exception):
    """The member holds something this reader does not build (the message says what)."""


class _Global:
    def __init__(self, kind: str, name: str, dtype=None):
        self.kind, self.name, self.dtype = kind, name, dtype


class _StorageReference:
    """A torch storage's persistent id: its element dtype, key and length."""

    def __init__(self, dtype: np.dtype, key: str, length: int):
        self.dtype, self.key, self.length = dtype, key, length


class _PendingArray:
    """``_reconstruct(...)``'s result: an array waiting for its ``BUILD`` state."""

    def __init__(self):
        self.value: Any = None
        self.built = False

    def build(self, state) -> None:
        if self.built:
            raise _Refused("an array is given its contents twice")
        self.value, self.built = _array_from_state(state), True


class _PendingDtype:
    def __init__(self, code):
        if not isinstance(code, str) or len(code) > 8:
            raise _Refused(f"numpy.dtype of {str(code)[:20]!r}, not a dtype code")
        try:
            dtype = np.dtype(code)
        except Exception as error:  # numpy parses the code: TypeError, SyntaxError, ...
            raise _Refused(f"numpy.dtype of {code!r}: {error}") from None
        if dtype.kind not in _NUMBER_KINDS + "O" or dtype.fields is not None:
            raise _Refused(f"an array of dtype {code!r}; weights are numbers or booleans")
        self.dtype = dtype

    def build(self, state) -> None:
        order = state[1] if isinstance(state, tuple) and len(state) > 1 else None
        if order not in ("<", ">", "|", "="):
            raise _Refused(f"a dtype with byte order {str(order)[:10]!r}")
        if order in "<>":
            self.dtype = self.dtype.newbyteorder(order)


class _VariableRecord:
    """A Keras ``Variable``'s attributes (``BUILD``'s dict), never an object."""

    def __init__(self):
        self.attributes = None

    def build(self, state) -> None:
        if not isinstance(state, dict) or "_value" not in state:
            raise _Refused("a Keras Variable without a '_value'")
        self.attributes = state


def read_weights(blob: bytes, path) -> dict[str, dict[str, np.ndarray]]:
    """``{store path: {"0": array, ...}}`` of the ``model.weights.npz`` member
    ``blob`` of the archive at ``path`` (the inner zip checked as the archive is)."""
    where = f"{path} (its {MEMBER})"
    contents = {}
    for name, raw in keras_archive.members_of(blob, where).items():
        if not name.endswith(".npy"):
            fail(path, f"{MEMBER} holds {name!r}, not an .npy array")
        contents[name[: -len(".npy")]] = member_dict(raw, path, name)
    return contents


def member_dict(raw: bytes, path, name: str) -> dict[str, np.ndarray]:
    """The dict of one ``.npy`` member of Keras's npz: its header checked,
    its pickled stream read opcode by opcode (``decode``)."""
    handle = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(handle)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"npy version {version}")
        read_header = getattr(np.lib.format, f"read_array_header_{version[0]}_0")
        shape, _, dtype = read_header(handle)
    except Exception as error:  # numpy's header parser raises SyntaxError, TokenError, ...
        fail(path, f"{MEMBER} member {name!r} is not a readable .npy array: {error}")
    if dtype != np.dtype(object) or shape != ():
        fail(
            path,
            f"{MEMBER} member {name!r} holds an array of shape {shape} and dtype {dtype}; Keras "
            "writes each layer's variables as a dict in a 0-d object array",
        )
    value = decode(raw[handle.tell() :], path, name)
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        fail(path, f"{MEMBER} member {name!r} does not hold a dict of named arrays")
    for key, array in value.items():
        if not isinstance(array, np.ndarray):
            fail(path, f"{MEMBER} member {name!r}: {key!r} is {type(array).__name__}, not an array")
    return value


def decode(data: bytes, path, name: str):
    """The value the pickled stream ``data`` describes, built from the allowed
    opcodes and globals only (see the module's docstring)."""
    machine = _Machine()
    end = -1
    try:
        for opcode, argument, position in pickletools.genops(data):
            try:
                if machine.run(opcode.name, argument):
                    end = position + 1
                    break
            except _Refused as error:
                fail(path, f"{MEMBER} member {name!r}, opcode {opcode.name} at byte {position}: "
                     f"{error}; gradstep never unpickles (that would run code)")  # fmt: skip
            except (IndexError, KeyError, TypeError, ValueError, AttributeError) as error:
                fail(path, f"{MEMBER} member {name!r} is damaged: opcode {opcode.name} at byte "
                     f"{position}: {type(error).__name__}: {error}")  # fmt: skip
        else:
            raise ValueError("the pickled stream has no STOP")
    except keras_archive.ArchiveError:
        raise
    except ValueError as error:  # genops: unknown opcode, data cut short
        fail(path, f"{MEMBER} member {name!r} is damaged (truncated?): {error}")
    if end != len(data):
        fail(path, f"{MEMBER} member {name!r} has {len(data) - end} bytes after its pickled stream")
    try:
        return _finish(machine.result, {}, 0)
    except _Refused as error:
        fail(path, f"{MEMBER} member {name!r}: {error}")


class _Machine:
    """The stack, marks and memo of a pickled stream, for the allowed opcodes."""

    def __init__(self, storages: bool = False):
        self.storages = storages  # a torch storage's pickled stream: its classes, persistent ids
        self.stack: list = []
        self.marks: list[list] = []
        self.memo: dict[int, Any] = {}
        self.result = None

    def pop_mark(self) -> list:
        items, self.stack = self.stack, self.marks.pop()
        return items

    def run(self, opcode: str, argument) -> bool:
        """Apply one opcode; True at STOP."""
        stack = self.stack
        if opcode in _PUSH_ARGUMENT:
            stack.append(bytes(argument) if opcode == "BYTEARRAY8" else argument)
        elif opcode in ("PROTO", "FRAME"):
            pass
        elif opcode == "STOP":
            self.result = stack.pop()
            if stack or self.marks:
                raise ValueError("values are left on the stack at STOP")
            return True
        elif opcode == "MARK":
            self.marks.append(stack)
            self.stack = []
        elif opcode in _CONSTANTS:
            stack.append(_CONSTANTS[opcode])
        elif opcode in _MAKERS:
            _MAKERS[opcode](self)
        elif opcode in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
            self.memo[len(self.memo) if opcode == "MEMOIZE" else argument] = stack[-1]
        elif opcode in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(self.memo[argument])
        elif opcode in ("GLOBAL", "STACK_GLOBAL"):
            if opcode == "GLOBAL":
                module, _, qualified = argument.partition(" ")
            else:
                qualified, module = stack.pop(), stack.pop()
            stack.append(_global(module, qualified, self.storages))
        elif opcode == "BINPERSID" and self.storages:
            stack.append(_storage_reference(stack.pop()))
        elif opcode == "REDUCE":
            arguments = stack.pop()
            stack.append(_call(stack.pop(), arguments))
        elif opcode == "NEWOBJ":
            arguments, cls = stack.pop(), stack.pop()
            if not (isinstance(cls, _Global) and cls.kind == _VARIABLE and arguments == ()):
                raise _Refused(f"NEWOBJ of {_named(cls)}: only a Keras Variable is read")
            stack.append(_VariableRecord())
        elif opcode == "BUILD":
            state = stack.pop()
            target = stack[-1]
            if not isinstance(target, _PendingArray | _PendingDtype | _VariableRecord):
                raise _Refused(f"BUILD (setting an object's state) on {_named(target)}")
            target.build(state)
        else:
            raise _Refused("an opcode that Keras's weights never hold")
        return False


_PUSH_ARGUMENT = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
    "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
    "SHORT_BINBYTES", "BINBYTES", "BINBYTES8", "BYTEARRAY8",
}  # fmt: skip
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


def _setitems(machine, pairs: list) -> None:
    target = machine.stack[-1]
    if not isinstance(target, dict):
        raise TypeError(f"SETITEM on {type(target).__name__}, not a dict")
    for key, value in zip(pairs[::2], pairs[1::2], strict=True):
        if not isinstance(key, str | int):
            raise _Refused(f"a dict key of type {type(key).__name__}")
        target[key] = value


def _append(machine, items: list) -> None:
    target = machine.stack[-1]
    if not isinstance(target, list):
        raise TypeError(f"APPEND on {type(target).__name__}, not a list")
    target.extend(items)


def _tuple_of(count):
    def make(machine):
        items = machine.stack[len(machine.stack) - count :] if count else []
        if len(items) != count:
            raise IndexError("the stack is too short")
        del machine.stack[len(machine.stack) - count :]
        machine.stack.append(tuple(items))

    return make


def _push(machine, value) -> None:
    """Push onto the stack as it is once the arguments are evaluated (after a
    ``pop_mark`` has restored the outer stack)."""
    machine.stack.append(value)


def _pop_pair(machine) -> list:
    value = machine.stack.pop()
    return [machine.stack.pop(), value]


_MAKERS = {
    "EMPTY_TUPLE": _tuple_of(0),
    "TUPLE1": _tuple_of(1),
    "TUPLE2": _tuple_of(2),
    "TUPLE3": _tuple_of(3),
    "TUPLE": lambda m: _push(m, tuple(m.pop_mark())),
    "EMPTY_LIST": lambda m: m.stack.append([]),
    "LIST": lambda m: _push(m, m.pop_mark()),
    "APPEND": lambda m: _append(m, [m.stack.pop()]),
    "APPENDS": lambda m: _append(m, m.pop_mark()),
    "EMPTY_DICT": lambda m: m.stack.append({}),
    "SETITEM": lambda m: _setitems(m, _pop_pair(m)),
    "SETITEMS": lambda m: _setitems(m, m.pop_mark()),
}


def _dict_from_mark(machine) -> None:
    pairs = machine.pop_mark()
    machine.stack.append({})
    _setitems(machine, pairs)


_MAKERS["DICT"] = _dict_from_mark


def _global(module, qualified, storages: bool = False) -> _Global:
    if not isinstance(module, str) or not isinstance(qualified, str):
        raise _Refused("a global named by something other than strings")
    if storages and module == "torch" and qualified in _STORAGE_DTYPES:
        dtype = np.dtype(_STORAGE_DTYPES[qualified])
        return _Global(_STORAGE_CLASS, f"torch.{qualified}", dtype)
    kind = None if storages else _GLOBALS.get((module, qualified))
    if kind is None:
        raise _Refused(f"the global {module}.{qualified} is not one that describes arrays")
    return _Global(kind, f"{module}.{qualified}")


def _named(value) -> str:
    return value.name if isinstance(value, _Global) else type(value).__name__


def _call(function, arguments):
    """REDUCE: what calling ``function`` with ``arguments`` describes (nothing is called)."""
    if not isinstance(function, _Global) or not isinstance(arguments, tuple):
        raise _Refused(f"REDUCE of {_named(function)}")
    if function.kind == _RECONSTRUCT:
        return _reconstructed(arguments)
    if function.kind == _DTYPE and len(arguments) == 3:
        return _PendingDtype(arguments[0])
    if function.kind == _SCALAR and len(arguments) == 2:
        dtype, data = arguments
        return _array_from_state((1, (), dtype, False, data))
    if function.kind == _JAX_ARRAY and len(arguments) == 4:
        reconstruct, reconstruct_arguments, state, _ = arguments
        if not (isinstance(reconstruct, _Global) and reconstruct.kind == _RECONSTRUCT):
            raise _Refused(f"a JAX array rebuilt by {_named(reconstruct)}")
        array = _reconstructed(reconstruct_arguments)
        array.build(state)
        return array
    if function.kind == _ORDERED_DICT and arguments == ():
        return {}  # a tensor's (empty) backward hooks
    if function.kind == _TORCH_STORAGE and len(arguments) == 1:
        return _torch_storage(arguments[0])
    if function.kind == _TORCH_TENSOR and len(arguments) in (6, 7):
        return _torch_tensor(*arguments[:4])
    if function.kind == _TORCH_PARAMETER and len(arguments) == 3:
        if not isinstance(arguments[0], np.ndarray):
            raise _Refused(f"a torch parameter of {type(arguments[0]).__name__}")
        return arguments[0]
    raise _Refused(f"REDUCE of {function.name} with {len(arguments)} arguments")


# --- PyTorch's tensors (Keras's torch backend) ---------------------------------------
def _torch_storage(blob) -> np.ndarray:
    """The elements of a torch storage that ``torch.storage._load_from_bytes``
    would rebuild: PyTorch's legacy serialization, five pickles (magic number,
    protocol, system info, the storage as a persistent id, the list of keys)
    then the length (int64) and raw bytes of the one storage."""
    if not isinstance(blob, bytes):
        raise _Refused(f"a torch storage given as {type(blob).__name__}, not bytes")
    handle = io.BytesIO(blob)
    if _read_pickle(handle) != _TORCH_MAGIC or _read_pickle(handle) != _TORCH_PROTOCOL:
        raise _Refused("a torch storage without PyTorch's magic number and protocol 1001")
    info = _read_pickle(handle)
    if not (isinstance(info, dict) and info.get("little_endian") is True):
        raise _Refused("a torch storage that is not little-endian")
    reference = _read_pickle(handle, storages=True)
    if not isinstance(reference, _StorageReference) or _read_pickle(handle) != [reference.key]:
        raise _Refused("a torch storage whose pickled stream is not one storage and its key")
    length = int.from_bytes(handle.read(8), "little", signed=True)
    data = handle.read()
    if length != reference.length or len(data) != length * reference.dtype.itemsize:
        raise _Refused(
            f"a torch storage of {reference.length} elements of {reference.dtype} given "
            f"{length} elements and {len(data)} bytes"
        )
    return np.frombuffer(data, dtype=reference.dtype).astype(reference.dtype.newbyteorder("="))


def _read_pickle(handle, storages: bool = False):
    """The value of the next pickled stream in ``handle`` (allowed opcodes only)."""
    machine = _Machine(storages)
    for opcode, argument, _ in pickletools.genops(handle):
        if machine.run(opcode.name, argument):
            return _finish(machine.result, {}, 0)
    raise _Refused("a torch storage cut short")


def _storage_reference(pid) -> _StorageReference:
    """``('storage', torch.<X>Storage, key, location, length, view metadata)``."""
    if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
        raise _Refused(f"a persistent id {str(pid)[:60]}, not a torch storage's")
    _, storage_class, key, _, length, view = pid
    if not (isinstance(storage_class, _Global) and storage_class.kind == _STORAGE_CLASS):
        raise _Refused(f"a torch storage of class {_named(storage_class)}")
    if not isinstance(key, str) or type(length) is not int or length < 0 or view is not None:
        raise _Refused("a torch storage with a malformed key, length or view")
    return _StorageReference(storage_class.dtype, key, length)


def _torch_tensor(storage, offset, size, stride) -> np.ndarray:
    """``_rebuild_tensor_v2``'s tensor: ``size`` elements of ``storage`` from
    ``offset`` with ``stride`` (in elements), every index checked in bounds."""
    if not isinstance(storage, np.ndarray) or storage.ndim != 1:
        raise _Refused(f"a torch tensor over {type(storage).__name__}, not a storage")
    numbers = (
        (offset, *size, *stride) if isinstance(size, tuple) and isinstance(stride, tuple) else ()
    )
    if not numbers or len(size) != len(stride) or any(type(n) is not int or n < 0 for n in numbers):
        raise _Refused("a torch tensor with a malformed offset, size or stride")
    if 0 in size:
        return np.zeros(size, storage.dtype)
    last = offset + sum((n - 1) * step for n, step in zip(size, stride, strict=True))
    if last >= len(storage):
        raise _Refused(f"a torch tensor reaching element {last} of a storage of {len(storage)}")
    strides = [step * storage.itemsize for step in stride]
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size, strides=strides)
    return view.copy()


def _reconstructed(arguments) -> _PendingArray:
    if not (
        isinstance(arguments, tuple)
        and len(arguments) == 3
        and isinstance(arguments[0], _Global)
        and arguments[0].kind == _NDARRAY
    ):
        raise _Refused("numpy's _reconstruct of something other than a numpy.ndarray")
    return _PendingArray()


def _array_from_state(state):
    """``ndarray.__setstate__``'s ``(version, shape, dtype, fortran, data)`` as
    an array (a copy of the bytes), or the one value of a 0-d object array."""
    if isinstance(state, tuple) and len(state) == 5 and state[0] == 1:
        state = state[1:]
    if not (isinstance(state, tuple) and len(state) == 4):
        raise _Refused("an array state that is not (shape, dtype, order, data)")
    shape, dtype, fortran, data = state
    if not isinstance(dtype, _PendingDtype):
        raise _Refused(f"an array whose dtype is {type(dtype).__name__}")
    if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
        raise _Refused(f"an array of shape {str(shape)[:40]}")
    dtype = dtype.dtype
    if dtype.kind == "O":
        if shape != () or not (isinstance(data, list) and len(data) == 1):
            raise _Refused("an object array other than Keras's 0-d container of one dict")
        return _Contained(data[0])
    if not isinstance(data, bytes):
        raise _Refused(f"an array whose data are {type(data).__name__}, not bytes")
    expected = math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise _Refused(
            f"an array of shape {shape} and dtype {dtype} ({expected} bytes) "
            f"given {len(data)} bytes"
        )
    order = "F" if fortran else "C"
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()
    return array.astype(dtype.newbyteorder("="), copy=False)


class _Contained:
    """The one value of Keras's 0-d object container."""

    def __init__(self, value):
        self.value = value


def _finish(value, done: dict[int, Any], depth: int):
    """``value`` with every pending array and Variable record replaced by its
    NumPy array (each object once: shared references stay shared)."""
    if depth > MAX_DEPTH:
        raise _Refused(f"values nested deeper than {MAX_DEPTH} (or in a cycle)")
    key = id(value)
    if key in done:
        return done[key]
    if isinstance(value, _PendingArray):
        if not value.built:
            raise _Refused("an array that was never given its contents")
        result = _finish(value.value, done, depth + 1)
    elif isinstance(value, _Contained):
        result = _finish(value.value, done, depth + 1)
    elif isinstance(value, _VariableRecord):
        result = _variable_value(value, done, depth)
    elif isinstance(value, dict):
        result = {k: _finish(item, done, depth + 1) for k, item in value.items()}
    elif isinstance(value, list | tuple):
        result = type(value)(_finish(item, done, depth + 1) for item in value)
    elif isinstance(value, _Global | _PendingDtype):
        raise _Refused(f"{_named(value)} left as a value, not used to describe an array")
    else:
        result = value
    done[key] = result
    return result


def _variable_value(record: _VariableRecord, done, depth) -> np.ndarray:
    if record.attributes is None:
        raise _Refused("a Keras Variable that was never given its attributes")
    value = _finish(record.attributes["_value"], done, depth + 1)
    if not isinstance(value, np.ndarray):
        raise _Refused(f"a Keras Variable whose value is {type(value).__name__}, not an array")
    shape = record.attributes.get("_shape", value.shape)
    if not isinstance(shape, tuple | list) or tuple(shape) != value.shape:
        raise _Refused(f"a Keras Variable of shape {shape} holding an array of {value.shape}")
    return value
