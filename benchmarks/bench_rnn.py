"""LSTM(64) training steps, gradstep against PyTorch eager CPU, interleaved.

A step: forward over sequences of length 50 at batch 64 (32 features), an MSE
loss on the last output, backward through time, and Adam. Runs the two
libraries in turn, ``--rounds`` times, and prints each one's median time per
step and the ratio. Needs PyTorch (e.g. ``/tmp/bench/bin/python``):

    PYTHONPATH=src /tmp/bench/bin/python benchmarks/bench_rnn.py
"""

import argparse
import statistics
import time

import numpy as np

import gradstep
from gradstep import layers

BATCH, STEPS, FEATURES, UNITS = 64, 50, 32, 64


def gradstep_step():
    model = gradstep.Sequential([layers.Input((STEPS, FEATURES)), layers.LSTM(UNITS)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    y = rng.normal(size=(BATCH, UNITS)).astype("float32")
    return lambda: model.train_on_batch(x, y)


def torch_step():
    import torch

    torch.set_num_threads(1)
    lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
    optimizer = torch.optim.Adam(lstm.parameters())
    x = torch.randn(BATCH, STEPS, FEATURES)
    y = torch.randn(BATCH, UNITS)

    def step():
        optimizer.zero_grad()
        output, _ = lstm(x)
        loss = torch.nn.functional.mse_loss(output[:, -1], y)
        loss.backward()
        optimizer.step()

    return step


def timed(step, repeats):
    step()  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # both libraries on one thread, as torch.set_num_threads(1)
    ours, theirs = gradstep_step(), torch_step()
    times = {"gradstep": [], "torch": []}
    for _ in range(args.rounds):
        times["gradstep"].append(timed(ours, args.repeats))
        times["torch"].append(timed(theirs, args.repeats))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name}: {value * 1000:.1f} ms per step (median of {args.rounds} rounds)")
    print(f"ratio gradstep / torch: {medians['gradstep'] / medians['torch']:.2f}")


if __name__ == "__main__":
    main()
