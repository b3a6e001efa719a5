"""Benchmark the reference model in gradstep, PyTorch (eager) and Keras 3.

The reference model is Dense(512, relu, input 64) -> Dense(10, softmax),
trained with Adam (lr 1e-3, epsilon 1e-7) on sparse categorical cross-entropy,
batch 32, shuffled every epoch, on scikit-learn's digits (stratified 80/20
split, random_state=0, x / 16 as float32).

The frameworks take turns, round after round, --repeats rounds (each training
a freshly built model), with a short pause before each (as in
bench_optimizers.py), so that a slow spell of the machine reaches all of them
alike. One untimed epoch of each comes first (numba compiles gradstep's
kernels, PyTorch makes its first calls). The script reports, per framework,
the median over rounds of the wall time of the training call only (imports,
data loading and model building are excluded; for Keras the time includes its
first-call JIT compilation) and of the test accuracy after training. Then it
prints the ratios gradstep/pytorch and gradstep/keras: the median over rounds
of each round's ratio.

Frameworks (--frameworks, comma separated):
  gradstep         gradstep's Keras-style API (models.Sequential, layers.Dense)
  pytorch          torch eager, manual batching with torch.randperm each
                   epoch, CrossEntropyLoss on logits, default thread count
  pytorch-1thread  the same with torch.set_num_threads(1)
  keras            Keras 3 on KERAS_BACKEND, or else the first installed of
                   tensorflow, jax, torch
Frameworks that are not installed are skipped with a message.

Run:
    python benchmarks/bench_reference.py
    python benchmarks/bench_reference.py --epochs 20 --repeats 5 \\
        --frameworks gradstep,pytorch,pytorch-1thread,keras
"""

import argparse
import importlib.util
import os
import statistics
import time

import numpy as np

from bench_optimizers import settle

BATCH_SIZE = 32
LEARNING_RATE = 1e-3
EPSILON = 1e-7
ALL_FRAMEWORKS = ("gradstep", "pytorch", "pytorch-1thread", "keras")


class Skip(Exception):
    """Raised when a framework cannot be benchmarked here."""


# ---------------------------------------------------------------- data


def load_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)


def accuracy(probabilities_or_logits, y):
    return float(np.mean(np.argmax(probabilities_or_logits, axis=1) == y))


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---------------------------------------------------------------- gradstep


def seed_gradstep(seed):
    """keras.utils.set_random_seed's counterpart, where gradstep has it."""
    try:
        from gradstep.utils import set_random_seed
    except ImportError:
        return
    set_random_seed(seed)


def run_gradstep(data, epochs, seed):
    try:
        from gradstep import layers, models
    except ImportError as exc:
        raise Skip(f"gradstep is not importable ({exc})") from exc
    x_train, x_test, y_train, y_test = data
    seed_gradstep(seed)
    model = models.Sequential()
    model.add(layers.Dense(512, activation="relu", input_shape=(64,)))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seconds = timed(
        lambda: model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, verbose=0)
    )
    return seconds, accuracy(model.predict(x_test, verbose=0), y_test)


# ---------------------------------------------------------------- pytorch


def import_torch():
    try:
        import torch
    except ImportError as exc:
        raise Skip(f"torch is not importable ({exc})") from exc
    return torch


def torch_fit(torch, model, x, y, epochs):
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=EPSILON)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    for _ in range(epochs):
        order = torch.randperm(n)
        for start in range(0, n, BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()


def run_pytorch(data, epochs, seed, threads=None):
    torch = import_torch()
    x_train, x_test, y_train, y_test = data
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10))
    x, y = torch.from_numpy(x_train), torch.from_numpy(y_train)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        seconds = timed(lambda: torch_fit(torch, model, x, y, epochs))
    finally:
        torch.set_num_threads(previous)
    with torch.no_grad():
        logits = model(torch.from_numpy(x_test)).numpy()
    return seconds, accuracy(logits, y_test)


def run_pytorch_1thread(data, epochs, seed):
    return run_pytorch(data, epochs, seed, threads=1)


# ---------------------------------------------------------------- keras


def choose_keras_backend():
    if "KERAS_BACKEND" in os.environ:
        return os.environ["KERAS_BACKEND"]
    for backend in ("tensorflow", "jax", "torch"):
        if importlib.util.find_spec(backend) is not None:
            os.environ["KERAS_BACKEND"] = backend
            return backend
    raise Skip("no Keras backend (tensorflow, jax or torch) is installed")


def import_keras():
    choose_keras_backend()
    try:
        import keras
    except ImportError as exc:
        raise Skip(f"keras is not importable ({exc})") from exc
    if not keras.__version__.startswith("3."):
        raise Skip(f"keras {keras.__version__} is not Keras 3")
    return keras


def run_keras(data, epochs, seed):
    keras = import_keras()
    x_train, x_test, y_train, y_test = data
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(64,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    seconds = timed(
        lambda: model.fit(
            x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, shuffle=True, verbose=0
        )
    )
    return seconds, accuracy(model.predict(x_test, verbose=0), y_test)


def keras_label():
    keras = import_keras()
    return f"keras {keras.__version__} ({keras.backend.backend()})"


def torch_label(threads=None):
    torch = import_torch()
    count = threads if threads is not None else torch.get_num_threads()
    return f"torch {torch.__version__} ({count} thread{'s' if count > 1 else ''})"


def gradstep_label():
    import gradstep

    return f"gradstep {getattr(gradstep, '__version__', '?')}"


RUNNERS = {
    "gradstep": (run_gradstep, gradstep_label),
    "pytorch": (run_pytorch, torch_label),
    "pytorch-1thread": (run_pytorch_1thread, lambda: torch_label(1)),
    "keras": (run_keras, keras_label),
}


# ---------------------------------------------------------------- driver


def benchmark(names, data, epochs, repeats):
    """Runs the frameworks in turns, round after round; returns a result dict per
    framework that ran (a framework that cannot run here is left out, with a
    message)."""
    rounds = {}  # name: (seconds, accuracy) per round
    for name in names:  # warm-up, one epoch, not counted: numba's and torch's first calls
        try:
            RUNNERS[name][0](data, 1, seed=0)
        except Skip as exc:
            print(f"skipping {name}: {exc}", flush=True)
            continue
        rounds[name] = []
    for repeat in range(repeats):
        for name in rounds:
            settle()
            seconds, acc = RUNNERS[name][0](data, epochs, seed=repeat)
            rounds[name].append((seconds, acc))
            print(
                f"  round {repeat + 1}/{repeats} {name}: "
                f"fit {seconds:.3f} s, test accuracy {acc:.4f}",
                flush=True,
            )
    results = {}
    for name, runs in rounds.items():
        times, accuracies = [seconds for seconds, _ in runs], [acc for _, acc in runs]
        results[name] = {
            "name": name,
            "label": RUNNERS[name][1](),
            "times": times,
            "median": statistics.median(times),
            "min": min(times),
            "accuracy": statistics.median(accuracies),
            "accuracies": accuracies,
        }
    return results


def print_table(results, epochs, repeats):
    print()
    print(f"reference model, {epochs} epochs, median of {repeats} interleaved rounds (fit only)")
    print(f"{'framework':<17} {'median s':>9} {'min s':>8} {'test acc':>9}  version")
    for r in results.values():
        print(
            f"{r['name']:<17} {r['median']:>9.3f} {r['min']:>8.3f} "
            f"{r['accuracy']:>9.4f}  {r['label']}"
        )


def print_ratios(results):
    if "gradstep" not in results:
        print("\nno ratios: gradstep did not run")
        return
    ours = results["gradstep"]["times"]
    print()
    for peer in ("pytorch", "pytorch-1thread", "keras"):
        if peer in results:
            ratios = [
                mine / theirs for mine, theirs in zip(ours, results[peer]["times"], strict=True)
            ]
            print(
                f"gradstep/{peer:<16} {statistics.median(ratios):6.2f}x "
                f"(rounds {min(ratios):.2f}-{max(ratios):.2f})"
            )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--frameworks",
        default=",".join(ALL_FRAMEWORKS),
        help="comma-separated subset of " + ", ".join(ALL_FRAMEWORKS),
    )
    args = parser.parse_args(argv)
    args.frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(args.frameworks) - set(ALL_FRAMEWORKS))
    if unknown:
        parser.error(f"unknown frameworks: {', '.join(unknown)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    data = load_data()
    print(f"digits: {len(data[0])} train / {len(data[1])} test samples")
    results = benchmark(args.frameworks, data, args.epochs, args.repeats)
    if results:
        print_table(results, args.epochs, args.repeats)
        print_ratios(results)


if __name__ == "__main__":
    main()
