"""The hot kernels compiled ahead of time: an extension module in the user's
cache that a fresh process loads in under a millisecond, without numba.

A fresh process pays about half a second of CPU for numba before it can run
even a kernel numba has cached (``kernels.loading``), so a first fit ran on
the NumPy twins, about 1.6 times as long as the next (issue 19). The kernels
of the common training step (Dense's element-wise passes; the softmax and the
sparse categorical cross-entropy taken on it; a convolution's windows, bias
and ReLU; max pooling, forward and backward; an LSTM step's element-wise work,
forward and backward; the updates of Adam, AMSGrad, SGD, RMSprop, Adagrad,
Adadelta, Adamax, Nadam and Lion, and decoupled weight decay, in float32 and
float64) are therefore also compiled by numba's ahead-of-time compiler into
an extension module, once per machine:

- built in a separate process (``python -m gradstep.kernels.ahead_build``, about
  fifteen seconds of CPU, which needs numba and a C compiler), started in the
  background, at low priority, when no module exists yet for this machine,
  by the first process that loads the numba kernels or ends a fit that ran
  the twins for want of them (``build_in_background``); the next process
  has its kernels from its first step;
- stored under ``cache_directory()`` (``$GRADSTEP_KERNEL_CACHE``, else
  ``$XDG_CACHE_HOME/gradstep/kernels``, else ``~/.cache/gradstep/kernels``),
  in a folder named by a hash of what the machine code depends on: the
  kernels' source, the CPU's model and flags (the module is compiled for
  this CPU: it would not run on another), Python's and NumPy's versions;
- kept while in use: loading the module sets its folder's time, and each
  build removes the folders no process has loaded for ``UNUSED_DAYS`` days
  (left by another gradstep, CPU, Python or NumPy);
- loaded by ``kernel_for``, which ``kernels.ready`` asks before it falls
  back to numba's kernels: the same loops, compiled by the same LLVM without
  fastmath, so the same bits as the twins (tests/kernels/test_ahead.py).

``GRADSTEP_AHEAD=0`` turns both the use and the building off. The module is
machine code run in this process, as numba's own cache is; it is only ever
loaded from the folder this process's user's cache names, and only built by
gradstep. Only Linux is covered (the CPU's identity is read from
/proc/cpuinfo); elsewhere ``status()`` says so and the kernels load as before.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

MODULE_NAME = "gradstep_kernels_ahead"

#: kernel name -> (its module in gradstep.kernels, the function of that module
#: that makes its numba kernel and that function's arguments, the kernel's
#: argument types with ``F`` for the float type: ``F[::1]`` a contiguous
#: vector, ``F[:, ::1]`` a C-contiguous matrix, ``F`` a scalar, ``b1`` a
#: flag, ``i8`` an int64; ``i8[::1]`` and ``u1[:, :, :, ::1]`` arrays of
#: int64 and uint8; ``F[:, :, :, :]`` an array of any strides). Each is
#: exported once for float32 and once for float64.
_F4, _F7 = "F[:, :, :, ::1]", "F[:, :, :, :, :, :, ::1]"  # C-contiguous, of rank 4 and 7
_U1_4 = "u1[:, :, :, ::1]"  # max pooling's taps (uint8; larger windows' uint16: numba's)
KERNELS: dict[str, tuple[str, str, tuple, tuple[str, ...]]] = {
    "adam": ("adam", "_compile", (False,), ("F[::1]",) * 4 + ("F",) * 5),
    "adam_amsgrad": ("adam", "_compile", (True,), ("F[::1]",) * 5 + ("F",) * 5),
    "dense_bias_relu": ("dense", "_compile_bias_relu", (), ("F[:, ::1]", "F[::1]", "F[:, ::1]")),
    "dense_relu_slopes": ("dense", "_compile_relu_slopes", (), ("F[:, ::1]",) * 3 + ("F[::1]",)),
    "non_finite": ("finite", "_compile", (), ("F[::1]", "u1[::1]")),
    "sgd": ("sgd", "_compile_plain", (), ("F[::1]", "F[::1]", "F")),
    "sgd_momentum": ("sgd", "_compile_momentum", (), ("F[::1]",) * 3 + ("F",) * 3 + ("b1",)),
    "sgd_pytorch_momentum": (
        "sgd",
        "_compile_pytorch_momentum",
        (),
        ("F[::1]",) * 3 + ("F",) * 3 + ("b1",),
    ),
    "rmsprop": ("rmsprop", "_compile", (), ("F[::1]",) * 5 + ("F",) * 7 + ("b1",) * 3),
    "adagrad": ("adagrad", "_compile", (), ("F[::1]",) * 3 + ("F",) * 3),
    "adadelta": ("adadelta", "_compile", (), ("F[::1]",) * 4 + ("F",) * 5),
    "adamax": ("adamax", "_compile", (), ("F[::1]",) * 4 + ("F",) * 7),
    "nadam": ("nadam", "_compile", (), ("F[::1]",) * 4 + ("F",) * 8),
    "lion": ("lion", "_compile", (), ("F[::1]",) * 3 + ("F",) * 6),
    "weight_decay": ("weight_decay", "_compile", (), ("F[::1]", "F", "F")),
    "im2col": ("windows", "_compile_im2col", (), (_F4, _F7) + ("i8",) * 4),
    "col2im": ("windows", "_compile_col2im", (), (_F7, _F4) + ("i8",) * 4),
    "bias_relu": ("windows", "_compile_bias_relu", (), ("F[:, ::1]", "F[::1]", "F")),
    "relu_slope": ("windows", "_compile_relu_slope", (), ("F[:, ::1]",) * 3 + ("F[::1]", "F", "F")),
    "max_pool": ("pooling", "_compile_forward", (), (_F4, _F4, _U1_4) + ("i8",) * 6),
    "max_pool_backward": (
        "pooling",
        "_compile_backward",
        (),
        ("F[:, :, :, :]", _U1_4, _F4) + ("i8",) * 6 + ("b1", "F", "F"),  # any slope's strides
    ),
    "lstm_step_forward": ("lstm", "_compile_forward", (), ("F[:, :]",) * 5 + ("F",)),
    "lstm_step_backward": ("lstm", "_compile_backward", (), ("F[:, :]",) * 8 + ("F",)),
    "softmax_shift": ("softmax", "_compile_shift", (), ("F[:, ::1]", "F[::1]", "F[:, ::1]", "b1")),
    "softmax_normalize": ("softmax", "_compile_normalize", (), ("F[:, ::1]", "F")),
    "sparse_crossentropy": (
        "softmax",
        "_compile_crossentropy",
        (),
        ("F[:, ::1]", "i8[::1]", "F[::1]", "F[:, ::1]") + ("F",) * 5,
    ),
}

TYPES = {np.dtype(np.float32): "f4", np.dtype(np.float64): "f8"}

_STATE: dict = {"table": None, "why_not": None, "build_started": False}


def enabled() -> bool:
    return os.environ.get("GRADSTEP_AHEAD", "1") != "0" and sys.platform.startswith("linux")


def cache_directory() -> Path:
    """Where the modules are kept (one folder per machine key)."""
    chosen = os.environ.get("GRADSTEP_KERNEL_CACHE")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gradstep" / "kernels"


@functools.cache
def machine_key() -> str:
    """A hash of what the compiled module depends on (see the module's description)."""
    digest = hashlib.sha256()
    for module in sorted({entry[0] for entry in KERNELS.values()} | {"ahead", "ahead_build"}):
        digest.update((Path(__file__).parent / f"{module}.py").read_bytes())
    digest.update(_cpu_identity().encode())
    digest.update(f"{sys.version}|{np.__version__}|{os.uname().machine}".encode())
    return digest.hexdigest()[:20]


def _cpu_identity() -> str:
    """The first processor's model name and flags, from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    wanted = ("model name", "flags", "Features", "CPU part")
    lines = []
    for line in text.splitlines():
        if not line.strip():
            break  # the first processor's block ends
        if line.split(":", 1)[0].strip() in wanted:
            lines.append(line)
    return "\n".join(lines)


def module_directory() -> Path:
    return cache_directory() / machine_key()


def kernel_for(name: str, arguments: tuple, fitting: bool = False) -> Callable | None:
    """The compiled-ahead kernel ``name`` for these arguments (the kernel's
    whole argument list), or None when there is none (not built, turned off,
    another dtype or layout): a compiled-ahead function trusts its arguments'
    types, so each array is checked against the exported signature here,
    unless the caller says it has (``fitting``: every array of the rank the
    signature gives, C-contiguous, aligned and writeable, of the first
    argument's dtype or the signature's own)."""
    table = _STATE["table"]
    if table is None:
        table = _STATE["table"] = _load()
    if not table:
        return None
    first = arguments[0]
    kernel = table.get((name, getattr(first, "dtype", None)))
    if kernel is None or not (fitting or _fits(arguments, _ARRAYS[name], first.dtype)):
        return None
    return kernel


def _arrays(arguments: tuple[str, ...]) -> tuple[tuple[int, np.dtype | None, bool], ...]:
    """For each argument of a signature of ``KERNELS``: its rank (0: a
    scalar), its dtype when that is not the float type (None), and whether
    it must be C-contiguous (``::1``; else any strides)."""
    return tuple(
        (
            kind.count(",") + 1 if "[" in kind else 0,
            np.dtype(kind.split("[")[0]) if "[" in kind and not kind.startswith("F") else None,
            "::1" in kind,
        )
        for kind in arguments
    )


_ARRAYS = {name: _arrays(entry[3]) for name, entry in KERNELS.items()}


def _fits(arguments: tuple, arrays: tuple, dtype: np.dtype) -> bool:
    """Whether every array argument is what the signature says (a scalar
    argument needs no check: the module converts it, or raises TypeError)."""
    if len(arguments) != len(arrays):
        return False
    for argument, (rank, own_dtype, contiguous) in zip(arguments, arrays, strict=True):
        if rank and not (
            type(argument) is np.ndarray
            and argument.ndim == rank
            and argument.dtype == (dtype if own_dtype is None else own_dtype)
            # C-contiguous (where the signature says so), aligned and writeable
            and (argument.flags.carray if contiguous else argument.flags.behaved)
        ):
            return False
    return True


def _load() -> dict:
    """Import the module if this machine has one; its kernels by (name, dtype)."""
    if not enabled():
        _STATE["why_not"] = "turned off (GRADSTEP_AHEAD=0) or not Linux"
        return {}
    try:
        directory = module_directory()
    except OSError as error:  # the kernels' source is not readable (a zipped install)
        _STATE["why_not"] = f"no machine key: {error}"
        return {}
    found = sorted(directory.glob(f"{MODULE_NAME}*.so")) if directory.is_dir() else []
    if not found:
        _STATE["why_not"] = f"not built yet for this machine ({directory})"
        return {}
    try:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, found[0])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except ImportError as error:
        _STATE["why_not"] = f"could not be imported: {error}"
        return {}
    _STATE["why_not"] = None
    _mark_used(directory)
    return {
        (name, dtype): getattr(module, export_name(name, code))
        for name in KERNELS
        for dtype, code in TYPES.items()
    }


#: A folder of the cache no process has loaded for this long is removed by
#: the next build (another gradstep, CPU, Python or NumPy left it behind).
UNUSED_DAYS = 30


def _mark_used(directory: Path) -> None:
    """Set the folder's time to now: the cache keeps folders in use."""
    try:
        os.utime(directory)
    except OSError:  # a cache this user cannot write: nothing to prune there either
        pass


def prune(keep: Path) -> list[Path]:
    """Remove the cache's module folders other than ``keep`` that no process
    has loaded for ``UNUSED_DAYS`` days; the folders removed."""
    import shutil
    import time

    oldest = time.time() - UNUSED_DAYS * 86400
    removed = []
    for folder in keep.parent.iterdir():
        if folder == keep or not folder.is_dir() or folder.name.startswith("."):
            continue  # (.building-* folders are builds under way)
        if folder.stat().st_mtime < oldest and any(folder.glob(f"{MODULE_NAME}*.so")):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def status() -> str:
    """One line: whether the kernels compiled ahead of time are in use, and why not."""
    if _STATE["table"] is None:
        _STATE["table"] = _load()
    if _STATE["table"]:
        return f"in use, from {module_directory()}"
    return f"not in use: {_STATE['why_not']}"


def export_name(name: str, code: str) -> str:
    return f"{name}__{code}"


def build_in_background() -> bool:
    """Start building this machine's module in a separate low-priority
    process; whether one was started. Not when the module exists, a build
    is under way (``.building`` beside the folder, less than ten minutes old)
    or failed before (``.failed``, with the error), the building is turned
    off, numba or a C compiler is missing, or this process started one
    already. Called by the kernel loader once numba loads, and at the end
    of a fit that ran twins for want of a kernel. The child writes to
    ``build.log`` in the cache."""
    if _STATE["build_started"] or not enabled() or not _can_build():
        return False
    _STATE["build_started"] = True
    try:
        return _start_build(module_directory())
    except OSError:  # a cache that cannot be written (read-only home): the twins and numba
        return False


def _start_build(directory: Path) -> bool:
    import subprocess  # (here: importing it costs a fresh process a few milliseconds)

    if directory.is_dir() or marker(directory, "failed").exists():
        return False
    cache_directory().mkdir(parents=True, exist_ok=True)
    if not _take_lock(marker(directory, "building")):
        return False
    with open(cache_directory() / "build.log", "ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "gradstep.kernels.ahead_build"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=lambda: os.nice(19),
        )
    return True


def marker(directory: Path, kind: str) -> Path:
    """The file beside a module's folder that says it is ``building`` or ``failed``."""
    return directory.with_name(f"{directory.name}.{kind}")


def _take_lock(lock: Path, stale_seconds: float = 600.0) -> bool:
    import time

    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        if time.time() - lock.stat().st_mtime < stale_seconds:
            return False  # another process is building it
        lock.touch()  # a build that died: take over
        return True


def _can_build() -> bool:
    """numba is installed and a C compiler is on PATH (numba.pycc needs both)."""
    import shutil
    import sysconfig

    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return importlib.util.find_spec("numba") is not None and shutil.which(compiler) is not None
