"""benchmarks/bench_reference.py runs its gradstep part end to end on a tiny
setting. Only the structure of what it reports is checked, never a time."""

import importlib
import math
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("bench_reference")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def tiny(bench):
    architecture = bench.Architecture(inputs=8, hidden=(16,), classes=3)
    return architecture, bench.synthetic_data(64, 16, architecture)


def test_synthetic_data_has_the_architecture_s_shapes_and_every_class(bench, tiny):
    architecture, data = tiny
    assert data["x_train"].shape == (64, 8) and data["x_test"].shape == (16, 8)
    assert data["x_train"].dtype.name == "float32" and data["y_train"].dtype.name == "int64"
    assert set(data["y_train"]) == {0, 1, 2}


def test_the_big_mlp_data_has_the_samples_asked_for_and_a_quarter_to_test(bench):
    data = bench.load_data("big-mlp", samples=256)
    assert data["x_train"].shape == (256, 784) and data["x_test"].shape == (64, 784)


def test_one_process_measures_a_cold_fit_and_two_warm_ones(bench, tiny):
    architecture, data = tiny
    measured = bench.measure_in_this_process(
        "gradstep", data, architecture, batch_size=16, epochs=1, seed=0
    )
    assert set(measured) == {"fit", "fit_cpu", "fit_end", "warm", "warm_cpu", "accuracy", "label"}
    assert measured["fit"] > 0 and len(measured["warm"]) == len(measured["warm_cpu"]) == 2
    assert all(seconds > 0 for seconds in measured["warm"])
    assert 0.0 <= measured["accuracy"] <= 1.0
    assert measured["label"].startswith("gradstep ")


def test_memory_is_measured_over_the_cold_and_the_warm_fit(bench, tiny):
    architecture, data = tiny
    measured = bench.memory_in_this_process(
        "gradstep", data, architecture, batch_size=16, epochs=1, seed=0
    )
    for fit in ("cold", "warm"):
        figures = measured[fit]
        assert figures["growth_kib"] == figures["peak_kib"] - figures["before_kib"] >= 0


def test_the_profile_names_every_layer_the_loss_the_optimizer_and_the_rest(bench, tiny):
    architecture, data = tiny
    report = bench.profile(data, architecture, batch_size=16, epochs=2)
    names = [row[0] for row in report["rows"]]
    forwards = [name for name in names if name.endswith(" forward")]
    backwards = [name for name in names if name.endswith(" backward")]
    assert len(forwards) == len(backwards) == 2  # Dense(16), Dense(3)
    assert backwards == [f"{name[: -len(' forward')]} backward" for name in reversed(forwards)]
    assert names[2:] == [
        "loss value_and_gradient",
        *backwards,
        "optimizer apply",
        "rest of the step",
    ]
    assert report["steps"] == 2 * 4  # 2 epochs of 64 samples in batches of 16
    for name, seconds, share, _ in report["rows"]:
        assert math.isfinite(seconds) and math.isfinite(share), name
    called = {row[0]: row[3] for row in report["rows"]}
    assert called["loss value_and_gradient"] and called["optimizer apply"]


def test_ratios_are_medians_of_the_per_round_ratios(bench):
    def run(cold, warm):
        return {
            "fit": cold,
            "fit_cpu": cold / 2,
            "fit_end": 0.0,
            "start_to_end": 2 * cold,
            "warm": [warm, warm + 1],
            "warm_cpu": [warm + 1, warm / 2],
            "accuracy": 0.5,
            "label": "x",
        }

    runs = {
        "gradstep": [run(1.0, 1.0), run(2.0, 1.0), run(3.0, 1.0)],
        "pytorch": [run(2.0, 4.0), run(2.0, 1.0), run(1.0, 2.0)],
    }
    results = bench.summarize(runs)
    assert results["gradstep"]["median"] == {
        "cold": 2.0,
        "start_to_end": 4.0,
        "warm": 1.0,
        "cold_cpu": 1.0,
        "warm_cpu": 0.5,
    }
    ratios = bench.ratios(results)["pytorch"]
    assert ratios["cold"] == (1.0, 0.5, 3.0)  # rounds 0.5, 1.0, 3.0
    assert ratios["warm"] == (0.5, 0.25, 1.0)  # the best warm fit of each round


def test_a_contender_that_is_not_installed_is_skipped_with_a_line(bench, monkeypatch, capsys):
    monkeypatch.setitem(bench.MODULES, "sklearn", ("no_such_module_for_gradstep",))
    assert bench.available(["gradstep", "sklearn"]) == ["gradstep"]
    assert "skipping sklearn: no_such_module_for_gradstep not installed" in capsys.readouterr().out


def test_each_model_has_its_defaults(bench):
    reference = bench.parse_args([])
    assert (reference.epochs, reference.batch_size) == (20, 32)
    assert "gradstep-numpy" not in reference.frameworks and "jax-optax" in reference.frameworks
    big = bench.parse_args(["--model", "big-mlp", "--batch-size", "256"])
    assert (big.epochs, big.batch_size, big.samples) == (1, 256, 8192)
    assert big.frameworks == ["gradstep", "pytorch", "pytorch-1thread"]
    assert bench.parse_args(["--memory"]).frameworks == ["gradstep", "pytorch"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--frameworks", "gradstep,tensorflow"])


@pytest.mark.slow
def test_the_driver_runs_gradstep_in_a_fresh_process_and_prints_the_tables(bench, capsys):
    printed = bench.main(["--frameworks", "gradstep", "--rounds", "1", "--epochs", "1"])
    result = printed["timing"]["gradstep"]
    assert set(result["median"]) == {"cold", "start_to_end", "warm", "cold_cpu", "warm_cpu"}
    assert result["median"]["start_to_end"] > result["median"]["cold"]
    assert "no ratios" in capsys.readouterr().out  # gradstep alone: no peer


def test_the_kernels_compiled_ahead_of_time_are_built_first_or_turned_off(
    bench, monkeypatch, capsys
):
    built = []
    monkeypatch.setattr(bench.subprocess, "run", lambda *a, **k: built.append(a[0]))
    monkeypatch.delenv("GRADSTEP_AHEAD", raising=False)
    bench.prepare_ahead_of_time_kernels("build", ["pytorch"])
    assert not built  # no gradstep contender: nothing to build
    monkeypatch.setattr(
        bench.subprocess,
        "run",
        lambda *a, **k: (
            built.append(a[0]) or bench.subprocess.CompletedProcess(a[0], 0, "made", "")
        ),
    )
    bench.prepare_ahead_of_time_kernels("build", ["gradstep", "pytorch"])
    assert built == [[sys.executable, "-m", "gradstep.kernels.ahead_build"]]
    bench.prepare_ahead_of_time_kernels("off", ["gradstep"])
    assert bench.os.environ["GRADSTEP_AHEAD"] == "0"  # every child inherits it
    assert "off (GRADSTEP_AHEAD=0)" in capsys.readouterr().out
    assert bench.parse_args([]).ahead == "build"


def test_the_profile_times_the_optimizers_plain_step(bench, monkeypatch):
    """Wrapping the optimizer must not send its update to the general path:
    the profile times the plain step fit takes (Adam's ``_apply_plainly``)."""
    from gradstep.optimizers.adam import Adam

    plain = []
    apply_plainly = Adam._apply_plainly
    monkeypatch.setattr(
        Adam, "_apply_plainly", lambda self, g: plain.append(1) or apply_plainly(self, g)
    )
    architecture = bench.Architecture(inputs=8, hidden=(16,), classes=3)
    report = bench.profile(bench.synthetic_data(64, 16, architecture), architecture, 16, 1)
    assert report["steps"] == 4 and len(plain) == 4 + 3  # (the untimed fit's steps after the first)
