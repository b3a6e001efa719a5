"""Measure the two numbers of the rule that loads the kernels (gradstep.kernels.loading).

load    the CPU time (of the thread that loads) a fresh process spends importing
        numba and loading the fused Adam kernel from numba's disk cache (the
        cache is filled first), and its wall-clock time: the median over
        --processes fresh processes. This is ``LOAD_SECONDS``.
extra   for float32 parameters of several sizes, the time of one Adam step's
        NumPy twin and of its fused kernel (on the calling thread), and their
        difference: ``TWIN_EXTRA``. Each figure is the CPU time of the calling
        thread (``time.thread_time``, which other processes disturb less than
        the wall clock), the smallest of --rounds rounds' means, the twin and
        the kernel taking turns.

Both are printed as the constants' Python text, to paste into
src/gradstep/kernels/loading.py. Other processes on the machine inflate
timings: run it on a quiet machine, or quote the spread of several runs.

    PYTHONPATH=src python benchmarks/bench_kernel_loading.py
    PYTHONPATH=src python benchmarks/bench_kernel_loading.py --sections extra --rounds 9
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = (10, 100, 1_000, 10_000, 100_000, 1_000_000)

LOAD_SCRIPT = """
import json, time
import numpy as np
import gradstep
from gradstep import kernels
from gradstep.kernels.adam import adam_scalars, adam_update_in_dtype
kernels.set_backend("numba")
arrays = [np.zeros(10, np.float32) for _ in range(4)]
scalars = adam_scalars(np.float32, 1e-3, 0.9, 0.999, 1e-7)
wall, cpu = time.perf_counter(), time.thread_time()
adam_update_in_dtype(*arrays[:2], *arrays[2:], None, scalars)
print(json.dumps({"cpu": time.thread_time() - cpu, "wall": time.perf_counter() - wall}))
"""


def measure_load(processes: int) -> None:
    subprocess.run([sys.executable, "-c", LOAD_SCRIPT], check=True, capture_output=True)
    runs = []
    for _ in range(processes):
        output = subprocess.run(
            [sys.executable, "-c", LOAD_SCRIPT], check=True, capture_output=True, text=True
        ).stdout
        runs.append(json.loads(output))
    cpu = [run["cpu"] for run in runs]
    wall = [run["wall"] for run in runs]
    print(
        f"load: numba's import and the first kernel from its cache, {processes} fresh "
        f"processes: CPU median {statistics.median(cpu):.3f} s "
        f"({min(cpu):.3f}-{max(cpu):.3f}), wall median {statistics.median(wall):.3f} s "
        f"({min(wall):.3f}-{max(wall):.3f})"
    )
    print(f"LOAD_SECONDS = {statistics.median(cpu):.2f}")


def _step_seconds(backend: str, size: int, rounds: int) -> list[float]:
    from gradstep import kernels
    from gradstep.kernels.adam import adam_scalars, adam_update_in_dtype

    rng = np.random.default_rng(0)
    variable = rng.standard_normal(size).astype(np.float32)
    gradient = rng.standard_normal(size).astype(np.float32) * 1e-3
    moments = np.zeros_like(variable), np.zeros_like(variable)
    scalars = adam_scalars(np.float32, 1e-3, 0.9, 0.999, 1e-7)
    repeats = max(20, min(2000, int(2e7 / size)))
    kernels.set_backend(backend)
    try:
        for _ in range(3):
            adam_update_in_dtype(variable, gradient, *moments, None, scalars)
        means = []
        for _ in range(rounds):
            start = time.thread_time()
            for _ in range(repeats):
                adam_update_in_dtype(variable, gradient, *moments, None, scalars)
            means.append((time.thread_time() - start) / repeats)
        return means
    finally:
        kernels.set_backend("auto")


def measure_extra(rounds: int) -> None:
    from gradstep import kernels

    kernels.set_threads(1)
    points = []
    print("extra: one Adam step on a float32 parameter (smallest of the rounds' means)")
    for size in SIZES:
        twin, kernel = [], []
        for _ in range(rounds):  # the two take turns
            twin += _step_seconds("numpy", size, 1)
            kernel += _step_seconds("numba", size, 1)
        extra = min(twin) - min(kernel)
        points.append((size, extra))
        print(
            f"  {size:>9,} entries: twin {min(twin) * 1e6:9.1f} us, kernel "
            f"{min(kernel) * 1e6:9.1f} us, twin's extra {extra * 1e6:9.1f} us"
        )
    print("TWIN_EXTRA = (")
    for size, extra in points:
        print(f"    ({size:_}, {extra * 1e6:.1f}e-6),")
    print(")")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="load,extra")
    parser.add_argument("--processes", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sections = args.sections.split(",")
    if "load" in sections:
        measure_load(args.processes)
    if "extra" in sections:
        measure_extra(args.rounds)


if __name__ == "__main__":
    main()
