"""Benchmark a whole fit, cold and warm, in gradstep and its peers.

Models (--model):
  reference  Dense(512, relu, input 64) -> Dense(10, softmax), on
             scikit-learn's digits (stratified 80/20 split, random_state=0,
             x / 16 as float32): 1437 training samples, 20 epochs.
  big-mlp    784 -> Dense(1024, relu) -> Dense(1024, relu) -> Dense(10,
             softmax), on synthetic MNIST-shaped data (fixed seed 0: pixels
             uniform in [0, 1), labels the argmax of a fixed random linear
             map of the pixels, so that the task is learnable): 8192
             training samples (--samples) and a quarter as many test samples,
             1 epoch. Synthetic, so
             that the benchmark runs offline.

Every contender trains with Adam (learning rate 1e-3, beta_1 0.9, beta_2
0.999, epsilon 1e-7) on the cross-entropy of the softmax with integer
labels, batch --batch-size (32 by default), shuffled every epoch, the last
batch of an epoch partial. No metrics are computed during training.

Contenders (--frameworks, comma separated):
  gradstep         gradstep's Keras API (Sequential, Dense, compile, fit);
                   whatever gradstep is on PYTHONPATH, kernels 'auto'
  gradstep-numpy   the same with kernels.set_backend("numpy") (not default)
  pytorch          torch eager: nn.Sequential of Linear and ReLU,
                   CrossEntropyLoss on the logits, torch.randperm each
                   epoch, zero_grad/backward/step; default thread count
  pytorch-1thread  the same after torch.set_num_threads(1)
  sklearn          scikit-learn's MLPClassifier(hidden_layer_sizes, relu,
                   solver adam, batch_size, learning_rate_init 1e-3,
                   epsilon 1e-7, alpha 0, max_iter epochs, shuffle,
                   early_stopping False, n_iter_no_change > epochs); float32
                   data stays float32. Differs: its initializer (uniform
                   Glorot for weights and biases alike), and fit() starts
                   over on each call.
  keras-jax        Keras 3 on JAX (KERAS_BACKEND=jax), the same model as
                   gradstep's; its fit jit-compiles the step (in the cold fit)
  jax-optax        a hand-written JAX + optax loop: an MLP as a function of
                   a parameter list, optax.adam(1e-3, eps=1e-7), and per
                   epoch one jitted call that permutes the data and runs
                   ``lax.scan`` over its full batches (then one step for the
                   partial batch); its cold fit includes compiling.
The defaults: every contender but gradstep-numpy for the reference model;
gradstep, pytorch and pytorch-1thread for the big MLP. A contender whose
modules are not installed is skipped with a line saying so.

Timing: every measurement runs in its own fresh process (a child of this
script, started with the same Python and environment). The child loads the
data (from a .npz the parent wrote: NumPy only, so that no contender pays
another's imports), imports its framework, builds the model, then fits:
- cold: the first fit in the process; two figures: the time of the fit call
  ("cold fit"), and the time from just before the parent started the
  process to the end of that fit ("start->end": interpreter start, imports,
  data, model building and the fit, what a script gets);
- warm: the best of the next two fits in the same process (on the same
  model: training goes on from where the previous fit left it; scikit-learn
  starts over, which costs the same).
Both fits are also given in CPU seconds of the child process (all its
threads, time.process_time): on a machine where other processes hold the
cores, wall time includes the time spent waiting for a core and CPU time
does not; but a thread that spins while it waits for another (OpenMP's,
OpenBLAS's) adds CPU time.
The contenders take turns (--rounds rounds, the order rotated every round,
a short pause before each); the tables give the median over rounds, and
the ratios of gradstep to each peer are the medians of the per-round ratios.
The test accuracy is that after the cold fit. Ctrl-C (SIGINT) stops the
rounds and prints the tables of the rounds completed so far.

--profile (gradstep only, in this process): where the time of one training
step goes. After one untimed fit, the layers' forward and backward, the
loss's value_and_gradient, the optimizer's apply (and apply_weight_gradients)
and Model._train_step are wrapped on the instances (monkeypatching inside
this script; the library is not changed) and timed over a fit of --epochs
epochs (for a chain of Dense layers, which fit runs as a DenseChain, the
chain's own per-layer methods are wrapped instead). Each piece's time is
its own (exclusive of wrapped pieces inside it); the table gives each
piece's median per step and its share of the median step; "rest of the
step" is the step's time outside the wrapped
pieces (graph bookkeeping, the gradient list, metrics, per-step Python),
and "fit, outside the step" is the fit's mean time per step outside
_train_step (batching, callbacks). The wrappers add about a microsecond
per wrapped call (the line "timer overhead" gives it).

--ahead (gradstep): before the rounds, build gradstep's kernels compiled
ahead of time for this machine if its cache has none ("build", the default:
what a machine where gradstep has trained before has, as numba's disk cache
is warm after a first run; a fresh process then runs its first fit on
kernels without importing numba), or turn them off in every child ("off":
the first fit runs the NumPy twins, later ones numba's kernels once loaded;
see gradstep.kernels.ahead). The version column says which.

--memory (in fresh processes, --memory-repeats each, interleaved): the
growth of the peak resident memory over the resident memory just before the
fit (VmHWM - VmRSS, after malloc_trim; see rss.py), for the first fit of the
process (cold) and for the second (warm), for the selected contenders
(gradstep and pytorch by default); beside them, the resident memory before
the cold fit (the imports, the data, the model) and the process's peak.

Run (from the repository, with the environment that has the peers):
    PYTHONPATH=src python benchmarks/bench_reference.py --rounds 7
    PYTHONPATH=src python benchmarks/bench_reference.py --model big-mlp --batch-size 256
    PYTHONPATH=src python benchmarks/bench_reference.py --profile
    PYTHONPATH=src python benchmarks/bench_reference.py --memory --model big-mlp
"""

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass

import numpy as np

import rss

LEARNING_RATE = 1e-3
BETA_1, BETA_2 = 0.9, 0.999
EPSILON = 1e-7
CONTENDERS = (
    "gradstep",
    "gradstep-numpy",
    "pytorch",
    "pytorch-1thread",
    "sklearn",
    "keras-jax",
    "jax-optax",
)
# What each contender imports: it is skipped when one of them is not installed.
MODULES = {
    "gradstep": ("gradstep",),
    "gradstep-numpy": ("gradstep",),
    "pytorch": ("torch",),
    "pytorch-1thread": ("torch",),
    "sklearn": ("sklearn",),
    "keras-jax": ("keras", "jax"),
    "jax-optax": ("jax", "optax"),
}
SKIP_EXIT = 3  # a child's exit status when its framework is not importable


@dataclass(frozen=True)
class Architecture:
    """Dense layers: ``inputs`` -> ``hidden`` (relu each) -> ``classes`` (softmax)."""

    inputs: int
    hidden: tuple
    classes: int = 10


@dataclass(frozen=True)
class Task:
    architecture: Architecture
    epochs: int
    defaults: tuple  # the contenders run when --frameworks is not given
    description: str


MODELS = {
    "reference": Task(
        Architecture(64, (512,)),
        epochs=20,
        defaults=tuple(c for c in CONTENDERS if c != "gradstep-numpy"),
        description="reference model (64-512-10) on digits",
    ),
    "big-mlp": Task(
        Architecture(784, (1024, 1024)),
        epochs=1,
        defaults=("gradstep", "pytorch", "pytorch-1thread"),
        description="big MLP (784-1024-1024-10) on synthetic MNIST-shaped data",
    ),
}


class Skip(Exception):
    """Raised when a contender cannot run here."""


# ---------------------------------------------------------------- data


def load_data(model_name: str, samples: int = 8192) -> dict:
    """``{"x_train", "y_train", "x_test", "y_test"}``: float32 inputs, int64
    labels (``samples`` training samples for the big MLP)."""
    if model_name == "reference":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        x = (digits.data / 16.0).astype(np.float32)
        y = digits.target.astype(np.int64)
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=0.2, stratify=y, random_state=0
        )
        return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return synthetic_data(samples, samples // 4, MODELS[model_name].architecture)


def synthetic_data(train: int, test: int, architecture: Architecture, seed: int = 0) -> dict:
    """Uniform pixels; labels from a fixed random linear map (a learnable task)."""
    rng = np.random.default_rng(seed)
    x = rng.random((train + test, architecture.inputs), dtype=np.float32)
    teacher = rng.standard_normal((architecture.inputs, architecture.classes)).astype(np.float32)
    y = np.argmax((x - 0.5) @ teacher, axis=1).astype(np.int64)
    return {"x_train": x[:train], "y_train": y[:train], "x_test": x[train:], "y_test": y[train:]}


def accuracy(scores, labels) -> float:
    return float(np.mean(np.argmax(np.asarray(scores), axis=1) == labels))


# ---------------------------------------------------------------- contenders
# Each builder imports its framework and builds the model (not timed as the
# fit), and returns (fit, predict): fit() trains `epochs` epochs on the
# training data; predict(x) gives scores whose argmax is the class.


def build_gradstep(data, architecture, batch_size, epochs, seed, numpy_kernels=False):
    try:
        from gradstep import kernels
    except ImportError as exc:
        raise Skip(f"gradstep is not importable ({exc})") from exc
    if numpy_kernels:
        kernels.set_backend("numpy")
    model = gradstep_model(architecture, seed)
    x, y = data["x_train"], data["y_train"]

    def fit():
        model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)

    return fit, lambda x_new: model.predict(x_new, verbose=0), model


def gradstep_model(architecture, seed):
    import gradstep
    from gradstep import layers

    gradstep.utils.set_random_seed(seed)
    model = gradstep.Sequential(
        [gradstep.Input(shape=(architecture.inputs,))]
        + [layers.Dense(units, activation="relu") for units in architecture.hidden]
        + [layers.Dense(architecture.classes, activation="softmax")]
    )
    model.compile(
        optimizer=gradstep.optimizers.Adam(
            learning_rate=LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON
        ),
        loss="sparse_categorical_crossentropy",
    )
    return model


def build_pytorch(data, architecture, batch_size, epochs, seed, threads=None):
    try:
        import torch
    except ImportError as exc:
        raise Skip(f"torch is not importable ({exc})") from exc
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    sizes = (architecture.inputs, *architecture.hidden)
    stack = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        stack += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*stack, torch.nn.Linear(sizes[-1], architecture.classes))
    optimizer = torch.optim.Adam(
        model.parameters(), lr=LEARNING_RATE, betas=(BETA_1, BETA_2), eps=EPSILON
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    count = x.shape[0]

    def fit():
        model.train()
        for _ in range(epochs):
            order = torch.randperm(count)
            for start in range(0, count, batch_size):
                batch = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(x[batch]), y[batch])
                loss.backward()
                optimizer.step()

    def predict(x_new):
        with torch.no_grad():
            return model(torch.from_numpy(x_new)).numpy()

    return fit, predict, model


def build_sklearn(data, architecture, batch_size, epochs, seed):
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError as exc:
        raise Skip(f"scikit-learn is not importable ({exc})") from exc
    model = MLPClassifier(
        hidden_layer_sizes=architecture.hidden,
        activation="relu",
        solver="adam",
        alpha=0.0,
        batch_size=batch_size,
        learning_rate_init=LEARNING_RATE,
        max_iter=epochs,
        shuffle=True,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=epochs + 1,  # never stops before max_iter
        early_stopping=False,
        beta_1=BETA_1,
        beta_2=BETA_2,
        epsilon=EPSILON,
    )
    x, y = data["x_train"], data["y_train"]

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # "max_iter reached"
            model.fit(x, y)

    return fit, model.predict_proba, model


def build_keras_jax(data, architecture, batch_size, epochs, seed):
    os.environ["KERAS_BACKEND"] = "jax"
    try:
        import keras
    except ImportError as exc:
        raise Skip(f"keras is not importable ({exc})") from exc
    if keras.backend.backend() != "jax":
        raise Skip(f"keras was already imported with the {keras.backend.backend()} backend")
    if not keras.__version__.startswith("3."):
        raise Skip(f"keras {keras.__version__} is not Keras 3")
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input(shape=(architecture.inputs,))]
        + [keras.layers.Dense(units, activation="relu") for units in architecture.hidden]
        + [keras.layers.Dense(architecture.classes, activation="softmax")]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON
        ),
        loss="sparse_categorical_crossentropy",
    )
    x, y = data["x_train"], data["y_train"]

    def fit():
        model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)

    return fit, lambda x_new: model.predict(x_new, verbose=0), model


def build_jax_optax(data, architecture, batch_size, epochs, seed):
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError as exc:
        raise Skip(f"jax or optax is not importable ({exc})") from exc

    sizes = (architecture.inputs, *architecture.hidden, architecture.classes)
    key = jax.random.PRNGKey(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        key, sub = jax.random.split(key)
        limit = (6.0 / (fan_in + fan_out)) ** 0.5  # Glorot uniform, zero biases (as Keras)
        kernel = jax.random.uniform(sub, (fan_in, fan_out), jnp.float32, -limit, limit)
        params.append((kernel, jnp.zeros((fan_out,), jnp.float32)))
    optimizer = optax.adam(LEARNING_RATE, b1=BETA_1, b2=BETA_2, eps=EPSILON)
    x, y = jnp.asarray(data["x_train"]), jnp.asarray(data["y_train"].astype(np.int32))
    count = x.shape[0]
    full_batches = count // batch_size

    def logits_of(params, inputs):
        for kernel, bias in params[:-1]:
            inputs = jax.nn.relu(inputs @ kernel + bias)
        kernel, bias = params[-1]
        return inputs @ kernel + bias

    def loss_of(params, inputs, labels):
        logits = logits_of(params, inputs)
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    def step(carry, batch):
        params, opt_state = carry
        loss, grads = jax.value_and_grad(loss_of)(params, *batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    @jax.jit
    def epoch(params, opt_state, key):
        order = jax.random.permutation(key, count)
        head = order[: full_batches * batch_size].reshape(full_batches, batch_size)
        carry, losses = jax.lax.scan(step, (params, opt_state), (x[head], y[head]))
        if full_batches * batch_size < count:  # the partial last batch (static shapes)
            tail = order[full_batches * batch_size :]
            carry, _ = step(carry, (x[tail], y[tail]))
        return carry, losses.mean()

    state = {"params": params, "opt_state": optimizer.init(params), "key": key}

    def fit():
        params, opt_state, key = state["params"], state["opt_state"], state["key"]
        for _ in range(epochs):
            key, sub = jax.random.split(key)
            (params, opt_state), _ = epoch(params, opt_state, sub)
        jax.block_until_ready(params)
        state.update(params=params, opt_state=opt_state, key=key)

    def predict(x_new):
        return np.asarray(logits_of(state["params"], jnp.asarray(x_new)))

    return fit, predict, None


BUILDERS = {
    "gradstep": build_gradstep,
    "gradstep-numpy": lambda *args: build_gradstep(*args, numpy_kernels=True),
    "pytorch": build_pytorch,
    "pytorch-1thread": lambda *args: build_pytorch(*args, threads=1),
    "sklearn": build_sklearn,
    "keras-jax": build_keras_jax,
    "jax-optax": build_jax_optax,
}


def version_label(name: str) -> str:
    """The versions and settings a contender ran with (in the child, after its fit)."""
    if name.startswith("gradstep"):
        import gradstep
        from gradstep import kernels
        from gradstep.kernels import ahead

        where = os.path.dirname(os.path.dirname(gradstep.__file__))
        backend = "numba" if kernels.use_numba() else "numpy twins"
        compiled_ahead = "in use" if ahead.status().startswith("in use") else "not in use"
        return (
            f"gradstep {gradstep.__version__} ({backend} kernels, compiled ahead of time "
            f"{compiled_ahead}; from {where})"
        )
    if name.startswith("pytorch"):
        import torch

        threads = torch.get_num_threads()
        return f"torch {torch.__version__} ({threads} thread{'s' if threads > 1 else ''})"
    if name == "sklearn":
        import sklearn

        return f"scikit-learn {sklearn.__version__}"
    if name == "keras-jax":
        import jax
        import keras

        return f"keras {keras.__version__}, jax {jax.__version__}"
    import jax
    import optax

    return f"jax {jax.__version__}, optax {optax.__version__}"


# ---------------------------------------------------------------- one process


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def timed_with_cpu(function) -> tuple:
    """``(wall seconds, CPU seconds of the whole process, every thread)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure_in_this_process(name, data, architecture, batch_size, epochs, seed, warm_fits=2):
    """The cold fit, then ``warm_fits`` more, in this process. Returns a dict:
    ``fit`` (seconds of the cold fit), ``fit_cpu`` (its CPU seconds, all
    threads), ``fit_end`` (``time.time()`` at its end), ``warm`` and
    ``warm_cpu`` (the later fits'), ``accuracy`` (after the cold fit) and
    ``label``."""
    fit, predict, _ = BUILDERS[name](data, architecture, batch_size, epochs, seed)
    cold, cold_cpu = timed_with_cpu(fit)
    fit_end = time.time()
    test_accuracy = accuracy(predict(data["x_test"]), data["y_test"])
    warm = [timed_with_cpu(fit) for _ in range(warm_fits)]
    return {
        "fit": cold,
        "fit_cpu": cold_cpu,
        "fit_end": fit_end,
        "warm": [seconds for seconds, _ in warm],
        "warm_cpu": [cpu for _, cpu in warm],
        "accuracy": test_accuracy,
        "label": version_label(name),
    }


def memory_in_this_process(name, data, architecture, batch_size, epochs, seed):
    """Peak RSS growth (KiB) over the first fit of this process and the second."""
    fit, _, _ = BUILDERS[name](data, architecture, batch_size, epochs, seed)
    cold = rss.measure_peak_growth(fit)
    warm = rss.measure_peak_growth(fit)
    return {"cold": cold, "warm": warm}


def child_main(args) -> None:
    """A fresh process's part: one measurement, printed as one JSON line."""
    with np.load(args.data, allow_pickle=False) as arrays:
        data = {key: arrays[key] for key in arrays.files}
    architecture = MODELS[args.model].architecture
    run = memory_in_this_process if args.memory_child else measure_in_this_process
    try:
        result = run(args.child, data, architecture, args.batch_size, args.epochs, seed=args.seed)
    except Skip as exc:
        print(json.dumps({"skip": str(exc)}))
        sys.exit(SKIP_EXIT)
    print(json.dumps(result))


def run_child(name, args, data_path, seed, memory=False) -> dict:
    """Start a fresh process for one measurement; returns its JSON (with
    ``start_to_end``: seconds from just before the start to the cold fit's end),
    or raises Skip."""
    command = [sys.executable, os.path.abspath(__file__), "--child", name]
    command += ["--data", data_path, "--model", args.model, "--seed", str(seed)]
    command += ["--batch-size", str(args.batch_size), "--epochs", str(args.epochs)]
    if memory:
        command.append("--memory-child")
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ)
    lines = result.stdout.strip().splitlines()
    if result.returncode == SKIP_EXIT and lines:
        raise Skip(json.loads(lines[-1])["skip"])
    if result.returncode != 0 or not lines:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise Skip(f"its process failed (exit {result.returncode}): {tail}")
    measured = json.loads(lines[-1])
    if not memory:
        measured["start_to_end"] = measured["fit_end"] - started
    return measured


# ---------------------------------------------------------------- timing


def available(names) -> list:
    """The contenders whose modules are installed (a line for each that is not)."""
    kept = []
    for name in names:
        missing = [m for m in MODULES[name] if importlib.util.find_spec(m) is None]
        if missing:
            print(f"skipping {name}: {', '.join(missing)} not installed", flush=True)
        else:
            kept.append(name)
    return kept


def interleaved_rounds(names, args, data_path, memory=False) -> dict:
    """``{name: [measurement per round]}``, the contenders taking turns (the
    order rotated each round); a contender that cannot run is dropped with a line."""
    runs = {name: [] for name in names}
    rounds = args.memory_repeats if memory else args.rounds
    try:
        for round_index in range(rounds):
            shift = round_index % len(names) if names else 0
            for name in names[shift:] + names[:shift]:
                if name in runs:
                    one_turn(runs, name, args, data_path, round_index, memory)
    except KeyboardInterrupt:
        complete = min((len(measured) for measured in runs.values()), default=0)
        print(f"\ninterrupted: the tables below are from the {complete} complete rounds")
        runs = {name: measured[:complete] for name, measured in runs.items()}
    return runs


def one_turn(runs, name, args, data_path, round_index, memory) -> None:
    """Run one measurement of ``name`` in a fresh process; add it to ``runs``
    (or drop ``name`` from ``runs``, with a line, when it cannot run)."""
    time.sleep(0.2)  # let the previous process's threads go
    rounds = args.memory_repeats if memory else args.rounds
    try:
        measured = run_child(name, args, data_path, seed=round_index, memory=memory)
    except Skip as exc:
        print(f"skipping {name}: {exc}", flush=True)
        del runs[name]
        return
    runs[name].append(measured)
    print(f"  round {round_index + 1}/{rounds} {name}: {brief(measured)}", flush=True)


def brief(measured) -> str:
    if "cold" in measured:
        return (
            f"peak RSS +{measured['cold']['growth_kib'] / 1024:.1f} MiB (cold fit), "
            f"+{measured['warm']['growth_kib'] / 1024:.1f} MiB (warm fit)"
        )
    return (
        f"cold fit {measured['fit']:.3f} s (start->end {measured['start_to_end']:.3f} s), "
        f"warm {min(measured['warm']):.3f} s, test accuracy {measured['accuracy']:.4f}"
    )


def summarize(runs) -> dict:
    """Per contender: per-round figures and their medians (seconds)."""
    results = {}
    for name, measured in runs.items():
        if not measured:
            continue
        per_round = {
            "cold": [m["fit"] for m in measured],
            "start_to_end": [m["start_to_end"] for m in measured],
            "warm": [min(m["warm"]) for m in measured],
            "cold_cpu": [m["fit_cpu"] for m in measured],
            "warm_cpu": [min(m["warm_cpu"]) for m in measured],
        }
        results[name] = {
            "rounds": per_round,
            "median": {key: statistics.median(values) for key, values in per_round.items()},
            "accuracy": statistics.median(m["accuracy"] for m in measured),
            "label": measured[-1]["label"],
        }
    return results


def ratios(results, ours="gradstep") -> dict:
    """``{peer: {figure: (median, low, high)}}`` of the per-round ratios ours / peer."""
    if ours not in results:
        return {}
    table = {}
    for peer, result in results.items():
        if peer == ours:
            continue
        table[peer] = {}
        for figure, mine in results[ours]["rounds"].items():
            values = [a / b for a, b in zip(mine, result["rounds"][figure], strict=False)]
            table[peer][figure] = (statistics.median(values), min(values), max(values))
    return table


def print_timing(results, args) -> None:
    task = MODELS[args.model]
    print(
        f"\n{task.description}: {args.epochs} epochs, batch {args.batch_size}, Adam; "
        f"medians of {args.rounds} interleaved rounds, each measurement in a fresh process"
    )
    print(
        f"{'contender':<16} {'cold fit s':>10} {'start->end s':>12} {'warm s':>8} "
        f"{'cold CPU s':>10} {'warm CPU s':>10} {'test acc':>9}  version"
    )
    for name, result in results.items():
        median = result["median"]
        print(
            f"{name:<16} {median['cold']:>10.3f} {median['start_to_end']:>12.3f} "
            f"{median['warm']:>8.3f} {median['cold_cpu']:>10.3f} {median['warm_cpu']:>10.3f} "
            f"{result['accuracy']:>9.4f}  {result['label']}"
        )
    table = ratios(results)
    if not table:
        print("\nno ratios: gradstep did not run")
        return
    print("\ngradstep / peer (median of the per-round ratios; rounds' range)")
    figures_shown = ("cold", "start_to_end", "warm", "cold_cpu", "warm_cpu")
    headings = ("cold fit", "start->end", "warm", "cold CPU", "warm CPU")
    print(f"{'peer':<16} " + " ".join(f"{heading:>20}" for heading in headings))
    for peer, figures in table.items():
        cells = [
            f"{figures[f][0]:.2f}x ({figures[f][1]:.2f}-{figures[f][2]:.2f})" for f in figures_shown
        ]
        print(f"{peer:<16} " + " ".join(f"{cell:>20}" for cell in cells))


def print_memory(runs, args) -> None:
    task = MODELS[args.model]
    print(
        f"\n{task.description}, batch {args.batch_size}, {args.epochs} epochs: growth of the "
        f"peak RSS during a fit (median of {args.memory_repeats} fresh processes)"
    )
    print(
        f"{'contender':<16} {'cold fit MiB':>12} {'warm fit MiB':>12} {'RSS before MiB':>15} "
        f"{'peak RSS MiB':>13}"
    )
    medians = {}
    for name, measured in runs.items():
        if not measured:
            continue
        medians[name] = {
            fit: statistics.median(m[fit]["growth_kib"] for m in measured) / 1024
            for fit in ("cold", "warm")
        }
        before = statistics.median(m["cold"]["before_kib"] for m in measured) / 1024
        peak = statistics.median(max(m[fit]["peak_kib"] for fit in m) for m in measured) / 1024
        print(
            f"{name:<16} {medians[name]['cold']:>12.1f} {medians[name]['warm']:>12.1f} "
            f"{before:>15.0f} {peak:>13.0f}"
        )
    for peer in medians:
        if peer != "gradstep" and "gradstep" in medians:
            cells = []
            for fit in ("cold", "warm"):
                theirs = medians[peer][fit]
                cells.append(
                    f"{fit} {medians['gradstep'][fit] / theirs:.2f}x"
                    if theirs >= 1
                    else f"{fit}: no ratio ({peer} grows less than 1 MiB)"
                )
            print(f"memory gradstep/{peer}: " + ", ".join(cells))


# ---------------------------------------------------------------- profile


class StepProfiler:
    """Times wrapped callables, each call's own time exclusive of wrapped calls
    inside it, grouped by step (a call of the wrapped ``Model._train_step``)."""

    def __init__(self):
        self.steps = []  # per step: {piece: own seconds}, and "step" its total
        self._stack = []  # [piece, start, seconds spent in wrapped calls inside]
        self._current = None

    def wrap(self, owner, attribute, piece, is_step=False):
        """Time ``owner.attribute``'s calls as ``piece``: a name, or a function
        of the call's arguments that gives it."""
        original = getattr(owner, attribute)
        clock = time.perf_counter

        def timed_call(*args, **kwargs):
            if is_step:
                self._current = {}
            name = piece(*args, **kwargs) if callable(piece) else piece
            self._stack.append([name, clock(), 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                name, start, inner = self._stack.pop()
                total = clock() - start
                if self._stack:
                    self._stack[-1][2] += total
                if is_step:
                    self._current["step"] = total
                    self._current["rest of the step"] = total - inner
                    self.steps.append(self._current)
                    self._current = None
                elif self._current is not None:
                    self._current[name] = self._current.get(name, 0.0) + total - inner

        setattr(owner, attribute, timed_call)


def wrap_step_pieces(profiler, model) -> list:
    """Wrap the pieces of gradstep's step on ``model``'s instances; returns
    the pieces' names, in the order of a step."""
    if not hasattr(model, "_train_step"):
        raise RuntimeError(
            "gradstep's Model has no _train_step any more: update the profile in "
            "benchmarks/bench_reference.py to wrap what fit calls per batch"
        )
    if type(model._plan_step()).__name__ == "DenseChain":
        return wrap_dense_chain(profiler, model)
    pieces = []
    for layer in model.layers:
        profiler.wrap(layer, "forward", f"{layer.name} forward")
        pieces.append(f"{layer.name} forward")
    compiled_loss = model._compiled[0]
    for entry in compiled_loss.entries:
        profiler.wrap(entry.loss, "value_and_gradient", "loss value_and_gradient")
    pieces.append("loss value_and_gradient")
    for layer in reversed(model.layers):
        profiler.wrap(layer, "backward", f"{layer.name} backward")
        if hasattr(layer, "backward_from_pre_activation"):
            profiler.wrap(layer, "backward_from_pre_activation", f"{layer.name} backward")
        pieces.append(f"{layer.name} backward")
    wrap_optimizer(profiler, model.optimizer)
    pieces.append("optimizer apply")
    profiler.wrap(model, "_train_step", "step", is_step=True)
    return pieces


def wrap_optimizer(profiler, optimizer) -> None:
    """The optimizer's update as "optimizer apply": ``apply_weight_gradients``,
    which fit calls, and ``apply`` only for an optimizer with a ``step`` of its
    own (L-BFGS): an ``apply`` wrapped on the instance sends Adam's plain step
    to the general path (``Optimizer._plain_step``), which fit does not take."""
    from gradstep.optimizers import Optimizer

    profiler.wrap(optimizer, "apply_weight_gradients", "optimizer apply")
    if type(optimizer).step is not Optimizer.step:
        profiler.wrap(optimizer, "apply", "optimizer apply")


def wrap_dense_chain(profiler, model) -> list:
    """``wrap_step_pieces`` for a chain of Dense layers that fit runs as a
    ``DenseChain`` (wrapping the layers' methods on their instances would turn
    it off): the chain's per-layer methods, on each chain fit makes."""
    names = [layer.name for layer in model.layers]
    plan_step = model._plan_step

    def wrapped_plan_step():
        chain = plan_step()
        profiler.wrap(chain, "hidden_forward", lambda index, *_: f"{names[index]} forward")
        profiler.wrap(chain, "last_forward", f"{names[-1]} forward")
        profiler.wrap(chain, "loss", "loss value_and_gradient")
        profiler.wrap(chain, "last_backward", f"{names[-1]} backward")
        profiler.wrap(chain, "hidden_backward", lambda index, *_: f"{names[index]} backward")
        return chain

    model._plan_step = wrapped_plan_step
    for entry in model._compiled[0].entries:  # (a step the chain hands on to the layers)
        profiler.wrap(entry.loss, "value_and_gradient", "loss value_and_gradient")
    wrap_optimizer(profiler, model.optimizer)
    profiler.wrap(model, "_train_step", "step", is_step=True)
    pieces = [f"{name} forward" for name in names] + ["loss value_and_gradient"]
    return pieces + [f"{name} backward" for name in reversed(names)] + ["optimizer apply"]


def timer_overhead(calls=20000) -> float:
    """Seconds a wrapper adds to one call (a wrapped no-op minus the bare no-op)."""

    class Probe:
        def noop(self):
            return None

    probe, profiler = Probe(), StepProfiler()
    bare = timed(lambda: [probe.noop() for _ in range(calls)])
    profiler.wrap(probe, "noop", "probe")
    wrapped = timed(lambda: [probe.noop() for _ in range(calls)])
    return max(wrapped - bare, 0.0) / calls


def profile(data, architecture, batch_size, epochs, seed=0) -> dict:
    """Where a gradstep step's time goes (see the module docstring). Returns
    ``{"rows": [(piece, median seconds per step, share of the median step)],
    "step", "fit_per_step", "steps", "overhead"}``."""
    model = gradstep_model(architecture, seed)
    x, y = data["x_train"], data["y_train"]
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=True, verbose=0)  # cold costs
    profiler = StepProfiler()
    pieces = wrap_step_pieces(profiler, model)
    seconds = timed(
        lambda: model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0)
    )
    steps = profiler.steps
    if not steps:
        raise RuntimeError("fit did not call the wrapped Model._train_step")
    step = statistics.median(s["step"] for s in steps)
    rows = []
    for piece in [*pieces, "rest of the step"]:
        per_step = statistics.median(s.get(piece, 0.0) for s in steps)
        called = any(piece in s for s in steps)
        rows.append((piece, per_step, per_step / step, called))
    mean_step = statistics.fmean(s["step"] for s in steps)
    return {
        "rows": rows,
        "step": step,
        "fit_per_step": seconds / len(steps),
        "outside_step": seconds / len(steps) - mean_step,
        "steps": len(steps),
        "overhead": timer_overhead(),
    }


def print_profile(report, args) -> None:
    task = MODELS[args.model]
    print(
        f"\nprofile of gradstep's step: {task.description}, batch {args.batch_size}, "
        f"{report['steps']} steps ({args.epochs} epochs); medians per step"
    )
    print(f"{'piece':<32} {'us/step':>9} {'share':>7}")
    for piece, seconds, share, called in report["rows"]:
        note = "" if called else "  (never called: the step does not go through it)"
        print(f"{piece:<32} {seconds * 1e6:>9.1f} {share:>6.1%}{note}")
    print(f"{'step (Model._train_step)':<32} {report['step'] * 1e6:>9.1f} {1:>6.1%}")
    print(
        f"fit per step {report['fit_per_step'] * 1e6:.1f} us (mean), of which outside "
        f"_train_step {report['outside_step'] * 1e6:.1f} us (batching, callbacks); "
        f"timer overhead {report['overhead'] * 1e6:.2f} us per wrapped call"
    )


# ---------------------------------------------------------------- driver


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="reference")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--samples", type=int, default=8192, help="big-mlp's training samples (test: a quarter)"
    )
    parser.add_argument(
        "--frameworks", default=None, help="comma-separated: " + ", ".join(CONTENDERS)
    )
    parser.add_argument("--profile", action="store_true", help="profile gradstep's step only")
    parser.add_argument("--memory", action="store_true", help="measure peak memory only")
    parser.add_argument("--memory-repeats", type=int, default=3)
    parser.add_argument(
        "--ahead",
        choices=("build", "off"),
        default="build",
        help="gradstep's kernels compiled ahead of time: build them first if this machine "
        "has none (default), or turn them off (GRADSTEP_AHEAD=0: the twins, then numba)",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    task = MODELS[args.model]
    if args.epochs is None:
        args.epochs = task.epochs
    if args.frameworks is None:
        defaults = ("gradstep", "pytorch") if args.memory else task.defaults
        args.frameworks = list(defaults)
    else:
        args.frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(args.frameworks) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown frameworks: {', '.join(unknown)}")
    return args


def prepare_ahead_of_time_kernels(choice: str, names: list) -> None:
    """Build gradstep's kernels compiled ahead of time before the rounds (as a
    machine where gradstep has trained before has them, the way numba's disk
    cache is warm after a first run), or turn them off for every child."""
    if not any(name.startswith("gradstep") for name in names):
        return
    if choice == "off" or os.environ.get("GRADSTEP_AHEAD") == "0":
        os.environ["GRADSTEP_AHEAD"] = "0"
        print("gradstep's kernels compiled ahead of time: off (GRADSTEP_AHEAD=0)")
        return
    built = subprocess.run(
        [sys.executable, "-m", "gradstep.kernels.ahead_build"], capture_output=True, text=True
    )
    line = (built.stdout or built.stderr).strip().splitlines()
    print(line[-1] if line else f"building them failed (exit {built.returncode})")


def main(argv=None):
    """Returns what it printed: ``{"timing": ...}``, ``{"memory": ...}`` or ``{"profile": ...}``."""
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return None
    data = load_data(args.model, args.samples)
    print(
        f"{MODELS[args.model].description}: {len(data['x_train'])} training / "
        f"{len(data['x_test'])} test samples; {os.cpu_count()} CPUs seen"
    )
    if args.profile:
        report = profile(data, MODELS[args.model].architecture, args.batch_size, args.epochs)
        print_profile(report, args)
        return {"profile": report}
    names = available(args.frameworks)
    prepare_ahead_of_time_kernels(args.ahead, names)
    with tempfile.TemporaryDirectory() as folder:
        data_path = os.path.join(folder, "data.npz")
        np.savez(data_path, **data)
        runs = interleaved_rounds(names, args, data_path, memory=args.memory)
    if args.memory:
        print_memory(runs, args)
        return {"memory": runs}
    results = summarize(runs)
    if results:
        print_timing(results, args)
    return {"timing": results}


if __name__ == "__main__":
    main()
