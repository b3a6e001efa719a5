"""Check the range test's suggestion against the rate a sweep chooses.

The range test guesses a good learning rate from one short run with a growing
rate; :func:`gradstep.lab.compare.compare` finds one by training with each
rate of a grid to the end and choosing on a validation part. On the same model
(compare's ``Dense(hidden_units, relu)`` network and optimizer) the two should
agree to within the grid's resolution if the guess is worth making. This
module runs both and reports, in decades (``log10`` of the ratio), how far each
seed's suggestion and the median suggestion lie from the chosen rate.
"""

from __future__ import annotations

import math

import numpy as np

from gradstep import datasets
from gradstep.lab import compare as compare_module
from gradstep.lab.lr_finder import lr_find

DEFAULT_RATES = tuple(float(rate) for rate in np.logspace(-4, 0, 9))


def check_suggestion(
    dataset: str = "digits",
    optimizer: str = "adam",
    learning_rates=DEFAULT_RATES,
    seeds: int = 5,
    epochs: int = 20,
    hidden_units: int = 64,
    batch_size: int = 32,
    num_steps: int = 100,
    n_jobs: int = 1,
) -> dict:
    """Run ``lr_find(seeds=seeds)`` and ``compare`` over ``learning_rates`` on the same
    model; returns the suggestions' spread, the chosen rate, and their distances."""
    config = compare_module.sweep_configs(
        dataset, [optimizer], [learning_rates[0]], epochs=epochs, hidden_units=hidden_units
    )[0]
    data = datasets.load_dataset(dataset)
    model = compare_module.trial_model({**config, "batch_size": batch_size}, seed=0)
    band = lr_find(
        model, data.x_train, data.y_train, batch_size=batch_size, num_steps=num_steps, seeds=seeds
    )
    sweep = compare_module.compare(
        dataset,
        optimizers=[optimizer],
        learning_rates=learning_rates,
        batch_sizes=[batch_size],
        epochs=epochs,
        seeds=min(seeds, 3),
        hidden_units=hidden_units,
        n_jobs=n_jobs,
        progress=False,
    )
    chosen = sweep.chosen()["learning_rate"] if sweep.chosen() else None
    spread = band.spread()
    return {
        "dataset": dataset,
        "optimizer": optimizer,
        "suggestions": spread,
        "chosen_rate": chosen,
        "grid": list(learning_rates),
        "decades_from_chosen": {
            name: _decades(spread[name]["median"], chosen) for name in ("steep", "minimum")
        },
        "test": sweep.selection["test"],
    }


def _decades(rate, chosen):
    if rate is None or chosen is None:
        return math.nan
    return float(np.log10(rate / chosen))


def markdown_table(checks: list[dict]) -> str:
    """The checks as a Markdown table (the docs' table)."""
    lines = [
        "| data set | steep: median (range) | minimum/10: median (range) | compare's choice "
        "| steep's distance | minimum/10's distance |",
        "|---|---|---|---|---|---|",
    ]
    for check in checks:
        cells = [check["dataset"]]
        for name in ("steep", "minimum"):
            entry = check["suggestions"][name]
            cells.append(
                "none"
                if entry["median"] is None
                else f"{entry['median']:.2g} ({entry['low']:.2g} to {entry['high']:.2g})"
            )
        cells.append(f"{check['chosen_rate']:.2g}")
        for name in ("steep", "minimum"):
            cells.append(f"{check['decades_from_chosen'][name]:+.2f} decades")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
