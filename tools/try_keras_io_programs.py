"""Run the keras.io programs of tools/keras_io_programs/ on Keras and on gradstep.

Each program in tools/keras_io_programs/ is a Keras 3 program from keras.io's
examples or guides (its source is named in its first lines), written for this
survey on small synthetic NumPy data of the original shapes and one epoch. This
script runs each twice, each in its own process and scratch directory:

- with Keras 3 itself (``KERAS_BACKEND=jax``, the reference virtualenv);
- with the import swapped: an import hook makes ``keras`` and every
  ``keras.<module>`` the matching ``gradstep`` module (``import keras`` gives
  ``gradstep``, ``from keras import layers, ops`` gives ``gradstep.layers``
  and ``gradstep.ops``), so that the program's text is unchanged;

and prints a table: program, runs on Keras, runs on gradstep, and the first
error line (the exception that stopped the program; from Keras's run if that
failed, else from gradstep's).

    python tools/try_keras_io_programs.py                 # every program
    python tools/try_keras_io_programs.py mnist_convnet   # some of them
    python tools/try_keras_io_programs.py --gradstep-only  # skip the Keras runs

Options --keras-python, --gradstep-python and --timeout (seconds per run).
Any Python runs this script; it starts the two interpreters itself.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPOSITORY = HERE.parent
PROGRAMS = HERE / "keras_io_programs"

#: Run in gradstep's interpreter: ``keras`` and ``keras.<x>`` become ``gradstep``
#: and ``gradstep.<x>``, then the program runs as ``__main__``.
KERAS_AS_GRADSTEP = """
import importlib, importlib.abc, importlib.util, runpy, sys


class KerasAsGradstep(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "keras" or name.startswith("keras."):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("gradstep" + spec.name[len("keras"):])

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, KerasAsGradstep())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run(command: list[str], env: dict, timeout: float) -> tuple[bool, str, float]:
    """(finished without error, the error's line, seconds), in a scratch directory."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="keras-io-") as scratch:
        try:
            done = subprocess.run(
                command, cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return False, f"timed out after {timeout:.0f} s", time.perf_counter() - start
    seconds = time.perf_counter() - start
    if done.returncode == 0:
        return True, "", seconds
    return False, error_line(done.stderr) or f"exit status {done.returncode}", seconds


def error_line(stderr: str) -> str:
    """The exception's line of a traceback: the last line that starts at the
    margin after 'Traceback', e.g. ``ValueError: ...``."""
    lines = stderr.rstrip().splitlines()
    if "Traceback (most recent call last):" in lines:
        start = len(lines) - 1 - lines[::-1].index("Traceback (most recent call last):")
        lines = lines[start + 1 :]
        for line in lines:
            if line and not line.startswith((" ", "\t")):
                return line.strip()[:160]
    return lines[-1].strip()[:160] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="programs (file names without .py)")
    parser.add_argument("--keras-python", default="/tmp/ref/bin/python")
    parser.add_argument("--gradstep-python", default=sys.executable)
    parser.add_argument("--gradstep-only", action="store_true")
    parser.add_argument("--timeout", type=float, default=600)
    options = parser.parse_args()
    paths = sorted(PROGRAMS.glob("*.py"))
    if options.names:
        paths = [PROGRAMS / f"{name.removesuffix('.py')}.py" for name in options.names]
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KERAS_BACKEND")}
    keras_env = {**base, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    gradstep_env = {**base, "PYTHONPATH": str(REPOSITORY / "src")}
    rows = []
    for path in paths:
        keras_ok, keras_error, keras_seconds = (None, "", 0.0)
        if not options.gradstep_only:
            keras_ok, keras_error, keras_seconds = run(
                [options.keras_python, str(path)], keras_env, options.timeout
            )
        ours_ok, ours_error, ours_seconds = run(
            [options.gradstep_python, "-c", KERAS_AS_GRADSTEP, str(path)],
            gradstep_env,
            options.timeout,
        )
        first_error = f"Keras: {keras_error}" if keras_ok is False else ours_error
        rows.append((path.stem, keras_ok, ours_ok, first_error))
        print(
            f"{path.stem}: keras {keras_ok} ({keras_seconds:.0f} s), "
            f"gradstep {ours_ok} ({ours_seconds:.0f} s) {ours_error}",
            file=sys.stderr,
            flush=True,
        )
    print_table(rows)


def print_table(rows) -> None:
    mark = {True: "yes", False: "NO", None: "-"}
    print("| program | runs on Keras | runs on gradstep | first error |")
    print("| --- | --- | --- | --- |")
    for name, keras_ok, ours_ok, error in rows:
        print(f"| {name} | {mark[keras_ok]} | {mark[ours_ok]} | {error.replace('|', '/')} |")
    ran = sum(1 for row in rows if row[2])
    print(f"\n{ran} of {len(rows)} programs run on gradstep.")


if __name__ == "__main__":
    main()
