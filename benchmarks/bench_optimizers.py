"""Benchmark the optimizers' update step, and MLP training, against PyTorch.

Sections (--sections, comma separated):
  adam      one Adam step over the 1,863,690 float32 parameters of a
            784-1024-1024-10 MLP: gradstep (fused numba kernel with the
            default kernels.set_threads('auto'), every core on the large
            parameters, and on one thread; its NumPy twin) against
            torch.optim.Adam with fused=True, foreach=True and the
            single-tensor loop (foreach=False), all on the CPU with PyTorch's
            thread count
  kernels   every optimizer's step over the same parameters, fused kernel
            against NumPy twin (the kernels backend 'numba' against 'numpy'):
            shows where fusing pays; then Muon's step split into its
            Newton-Schulz iterations (matrix products, BLAS) and the rest,
            which is why its matrix step has no kernel
  layout    the fused Adam kernel over 1,048,576 float32 entries with the
            moments allocated one after another (as np.zeros_like gives them)
            and staggered from the parameter as gradstep's optimizers place
            them (gradstep.kernels.memory), on huge pages: why slots are staggered
  subnormal one SGD-momentum step (NumPy) on a velocity of normal numbers and
            on one of subnormal numbers, which is why decaying slots are flushed
  mlp       training the 784-1024-1024-10 MLP (ReLU, ReLU, softmax; sparse
            categorical cross-entropy; Adam lr 1e-3) on 4096 random samples
            for one epoch at batch 32 and at batch 256: gradstep's fit against
            a PyTorch eager loop (default thread count), same batches
            (shuffled), time of the training loop only; --threads sets
            gradstep's BLAS threads (default 'auto') and PyTorch's threads

Every figure is the median of --repeats timings (after a warm-up); ratios are
gradstep / PyTorch (below 1 means gradstep is faster). Other processes on the
machine disturb timings: quote medians of several runs.

Run with the reference virtualenv (gradstep and torch installed):
    python benchmarks/bench_optimizers.py
    python benchmarks/bench_optimizers.py --sections adam,mlp --repeats 7
"""

import argparse
import statistics
import time

import numpy as np

SHAPES = [(784, 1024), (1024,), (1024, 1024), (1024,), (1024, 10), (10,)]
ALL_SECTIONS = ("adam", "kernels", "layout", "subnormal", "mlp")


def median_seconds(function, repeats, warmup=2):
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def settle(seconds=0.1):
    """Pause between contenders: PyTorch's OpenMP threads keep spinning for a
    while after each parallel region, and on 2 cores they would slow down
    whichever library runs next (gradstep's Adam step by about 25%)."""
    time.sleep(seconds)


def parameters_and_gradients(seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s).astype(np.float32) * 0.05 for s in SHAPES]
    grads = [rng.normal(size=s).astype(np.float32) * 1e-3 for s in SHAPES]
    return params, grads


# ---------------------------------------------------------------- adam


def gradstep_adam_step(backend, steps, threads="auto"):
    from gradstep import kernels, optimizers

    params, grads = parameters_and_gradients()
    optimizer = optimizers.Adam()

    def run():
        kernels.set_backend(backend)
        kernels.set_threads(threads)
        for _ in range(steps):
            optimizer.apply(grads, params)

    return run


def torch_adam_step(mode, steps):
    import torch

    params, grads = parameters_and_gradients()
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    for tensor, grad in zip(tensors, grads, strict=True):
        tensor.grad = torch.tensor(grad)
    options = {
        "fused": {"fused": True},
        "foreach": {"foreach": True},
        "single-tensor": {"foreach": False},
    }[mode]
    optimizer = torch.optim.Adam(tensors, lr=1e-3, eps=1e-7, **options)

    def run():
        for _ in range(steps):
            optimizer.step()

    return run


def bench_adam(repeats, steps=20):
    """Contenders take turns, round after round, so that the machine's drift
    in speed reaches all of them alike; each ratio is the median over rounds."""
    from gradstep import kernels

    print(
        f"\nAdam step over {sum(int(np.prod(s)) for s in SHAPES):,} float32 parameters "
        f"(medians of {repeats} interleaved rounds, ms per step)"
    )
    contenders = {}
    for backend, threads in (("numba", "auto"), ("numba", 1), ("numpy", 1)):
        if backend == "numba" and not kernels.numba_available():
            print("  gradstep numba: numba is not installed")
            continue
        count = f"auto: {kernels.available_cores()}" if threads == "auto" else threads
        label = f"gradstep ({backend}, threads {count})"
        contenders[label] = gradstep_adam_step(backend, steps, threads)
    try:
        import torch
    except ImportError:
        torch = None
        print("  torch is not installed: no PyTorch figures")
    if torch is not None:
        for mode in ("fused", "foreach", "single-tensor"):
            contenders[f"torch Adam ({mode})"] = torch_adam_step(mode, steps)
    rounds = {name: [] for name in contenders}
    for run in contenders.values():  # warm-up
        run()
    for _ in range(repeats):
        for name, run in contenders.items():
            settle()
            rounds[name].append(median_seconds(run, 1, warmup=0) / steps)
    kernels.set_backend("auto")
    kernels.set_threads("auto")
    results = {name: statistics.median(times) for name, times in rounds.items()}
    for name, seconds in results.items():
        print(f"  {name:<34} {seconds * 1e3:8.3f} ms")
    fused = rounds.get("torch Adam (fused)")
    for name, times in rounds.items():
        if fused and name.startswith("gradstep"):
            ratios = [mine / theirs for mine, theirs in zip(times, fused, strict=True)]
            ratio = statistics.median(ratios)
            print(
                f"  ratio {name} / torch fused: {ratio:.2f}x "
                f"(rounds {min(ratios):.2f}-{max(ratios):.2f}; goal: <= 1.5x)"
            )
    return results


# ---------------------------------------------------------------- kernels

KERNEL_CASES = {
    "SGD": lambda o: o.SGD(),
    "SGD momentum": lambda o: o.SGD(momentum=0.9),
    "SGD nesterov": lambda o: o.SGD(momentum=0.9, nesterov=True),
    "RMSprop": lambda o: o.RMSprop(),
    "RMSprop centered+momentum": lambda o: o.RMSprop(centered=True, momentum=0.9),
    "Adam": lambda o: o.Adam(),
    "Adam amsgrad": lambda o: o.Adam(amsgrad=True),
    "AdamW": lambda o: o.AdamW(),
    "Adagrad": lambda o: o.Adagrad(),
    "Adadelta": lambda o: o.Adadelta(),
    "Adamax": lambda o: o.Adamax(),
    "Nadam": lambda o: o.Nadam(),
    "Lion": lambda o: o.Lion(),
    "ScheduleFreeAdamW": lambda o: o.ScheduleFreeAdamW(),
    "Ftrl": lambda o: o.Ftrl(),
    "Lamb": lambda o: o.Lamb(),
    "Adafactor": lambda o: o.Adafactor(),
    "Muon (matrices: BLAS)": lambda o: o.Muon(),
}


def bench_kernels(repeats, steps=5):
    from gradstep import kernels, optimizers

    print(f"\nEvery optimizer's step over the same parameters (median of {repeats}, ms)")
    print(f"  {'optimizer':<28} {'fused':>8} {'numpy':>8} {'numpy/fused':>12}")
    rows = {}
    for name, make in KERNEL_CASES.items():
        timings = {}
        for backend in ("numba", "numpy"):
            if backend == "numba" and not kernels.numba_available():
                continue
            kernels.set_backend(backend)
            params, grads = parameters_and_gradients()
            optimizer = make(optimizers)

            def run(optimizer=optimizer, params=params, grads=grads):
                for _ in range(steps):
                    optimizer.apply(grads, params)

            timings[backend] = median_seconds(run, repeats) / steps
        kernels.set_backend("auto")
        rows[name] = timings
        fused, twin = timings.get("numba"), timings["numpy"]
        ratio = f"{twin / fused:11.2f}x" if fused else ""
        fused_text = f"{fused * 1e3:8.3f}" if fused else "       -"
        print(f"  {name:<28} {fused_text} {twin * 1e3:8.3f} {ratio}")
    bench_muon_breakdown(repeats)
    return rows


def bench_muon_breakdown(repeats, steps=3):
    """Time Muon's whole step and, within it, its Newton-Schulz iterations
    (``Muon.orthogonalize``, matrix products that BLAS runs); the rest is
    element-wise (momentum, scaling, the AdamW step of the biases, which is
    the fused Adam kernel)."""
    from gradstep import kernels, optimizers

    print(f"\nMuon's step, split (median of {repeats}, ms)")
    print(f"  {'backend':<8} {'step':>9} {'Newton-Schulz':>14} {'share':>7} {'the rest':>9}")
    rows = {}
    for backend in ("numba", "numpy"):
        if backend == "numba" and not kernels.numba_available():
            continue
        kernels.set_backend(backend)
        params, grads = parameters_and_gradients()
        optimizer = optimizers.Muon()
        orthogonalize, newton_schulz = optimizer.orthogonalize, [0.0]  # seconds, this round

        def timed_orthogonalize(matrix, orthogonalize=orthogonalize, newton_schulz=newton_schulz):
            start = time.perf_counter()
            result = orthogonalize(matrix)
            newton_schulz[0] += time.perf_counter() - start
            return result

        optimizer.orthogonalize = timed_orthogonalize
        optimizer.apply(grads, params)  # warm-up
        steps_seconds, orthogonal_seconds = [], []
        for _ in range(repeats):
            newton_schulz[0] = 0.0
            start = time.perf_counter()
            for _ in range(steps):
                optimizer.apply(grads, params)
            steps_seconds.append((time.perf_counter() - start) / steps)
            orthogonal_seconds.append(newton_schulz[0] / steps)
        step, orthogonal = statistics.median(steps_seconds), statistics.median(orthogonal_seconds)
        shares = zip(orthogonal_seconds, steps_seconds, strict=True)
        share = statistics.median(spent / whole for spent, whole in shares)
        rows[backend] = {"step": step, "newton_schulz": orthogonal, "share": share}
        print(
            f"  {backend:<8} {step * 1e3:9.1f} {orthogonal * 1e3:14.1f} {share:7.1%} "
            f"{(step - orthogonal) * 1e3:9.2f}"
        )
    kernels.set_backend("auto")
    return rows


# ---------------------------------------------------------------- layout


def bench_layout(repeats, size=1 << 20):
    from gradstep import kernels
    from gradstep.kernels import adam, memory

    print(
        f"\nFused Adam kernel over {size:,} float32 entries, one thread, by where the "
        f"moments sit (median of {repeats}, ms)"
    )
    arena = np.zeros(4 * size * 4 + 4 * memory.PERIOD, np.uint8)  # huge pages, as a heap
    start = (-arena.ctypes.data) % memory.PERIOD

    def consecutive(index):  # one after another, 16 bytes apart as malloc leaves them
        first = start + index * (size * 4 + 16)
        return arena[first : first + size * 4].view(np.float32)

    variable, gradient = consecutive(0), consecutive(1)
    variable[...], gradient[...] = 0.5, 1e-3
    layouts = {
        "consecutive (np.zeros_like)": (consecutive(2), consecutive(3)),
        "staggered (gradstep)": (memory.slot_like(variable, 1), memory.slot_like(variable, 2)),
    }
    kernels.set_threads(1)
    results = {}
    for label, (first_moment, second_moment) in layouts.items():

        def run(first_moment=first_moment, second_moment=second_moment):
            adam.adam_update(
                variable, gradient, first_moment, second_moment, None, 1e-3, 0.9, 0.999, 1e-7
            )

        results[label] = median_seconds(run, repeats * 10)
        print(f"  {label:<30} {results[label] * 1e3:8.3f} ms")
    kernels.set_threads("auto")
    return results


# ---------------------------------------------------------------- subnormal


def bench_subnormal(repeats, size=1_000_000):
    print(f"\nOne NumPy SGD-momentum step on {size:,} float32 velocities (median of {repeats})")
    gradient = np.zeros(size, np.float32)
    results = {}
    for label, value in (("normal numbers (1e-3)", 1e-3), ("subnormal numbers (1e-39)", 1e-39)):
        velocity = np.full(size, value, np.float32)

        def run(velocity=velocity, value=value):
            velocity[...] = value
            velocity *= np.float32(0.9)
            velocity -= gradient * np.float32(0.01)

        results[label] = median_seconds(run, repeats)
        print(f"  {label:<28} {results[label] * 1e3:8.3f} ms")
    slow = results["subnormal numbers (1e-39)"] / results["normal numbers (1e-3)"]
    print(f"  subnormal / normal: {slow:.1f}x")
    return results


# ---------------------------------------------------------------- mlp

SAMPLES = 4096


def mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((SAMPLES, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=SAMPLES)
    return x, y


def gradstep_mlp(batch_size, seed):
    from gradstep import layers, models

    x, y = mlp_data()
    model = models.Sequential(
        [
            layers.Dense(1024, activation="relu", input_shape=(784,)),
            layers.Dense(1024, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return time.perf_counter() - start


def torch_mlp(batch_size, seed):
    import torch

    x, y = mlp_data()
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 1024),
        torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024),
        torch.nn.ReLU(),
        torch.nn.Linear(1024, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    inputs, targets = torch.from_numpy(x), torch.from_numpy(y)
    start = time.perf_counter()
    order = torch.randperm(SAMPLES)
    for first in range(0, SAMPLES, batch_size):
        batch = order[first : first + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(model(inputs[batch]), targets[batch])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def bench_mlp(repeats):
    """gradstep and PyTorch take turns, round after round; the ratio is the
    median over rounds of the two times of each round."""
    print(
        f"\nMLP 784-1024-1024-10, Adam, one epoch of {SAMPLES} samples "
        f"(medians of {repeats} interleaved rounds, seconds)"
    )
    results = {}
    for batch_size in (32, 256):
        runs = {"gradstep": gradstep_mlp, "torch": torch_mlp}
        try:
            for run in runs.values():
                run(batch_size, seed=0)  # warm-up (numba kernels, torch's first calls)
        except ImportError as error:
            print(f"  {error.name} is not installed")
            runs = {name: run for name, run in runs.items() if name != error.name}
        rounds = {name: [] for name in runs}
        for seed in range(repeats):
            for name, run in runs.items():
                settle()
                rounds[name].append(run(batch_size, seed=seed))
        row = {name: statistics.median(times) for name, times in rounds.items()}
        results[batch_size] = row
        line = "  ".join(f"{name} {seconds:.3f} s" for name, seconds in row.items())
        suffix = ""
        if len(rounds) == 2:
            ratios = [ours / theirs for ours, theirs in zip(*rounds.values(), strict=True)]
            suffix = (
                f"  ratio gradstep/torch {statistics.median(ratios):.2f}x "
                f"(rounds {min(ratios):.2f}-{max(ratios):.2f}; goal: <= 1)"
            )
        print(f"  batch {batch_size:>3}: {line}{suffix}")
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for gradstep's BLAS and for PyTorch (default: each library's own)",
    )
    parser.add_argument(
        "--sections",
        default=",".join(ALL_SECTIONS),
        help="comma-separated subset of " + ", ".join(ALL_SECTIONS),
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(args.sections) - set(ALL_SECTIONS))
    if unknown:
        parser.error(f"unknown sections: {', '.join(unknown)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    from gradstep import config

    if args.threads is not None:
        config.set_blas_threads(args.threads)
    print(f"gradstep BLAS threads: {config.blas_threads()}")
    try:
        import torch

        if args.threads is not None:
            torch.set_num_threads(args.threads)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        pass
    sections = {
        "adam": bench_adam,
        "kernels": bench_kernels,
        "layout": bench_layout,
        "subnormal": bench_subnormal,
        "mlp": bench_mlp,
    }
    for name in args.sections:
        sections[name](args.repeats)


if __name__ == "__main__":
    main()
