"""Resident memory of this process, for the benchmarks' ``--memory`` sections (Linux).

``measure_peak_growth(function)`` runs ``function`` and returns how far the
peak resident set (VmHWM) rose above the resident set just before it
(VmRSS): the memory the call itself took, whatever it freed before
returning. Before the call, the C allocator gives back what it keeps free
(glibc's ``malloc_trim(0)``), so that memory freed earlier and kept in the
heap is not silently reused (see bench_convnet.py's docstring for why that
matters), and the peak is reset to the current RSS (``/proc/self/clear_refs``).
"""

import ctypes
import gc


def status_kib(field: str) -> int:
    """A field of /proc/self/status, in KiB (``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def release_free_heap() -> None:
    """Give back to the system what the C allocator keeps free (glibc only)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak() -> None:
    """Reset VmHWM to the current RSS."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def measure_peak_growth(function, trim: bool = True) -> dict:
    """Run ``function()``; returns ``{"before_kib", "peak_kib", "growth_kib"}``."""
    gc.collect()
    if trim:
        release_free_heap()
    reset_peak()
    before = status_kib("VmRSS")
    function()
    peak = status_kib("VmHWM")
    return {"before_kib": before, "peak_kib": peak, "growth_kib": peak - before}
