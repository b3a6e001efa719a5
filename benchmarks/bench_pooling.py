"""Benchmark MaxPooling2D's forward and backward pass against PyTorch's max_pool2d.

The two inputs are the pooling layers' of the MNIST convnet (Conv2D(32) ->
MaxPooling2D -> Conv2D(64) -> MaxPooling2D) at batch 128: (128, 26, 26, 32)
and (128, 11, 11, 64), float32, ReLU outputs (so windows hold ties at 0),
2x2 windows with stride 2. gradstep runs channels_last as Keras does;
PyTorch runs the same sizes in its own default layout (N, C, H, W), and in
its channels_last memory format.

One timed call is a training pass: the forward pass in training mode and the
backward pass of an upstream slope (``layer.forward`` + ``layer.backward``
for gradstep; ``F.max_pool2d`` + ``y.backward`` for PyTorch, autograd
included). The contenders take turns, round after round (--repeats rounds,
a short pause before each, as in bench_optimizers.py), so that a slow spell
of the machine reaches all of them alike; the script prints the median over
rounds of each, and the median of the per-round ratios. It also prints what
each keeps for its backward pass: gradstep one byte per output (the position
of each window's maximum), PyTorch an int64 index per output and the input.

Contenders (--contenders, comma separated): gradstep, pytorch (PyTorch's
default thread count), pytorch-1thread, pytorch-nhwc (default threads, the
input in torch.channels_last memory format, gradstep's layout). gradstep's
pooling is NumPy, one thread.

Run (PyTorch installed for its rows; gradstep from the repository):
    PYTHONPATH=src python benchmarks/bench_pooling.py
    PYTHONPATH=src python benchmarks/bench_pooling.py --repeats 41 --contenders gradstep,pytorch
"""

import argparse
import statistics
import time

import numpy as np

from bench_optimizers import settle

SHAPES = [(128, 26, 26, 32), (128, 11, 11, 64)]
ALL_CONTENDERS = ("gradstep", "pytorch", "pytorch-1thread", "pytorch-nhwc")


def relu_inputs(shape, seed=0):
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.normal(size=shape), 0).astype(np.float32)
    return x, rng


def gradstep_pass(shape):
    """A training pass of MaxPooling2D, and the bytes it keeps for backward."""
    from gradstep import layers

    x, rng = relu_inputs(shape)
    layer = layers.MaxPooling2D(2)
    output, saved = layer.forward(x, training=True)
    upstream = rng.normal(size=output.shape).astype(np.float32)

    def run():
        _, kept = layer.forward(x, training=True)
        layer.backward(kept, upstream)

    return run, saved.argmax.nbytes


def torch_pass(shape, threads=None, channels_last=False):
    import torch

    x, rng = relu_inputs(shape)
    inputs = torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    if channels_last:  # gradstep's layout in memory, for PyTorch's NHWC kernels
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    inputs.requires_grad_()
    output = torch.nn.functional.max_pool2d(inputs, 2)
    upstream = torch.tensor(rng.normal(size=tuple(output.shape)).astype(np.float32))
    indices = output.grad_fn._saved_result1  # the indices; autograd also keeps the input
    kept = indices.numel() * indices.element_size() + inputs.numel() * inputs.element_size()

    def run():
        previous = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            result = torch.nn.functional.max_pool2d(inputs, 2)
            result.backward(upstream)
            inputs.grad = None
        finally:
            torch.set_num_threads(previous)

    return run, kept


def make_contender(name, shape):
    if name == "gradstep":
        return gradstep_pass(shape)
    if name == "pytorch":
        return torch_pass(shape)
    if name == "pytorch-nhwc":
        return torch_pass(shape, channels_last=True)
    return torch_pass(shape, threads=1)


def available(names):
    kept = []
    for name in names:
        if name.startswith("pytorch"):
            try:
                import torch  # noqa: F401
            except ImportError:
                print(f"skipping {name}: PyTorch is not installed")
                continue
        kept.append(name)
    return kept


def bench_shape(shape, contenders, repeats):
    runs, kept = {}, {}
    for name in contenders:
        runs[name], kept[name] = make_contender(name, shape)
        runs[name]()  # warm-up: first calls, allocations
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name in contenders:
            settle()
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    print(
        f"\nMaxPooling2D 2x2, input {shape} float32: forward + backward, ms "
        f"(median of {repeats} interleaved rounds)"
    )
    for name in contenders:
        print(
            f"  {name:16s} {1e3 * statistics.median(times[name]):8.2f} ms   "
            f"kept for backward {kept[name] / 2**20:6.2f} MiB"
        )
    if "gradstep" in contenders:
        for name in contenders:
            if name != "gradstep":
                ratios = [g / t for g, t in zip(times["gradstep"], times[name], strict=True)]
                print(f"  gradstep / {name}: {statistics.median(ratios):.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--contenders", default=",".join(ALL_CONTENDERS))
    args = parser.parse_args()
    contenders = available(args.contenders.split(","))
    for shape in SHAPES:
        bench_shape(shape, contenders, args.repeats)


if __name__ == "__main__":
    main()
