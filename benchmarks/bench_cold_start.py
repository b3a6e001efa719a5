"""Cold and warm fits in fresh processes, for one or more gradstep source trees.

"Cold" is the first fit in a fresh process (what a script gets); "warm" is
the faster of the next two fits in that process (issue 19). Each round starts
one fresh process per tree and model, the trees taking turns (their order
alternates from round to round), and the table gives the medians over rounds
of the cold fit, the warm fit and the per-process ratio cold / warm, on the
wall clock and in CPU time (``time.process_time``: every thread of the
process, the kernel loader's and BLAS's included), and how many processes
had imported numba by their end.

Models:
  ref      the reference model: Dense(512, relu, input 64) -> Dense(10,
           softmax), Adam 1e-3, sparse categorical cross-entropy, the first
           1437 digits of scikit-learn's digits, 20 epochs, batch 32
  mlp32    the 784-1024-1024-10 MLP (relu, relu, softmax), Adam 1e-3, on 8192
           random MNIST-shaped rows, 1 epoch at batch 32 (256 steps)
  mlp256   the same MLP on 16384 rows, 2 epochs at batch 256 (128 steps)

    python benchmarks/bench_cold_start.py --trees main=/work/main/src new=src
    python benchmarks/bench_cold_start.py --trees new=src --models ref --rounds 9

Other processes on the machine disturb every figure: compare trees only
within one run, and quote the medians.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

FIT_SCRIPT = r"""
import json, sys, time
import numpy as np
import gradstep as keras

kind = sys.argv[1]
if kind == "ref":
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16).astype("float32")[:1437]
    y = digits.target[:1437]
    sizes, epochs, batch = (64, 512, 10), 20, 32
else:
    rows, epochs, batch = {"mlp32": (8192, 1, 32), "mlp256": (16384, 2, 256)}[kind]
    rng = np.random.default_rng(0)
    x = rng.random((rows, 784), dtype=np.float32)
    y = rng.integers(0, 10, rows)
    sizes = (784, 1024, 1024, 10)


def fit():
    layers = [keras.Input((sizes[0],))]
    layers += [keras.layers.Dense(units, activation="relu") for units in sizes[1:-1]]
    layers += [keras.layers.Dense(sizes[-1], activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0)
    return time.perf_counter() - start, time.process_time() - cpu


cold, cold_cpu = fit()
warm, warm_cpu = min(fit(), fit())
numba = "numba" in sys.modules
times = {"cold": cold, "warm": warm, "cold_cpu": cold_cpu, "warm_cpu": warm_cpu}
print(json.dumps({**times, "numba": numba}))
"""


def one_process(source: str, model: str) -> dict:
    environment = dict(os.environ, PYTHONPATH=os.path.abspath(source))
    output = subprocess.run(
        [sys.executable, "-c", FIT_SCRIPT, model],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", default=["this=src"], help="name=path/to/src")
    parser.add_argument("--models", default="ref,mlp32,mlp256")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees = dict(tree.split("=", 1) for tree in args.trees)
    for model in args.models.split(","):
        runs = {name: [] for name in trees}
        for round_ in range(args.rounds):
            names = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in names:
                runs[name].append(one_process(trees[name], model))
        print(f"{model}: medians of {args.rounds} fresh processes per tree, interleaved")
        for name, results in runs.items():
            numba = sum(r["numba"] for r in results)
            for clock in ("", "_cpu"):
                cold = [r["cold" + clock] for r in results]
                warm = [r["warm" + clock] for r in results]
                ratios = [c / w for c, w in zip(cold, warm, strict=True)]
                print(
                    f"  {name:>8} {'CPU' if clock else 'wall'}: "
                    f"cold {statistics.median(cold):7.3f} s, "
                    f"warm {statistics.median(warm):7.3f} s, cold / warm median "
                    f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
                )
            print(f"  {name:>8}: numba imported in {numba} of {len(results)} processes")


if __name__ == "__main__":
    main()
