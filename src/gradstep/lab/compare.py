"""Compare optimizers, learning rates, losses and batch sizes, side by side.

Every combination is trained for every seed. A trial is the top-level,
picklable :func:`run_trial` ``(config, seed)``; :func:`compare` maps it with
joblib, so the same sweep runs in local processes (loky, the default), or on
a Dask or Ray cluster by choosing joblib's backend (``backend='dask'`` or
``'ray'``, or ``joblib.parallel_config`` around the call). There is no
scheduler of our own. Seeds are spawned from one ``numpy.random.SeedSequence``
and each trial is deterministic from its seed, so results do not depend on
which worker finishes first.

Validation numbers are measured on the data set's held-out test part.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gradstep import datasets

_TASK_SETUP = {
    # task -> (last activation, default loss, metric)
    "multiclass": ("softmax", "sparse_categorical_crossentropy", "accuracy"),
    "binary": ("sigmoid", "binary_crossentropy", "accuracy"),
    "regression": (None, "mse", "mae"),
}

SUMMARY_COLUMNS = [
    "optimizer",
    "learning_rate",
    "loss",
    "batch_size",
    "seeds",
    "final_val_loss_mean",
    "final_val_loss_std",
    "best_val_loss_mean",
    "best_val_loss_std",
    "final_val_metric_mean",
    "final_val_metric_std",
    "best_val_metric_mean",
    "best_val_metric_std",
    "epochs_to_target_mean",
    "reached_target",
    "wall_time_mean",
]


@functools.lru_cache(maxsize=8)
def _load(dataset: str, target_column):
    return datasets.load_dataset(dataset, target=target_column)


def run_trial(config: dict, seed: int) -> dict:
    """Train one configuration with one seed; returns its history and summary numbers.

    ``config`` holds ``dataset``, ``optimizer``, ``learning_rate``, ``loss``
    (None: the task's natural loss), ``batch_size``, ``epochs``,
    ``hidden_units``, ``target`` (a validation metric value to reach, or None)
    and ``target_column`` (for a CSV).
    """
    from gradstep import layers, models, optimizers

    data = _load(config["dataset"], config.get("target_column"))
    activation, default_loss, metric = _TASK_SETUP[data.task]
    units = len(data.classes) if data.task == "multiclass" else 1
    model = models.Sequential(seed=seed)
    model.add(layers.Input(shape=data.x_train.shape[1:]))
    if len(data.x_train.shape) > 2:
        model.add(layers.Flatten())
    model.add(layers.Dense(config["hidden_units"], activation="relu"))
    model.add(layers.Dense(units, activation=activation))
    optimizer = optimizers.get(config["optimizer"])
    optimizer.learning_rate = config["learning_rate"]
    model.compile(optimizer=optimizer, loss=config.get("loss") or default_loss, metrics=[metric])
    started = time.perf_counter()
    history = model.fit(
        data.x_train,
        data.y_train,
        batch_size=config["batch_size"],
        epochs=config["epochs"],
        validation_data=(data.x_test, data.y_test),
        verbose=0,
    ).history
    wall_time = time.perf_counter() - started
    val_loss = history.get("val_loss", [])
    val_metric = history.get(f"val_{metric}", [])
    return {
        "config": dict(config),
        "seed": int(seed),
        "metric": metric,
        "history": history,
        "final_val_loss": _last(val_loss),
        "best_val_loss": _best(val_loss, min),
        "final_val_metric": _last(val_metric),
        "best_val_metric": _best(val_metric, max if metric == "accuracy" else min),
        "epochs_to_target": _epochs_to_target(val_metric, config.get("target"), metric),
        "wall_time": wall_time,
    }


def _last(values):
    finite = [v for v in values if math.isfinite(v)]
    return float(values[-1]) if values and finite and math.isfinite(values[-1]) else float("nan")


def _best(values, choose):
    finite = [v for v in values if math.isfinite(v)]
    return float(choose(finite)) if finite else float("nan")


def _epochs_to_target(values, target, metric):
    if target is None:
        return None
    better = (lambda v: v >= target) if metric == "accuracy" else (lambda v: v <= target)
    return next((epoch + 1 for epoch, value in enumerate(values) if better(value)), None)


@dataclass
class Comparison:
    """The trials of a sweep and their summary per configuration."""

    trials: list[dict]
    summary: list[dict] = field(default_factory=list)
    metric: str = "accuracy"

    def table(self) -> str:
        return format_table(self.summary, self.metric)

    def to_json(self, path) -> None:
        Path(path).write_text(
            json.dumps(
                {"metric": self.metric, "summary": self.summary, "trials": self.trials},
                indent=1,
                default=_plain,
            )
        )

    def to_csv(self, path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS)
            writer.writeheader()
            writer.writerows(self.summary)

    @classmethod
    def from_json(cls, path) -> Comparison:
        data = json.loads(Path(path).read_text())
        return cls(trials=data["trials"], summary=data["summary"], metric=data["metric"])


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def sweep_configs(
    dataset="digits",
    optimizers=("sgd", "adam"),
    learning_rates=(0.001, 0.01),
    losses=(None,),
    batch_sizes=(32,),
    epochs=20,
    hidden_units=64,
    target=None,
    target_column=None,
) -> list[dict]:
    """Every combination of the swept values, as trial configs."""
    return [
        {
            "dataset": str(dataset),
            "optimizer": optimizer,
            "learning_rate": float(rate),
            "loss": loss,
            "batch_size": int(batch),
            "epochs": int(epochs),
            "hidden_units": int(hidden_units),
            "target": target,
            "target_column": target_column,
        }
        for optimizer, rate, loss, batch in itertools.product(
            optimizers, learning_rates, losses, batch_sizes
        )
    ]


def trial_seeds(count: int, base_seed: int = 0) -> list[int]:
    """``count`` independent seeds spawned from one SeedSequence."""
    children = np.random.SeedSequence(base_seed).spawn(count)
    return [int(child.generate_state(1)[0]) for child in children]


def compare(
    dataset="digits",
    optimizers=("sgd", "adam"),
    learning_rates=(0.001, 0.01),
    losses=(None,),
    batch_sizes=(32,),
    epochs=20,
    seeds=3,
    hidden_units=64,
    target=None,
    target_column=None,
    base_seed=0,
    n_jobs=-1,
    backend=None,
    progress=True,
) -> Comparison:
    """Train every combination for every seed, in parallel, and summarize.

    Args:
        dataset: a built-in name or a file path (see ``gradstep.datasets``).
        optimizers: optimizer names to sweep.
        learning_rates: learning rates to sweep.
        losses: loss names to sweep (None: the task's natural loss).
        batch_sizes: batch sizes to sweep.
        target_column: the target column of a CSV file.
        base_seed: the SeedSequence the trial seeds are spawned from.
        epochs: per trial.
        seeds: trials per combination (the same seeds for every combination).
        hidden_units: the hidden layer's width.
        target: a validation accuracy (or, for regression, MAE) to reach;
            the table reports the epochs it took.
        n_jobs: joblib's worker count (-1: every core).
        backend: None (joblib's default, or what ``joblib.parallel_config``
            set), ``'loky'``, ``'dask'`` or ``'ray'``.
        progress: draw a progress bar with the trials done and the best so far.
    """
    import joblib

    _check_sweep(dataset, target_column, optimizers, losses)
    configs = sweep_configs(
        dataset,
        optimizers,
        learning_rates,
        losses,
        batch_sizes,
        epochs,
        hidden_units,
        target,
        target_column,
    )
    tasks = [
        (index, config, seed)
        for index, (config, seed) in enumerate(
            itertools.product(configs, trial_seeds(seeds, base_seed))
        )
    ]
    with _backend(backend):
        # Results stream back in trial order (whichever worker finishes first) where the
        # backend can stream them; Ray's joblib backend returns them all at the end.
        active, _ = joblib.parallel.get_active_backend()
        streams = getattr(active, "supports_return_generator", False)
        runner = joblib.Parallel(n_jobs=n_jobs, return_as="generator" if streams else "list")
        outcomes = runner(
            joblib.delayed(_indexed_trial)(index, config, seed) for index, config, seed in tasks
        )
        results = dict(_with_progress(outcomes, len(tasks), progress))
    trials = [results[index] for index in range(len(tasks))]
    metric = trials[0]["metric"] if trials else "accuracy"
    return Comparison(trials=trials, summary=summarize(trials), metric=metric)


def _indexed_trial(index, config, seed):
    return index, run_trial(config, seed)


def _check_sweep(dataset, target_column, optimizers, losses):
    """Fail on a bad name before any worker starts."""
    from gradstep import losses as losses_module
    from gradstep import optimizers as optimizers_module

    _load(str(dataset), target_column)
    for name in optimizers:
        optimizers_module.get(name)
    for name in losses:
        if name is not None:
            losses_module.get(name)


class _backend:
    """joblib's backend for the sweep; starts a local Dask or Ray cluster when
    none is running (a cluster the user started is used as it is)."""

    def __init__(self, name):
        self.name = name
        self._cleanup = []

    def __enter__(self):
        import joblib

        if self.name is None:
            return self
        if self.name == "dask":
            self._start_dask()
        elif self.name == "ray":
            self._start_ray()
        elif self.name not in ("loky", "threading", "multiprocessing"):
            raise ValueError(f"backend must be 'loky', 'dask' or 'ray', received {self.name!r}")
        self._config = joblib.parallel_config(backend=self.name)
        self._config.__enter__()
        return self

    def _start_dask(self):
        from distributed import Client, LocalCluster

        try:
            from distributed import get_client

            get_client()
        except ValueError:
            cluster = LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
            self._cleanup += [client.close, cluster.close]

    def _start_ray(self):
        import ray
        from ray.util.joblib import register_ray

        register_ray()
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False)
            self._cleanup.append(ray.shutdown)

    def __exit__(self, *exc):
        if self.name is not None:
            self._config.__exit__(*exc)
        for close in reversed(self._cleanup):
            close()
        return False


def _with_progress(outcomes, total, show):
    if not show:
        yield from outcomes
        return
    try:
        from tqdm import tqdm
    except ImportError:
        yield from outcomes
        return
    best = None
    with tqdm(total=total, desc="trials", unit="trial") as bar:
        for index, trial in outcomes:
            loss = trial["best_val_loss"]
            if math.isfinite(loss) and (best is None or loss < best):
                best = loss
                bar.set_postfix_str(
                    f"best val_loss {best:.4f} ({trial['config']['optimizer']}, "
                    f"lr {trial['config']['learning_rate']:g})"
                )
            bar.update(1)
            yield index, trial


def summarize(trials: list[dict]) -> list[dict]:
    """One row per configuration: mean and spread over seeds."""
    groups: dict[tuple, list[dict]] = {}
    for trial in trials:
        config = trial["config"]
        key = (config["optimizer"], config["learning_rate"], config["loss"], config["batch_size"])
        groups.setdefault(key, []).append(trial)
    rows = []
    for (optimizer, rate, loss, batch), group in groups.items():
        row = {
            "optimizer": optimizer,
            "learning_rate": rate,
            "loss": loss or "default",
            "batch_size": batch,
            "seeds": len(group),
        }
        for name in (
            "final_val_loss",
            "best_val_loss",
            "final_val_metric",
            "best_val_metric",
            "wall_time",
        ):
            values = np.array([t[name] for t in group], dtype=float)
            row[f"{name}_mean"] = float(np.mean(values))
            if name != "wall_time":
                row[f"{name}_std"] = float(np.std(values))
        reached = [t["epochs_to_target"] for t in group if t["epochs_to_target"] is not None]
        row["epochs_to_target_mean"] = float(np.mean(reached)) if reached else None
        row["reached_target"] = f"{len(reached)}/{len(group)}"
        rows.append(row)
    return rows


def table_cells(summary: list[dict], metric: str = "accuracy"):
    """The summary's headers and its rows as text cells, for the text and HTML tables."""
    headers = [
        "optimizer",
        "lr",
        "loss",
        "batch",
        "final val_loss",
        "best val_loss",
        f"final val_{metric}",
        f"best val_{metric}",
        "epochs to target",
        "time (s)",
    ]
    rows = [
        [
            row["optimizer"],
            f"{row['learning_rate']:g}",
            row["loss"],
            str(row["batch_size"]),
            _spread(row, "final_val_loss"),
            _spread(row, "best_val_loss"),
            _spread(row, "final_val_metric"),
            _spread(row, "best_val_metric"),
            "-"
            if row["epochs_to_target_mean"] is None
            else f"{row['epochs_to_target_mean']:.1f} ({row['reached_target']})",
            f"{row['wall_time_mean']:.2f}",
        ]
        for row in summary
    ]
    return headers, rows


def format_table(summary: list[dict], metric: str = "accuracy") -> str:
    """The summary as an aligned text table."""
    headers, rows = table_cells(summary, metric)
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _spread(row, name):
    mean, std = row[f"{name}_mean"], row[f"{name}_std"]
    return "nan" if math.isnan(mean) else f"{mean:.4f} ± {std:.4f}"
