"""LSTM(64) training steps, gradstep against PyTorch eager CPU, interleaved.

A step: forward over sequences of length 50 at batch 64 (32 features), an MSE
loss on the last output, backward through time, and Adam. gradstep trains with
``model.fit`` (``--steps`` batches, one epoch, no shuffling), PyTorch with the
usual eager loop over the same batches (zero_grad, forward, loss, backward,
step); both on one thread. The two take turns, ``--rounds`` times (see
``interleave.py``), and the medians of the time per step (wall clock and the
thread's CPU time) and of the per-round ratios are printed.

Needs PyTorch (``/tmp/bench/bin/python`` has torch 2.13.0 CPU):

    PYTHONPATH=src /tmp/bench/bin/python benchmarks/bench_rnn.py --rounds 9
    PYTHONPATH=src /tmp/bench/bin/python benchmarks/bench_rnn.py --rounds 9 --backend numpy

(``--backend numpy``: without the fused LSTM kernels of gradstep.kernels.lstm,
as on an install without numba.)

Measured 2026-12-07 on a 2-core AMD EPYC shared with other jobs (load
average 8), ``--rounds 9``, medians (docs/recurrent.md, "Speed"):

    with numba:  gradstep 46.0 ms, torch 37.9 ms per step, ratio 1.19 (CPU time 1.14)
    NumPy only:  gradstep 59.5 ms, torch 33.8 ms per step, ratio 1.81 (CPU time 1.71)
"""

import argparse

import numpy as np

from interleave import interleaved, one_thread, report

BATCH, STEPS, FEATURES, UNITS = 64, 50, 32, 64


def data(steps, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH * steps, STEPS, FEATURES)).astype("float32")
    y = rng.normal(size=(BATCH * steps, UNITS)).astype("float32")
    return x, y


def gradstep_run(x, y):
    import gradstep
    from gradstep import layers

    model = gradstep.Sequential([layers.Input((STEPS, FEATURES)), layers.LSTM(UNITS)])
    model.compile(optimizer="adam", loss="mse")
    return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)


def torch_run(x, y):
    import torch

    lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
    optimizer = torch.optim.Adam(lstm.parameters())
    x_batches, y_batches = torch.from_numpy(x).split(BATCH), torch.from_numpy(y).split(BATCH)
    batches = list(zip(x_batches, y_batches, strict=True))

    def run():
        for inputs, targets in batches:
            optimizer.zero_grad()
            output, _ = lstm(inputs)
            torch.nn.functional.mse_loss(output[:, -1], targets).backward()
            optimizer.step()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", "numpy"),
        help="gradstep's kernels: numba's when installed (auto), or the NumPy passes",
    )
    args = parser.parse_args()
    from gradstep import kernels

    kernels.set_backend(args.backend)
    one_thread()
    x, y = data(args.steps)
    contenders = {"gradstep": gradstep_run(x, y), "torch": torch_run(x, y)}
    report(interleaved(contenders, args.rounds, args.steps))


if __name__ == "__main__":
    main()
