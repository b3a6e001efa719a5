"""When the compiled kernels load: the NumPy twins run until they are ready.

A fresh process pays for numba once, at its first kernel: importing numba and
setting up its compiler (which loading even one kernel from numba's disk cache
needs) takes about ``LOAD_SECONDS`` of CPU time, most of it Python code that
holds the GIL. The reference model's whole warm fit is shorter than that, and
a kernel saves only a few microseconds a step over its twin on parameters of a
few thousand entries, so paying for numba up front made the first fit two to
three times as long as the next (issue 19).

So, under the ``'auto'`` backend, a kernel that is not loaded yet is not
waited for: the caller runs the NumPy twin, which gives the same bits, and
the time the twins cost beyond the kernels is counted with a measured rule,
``twin_extra_seconds(size)``, per call. Loading starts, on a background
thread (which shares the GIL with training, so it is not free either):

- in a ``fit`` whose twins, at the rate of its first step, would cost more
  than loading (``LOAD_SECONDS``) over the steps it announced
  (``expect_steps``): the fit pays for the loading by itself;
- in the second ``fit`` of a process whose first ran twins: a process that
  trains again is taken to keep training, and every later fit gains the
  kernels' speed (waiting longer made the next few fits of the reference
  model 20 to 35% slower than with its kernels);
- outside ``fit`` (``train_on_batch``, an optimizer's ``apply`` in a custom
  loop), once the twins' extra time counted so far reaches ``LOAD_SECONDS``:
  rent skis until the rent paid equals the price.

From then on every kernel asked for is loaded in the background too, and
each call uses its kernel once it is there. The 784-1024-1024-10 MLP (about
5.6 ms a step by the table below) thus starts loading at its first step; the
reference model (about 0.16 ms a step, 0.14 s over its 900-step fit) runs its
first fit on the twins, loads the kernels during its second and runs the
third on them, and a script that fits once never imports numba.
``set_backend('numba')`` loads a kernel on the calling thread when it is
first needed (as before); ``set_backend('numpy')`` never loads one. The numbers were measured by
``benchmarks/bench_kernel_loading.py`` on a 2-core AMD EPYC.

The switch is safe at any moment: a call uses either the twin or the kernel,
whole, and the two give the same bits (tests/kernels/test_loading.py).
"""

from __future__ import annotations

import atexit
import functools
import math
import os
import threading
import warnings
from collections.abc import Callable

import numpy as np

from gradstep.kernels import ahead

#: CPU seconds a fresh process spends importing numba and loading its first
#: kernel from numba's disk cache (benchmarks/bench_kernel_loading.py).
LOAD_SECONDS = 0.44

#: (parameter entries, seconds) points: the CPU time an Adam step's NumPy twin
#: on a float32 parameter of that size takes beyond the fused kernel, measured
#: by benchmarks/bench_kernel_loading.py; between the points the seconds are
#: interpolated on the logarithm of the size. The other kernels are counted
#: with the same table (Adam's is the common case; its twin has the most passes).
TWIN_EXTRA = (
    (10, 7.8e-6),
    (100, 8.0e-6),
    (1_000, 10.9e-6),
    (10_000, 25.2e-6),
    (100_000, 209.3e-6),
    (1_000_000, 2829.4e-6),
)


@functools.cache
def twin_extra_seconds(size: int) -> float:
    """The seconds one twin call on ``size`` entries costs beyond its kernel
    (``TWIN_EXTRA``, interpolated on log sizes; proportional to the size above
    the largest point)."""
    sizes, seconds = zip(*TWIN_EXTRA, strict=True)
    if size > sizes[-1]:
        return seconds[-1] * size / sizes[-1]
    return float(np.interp(math.log(max(size, 1)), np.log(sizes), seconds))


class _Account:
    """What the twins have cost so far, and what the running fit will cost."""

    def __init__(self):
        self.owed = 0.0  # seconds, over the process's life
        self.owed_before_fit = 0.0
        self.fitting = False
        self.fits_on_twins = 0  # fits that ran twins
        self.fit_steps = 0  # steps of the running fit, 0 when unknown or outside fit
        self.fit_keys: set = set()
        self.fit_projected = 0.0

    def start_fit(self, steps: int, fitting: bool = True) -> None:
        self.fitting = fitting
        self.fit_steps = steps
        self.fit_keys = set()
        self.fit_projected = 0.0
        self.owed_before_fit = self.owed

    def end_fit(self) -> None:
        if self.fitting and self.owed > self.owed_before_fit:
            self.fits_on_twins += 1
            ahead.build_in_background()  # so that the next process has its kernels at once
        self.start_fit(0, fitting=False)

    def charge(self, name: str, size: int) -> bool:
        """Count one twin call; whether to load the kernels now."""
        extra = twin_extra_seconds(size)
        self.owed += extra
        if self.fitting and self.fits_on_twins:
            return True
        if self.fit_steps and (name, size) not in self.fit_keys:
            # one key per kernel and size: a conservative count of the
            # parameters (two biases of one size count once)
            self.fit_keys.add((name, size))
            self.fit_projected += extra * self.fit_steps
        this_fit = max(self.fit_projected, self.owed - self.owed_before_fit)
        return self.owed_before_fit + this_fit >= LOAD_SECONDS


_ACCOUNT = _Account()
_STARTED = False  # loading has started: every kernel asked for is loaded
_LOADED: dict[str, Callable] = {}
_FAILED: dict[str, BaseException] = {}
_WARNED: set[str] = set()
_REQUESTED: set[str] = set()
_QUEUE: list[tuple[str, Callable, tuple]] = []
_QUEUE_LOCK = threading.Lock()
_LOAD_LOCK = threading.RLock()  # one load at a time, on any thread
_LOADER: threading.Thread | None = None
_STOP_AT_EXIT = False


def expect_steps(steps: int | None) -> None:
    """``fit`` announces how many training steps it will run (None when its
    data does not say); the count holds until the fit ends (``end_fit``)."""
    _ACCOUNT.start_fit(steps or 0)


def end_fit() -> None:
    _ACCOUNT.end_fit()


def loaded(name: str) -> Callable | None:
    """The kernel ``name`` if it is loaded, else None."""
    return _LOADED.get(name)


def load_now(name: str, compile_kernel: Callable[[], Callable]) -> Callable:
    """The kernel ``name``, made on the calling thread if no other thread has
    (waiting for the loader if it is making it). numba compiles a signature
    (or loads it from its disk cache) at the first call with it."""
    kernel = _LOADED.get(name)
    if kernel is None:
        with _LOAD_LOCK:
            kernel = _LOADED.get(name)
            if kernel is None:
                kernel = _LOADED[name] = compile_kernel()
    return kernel


def request(name: str, compile_kernel: Callable[[], Callable], arguments, size: int) -> None:
    """A twin ran in place of the kernel ``name`` on ``size`` entries, called
    with ``arguments``: count it, and queue the kernel for loading when loading
    pays (see the module's description)."""
    global _STARTED
    if name in _REQUESTED:
        if name in _FAILED:
            _warn_once(name)
        return
    if _STARTED or _ACCOUNT.charge(name, size):
        _STARTED = True
        _REQUESTED.add(name)
        _enqueue(name, compile_kernel, _stand_ins(arguments))


def _stand_ins(arguments) -> tuple:
    """Small objects numba types as it types ``arguments`` (the arrays' dtype,
    dimensions, layout and writability; the scalars themselves), so that the
    loader holds no reference to the caller's arrays (the scratch pool reuses
    a buffer only when nothing else refers to it)."""
    return tuple(_stand_in(a) if isinstance(a, np.ndarray) else a for a in arguments)


def _stand_in(array: np.ndarray) -> np.ndarray:
    ndim = array.ndim
    if array.flags.c_contiguous:
        stand_in = np.zeros((1,) * ndim, array.dtype)
    elif array.flags.f_contiguous:
        stand_in = np.zeros((2,) * ndim, array.dtype, order="F")
    else:
        stand_in = np.zeros((2,) * (ndim - 1) + (4,), array.dtype)[..., ::2]
    stand_in.flags.writeable = array.flags.writeable
    return stand_in


def _enqueue(name: str, compile_kernel: Callable, stand_ins: tuple) -> None:
    global _LOADER, _STOP_AT_EXIT
    with _QUEUE_LOCK:
        _QUEUE.append((name, compile_kernel, stand_ins))
        if _LOADER is None:
            if not _STOP_AT_EXIT:
                atexit.register(_stop)
                _STOP_AT_EXIT = True
            _LOADER = threading.Thread(
                target=_load_queued, name="gradstep-kernel-loader", daemon=True
            )
            _LOADER.start()


def _stop() -> None:
    """At exit: load nothing more, and let the load under way finish (LLVM's
    static destructors, which run after Python's, must not meet a thread
    inside LLVM)."""
    with _QUEUE_LOCK:
        _QUEUE.clear()
    wait(timeout=30)


def _after_fork_in_child() -> None:
    """A forked child has the parent's state but not its loader thread, whose
    locks it may have held: new locks, and the kernels not loaded yet are
    asked for anew."""
    global _QUEUE_LOCK, _LOAD_LOCK, _LOADER
    _QUEUE_LOCK, _LOAD_LOCK = threading.Lock(), threading.RLock()
    _LOADER = None
    _REQUESTED.intersection_update(set(_LOADED) | set(_FAILED))
    _QUEUE.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _load_queued() -> None:
    """The loader thread: load the queued kernels one by one, then end."""
    global _LOADER
    while True:
        with _QUEUE_LOCK:
            if not _QUEUE:
                _LOADER = None
                return
            name, compile_kernel, stand_ins = _QUEUE.pop(0)
        with _LOAD_LOCK:
            if name in _LOADED or name in _FAILED:
                continue
            try:
                kernel = compile_kernel()
                kernel.compile(_signature(stand_ins))
            except Exception as error:  # the twins go on; the warning says why
                _FAILED[name] = error
            else:
                _LOADED[name] = kernel
                ahead.build_in_background()  # numba pays here anyway: next processes won't


def _signature(stand_ins) -> tuple:
    import numba

    return tuple(numba.typeof(argument) for argument in stand_ins)


def _warn_once(name: str) -> None:
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(
            f"gradstep could not load the numba kernel {name!r} ({_FAILED[name]!r}); "
            "its NumPy twin runs instead (same numbers, slower)",
            RuntimeWarning,
            stacklevel=4,
        )


def wait(timeout: float | None = None) -> bool:
    """Wait until the loader has loaded every kernel queued so far; whether it
    has (False when ``timeout`` seconds ran out first).

    Call it before a ``warnings.catch_warnings`` block (``pytest.warns``) whose
    warnings matter: numba's compiler enters ``catch_warnings`` too, and Python
    keeps its state for the whole process, so a load on the loader thread can
    undo another thread's recording of warnings."""
    loader = _LOADER
    if loader is not None and loader is not threading.current_thread():
        loader.join(timeout)
        return not loader.is_alive()
    return True
