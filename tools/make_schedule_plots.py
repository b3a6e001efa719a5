"""The pictures of docs/learning-rate.md, drawn by gradstep itself.

Writes:
  docs/images/schedules.png     every schedule of gradstep.optimizers.schedules,
                                the values computed by the schedule objects (and,
                                dotted, the momentum OneCycle and Cyclic cycle)
  docs/images/lr_find_digits.png  gradstep.lab.lr_find on the reference model
  docs/images/lr_find_band_digits.png  the same over 5 seeds (median and spread)
                                (Dense 512 relu -> Dense 10 softmax, Adam) on digits

Run in the dev environment (gradstep with the 'main' and 'plot' extras):
    python tools/make_schedule_plots.py
"""

import os
import sys

import numpy as np
from matplotlib.figure import Figure

from gradstep import datasets, layers, models
from gradstep.lab import lr_find
from gradstep.optimizers import schedules

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES = os.path.join(HERE, os.pardir, "docs", "images")
STEPS = 1000

# (title, schedule); each is drawn over STEPS optimizer steps.
PANELS = [
    (
        "ExponentialDecay(0.1, 100, 0.8)\nand staircase=True",
        [
            schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.8),
            schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.8, staircase=True),
        ],
    ),
    (
        "PiecewiseConstantDecay([300, 600, 800],\n[0.1, 0.05, 0.01, 0.001])",
        [schedules.PiecewiseConstantDecay([300, 600, 800], [0.1, 0.05, 0.01, 0.001])],
    ),
    (
        "InverseTimeDecay(0.1, 100, 1.0)\nand staircase=True",
        [
            schedules.InverseTimeDecay(0.1, decay_steps=100, decay_rate=1.0),
            schedules.InverseTimeDecay(0.1, decay_steps=100, decay_rate=1.0, staircase=True),
        ],
    ),
    (
        "PolynomialDecay(0.1, 800, 0.001, power=2)\nand cycle=True, decay_steps=300",
        [
            schedules.PolynomialDecay(0.1, 800, end_learning_rate=0.001, power=2.0),
            schedules.PolynomialDecay(0.1, 300, end_learning_rate=0.001, power=2.0, cycle=True),
        ],
    ),
    (
        "CosineDecay(0.1, 1000, alpha=0.1)\nand warmup_target=0.1, warmup_steps=100",
        [
            schedules.CosineDecay(0.1, decay_steps=1000, alpha=0.1),
            schedules.CosineDecay(0.0, decay_steps=900, warmup_target=0.1, warmup_steps=100),
        ],
    ),
    (
        "CosineDecayRestarts(0.1, 100)\n(t_mul=2, m_mul=1)",
        [schedules.CosineDecayRestarts(0.1, first_decay_steps=100)],
    ),
    (
        "LinearWarmup(0.1, 200)\nand into CosineDecay(0.1, 1000)",
        [
            schedules.LinearWarmup(0.1, warmup_steps=200),
            schedules.LinearWarmup(
                schedules.CosineDecay(0.1, decay_steps=1000), warmup_steps=200, start_factor=0.01
            ),
        ],
    ),
    (
        "OneCycle(max_lr=0.1, total_steps=1000)\nand anneal_strategy='linear'",
        [
            schedules.OneCycle(max_lr=0.1, total_steps=STEPS),
            schedules.OneCycle(max_lr=0.1, total_steps=STEPS, anneal_strategy="linear"),
        ],
    ),
    (
        "OneCycle(max_lr=0.1, total_steps=1000,\nthree_phase=True)",
        [schedules.OneCycle(max_lr=0.1, total_steps=STEPS, three_phase=True)],
    ),
    (
        "Cyclic(0.01, 0.1, step_size_up=100)\nand mode='triangular2'",
        [
            schedules.Cyclic(0.01, 0.1, step_size_up=100),
            schedules.Cyclic(0.01, 0.1, step_size_up=100, mode="triangular2"),
        ],
    ),
    (
        "Cyclic(0.01, 0.1, 100, mode='exp_range',\ngamma=0.998)",
        [schedules.Cyclic(0.01, 0.1, step_size_up=100, mode="exp_range", gamma=0.998)],
    ),
    (
        "InverseScaling(0.1, power_t=0.5)\nand power_t=0.25",
        [schedules.InverseScaling(0.1), schedules.InverseScaling(0.1, power_t=0.25)],
    ),
]


def plot_schedules(path):
    figure = Figure(figsize=(13, 12), dpi=90, layout="constrained")
    axes = figure.subplots(4, 3, sharex=True)
    steps = np.arange(STEPS)
    for ax, (title, drawn) in zip(axes.flat, PANELS, strict=True):
        for schedule, style in zip(drawn, ("-", "--"), strict=False):
            ax.plot(steps, schedule(steps), style, linewidth=2)
        if getattr(drawn[0], "cycle_momentum", False):
            momentum = ax.twinx()
            momentum.plot(steps, drawn[0].momentum(steps), ":", color="gray", linewidth=1.5)
            momentum.set_ylim(0.75, 1.0)
            momentum.set_ylabel("momentum (dotted)", fontsize=8, color="gray")
            momentum.tick_params(labelsize=8, colors="gray")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("optimizer step (iterations)")
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate")
    figure.suptitle("gradstep.optimizers.schedules: the learning rate at each step", fontsize=13)
    figure.savefig(path)


def plot_lr_find_digits(path):
    (x, y), _ = datasets.load("digits")
    model = models.Sequential(
        [layers.Dense(512, activation="relu", input_shape=(64,)), layers.Dense(10, "softmax")],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    result = lr_find(model, x, y)
    result.plot(path)
    return result


def plot_lr_find_band_digits(path):
    """The same test over 5 seeds: the median curve, its spread, each seed's suggestions."""
    (x, y), _ = datasets.load("digits")
    model = models.Sequential(
        [layers.Dense(512, activation="relu", input_shape=(64,)), layers.Dense(10, "softmax")],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    band = lr_find(model, x, y, seeds=5)
    band.plot(path)
    return band


def main():
    os.makedirs(IMAGES, exist_ok=True)
    plot_schedules(os.path.join(IMAGES, "schedules.png"))
    result = plot_lr_find_digits(os.path.join(IMAGES, "lr_find_digits.png"))
    print(f"lr_find on digits: {result.suggestions}", file=sys.stderr)
    band = plot_lr_find_band_digits(os.path.join(IMAGES, "lr_find_band_digits.png"))
    print(band.summary(), file=sys.stderr)
    print(
        f"wrote {os.path.normpath(IMAGES)}/schedules.png, lr_find_digits.png and "
        "lr_find_band_digits.png",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
