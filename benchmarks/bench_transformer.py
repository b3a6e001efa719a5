"""A 2-layer Transformer encoder (dim 64, 4 heads of 16, feed-forward 128,
post-norm as in keras.io's examples) over sequences of length 64 at batch 32:
one training step (forward, backward, Adam), gradstep against PyTorch eager
on the CPU, interleaved (one step of each in turn), medians reported.

    PYTHONPATH=src /tmp/bench/bin/python benchmarks/bench_transformer.py
(the interpreter needs torch; gradstep needs only NumPy.)
"""

import statistics
import time

import numpy as np
import torch

import gradstep as keras
from gradstep import layers

BATCH, STEPS, DIM, HEADS, FF, BLOCKS, REPEATS = 32, 64, 64, 4, 128, 2, 30


def gradstep_model():
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


def torch_model():
    layer = torch.nn.TransformerEncoderLayer(DIM, HEADS, FF, dropout=0.0, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, BLOCKS, enable_nested_tensor=False)
    head = torch.nn.Linear(DIM, 1)
    model = torch.nn.ModuleDict({"encoder": encoder, "head": head})
    return model, torch.optim.Adam(model.parameters())


def main():
    torch.set_num_threads(1)
    keras.config.set_blas_threads(1) if hasattr(keras.config, "set_blas_threads") else None
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, STEPS, DIM)).astype("float32")
    y = rng.normal(size=(BATCH, 1)).astype("float32")
    ours = gradstep_model()
    theirs, optimizer = torch_model()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step_torch():
        optimizer.zero_grad()
        out = theirs["head"](theirs["encoder"](tx).mean(dim=1))
        torch.nn.functional.mse_loss(out, ty).backward()
        optimizer.step()

    def step_ours():
        ours.train_on_batch(x, y)

    times = {"gradstep": [], "torch": []}
    for _ in range(3):
        step_ours(), step_torch()
    for _ in range(REPEATS):
        for name, step in (("gradstep", step_ours), ("torch", step_torch)):
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    ours_median = statistics.median(times["gradstep"])
    torch_median = statistics.median(times["torch"])
    print(
        f"gradstep {ours_median * 1e3:.1f} ms/step, torch {torch_median * 1e3:.1f} ms/step, "
        f"ratio {ours_median / torch_median:.2f}"
    )


if __name__ == "__main__":
    main()
