"""Start-up: ``import gradstep``, a Keras program's first lines, and
``gradstep train`` from process start to exit, each in a fresh process.

    python benchmarks/bench_startup.py [--rounds 7] [--compare main] [--bytecode cached|none]

Each round runs every scenario once in a new interpreter, for this checkout's
``src`` and, with ``--compare REF``, for the ``src`` of a git ref, taking
turns; the table gives the medians over rounds of the process's wall-clock
time (start to exit) and of its CPU time (user + system, which waits for a
busy core do not inflate), and for ``import`` the time of the import itself
measured inside the process (``time.perf_counter()`` around ``import gradstep``).

Both trees are copied to a temporary folder first, so that their compiled
bytecode is under this script's control: ``--bytecode cached`` (the default)
lets Python write ``__pycache__`` and warms it with one untimed round, as an
installed package has it; ``--bytecode none`` compiles every gradstep module
on every run, as a checkout with ``PYTHONDONTWRITEBYTECODE=1`` does (NumPy and
the other installed packages keep their own caches in both).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TIMED_IMPORT = (
    "import time; start = time.perf_counter(); import gradstep; print(time.perf_counter() - start)"
)
KERAS_PROGRAM = """
import gradstep as keras
model = keras.Sequential([
    keras.layers.Input((64,)),
    keras.layers.Dense(512, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
"""
SCENARIOS = {
    "python -c pass": ["-c", "pass"],
    "import gradstep": ["-c", TIMED_IMPORT],
    "build and compile": ["-c", KERAS_PROGRAM],
    "gradstep train": ["-m", "gradstep", "train", "--verbose", "0"],
}


def copy_tree(ref: str | None, into: Path) -> Path:
    """This checkout's ``src`` (``ref`` None) or a git ref's, under ``into``."""
    target = into / (ref or "this")
    if ref is None:
        shutil.copytree(ROOT / "src", target, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        target.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        target = target / "src"
    return target


def run_once(source: Path, arguments: list[str], bytecode: str) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds of one fresh interpreter, and what it printed."""
    env = dict(os.environ, PYTHONPATH=str(source))
    if bytecode == "none":
        for cache in source.rglob("__pycache__"):
            shutil.rmtree(cache)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = _clock()
    result = subprocess.run(
        [sys.executable, *arguments], env=env, capture_output=True, text=True, check=True
    )
    wall = _clock() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout


def _clock() -> float:
    import time

    return time.perf_counter()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--compare", default=None, help="a git ref to compare with (main)")
    parser.add_argument("--bytecode", choices=("cached", "none"), default="cached")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args(argv)
    scenarios = {name: SCENARIOS[name] for name in args.scenarios.split(",")}
    with tempfile.TemporaryDirectory() as folder:
        trees = {"this checkout": copy_tree(None, Path(folder))}
        if args.compare:
            trees[args.compare] = copy_tree(args.compare, Path(folder))
        times = {(tree, name): [] for tree in trees for name in scenarios}
        if args.bytecode == "cached":  # write and warm the caches, untimed
            for source in trees.values():
                for arguments in scenarios.values():
                    run_once(source, arguments, "cached")
        for _ in range(args.rounds):
            for name, arguments in scenarios.items():
                for tree, source in trees.items():
                    times[tree, name].append(run_once(source, arguments, args.bytecode))
    print(f"{args.rounds} rounds, bytecode {args.bytecode}, Python {sys.version.split()[0]}")
    print(f"{'scenario':<20} {'tree':<15} {'wall (s)':>9} {'cpu (s)':>8} {'import (s)':>11}")
    for (tree, name), runs in times.items():
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        inner = (
            f"{statistics.median(float(run[2]) for run in runs):11.3f}"
            if name == "import gradstep"
            else ""
        )
        print(f"{name:<20} {tree:<15} {wall:9.3f} {cpu:8.3f} {inner}")


if __name__ == "__main__":
    main()
