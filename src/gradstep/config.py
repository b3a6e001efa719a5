"""Process-wide defaults, under Keras's names: the default float type and the
image data format."""

from __future__ import annotations

import contextlib
import sys
import threading

import numpy as np

from gradstep.validation import check_int

_FLOATX = "float32"


def floatx() -> str:
    """The dtype of weights whose layer sets none: ``'float32'`` unless changed."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default weight dtype: ``'float32'`` or ``'float64'``."""
    global _FLOATX
    _FLOATX = standardize_dtype(value)


_IMAGE_DATA_FORMAT = "channels_last"
IMAGE_DATA_FORMATS = ("channels_last", "channels_first")


def image_data_format() -> str:
    """Where spatial layers find the channels when their ``data_format`` is
    None: ``'channels_last'`` (``(batch, height, width, channels)``) unless changed."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(value: str) -> None:
    """Set the default ``data_format``: ``'channels_last'`` or ``'channels_first'``."""
    global _IMAGE_DATA_FORMAT
    _IMAGE_DATA_FORMAT = standardize_data_format(value)


def standardize_data_format(value) -> str:
    """``data_format`` as Keras reads it: None means ``image_data_format()``;
    otherwise ``'channels_last'`` or ``'channels_first'``, in any case."""
    if value is None:
        return _IMAGE_DATA_FORMAT
    name = str(value).lower()
    if name not in IMAGE_DATA_FORMATS:
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', received {value!r}"
        )
    return name


FLOAT_DTYPES = ("float16", "float32", "float64")
INPUT_DTYPES = FLOAT_DTYPES + ("int8", "int16", "int32", "int64", "uint8", "bool")


def standardize_dtype(value) -> str:
    """A weight dtype's name: ``'float16'``, ``'float32'`` or ``'float64'``."""
    return _dtype_name(value, FLOAT_DTYPES)


#: Keras's dtype name for inputs of text (``Input(dtype="string")``).
STRING_DTYPE = "string"


def standardize_input_dtype(value) -> str:
    """An input's dtype name: a float type, an integer type for inputs that
    hold indices, or ``'string'`` (also ``str``) for text, as Keras names it;
    integers and strings are never cast to floats on the way in."""
    if value is str or (isinstance(value, str) and value == STRING_DTYPE):
        return STRING_DTYPE
    return _dtype_name(value, INPUT_DTYPES, also=(STRING_DTYPE,))


def _dtype_name(value, allowed, also=()) -> str:
    try:
        name = np.dtype(value).name
    except TypeError:
        name = None
    if name not in allowed:
        names = [repr(d) for d in allowed + also]
        raise ValueError(
            f"dtype must be {', '.join(names[:-1])} or {names[-1]}, received {value!r}"
        )
    return name


_BLAS_THREADS: int | str | None = "auto"

# Models whose matrix products are smaller than this (in weight entries per
# sample, see Layer.product_size) train faster on one BLAS thread.
AUTO_THREADS_MIN_WEIGHTS = 262_144


def blas_threads() -> int | str | None:
    """How many BLAS threads fit, evaluate and predict use: ``'auto'`` (the
    default), a number, or None (BLAS's own choice)."""
    return _BLAS_THREADS


def set_blas_threads(value: int | str | None) -> None:
    """Set the BLAS thread count used while training and predicting.

    ``'auto'`` (the default) uses one thread when the model's largest weight
    matrix has fewer than ``AUTO_THREADS_MIN_WEIGHTS`` (262,144) entries, and
    BLAS's own thread count otherwise; a convolution's kernel counts once per
    position it slides over (``Layer.product_size``). Small models' matrices
    are too small for threads to pay, and OpenBLAS's spinning threads slow such
    a step down tenfold or more when another process holds a core; large ones
    (a 784x1024 layer, the MNIST convnet's second convolution) run faster on
    every core. Takes effect through ``threadpoolctl`` (installed with the
    ``main`` extra); without it, BLAS keeps its own setting.
    """
    global _BLAS_THREADS
    if value != "auto":
        expected = "'auto', a positive integer or None"
        value = check_int(value, "blas threads", minimum=1, allow_none=True, expected=expected)
    _BLAS_THREADS = value


#: The BLAS threads in effect inside ``limit_blas_threads`` (None: BLAS's own
#: count), or ``_UNLIMITED`` outside it; per thread (``_THIS_THREAD.threads``).
_UNLIMITED = "unlimited"


class _ThreadState(threading.local):
    threads: int | str | None = _UNLIMITED


_THIS_THREAD = _ThreadState()

#: The threads inside ``limit_blas_threads`` now, each with its depth of calls.
#: BLAS's thread count belongs to the whole process: only a thread that is
#: alone inside sets it, and it undoes its own settings, last first. A thread
#: that enters while another is inside leaves BLAS as it finds it (the
#: numbers are the same on any count of threads; only the speed differs), so
#: that no thread restores a count from under another, or leaves one set
#: after both have ended.
_INSIDE: dict[int, int] = {}
_INSIDE_LOCK = threading.Lock()


def blas_threads_in_effect() -> int | None:
    """The BLAS thread count the running ``fit``, ``evaluate`` or ``predict``
    of this thread allows (``limit_blas_threads``): a number, or None when BLAS
    keeps its own (or outside them)."""
    threads = _THIS_THREAD.threads
    return None if threads == _UNLIMITED else threads


@contextlib.contextmanager
def limit_blas_threads(largest_weights: int = 0):
    """A context manager applying ``blas_threads`` for a model whose largest
    weight matrix has ``largest_weights`` entries, counted once per position
    for a convolution (``Model.product_size``; BLAS is left alone without
    threadpoolctl, though ``blas_threads_in_effect`` still tells the count).
    Safe to enter from several threads at once (see ``_INSIDE``)."""
    threads = _BLAS_THREADS
    if threads == "auto":
        threads = 1 if largest_weights < AUTO_THREADS_MIN_WEIGHTS else None
    previous, _THIS_THREAD.threads = _THIS_THREAD.threads, threads
    me = threading.get_ident()
    with _INSIDE_LOCK:
        _INSIDE[me] = _INSIDE.get(me, 0) + 1
        limit = _threadpool_limits(threads) if len(_INSIDE) == 1 else _NO_CHANGE
        limit.__enter__()
    try:
        yield
    finally:
        with _INSIDE_LOCK:
            limit.__exit__(None, None, None)
            _INSIDE[me] -= 1
            if not _INSIDE[me]:
                del _INSIDE[me]
        _THIS_THREAD.threads = previous


#: A matrix product whose result has fewer entries than this, or that takes
#: fewer multiply-adds than ``SERIAL_PRODUCT_MAX_WORK``, runs on one BLAS
#: thread even where the model's products use several (``product_threads``).
SERIAL_PRODUCT_MAX_ENTRIES = 4096
SERIAL_PRODUCT_MAX_WORK = 1 << 25


_NO_CHANGE = contextlib.nullcontext()


def product_threads(left: np.ndarray, right: np.ndarray):
    """A context manager for the matrix product ``left @ right`` (``left``
    of any rank, ``right`` a matrix): one BLAS thread when the product is small
    (``SERIAL_PRODUCT_MAX_ENTRIES``, ``SERIAL_PRODUCT_MAX_WORK``) and ``fit``,
    ``evaluate`` or ``predict`` lets BLAS use several; otherwise no change.

    A second thread costs a meeting at a barrier after every block of the
    sum: for a long sum into a small matrix (a first convolution's kernel
    slope, 9 x 32 entries, each a sum over 86,528 positions) hundreds of
    them. A product of fewer than 2**25 multiply-adds (a first convolution
    on grey images; a Dense layer of 10 units) takes a millisecond or two on
    one thread, and a second saves at most half of it. But when another
    process holds a core, every meeting waits for it to be scheduled: such
    a product then took 48 ms instead of 1.4 (median, MNIST's first
    convolution on a 2-core machine running other jobs). One thread gives
    the same bits (each entry's sum is unchanged)."""
    in_effect = _THIS_THREAD.threads
    if in_effect == 1 or in_effect == _UNLIMITED:
        return _NO_CHANGE  # one thread already, or no limit in force: whatever the shapes
    inner, columns = right.shape
    rows = left.size // inner
    small = rows * columns < SERIAL_PRODUCT_MAX_ENTRIES or (
        rows * inner * columns < SERIAL_PRODUCT_MAX_WORK
    )
    if not small or len(_INSIDE) > 1:  # (another thread inside: BLAS is not this one's)
        return _NO_CHANGE
    controller = _blas_controller()
    if controller is None:
        return _NO_CHANGE
    return controller.limit(limits=1, user_api="blas")


_CONTROLLER: tuple[int, object] | None = None


def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries (None without
    threadpoolctl), made once and remade only when modules were imported since
    (a new BLAS comes with an extension module, such as SciPy's): switching its
    limit then costs microseconds, where a fresh scan of the process's libraries
    costs about 10 ms."""
    global _CONTROLLER
    modules = len(sys.modules)
    if _CONTROLLER is None or _CONTROLLER[0] != modules:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        _CONTROLLER = (len(sys.modules), ThreadpoolController())
    return _CONTROLLER[1]


def _threadpool_limits(threads: int | None):
    """threadpoolctl's limit through ``_blas_controller``: a fresh
    ``threadpool_limits`` scans the process's loaded libraries each time, about
    10 ms, which ``train_on_batch`` would pay on every call."""
    controller = None if threads is None else _blas_controller()
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=threads, user_api="blas")
