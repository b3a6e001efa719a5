"""Compare the reference model's fit across versions of gradstep (source trees).

Each version runs in a worker process of its own (its ``src`` folder first on
``sys.path``), warmed up by one untimed fit; then the workers take turns,
round after round, with the pause ``bench_optimizers.py`` uses before each
turn, so that a slow spell of the machine reaches every version alike. Each
turn trains a freshly built reference model (Dense 512 relu -> Dense 10
softmax, Adam, batch 32) on scikit-learn's digits for --epochs epochs and
reports the wall time of ``fit`` alone. The script prints each version's
median and the median of the per-round ratios against the first version.

Run, for example against the commit before a change (a worktree of it):
    git worktree add /tmp/before <commit>
    python benchmarks/bench_versions.py /tmp/before/src src --repeats 9
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

from bench_optimizers import settle

WORKER = r"""
import json, sys, time
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from gradstep import layers, models

digits = load_digits()
x_train, _, y_train, _ = train_test_split(
    (digits.data / 16).astype(np.float32), digits.target, test_size=0.2,
    stratify=digits.target, random_state=0)

def fit(epochs, seed):
    model = models.Sequential(
        [layers.Dense(512, activation="relu", input_shape=(64,)),
         layers.Dense(10, activation="softmax")], seed=seed)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0)
    return time.perf_counter() - start

fit(1, 0)  # untimed: numba loads its kernels, NumPy and BLAS warm up
print("ready", flush=True)
for line in sys.stdin:
    epochs, seed = json.loads(line)
    print(json.dumps(fit(epochs, seed)), flush=True)
"""


def start_worker(source: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": os.path.abspath(source)}
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    if worker.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the worker for {source} did not start")
    return worker


def timed_fit(worker: subprocess.Popen, epochs: int, seed: int) -> float:
    worker.stdin.write(json.dumps([epochs, seed]) + "\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", help="src folders of the versions to compare")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    workers = [start_worker(source) for source in args.sources]
    times = [[] for _ in workers]
    try:
        for round_ in range(args.repeats):
            for position, worker in enumerate(workers):
                settle()
                times[position].append(timed_fit(worker, args.epochs, seed=round_))
    finally:
        for worker in workers:
            worker.stdin.close()
            worker.wait()
    print(f"reference fit, {args.epochs} epochs, medians of {args.repeats} interleaved rounds")
    for source, measured in zip(args.sources, times, strict=True):
        print(
            f"  {source:40} {statistics.median(measured):.3f} s  (all: "
            + ", ".join(f"{t:.3f}" for t in measured)
            + ")"
        )
    for source, measured in zip(args.sources[1:], times[1:], strict=True):
        ratios = [t / base for t, base in zip(measured, times[0], strict=True)]
        print(
            f"  {source} / {args.sources[0]}: {statistics.median(ratios):.3f}x "
            f"(range {min(ratios):.3f}-{max(ratios):.3f})"
        )


if __name__ == "__main__":
    main()
