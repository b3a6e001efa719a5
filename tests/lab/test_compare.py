import json
import math

import numpy as np
import pytest

from gradstep.lab import compare

SWEEP = {
    "dataset": "iris",
    "optimizers": ["sgd", "adam"],
    "learning_rates": [0.01, 0.1],
    "epochs": 3,
    "seeds": 2,
    "hidden_units": 8,
    "target": 0.6,
    "progress": False,
}


def _numbers(comparison):
    return [
        (
            t["config"]["optimizer"],
            t["config"]["learning_rate"],
            t["seed"],
            t["history"]["val_loss"],
        )
        for t in comparison.trials
    ]


@pytest.fixture(scope="module")
def local_run():
    return compare.compare(**SWEEP, n_jobs=1)


def test_every_combination_and_seed_is_trained(local_run):
    assert len(local_run.trials) == 2 * 2 * 2
    assert [(row["optimizer"], row["learning_rate"]) for row in local_run.summary] == [
        ("sgd", 0.01),
        ("sgd", 0.1),
        ("adam", 0.01),
        ("adam", 0.1),
    ]
    assert all(row["seeds"] == 2 for row in local_run.summary)
    seeds = {t["seed"] for t in local_run.trials}
    assert seeds == set(compare.trial_seeds(2))


def test_summary_numbers_are_means_and_spreads_over_seeds(local_run):
    row = local_run.summary[3]
    trials = [
        t
        for t in local_run.trials
        if t["config"]["optimizer"] == "adam" and t["config"]["learning_rate"] == 0.1
    ]
    finals = [t["history"]["val_loss"][-1] for t in trials]
    assert row["final_val_loss_mean"] == pytest.approx(np.mean(finals))
    assert row["final_val_loss_std"] == pytest.approx(np.std(finals))
    best = [max(t["history"]["val_accuracy"]) for t in trials]
    assert row["best_val_metric_mean"] == pytest.approx(np.mean(best))


def test_epochs_to_target():
    assert compare._epochs_to_target([0.2, 0.5, 0.7, 0.9], 0.6, "accuracy") == 3
    assert compare._epochs_to_target([0.2, 0.5], 0.6, "accuracy") is None
    assert compare._epochs_to_target([50.0, 40.0, 30.0], 45.0, "mae") == 2


def test_parallel_run_gives_the_same_numbers_in_the_same_order(local_run):
    parallel = compare.compare(**SWEEP, n_jobs=2)
    assert _numbers(parallel) == _numbers(local_run)


@pytest.mark.slow  # starting the cluster takes about 15 seconds
@pytest.mark.requires("distributed", extra="dask")
def test_dask_cluster_gives_the_same_numbers(local_run):
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        on_dask = compare.compare(**SWEEP, backend="dask")
    assert _numbers(on_dask) == _numbers(local_run)


@pytest.mark.slow  # starting the cluster takes about 15 seconds
@pytest.mark.requires("ray", extra="ray")
def test_ray_gives_the_same_numbers(local_run):
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = compare.compare(**SWEEP, backend="ray")
    finally:
        ray.shutdown()
    assert _numbers(on_ray) == _numbers(local_run)


def test_json_and_csv_outputs(local_run, tmp_path):
    local_run.to_json(tmp_path / "sweep.json")
    again = compare.Comparison.from_json(tmp_path / "sweep.json")
    assert again.summary == json.loads(json.dumps(local_run.summary))
    local_run.to_csv(tmp_path / "sweep.csv")
    lines = (tmp_path / "sweep.csv").read_text().splitlines()
    assert lines[0].startswith("optimizer,learning_rate,loss,batch_size,seeds,final_val_loss_mean")
    assert len(lines) == 5


def test_table_shows_mean_and_spread(local_run):
    table = local_run.table()
    header = table.splitlines()[0]
    for column in ("optimizer", "final val_loss", "best val_accuracy", "epochs to target"):
        assert column in header
    assert " ± " in table.splitlines()[2]


def test_losses_and_batch_sizes_are_swept_too():
    result = compare.compare(
        "breast_cancer",
        optimizers=["adam"],
        learning_rates=[0.01],
        losses=[None, "mse"],
        batch_sizes=[16, 64],
        epochs=1,
        seeds=1,
        hidden_units=4,
        progress=False,
        n_jobs=1,
    )
    assert {(row["loss"], row["batch_size"]) for row in result.summary} == {
        ("default", 16),
        ("default", 64),
        ("mse", 16),
        ("mse", 64),
    }


def test_regression_reports_mae():
    result = compare.compare(
        "diabetes",
        optimizers=["adam"],
        learning_rates=[0.01],
        epochs=2,
        seeds=1,
        hidden_units=8,
        progress=False,
        n_jobs=1,
    )
    assert result.metric == "mae" and math.isfinite(result.summary[0]["final_val_metric_mean"])


def test_user_csv(tmp_path):
    rows = ["a,b,label"] + [f"{i},{(i * 7) % 5},{'yes' if i % 3 else 'no'}" for i in range(40)]
    (tmp_path / "mine.csv").write_text("\n".join(rows))
    result = compare.compare(
        str(tmp_path / "mine.csv"),
        optimizers=["sgd"],
        learning_rates=[0.1],
        epochs=1,
        seeds=1,
        hidden_units=4,
        progress=False,
        n_jobs=1,
    )
    assert result.summary[0]["seeds"] == 1


def test_bad_names_fail_before_training():
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'"):
        compare.compare("iris", optimizers=["adamm"], progress=False)
    with pytest.raises(ValueError, match="Unknown dataset 'irises'"):
        compare.compare("irises", progress=False)
    with pytest.raises(ValueError, match="backend must be 'loky', 'dask' or 'ray'"):
        compare.compare(
            "iris",
            optimizers=["sgd"],
            learning_rates=[0.1],
            epochs=1,
            seeds=1,
            backend="spark",
            progress=False,
        )


class _Untouchable:
    """Stands for the test part: any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the sweep used the test part ({name})")

    def __array__(self, *args, **kwargs):
        raise AssertionError("the sweep used the test part")

    def __len__(self):
        raise AssertionError("the sweep used the test part")


def test_trials_never_see_the_test_part(monkeypatch):
    from gradstep import datasets

    real = compare._load("iris", None)
    blind = datasets.Dataset(
        real.x_train, real.y_train, _Untouchable(), _Untouchable(), real.task, real.classes
    )
    monkeypatch.setattr(compare, "_load", lambda *args: blind)
    config = compare.sweep_configs("iris", ["adam"], [0.1], epochs=2, hidden_units=4)[0]
    trial = compare.run_trial(config, seed=3)
    assert math.isfinite(trial["final_val_loss"])
    with pytest.raises(AssertionError, match="used the test part"):
        compare.run_trial(config, seed=3, evaluate_test=True)


def test_every_configuration_of_a_seed_validates_on_the_same_rows(monkeypatch):
    cuts = []
    real_split = compare.selection.split_validation

    def recording_split(labels, fraction, seed, stratify):
        train, validation = real_split(labels, fraction, seed, stratify)
        cuts.append((seed, tuple(validation)))
        return train, validation

    monkeypatch.setattr(compare.selection, "split_validation", recording_split)
    compare.compare(**SWEEP, n_jobs=1)
    rows_per_seed = {}
    for seed, validation in cuts[1:]:  # the first cut checks the settings before training
        rows_per_seed.setdefault(seed, set()).add(validation)
    assert set(rows_per_seed) == set(compare.trial_seeds(2))
    assert all(len(rows) == 1 for rows in rows_per_seed.values())
    first, second = (next(iter(rows)) for rows in rows_per_seed.values())
    assert first != second and len(first) == 24  # 20% of iris's 120 training rows


def test_choice_is_the_lowest_mean_validation_loss_with_paired_differences(local_run):
    finals = [row["final_val_loss_mean"] for row in local_run.summary]
    chosen = local_run.selection["chosen"]
    assert chosen == int(np.nanargmin(finals))
    assert local_run.chosen() is local_run.summary[chosen]
    assert [row["chosen"] for row in local_run.summary] == [i == chosen for i in range(len(finals))]
    by_seed = {}
    for t in local_run.trials:
        key = (t["config"]["optimizer"], t["config"]["learning_rate"])
        by_seed.setdefault(key, {})[t["seed"]] = t["final_val_loss"]
    best = by_seed[(local_run.chosen()["optimizer"], local_run.chosen()["learning_rate"])]
    for row in local_run.summary:
        mine = by_seed[(row["optimizer"], row["learning_rate"])]
        differences = [mine[seed] - best[seed] for seed in best]
        assert row["paired_difference_mean"] == pytest.approx(np.mean(differences))
        half = 12.7062 * np.std(differences, ddof=1) / math.sqrt(2)  # 2 seeds: t(0.975, 1)
        assert row["paired_difference_high"] == pytest.approx(np.mean(differences) + half)
    assert local_run.chosen()["paired_difference_mean"] == 0.0


def test_test_score_is_the_chosen_configurations_models_scored_once(local_run):
    test = local_run.selection["test"]
    config = next(
        t["config"]
        for t in local_run.trials
        if (t["config"]["optimizer"], t["config"]["learning_rate"])
        == (local_run.chosen()["optimizer"], local_run.chosen()["learning_rate"])
    )
    seeds = compare.trial_seeds(2)
    again = [compare.run_trial(config, seed, evaluate_test=True) for seed in seeds]
    sweep = [t for t in local_run.trials if t["config"] == config]
    # Trained again, each seed's model is the one the sweep judged.
    assert [t["history"] for t in again] == [t["history"] for t in sweep]
    assert [s["test_metric"] for s in test["per_seed"]] == [t["test_metric"] for t in again]
    assert test["metric_mean"] == pytest.approx(np.mean([t["test_metric"] for t in again]))
    assert "test_loss" not in local_run.trials[0]
    text = local_run.table()
    assert "Test part, chosen configuration only, measured once" in text
    assert "Δ final val_loss vs chosen (95%)" in text.splitlines()[0]


def test_select_by_validation_accuracy():
    sweep = compare.compare(**SWEEP, n_jobs=1, select_by="val_metric")
    accuracies = [row["final_val_metric_mean"] for row in sweep.summary]
    assert accuracies[sweep.selection["chosen"]] == max(accuracies)
    assert "by the highest mean final val_accuracy" in sweep.table()


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("validation_split", 1.5, "validation_split must be between 0 and 1, received 1.5"),
        ("select_by", "test_accuracy", "select_by must be one of"),
    ],
)
def test_bad_selection_settings_fail_before_training(argument, value, message):
    with pytest.raises(ValueError, match=message):
        compare.compare(**{**SWEEP, argument: value}, n_jobs=1)


def test_selection_round_trips_and_older_files_still_load(local_run, tmp_path):
    local_run.to_json(tmp_path / "sweep.json")
    again = compare.Comparison.from_json(tmp_path / "sweep.json")
    assert again.selection == json.loads(json.dumps(local_run.selection))
    assert again.table() == local_run.table()
    older = json.loads((tmp_path / "sweep.json").read_text())
    del older["selection"]
    (tmp_path / "older.json").write_text(json.dumps(older))
    assert compare.Comparison.from_json(tmp_path / "older.json").selection is None
