"""Probe: the fused Adam kernel compiled ahead of time, as an extension module.

A fresh process spends about half a second of CPU importing numba and setting
up its compiler before it can run even a cached kernel (see
gradstep.kernels.loading), so the reference model's first fit runs the NumPy
twins, about 1.3 times as slow as its kernels. An extension module built once
ahead of time loads in a fraction of a millisecond and needs no numba at run
time. This script checks that on this machine:

1. builds the Adam kernel (gradstep.kernels.adam's loop, float32) with
   numba's ahead-of-time compiler (``numba.pycc``, which numba deprecates, and
   which needs a C compiler) into a temporary directory, with numba's
   error_model "numpy" as the JIT kernels use it (under pycc's default,
   "python", the zero-division check stops LLVM from vectorizing the loop,
   and the kernel ran 6.6 times as slow on 32,768 entries);
2. in a fresh process, imports it (timing the import, and checking that
   numba is not imported), runs 50 steps against the NumPy twin on 10 and
   32,768 entries (the reference model's sizes), checking the bits, and
   times one call against the JIT kernel.

    PYTHONPATH=src python benchmarks/probe_aot_kernels.py
"""

import subprocess
import sys
import tempfile
import textwrap

BUILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from numba.core.compiler import Flags
    from numba.pycc import CC, compiler
    from gradstep.kernels import adam

    class NumpyErrorModel(Flags):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.error_model = "numpy"

    compiler.Flags = NumpyErrorModel
    cc = CC("gradstep_aot_probe")
    cc.output_dir = sys.argv[1]
    cc.target_cpu = "host"
    arrays, scalars = ", ".join(["f4[::1]"] * 4), ", ".join(["f4"] * 5)
    cc.export("adam_f32", f"void({arrays}, {scalars})")(adam._compile(False).py_func)
    cc.compile()
    """
)

USE = textwrap.dedent(
    """
    import sys, time
    import numpy as np

    sys.path.insert(0, sys.argv[1])
    wall, cpu = time.perf_counter(), time.thread_time()
    import gradstep_aot_probe
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    print(f"import: {wall * 1e3:.2f} ms wall, {cpu * 1e3:.2f} ms CPU; "
          f"numba imported: {'numba' in sys.modules}")
    from gradstep.kernels import adam

    scalars = adam.adam_scalars(np.float32, 1e-3, 0.9, 0.999, 1e-7)
    jit = adam._compile(False)
    rng = np.random.default_rng(0)

    def per_call(kernel, arrays, repeats=2000):
        kernel(*arrays, *scalars)  # the JIT kernel loads at its first call
        start = time.thread_time()
        for _ in range(repeats):
            kernel(*arrays, *scalars)
        return (time.thread_time() - start) / repeats * 1e6

    for size in (10, 32768):
        variable = rng.standard_normal(size).astype(np.float32)
        gradients = rng.standard_normal((50, size)).astype(np.float32) * 1e-3
        aot = [variable.copy(), None, np.zeros(size, np.float32), np.zeros(size, np.float32)]
        twin = [variable.copy(), None, np.zeros(size, np.float32), np.zeros(size, np.float32)]
        for gradient in gradients:
            aot[1] = twin[1] = gradient
            gradstep_aot_probe.adam_f32(*aot, *scalars)
            adam.adam_update_numpy(*twin, None, scalars)
        same = all(np.array_equal(a, t) for a, t in zip(aot, twin))
        arrays = [variable.copy(), gradients[0], *aot[2:]]
        print(f"{size:>6} entries: bits equal to the twin's after 50 steps: {same}; "
              f"per call: ahead of time {per_call(gradstep_aot_probe.adam_f32, arrays):.1f} us, "
              f"JIT {per_call(jit, arrays):.1f} us")
    """
)


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        subprocess.run([sys.executable, "-c", BUILD, directory], check=True)
        subprocess.run([sys.executable, "-c", USE, directory], check=True)


if __name__ == "__main__":
    main()
