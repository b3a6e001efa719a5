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
