"""Optional fast paths, each with a plain NumPy twin that gives the same numbers.

A kernel is used when its engine is installed (``pip install "gradstep[speed]"``
brings numba) and ``set_backend`` allows it; otherwise the NumPy twin
runs. Engines are imported on first use, never by ``import gradstep``; under
the default backend, ``'auto'``, the twin also runs until its kernel is loaded,
which happens on a background thread once the twins' extra time warrants it
(``kernels.loading``).

Each optimizer kernel updates one parameter and its slots in a single pass
over memory (the NumPy twin needs several), computes every operation in the
parameter's dtype in the twin's order, and flushes decaying slots that fall
below the dtype's smallest normal number to zero (see ``flush_subnormals``).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import numpy as np

from gradstep.kernels import ahead, loading, trace
from gradstep.validation import check_int

_BACKEND = "auto"
_BACKENDS = ("auto", "numpy", "numba")


def set_backend(name: str) -> None:
    """``'auto'`` (numba when installed, the default: the NumPy twins until the
    kernels are loaded in the background, see ``kernels.loading``), ``'numpy'``
    (the twins only) or ``'numba'`` (every kernel, loaded when first needed)."""
    global _BACKEND
    if name not in _BACKENDS:
        raise ValueError(f"kernel backend must be one of {_BACKENDS}, received {name!r}")
    if name == "numba" and not numba_imports():
        raise ValueError("kernel backend 'numba' needs numba: pip install 'gradstep[speed]'")
    _BACKEND = name


def backend() -> str:
    return _BACKEND


def use_numba() -> bool:
    if trace.ACTIVE is not None:  # a step being explained runs the NumPy twins, which note
        return False
    if _BACKEND == "auto":  # (asked several times a step: the cached answer first)
        return _NUMBA_AVAILABLE if _NUMBA_AVAILABLE is not None else numba_available()
    return _BACKEND == "numba"


_NUMBA_AVAILABLE: bool | None = None


def numba_available() -> bool:
    """Whether numba is installed (found, not imported: importing it takes
    a fresh process about a quarter of a second, see ``kernels.loading``)."""
    global _NUMBA_AVAILABLE
    if _NUMBA_AVAILABLE is None:
        import importlib.util

        _NUMBA_AVAILABLE = importlib.util.find_spec("numba") is not None
    return _NUMBA_AVAILABLE


def numba_imports() -> bool:
    """Whether numba is installed and imports."""
    global _NUMBA_AVAILABLE
    try:
        import numba  # noqa: F401
    except ImportError:
        _NUMBA_AVAILABLE = False
    return numba_available()


_THREADS: int | str = "auto"
#: Parameters smaller than this always run on the calling thread.
PARALLEL_MIN_SIZE = 1 << 18
_POOL = None
_POOL_SIZE = 0
_POOL_PID = 0


def set_threads(count: int | str) -> None:
    """How many threads a fused kernel uses on a large parameter (at least
    ``PARALLEL_MIN_SIZE`` entries), each on its own slice. ``'auto'``, the
    default, uses every core this process may run on, except inside ``fit``
    (see ``training_threads``); 1 runs every kernel on the calling thread.
    The numbers do not depend on it.

    Smaller parameters always stay on the calling thread, where starting a
    thread would cost more than it saves; so models whose weights all fit in
    a core's cache are unaffected, as with ``config.set_blas_threads('auto')``.
    """
    global _THREADS
    if count != "auto":
        expected = "'auto' or a positive integer"
        count = check_int(count, "kernel threads", minimum=1, expected=expected)
    _THREADS = count


def threads() -> int:
    """The number of threads a large parameter's kernel runs on."""
    if _THREADS != "auto":
        return _THREADS
    return 1 if _TRAINING_LOOPS else available_cores()


_TRAINING_LOOPS = 0


@contextlib.contextmanager
def training_threads():
    """Inside it (``fit`` enters it), ``'auto'`` means one kernel thread.

    Between the matrix products of the forward and backward passes, BLAS's
    own threads keep spinning on the other cores for a while; a second
    kernel thread competes with them, and made training the 784-1024-1024-10
    MLP 1% (batch 256) to 4% (batch 32) slower, though it makes an Adam step
    on its own about 1.6 times faster (benchmarks/bench_optimizers.py).
    """
    global _TRAINING_LOOPS
    _TRAINING_LOOPS += 1
    try:
        yield
    finally:
        _TRAINING_LOOPS -= 1
        if not _TRAINING_LOOPS:
            loading.end_fit()


def expect_steps(steps: int | None) -> None:
    """``fit`` says how many training steps it will run (None when its data
    does not tell), so that the kernels can be loaded from its first step when
    the fit is long enough to pay for them (``kernels.loading``)."""
    loading.expect_steps(steps)


def split_batch(kernel: Callable, arrays, scalars) -> None:
    """Run ``kernel(*arrays, *scalars)``, the arrays' first (batch) axis split
    into contiguous parts, one per ``threads()`` thread (one inside ``fit``
    unless ``set_threads`` says otherwise), when the largest array has at
    least ``PARALLEL_MIN_SIZE`` entries (the kernel releases the GIL, and the
    samples are independent, so the numbers do not depend on the split)."""
    batch = len(arrays[0])
    large = max(array.size for array in arrays) >= PARALLEL_MIN_SIZE
    count = min(threads(), batch) if large else 1
    if count <= 1:
        kernel(*arrays, *scalars)
        return
    pool = _thread_pool(count - 1)
    bounds = [batch * part // count for part in range(count + 1)]
    parts = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    others = [pool.submit(kernel, *[a[part] for a in arrays], *scalars) for part in parts[1:]]
    kernel(*[a[parts[0]] for a in arrays], *scalars)
    for future in others:
        future.result()


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def launch(name: str, compile_kernel: Callable[[], Callable], arrays, scalars) -> None:
    """Run the compiled kernel ``name`` over the flattened ``arrays`` (all of one
    size), split into ``threads()`` slices when they are large (the kernels
    release the GIL, and every entry is updated independently); the kernel is
    made now if it is not loaded yet. A caller that has the NumPy twin at hand
    calls ``try_launch`` instead, which does not wait for the kernel."""
    flat = _flat(arrays)
    _run_split(compiled(name, compile_kernel), flat, scalars)


def try_launch(name: str, compile_kernel: Callable[[], Callable], arrays, scalars) -> bool:
    """``launch`` if the kernel is ready (``ready``); else run nothing and
    return False, and the caller runs the NumPy twin (same bits)."""
    flat = _flat(arrays)
    kernel = ready(name, compile_kernel, (*flat, *scalars), flat[0].size)
    if kernel is None:
        return False
    _run_split(kernel, flat, scalars)
    return True


def run_flat(kernel: Callable, arguments: tuple, array_count: int) -> None:
    """Run a ready kernel on ``arguments``: ``array_count`` flat arrays of one
    size, then scalars (split over threads as ``launch`` does when large)."""
    if arguments[0].size < PARALLEL_MIN_SIZE:
        kernel(*arguments)
        return
    _run_split(kernel, list(arguments[:array_count]), arguments[array_count:])


def _flat(arrays) -> list:
    return [array if array.ndim == 1 else array.reshape(-1) for array in arrays]


def _run_split(kernel: Callable, flat: list, scalars) -> None:
    size = flat[0].size
    count = threads() if size >= PARALLEL_MIN_SIZE else 1
    if count == 1:
        kernel(*flat, *scalars)
        return
    pool = _thread_pool(count - 1)
    bounds = [size * part // count for part in range(count + 1)]
    slices = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    others = [pool.submit(kernel, *[a[part] for a in flat], *scalars) for part in slices[1:]]
    kernel(*[a[slices[0]] for a in flat], *scalars)
    for future in others:
        future.result()


def _thread_pool(workers: int):
    """The process's pool of kernel threads, grown to ``workers`` if needed and
    made anew in a forked child (whose copy of the pool has no threads)."""
    import os

    global _POOL, _POOL_SIZE, _POOL_PID
    if _POOL is None or _POOL_SIZE < workers or _POOL_PID != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        if _POOL is not None and _POOL_PID == os.getpid():
            _POOL.shutdown()
        _POOL = ThreadPoolExecutor(workers, thread_name_prefix="gradstep-kernel")
        _POOL_SIZE, _POOL_PID = workers, os.getpid()
    return _POOL


def fusable(*arrays: np.ndarray) -> bool:
    """Whether the fused kernel may run on these arrays: numba is allowed and
    installed, and every array is C-contiguous (so it can be walked flat)."""
    return use_numba() and all(array.flags.c_contiguous for array in arrays)


def compiled(name: str, compile_kernel: Callable[[], Callable], arguments=None) -> Callable:
    """The kernel ``compile_kernel()`` builds, made once per process on the
    calling thread if it is not loaded yet (numba caches the machine code on
    disk), unless the kernel compiled ahead of time fits ``arguments`` (the
    kernel's whole argument list; same bits). For callers that cannot switch
    to a twin from one call to the next (pooling and LSTM: their forward pass
    decides the backward's); the others call ``ready``, which does not wait."""
    kernel = loading.loaded(name)
    if kernel is None and arguments is not None:
        kernel = ahead.kernel_for(name, arguments)
    return kernel or loading.load_now(name, compile_kernel)


def available(name: str, arguments) -> Callable | None:
    """The kernel ``name`` if it can run now on ``arguments`` (which the
    caller has made sure fit its signature, as ``ready``'s ``fitting``) without
    being made: loaded already, or compiled ahead of time; None when numba is
    not in use or the kernel is not ready. Asks for nothing to be loaded (the
    callers fall back on a path that asks ``ready``)."""
    if not use_numba():
        return None
    return loading.loaded(name) or ahead.kernel_for(name, arguments, fitting=True)


def ready_if_used(
    name: str, compile_kernel: Callable[[], Callable], arguments, size: int, fitting=False
):
    """``ready``'s answer when numba may run (``use_numba``), else None: the
    caller runs the NumPy twin (same bits)."""
    return ready(name, compile_kernel, arguments, size, fitting) if use_numba() else None


def ready(name: str, compile_kernel: Callable[[], Callable], arguments, size: int, fitting=False):
    """The kernel ``name`` if the caller should run it on ``arguments`` (the
    kernel's whole argument list; ``size`` entries): under ``'numba'`` always
    (made now if need be); under ``'auto'`` once it is loaded, else None, and
    the caller runs the NumPy twin, which gives the same bits, while
    ``kernels.loading`` counts the cost and loads the kernel in the background
    when that pays; None under ``'numpy'``. Under either of the first two, the
    kernel compiled ahead of time (``kernels.ahead``) is taken when this
    machine has one for the arguments' dtype: it loads without numba.
    ``fitting=True`` says that the caller has made sure that the arguments fit
    the kernel's signature (``ahead.kernel_for``), which is not checked again."""
    kernel = loading.loaded(name)
    if kernel is not None or _BACKEND == "numpy":
        return kernel
    kernel = ahead.kernel_for(name, arguments, fitting)  # compiled ahead of time: same bits
    if kernel is not None:
        return kernel
    if _BACKEND == "numba":
        return loading.load_now(name, compile_kernel)
    loading.request(name, compile_kernel, arguments, size)
    return None


def jit():
    """numba's ``njit`` as the kernels use it: error_model="numpy" drops the
    zero-division check that would stop LLVM from vectorizing the loop; no
    fastmath, so rounding stays NumPy's."""
    import numba

    return numba.njit(cache=True, nogil=True, error_model="numpy")


def flush_subnormals(array: np.ndarray, non_negative: bool = False) -> None:
    """Set entries whose magnitude is below the smallest normal number to 0.

    A slot that decays geometrically (a momentum whose gradient stays exactly
    zero, as for a pixel that is always blank) otherwise lingers for hundreds
    or thousands of steps among the subnormal numbers, on which x86 arithmetic
    is 10 to 100 times slower. XLA's CPU runtime, under Keras, flushes them too.
    """
    tiny = smallest_normal(array.dtype)
    small = array < tiny if non_negative else np.abs(array) < tiny
    np.copyto(array, 0, where=small)


@functools.cache
def smallest_normal(dtype) -> np.floating:
    """``np.finfo(dtype).tiny``, the dtype's smallest normal number, looked up
    once per dtype: the kernels read it for every parameter on every step,
    and ``np.finfo`` costs a few hundred nanoseconds at each call."""
    return np.finfo(dtype).tiny
