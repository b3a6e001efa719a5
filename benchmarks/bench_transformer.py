"""Transformer encoder training steps, gradstep against PyTorch eager CPU, interleaved.

Two encoder blocks (dim 64, 4 heads of 16, feed-forward 128 with relu,
post-norm as in keras.io's examples, no dropout) over sequences of length 64
at batch 32, global average pooling, Dense(1), MSE and Adam. gradstep trains
with ``model.fit`` (``--steps`` batches, one epoch, no shuffling), PyTorch
(``TransformerEncoderLayer``) with the usual eager loop over the same batches;
both on one thread. The two take turns, ``--rounds`` times (see
``interleave.py``), and the medians of the time per step (wall clock and the
thread's CPU time) and of the per-round ratios are printed.

Needs PyTorch (``/tmp/bench/bin/python`` has torch 2.13.0 CPU):

    PYTHONPATH=src /tmp/bench/bin/python benchmarks/bench_transformer.py --rounds 9

Measured 2026-12-07 on a 2-core AMD EPYC shared with other jobs (load
average 8), ``--rounds 9``, medians (docs/recurrent.md, "Speed"):

    gradstep 83.7 ms, torch 66.3 ms per step, ratio 1.28 (CPU time 1.20)
"""

import argparse

import numpy as np

from interleave import interleaved, one_thread, report

BATCH, STEPS, DIM, HEADS, FF, BLOCKS = 32, 64, 64, 4, 128, 2


def data(steps, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH * steps, STEPS, DIM)).astype("float32")
    y = rng.normal(size=(BATCH * steps, 1)).astype("float32")
    return x, y


def gradstep_model():
    import gradstep as keras
    from gradstep import layers

    inputs = keras.Input((STEPS, DIM))
    x = inputs
    for _ in range(BLOCKS):
        attended = layers.MultiHeadAttention(HEADS, DIM // HEADS)(x, x)
        x = layers.LayerNormalization(epsilon=1e-5)(x + attended)
        hidden = layers.Dense(FF, activation="relu")(x)
        x = layers.LayerNormalization(epsilon=1e-5)(x + layers.Dense(DIM)(hidden))
    outputs = layers.Dense(1)(layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    return model


def gradstep_run(x, y):
    model = gradstep_model()
    return lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)


def torch_run(x, y):
    import torch

    layer = torch.nn.TransformerEncoderLayer(DIM, HEADS, FF, dropout=0.0, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, BLOCKS, enable_nested_tensor=False)
    head = torch.nn.Linear(DIM, 1)
    model = torch.nn.ModuleDict({"encoder": encoder, "head": head})
    optimizer = torch.optim.Adam(model.parameters())
    x_batches, y_batches = torch.from_numpy(x).split(BATCH), torch.from_numpy(y).split(BATCH)
    batches = list(zip(x_batches, y_batches, strict=True))

    def run():
        for inputs, targets in batches:
            optimizer.zero_grad()
            output = head(encoder(inputs).mean(dim=1))
            torch.nn.functional.mse_loss(output, targets).backward()
            optimizer.step()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5, help="training steps per round")
    args = parser.parse_args()
    one_thread()
    x, y = data(args.steps)
    contenders = {"gradstep": gradstep_run(x, y), "torch": torch_run(x, y)}
    report(interleaved(contenders, args.rounds, args.steps))


if __name__ == "__main__":
    main()
