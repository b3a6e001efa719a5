"""Compare optimizers, learning rates, losses and batch sizes, side by side.

Every combination is trained for every seed. A trial is the top-level,
picklable :func:`run_trial` ``(config, seed)``; :func:`compare` maps it with
joblib, so the same sweep runs in local processes (loky, the default), or on
a Dask or Ray cluster by choosing joblib's backend (``backend='dask'`` or
``'ray'``, or ``joblib.parallel_config`` around the call). There is no
scheduler of our own. Seeds are spawned from one ``numpy.random.SeedSequence``
and each trial is deterministic from its seed, so results do not depend on
which worker finishes first.

Configurations are judged on a validation part cut out of the training data
(stratified for classification, the same rows for every configuration of one
seed: see :mod:`gradstep.lab.selection`), never on the test part. The chosen
configuration's test score is measured once, after the choice, and reported
apart from the table.
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

from gradstep import datasets, seeding
from gradstep.lab import selection

DEFAULT_VALIDATION_SPLIT = 0.2

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
    "chosen",
    "paired_difference_mean",
    "paired_difference_low",
    "paired_difference_high",
]


@functools.lru_cache(maxsize=8)
def _load(dataset: str, target_column):
    return datasets.load_dataset(dataset, target=target_column)


def run_trial(config: dict, seed: int, evaluate_test: bool = False) -> dict:
    """Train one configuration with one seed; returns its history and summary numbers.

    ``config`` holds ``dataset``, ``optimizer``, ``learning_rate``, ``loss``
    (None: the task's natural loss), ``batch_size``, ``epochs``,
    ``hidden_units``, ``target`` (a validation metric value to reach, or None),
    ``target_column`` (for a CSV) and ``validation_split`` (the fraction of the
    training data the trial validates on; it trains on the rest). With
    ``evaluate_test`` the trained model is also scored on the test part
    (``test_loss``, ``test_metric``): only for the chosen configuration.
    """
    data = _load(config["dataset"], config.get("target_column"))
    metric = _TASK_SETUP[data.task][2]
    train, validation = selection.split_validation(
        data.y_train,
        config.get("validation_split", DEFAULT_VALIDATION_SPLIT),
        seed,
        stratify=data.task != "regression",
    )
    model = trial_model(config, seed)
    started = time.perf_counter()
    history = model.fit(
        data.x_train[train],
        data.y_train[train],
        batch_size=config["batch_size"],
        epochs=config["epochs"],
        validation_data=(data.x_train[validation], data.y_train[validation]),
        verbose=0,
    ).history
    wall_time = time.perf_counter() - started
    val_loss = history.get("val_loss", [])
    val_metric = history.get(f"val_{metric}", [])
    trial = {
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
    if evaluate_test:
        scores = model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)
        trial["test_loss"] = float(scores["loss"])
        trial["test_metric"] = float(scores[metric])
    return trial


def trial_model(config: dict, seed: int):
    """The compiled model a trial of ``config`` trains: ``Dense(hidden_units, relu)``
    then the task's output layer, its initial weights drawn with ``seed``."""
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
    return model


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
    """The trials of a sweep, their summary per configuration, and the choice.

    ``selection`` says how the configuration was chosen on the validation part
    (``select_by``, ``validation_split``, ``chosen``: the summary row's index)
    and holds the chosen configuration's test score (``test``), measured once.
    """

    trials: list[dict]
    summary: list[dict] = field(default_factory=list)
    metric: str = "accuracy"
    selection: dict | None = None

    def table(self) -> str:
        text = format_table(self.summary, self.metric, self.selection)
        return text + "\n\n" + self.choice_text() if self.selection else text

    def chosen(self) -> dict | None:
        """The summary row of the chosen configuration."""
        if not self.selection or self.selection.get("chosen") is None:
            return None
        return self.summary[self.selection["chosen"]]

    def choice_text(self) -> str:
        """How the configuration was chosen, and its test score, as sentences."""
        return "\n".join(choice_lines(self.summary, self.metric, self.selection))

    def to_json(self, path) -> None:
        Path(path).write_text(
            json.dumps(
                {
                    "metric": self.metric,
                    "selection": self.selection,
                    "summary": self.summary,
                    "trials": self.trials,
                },
                indent=1,
                default=_plain,
            )
        )

    def to_csv(self, path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.summary)

    @classmethod
    def from_json(cls, path) -> Comparison:
        data = json.loads(Path(path).read_text())
        return cls(
            trials=data["trials"],
            summary=data["summary"],
            metric=data["metric"],
            selection=data.get("selection"),
        )


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
    validation_split=DEFAULT_VALIDATION_SPLIT,
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
            "validation_split": float(validation_split),
        }
        for optimizer, rate, loss, batch in itertools.product(
            optimizers, learning_rates, losses, batch_sizes
        )
    ]


def trial_seeds(count: int, base_seed: int = 0) -> list[int]:
    """``count`` independent seeds spawned from one SeedSequence."""
    return seeding.spawned_seeds(count, base_seed)


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
    validation_split=DEFAULT_VALIDATION_SPLIT,
    select_by="val_loss",
) -> Comparison:
    """Train every combination for every seed, in parallel, choose one on the
    validation part, and score only that one on the test part.

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
        validation_split: the fraction of the training data each trial validates
            on (stratified for classification; the same rows for every
            configuration of a seed). The test part is not used to choose.
        select_by: ``'val_loss'`` (the lowest mean final validation loss over
            seeds) or ``'val_metric'`` (the best mean final validation metric).
    """
    _check_sweep(dataset, target_column, optimizers, losses)
    selection.criterion_key(select_by)
    data = _load(str(dataset), target_column)
    selection.split_validation(
        data.y_train, validation_split, base_seed, stratify=data.task != "regression"
    )
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
        validation_split,
    )
    tasks = [
        (index, config, seed)
        for index, (config, seed) in enumerate(
            itertools.product(configs, trial_seeds(seeds, base_seed))
        )
    ]
    with _backend(backend):
        trials = _run_all(tasks, n_jobs, progress)
        metric = trials[0]["metric"] if trials else "accuracy"
        summary = summarize(trials)
        chosen = add_paired_differences(trials, summary, metric, select_by)
        test = None
        if chosen is not None:
            config = _config_of(trials, summary[chosen])
            seed_list = [t["seed"] for t in trials if t["config"] == config]
            test = _test_score(config, seed_list, metric, n_jobs)
    return Comparison(
        trials=trials,
        summary=summary,
        metric=metric,
        selection={
            "select_by": select_by,
            "validation_split": float(validation_split),
            "chosen": chosen,
            "test": test,
        },
    )


def _run_all(tasks, n_jobs, progress, evaluate_test=False):
    """Map ``run_trial`` over ``(index, config, seed)`` with joblib; results in task order."""
    import joblib

    # Results stream back in trial order (whichever worker finishes first) where the
    # backend can stream them; Ray's joblib backend returns them all at the end.
    active, _ = joblib.parallel.get_active_backend()
    streams = getattr(active, "supports_return_generator", False)
    runner = joblib.Parallel(n_jobs=n_jobs, return_as="generator" if streams else "list")
    outcomes = runner(
        joblib.delayed(_indexed_trial)(index, config, seed, evaluate_test)
        for index, config, seed in tasks
    )
    results = dict(_with_progress(outcomes, len(tasks), progress))
    return [results[index] for index in range(len(tasks))]


def _config_of(trials, row):
    return _trials_by_row(trials)[_row_key(row)][0]["config"]


def _test_score(config, seeds, metric, n_jobs):
    """The chosen configuration, trained again for each seed (the same model: a trial is
    deterministic from its seed) and scored once on the test part."""
    tasks = [(index, config, seed) for index, seed in enumerate(seeds)]
    trials = _run_all(tasks, n_jobs, progress=False, evaluate_test=True)
    losses = np.array([t["test_loss"] for t in trials])
    metrics = np.array([t["test_metric"] for t in trials])
    return {
        "metric": metric,
        "seeds": len(trials),
        "loss_mean": float(np.mean(losses)),
        "loss_std": float(np.std(losses)),
        "metric_mean": float(np.mean(metrics)),
        "metric_std": float(np.std(metrics)),
        "per_seed": [
            {"seed": t["seed"], "test_loss": t["test_loss"], "test_metric": t["test_metric"]}
            for t in trials
        ],
    }


def _indexed_trial(index, config, seed, evaluate_test=False):
    return index, run_trial(config, seed, evaluate_test)


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
    rows = []
    for (optimizer, rate, loss, batch), group in _trials_by_row(trials).items():
        row = {
            "optimizer": optimizer,
            "learning_rate": rate,
            "loss": loss,
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


def add_paired_differences(trials, summary, metric, select_by="val_loss") -> int | None:
    """Choose a summary row by ``select_by`` and give every row its paired difference
    to the chosen one (``paired_difference_mean/low/high``, a 95% interval over
    seeds; see :mod:`gradstep.lab.selection`). Returns the chosen row's index."""
    key = selection.criterion_key(select_by)
    chosen = selection.choose(summary, select_by, metric)
    groups = _trials_by_row(trials)
    for index, row in enumerate(summary):
        row["chosen"] = index == chosen
        difference = {"mean": math.nan, "low": math.nan, "high": math.nan}
        if chosen is not None:
            reference = {t["seed"]: t[key] for t in groups[_row_key(summary[chosen])]}
            paired = [(t[key], reference[t["seed"]]) for t in groups[_row_key(row)]]
            difference = selection.paired_difference(*zip(*paired, strict=True))
        for name, value in difference.items():
            row[f"paired_difference_{name}"] = value
    return chosen


def _row_key(row):
    return (row["optimizer"], row["learning_rate"], row["loss"], row["batch_size"])


def _trials_by_row(trials):
    groups: dict[tuple, list[dict]] = {}
    for trial in trials:
        config = trial["config"]
        key = (
            config["optimizer"],
            config["learning_rate"],
            config["loss"] or "default",
            config["batch_size"],
        )
        groups.setdefault(key, []).append(trial)
    return groups


def choice_lines(summary, metric, selection_record) -> list[str]:
    """Sentences saying what was chosen, on what, and its test score (measured once)."""
    select_by = selection_record["select_by"]
    fraction = selection_record["validation_split"]
    chosen = selection_record.get("chosen")
    criterion = "val_loss" if select_by == "val_loss" else f"val_{metric}"
    best = "highest" if selection.higher_is_better(select_by, metric) else "lowest"
    lines = [
        f"Chosen on the validation part ({fraction:.0%} of the training data, "
        f"{'stratified, ' if metric == 'accuracy' else ''}the same rows for every "
        f"configuration of a seed), by the {best} mean final {criterion}; "
        "Δ is each configuration's paired difference to it, with a 95% interval over seeds."
    ]
    if chosen is None:
        lines.append("No configuration finished with a finite score: none was chosen.")
        return lines
    row = summary[chosen]
    lines.append(
        f"Chosen: {row['optimizer']}, learning rate {row['learning_rate']:g}, "
        f"loss {row['loss']}, batch {row['batch_size']}."
    )
    test = selection_record.get("test")
    if test:
        lines.append(
            f"Test part, chosen configuration only, measured once: loss "
            f"{test['loss_mean']:.4f} ± {test['loss_std']:.4f}, {metric} "
            f"{test['metric_mean']:.4f} ± {test['metric_std']:.4f} over {test['seeds']} seeds."
        )
    return lines


def table_cells(summary: list[dict], metric: str = "accuracy", selection_record=None):
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
    if selection_record is not None:
        criterion = "val_loss" if selection_record["select_by"] == "val_loss" else metric
        headers.append(f"Δ final {criterion} vs chosen (95%)")
        for cells, row in zip(rows, summary, strict=True):
            cells.append(_difference(row))
    return headers, rows


def _difference(row):
    if row.get("chosen"):
        return "chosen"
    mean, low, high = (row.get(f"paired_difference_{name}") for name in ("mean", "low", "high"))
    if mean is None or math.isnan(mean):
        return "nan"
    if math.isnan(low):
        return f"{mean:+.4f}"
    return f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]"


def format_table(summary: list[dict], metric: str = "accuracy", selection_record=None) -> str:
    """The summary as an aligned text table."""
    headers, rows = table_cells(summary, metric, selection_record)
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
