"""Benchmark convnet training steps in gradstep against PyTorch (eager, CPU).

Models (--models, comma separated):
  mnist   keras.io's "Simple MNIST convnet": Input 28x28x1, Conv2D 32 3x3
          relu, MaxPooling2D 2, Conv2D 64 3x3 relu, MaxPooling2D 2, Flatten,
          Dropout 0.5, Dense 10 softmax; batch 128
  digits  a convnet for 8x8 digits: Input 8x8x1, Conv2D 16 3x3 relu
          padding same, MaxPooling2D 2, Conv2D 32 3x3 relu, Flatten, Dense 10
          softmax; batch 32

Both train with Adam (learning rate 1e-3, epsilon 1e-7) on sparse
categorical cross-entropy, on synthetic data (uniform pixels in [0, 1),
random labels): --steps batches, one epoch, no shuffling. gradstep trains
with ``model.fit`` (channels-last, as Keras); PyTorch with the usual eager
loop (zero_grad, forward, CrossEntropyLoss on logits, backward, step) on
channels-first tensors, its native layout, with its default thread count
("pytorch") and on one thread ("pytorch-1thread"). gradstep's BLAS threads
follow its 'auto' rule (config.set_blas_threads): every core for the MNIST
convnet, whose second convolution's products are large, one for the digits
convnet; "gradstep-1thread" holds BLAS to one thread.

Timing: the two take turns, round after round (--repeats rounds), each
round training a freshly built model, after a short pause (see
bench_optimizers.settle) and one untimed warm-up run of each (numba compiles
gradstep's kernels, PyTorch makes its first calls). Reported: the median
over rounds of the time per training step, and the median of the per-round
ratios gradstep / PyTorch (below 1: gradstep is faster). On a machine where
other processes hold cores, PyTorch's and OpenBLAS's threads wait for each
other (every parallel region ends at a barrier) and multithreaded timings
swing widely; the one-thread figures are the steadier comparison there.

Memory (--memory): each framework trains the model in a fresh subprocess:
one warm-up step, then the peak resident memory is reset (Linux's
/proc/self/clear_refs), one more step runs, and the growth of the peak over
the resident memory before that step is reported (VmHWM - VmRSS), with the
ratio gradstep / PyTorch. Two figures per framework:
- "step" (the goal's measure): before the step, the C allocator gives back
  what it keeps free from the warm-up (glibc's malloc_trim(0)), so the growth
  is the memory the step itself takes;
- "untrimmed": without that, a framework whose freed memory stayed in the
  allocator's heap after the warm-up (PyTorch's does: glibc raises its mmap
  threshold after the first large free) reuses it without growing, while
  gradstep hands its buffers back at the end of every fit; this figure swings
  with the allocator's state (PyTorch's: 13 to 44 MiB on the MNIST convnet).

Run (PyTorch from the benchmark virtualenv):
    PYTHONPATH=src /tmp/bench/bin/python benchmarks/bench_convnet.py
    PYTHONPATH=src /tmp/bench/bin/python benchmarks/bench_convnet.py \\
        --models mnist --steps 20 --repeats 7 --memory
"""

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import rss
from bench_optimizers import settle

LEARNING_RATE = 1e-3
EPSILON = 1e-7
MODELS = {
    "mnist": {"input": (28, 28, 1), "batch": 128, "steps": 20},
    "digits": {"input": (8, 8, 1), "batch": 32, "steps": 60},
}
FRAMEWORKS = ("gradstep", "gradstep-1thread", "pytorch", "pytorch-1thread")


class Skip(Exception):
    """Raised when a framework cannot be benchmarked here."""


def synthetic_data(model_name, steps, seed=0):
    spec = MODELS[model_name]
    rng = np.random.default_rng(seed)
    count = spec["batch"] * steps
    x = rng.random((count, *spec["input"]), dtype=np.float32)
    y = rng.integers(0, 10, size=count).astype(np.int64)
    return x, y


# ---------------------------------------------------------------- gradstep


def gradstep_model(model_name, seed):
    import gradstep
    from gradstep import layers

    gradstep.utils.set_random_seed(seed)
    pooling = layers.MaxPooling2D
    spec = MODELS[model_name]
    if model_name == "mnist":
        stack = [
            layers.Conv2D(32, 3, activation="relu"),
            pooling(2),
            layers.Conv2D(64, 3, activation="relu"),
            pooling(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    else:
        stack = [
            layers.Conv2D(16, 3, activation="relu", padding="same"),
            pooling(2),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    model = gradstep.Sequential([gradstep.Input(shape=spec["input"]), *stack])
    model.compile(
        optimizer=gradstep.optimizers.Adam(learning_rate=LEARNING_RATE, epsilon=EPSILON),
        loss="sparse_categorical_crossentropy",
    )
    return model


def gradstep_trainer(model_name, data, seed, blas_threads="auto"):
    """A function that trains a fresh model on ``data`` (one epoch)."""
    try:
        from gradstep import config

        model = gradstep_model(model_name, seed)
    except ImportError as exc:
        raise Skip(f"gradstep is not importable ({exc})") from exc
    x, y = data
    batch = MODELS[model_name]["batch"]

    def train():
        config.set_blas_threads(blas_threads)
        try:
            model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        finally:
            config.set_blas_threads("auto")

    return train


def gradstep_1thread_trainer(model_name, data, seed):
    return gradstep_trainer(model_name, data, seed, blas_threads=1)


# ---------------------------------------------------------------- pytorch


def import_torch():
    try:
        import torch
    except ImportError as exc:
        raise Skip(f"torch is not importable ({exc})") from exc
    return torch


def torch_model(torch, model_name):
    nn = torch.nn
    if model_name == "mnist":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(1600, 10),
        )
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )


def pytorch_trainer(model_name, data, seed, threads=None):
    torch = import_torch()
    torch.manual_seed(seed)
    model = torch_model(torch, model_name)
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=EPSILON)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.from_numpy(np.ascontiguousarray(data[0].transpose(0, 3, 1, 2)))
    y = torch.from_numpy(data[1])
    batch = MODELS[model_name]["batch"]

    def train():
        previous = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            model.train()
            for start in range(0, len(x), batch):
                optimizer.zero_grad()
                loss = loss_fn(model(x[start : start + batch]), y[start : start + batch])
                loss.backward()
                optimizer.step()
        finally:
            torch.set_num_threads(previous)

    return train


def pytorch_1thread_trainer(model_name, data, seed):
    return pytorch_trainer(model_name, data, seed, threads=1)


TRAINERS = {
    "gradstep": gradstep_trainer,
    "gradstep-1thread": gradstep_1thread_trainer,
    "pytorch": pytorch_trainer,
    "pytorch-1thread": pytorch_1thread_trainer,
}


def label(name):
    if name.startswith("pytorch"):
        torch = import_torch()
        threads = 1 if name == "pytorch-1thread" else torch.get_num_threads()
        return f"torch {torch.__version__} ({threads} thread{'s' if threads > 1 else ''})"
    import gradstep
    from gradstep import kernels

    numba = "numba" if kernels.use_numba() else "numpy twins"
    threads = "1" if name == "gradstep-1thread" else "'auto'"
    return f"gradstep {gradstep.__version__} (kernels: {numba}; BLAS threads {threads})"


# ---------------------------------------------------------------- timing


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def benchmark(model_name, names, steps, repeats):
    """Per framework that runs: the seconds per step of each round."""
    data = synthetic_data(model_name, steps)
    warm = synthetic_data(model_name, 2)
    rounds = {}
    for name in names:
        try:
            TRAINERS[name](model_name, warm, seed=0)()
        except Skip as exc:
            print(f"skipping {name}: {exc}", flush=True)
            continue
        rounds[name] = []
    for repeat in range(repeats):
        for name in rounds:
            train = TRAINERS[name](model_name, data, seed=repeat)
            gc.collect()
            settle()
            per_step = timed(train) / steps
            rounds[name].append(per_step)
            print(
                f"  {model_name} round {repeat + 1}/{repeats} {name}: {per_step * 1e3:.1f} ms/step",
                flush=True,
            )
    return rounds


def report(model_name, rounds, steps, repeats):
    spec = MODELS[model_name]
    print(
        f"\n{model_name} convnet, batch {spec['batch']}, {steps} steps per round, "
        f"median of {repeats} interleaved rounds"
    )
    print(f"{'framework':<17} {'ms/step':>8} {'min':>8}  version")
    for name, times in rounds.items():
        print(
            f"{name:<17} {statistics.median(times) * 1e3:>8.1f} {min(times) * 1e3:>8.1f}  "
            f"{label(name)}"
        )
    pairs = [("gradstep", "pytorch"), ("gradstep-1thread", "pytorch-1thread")]
    for mine, peer in pairs:
        if mine in rounds and peer in rounds:
            ratios = [a / b for a, b in zip(rounds[mine], rounds[peer], strict=True)]
            print(
                f"{mine}/{peer:<16} {statistics.median(ratios):.2f}x "
                f"(rounds {min(ratios):.2f}-{max(ratios):.2f})"
            )


# ---------------------------------------------------------------- memory


def memory_child(name, model_name, trim):
    """In a fresh process: the growth of peak RSS over one training step (KiB)."""
    data = synthetic_data(model_name, 1)
    train = TRAINERS[name](model_name, data, seed=0)
    train()  # warm-up: first calls, compiled kernels, optimizer slots
    print(json.dumps(rss.measure_peak_growth(train, trim=trim)))


def measure_memory(model_name, names, repeats=3):
    for trim, label in ((True, "step"), (False, "untrimmed")):
        growth = {}
        for name in names:
            samples = _memory_samples(name, model_name, trim, repeats)
            if samples:
                growth[name] = statistics.median(s["growth_kib"] for s in samples) / 1024
                before = statistics.median(s["before_kib"] for s in samples) / 1024
                print(
                    f"{model_name} {name:<9} one training step ({label}): peak RSS "
                    f"+{growth[name]:.1f} MiB (over {before:.0f} MiB resident before it; "
                    f"median of {len(samples)} processes)"
                )
        if "gradstep" in growth and "pytorch" in growth:
            if growth["pytorch"] >= 1:
                ratio = growth["gradstep"] / growth["pytorch"]
                print(f"memory ({label}) gradstep/pytorch {ratio:.2f}x")
            else:
                print(
                    f"memory ({label}) gradstep/pytorch: no ratio, PyTorch's growth is below 1 MiB"
                )


def _memory_samples(name, model_name, trim, repeats):
    samples = []
    for _ in range(repeats):
        command = [sys.executable, os.path.abspath(__file__), "--memory-child", name]
        command += ["--models", model_name] + ([] if trim else ["--untrimmed"])
        result = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        if result.returncode != 0:
            print(f"skipping {name} memory: {result.stderr.strip().splitlines()[-1:]}")
            return samples
        samples.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return samples


# ---------------------------------------------------------------- driver


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="mnist,digits")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--steps", type=int, default=None, help="batches per round")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", action="store_true", help="also measure peak memory")
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--untrimmed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    for value, allowed in ((args.models, MODELS), (args.frameworks, FRAMEWORKS)):
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            parser.error(f"unknown: {', '.join(unknown)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.models[0], trim=not args.untrimmed)
        return
    for model_name in args.models:
        steps = args.steps or MODELS[model_name]["steps"]
        rounds = benchmark(model_name, args.frameworks, steps, args.repeats)
        if rounds:
            report(model_name, rounds, steps, args.repeats)
    if args.memory:
        print()
        for model_name in args.models:
            measure_memory(model_name, [f for f in args.frameworks if "1thread" not in f])


if __name__ == "__main__":
    main()
