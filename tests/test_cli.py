import re
import subprocess
import sys

import pytest

from gradstep import cli


def test_train_reference_model_reaches_97_percent(capsys):
    """The main job: `gradstep train` with no arguments (SEED_FACTS 5)."""
    assert cli.main(["train", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert 'Model: "sequential' in out and "Total params: 38410 (150.04 KB)" in out
    last_line = out.strip().splitlines()[-1]
    assert re.fullmatch(r"test accuracy: [0-9.]+ - test loss: [0-9.]+", last_line)
    assert float(last_line.split()[2]) >= 0.97


def test_no_command_means_train(capsys):
    assert cli.main(["--epochs", "1", "--verbose", "0", "--hidden-units", "8"]) == 0
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize(
    "dataset, metric", [("iris", "accuracy"), ("breast_cancer", "accuracy"), ("diabetes", "mae")]
)
def test_options_and_other_datasets(capsys, dataset, metric):
    argv = [
        "train",
        "--dataset",
        dataset,
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--optimizer",
        "adam",
        "--learning-rate",
        "0.01",
        "--hidden-units",
        "8",
        "--seed",
        "1",
        "--verbose",
        "2",
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and f"test {metric}" in out


def test_bad_option_value_exits_with_the_message(capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["train", "--optimizer", "adamm"])
    assert raised.value.code == 2
    assert "Did you mean 'adam'" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "gradstep", "train", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--learning-rate" in result.stdout


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_divergence_is_reported_not_hidden(capsys):
    argv = [
        "train",
        "--dataset",
        "diabetes",
        "--optimizer",
        "sgd",
        "--learning-rate",
        "1",
        "--epochs",
        "2",
        "--verbose",
        "0",
    ]
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "Invalid loss, terminating training" in captured.out
    assert "training diverged. Try a lower --learning-rate (it was 1)" in captured.err


def test_explain_with_no_arguments_prints_both_worked_examples(capsys):
    assert cli.main(["explain"]) == 0
    out = capsys.readouterr().out
    for line in (
        "error = prediction - target = -4",
        "-8 x 3 x 1 = -24",
        "2 - 0.01 * -24 = 2.24",
        "error = prediction - target = 5",
        "10 x 3 x 1 = 30",
        "10 x 4 x 1 = 40",
        "1 - 0.01 * 30 = 0.7",
        "2 - 0.01 * 40 = 1.6",
        "Error after the step: 2.5",
    ):
        assert line in out


def test_explain_with_a_hidden_relu_layer(capsys):
    argv = [
        "explain",
        "--weights",
        "[[[1,-1],[1,1]],[[2],[-1]]]",
        "--inputs",
        "3,2",
        "--target",
        "5",
        "--learning-rate",
        "0.001",
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "hidden layer 1 (relu): [5, 0]" in out and "0.001 * 60" in out
    with pytest.raises(SystemExit):
        cli.main(["explain", "--weights", "1,2"])
    assert "--weights, --inputs and --target go together" in capsys.readouterr().err


@pytest.mark.requires("matplotlib", extra="plot")
def test_landscape_writes_the_plot_and_the_animation(tmp_path, capsys):
    argv = [
        "landscape",
        "--function",
        "himmelblau",
        "--optimizers",
        "sgd,adam",
        "--learning-rates",
        "sgd=0.01,adam=0.1",
        "--steps",
        "40",
        "--output",
        str(tmp_path / "h.png"),
        "--animate",
        str(tmp_path / "h.gif"),
    ]
    assert cli.main(argv) == 0
    assert (tmp_path / "h.png").stat().st_size > 10_000 and (tmp_path / "h.gif").exists()
    assert "sgd: 40 steps, ended at" in capsys.readouterr().out


@pytest.mark.requires("matplotlib", extra="plot")
def test_compare_then_report(tmp_path, capsys):
    output = tmp_path / "sweep"
    argv = [
        "compare",
        "--dataset",
        "iris",
        "--optimizers",
        "sgd,adam",
        "--learning-rates",
        "0.01,0.1",
        "--epochs",
        "2",
        "--seeds",
        "2",
        "--hidden-units",
        "4",
        "--jobs",
        "1",
        "--output-dir",
        str(output),
        "--report",
        str(tmp_path / "r.html"),
    ]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "final val_loss" in out and "adam" in out
    for name in ("comparison.json", "comparison.csv", "loss_curves.png", "lr_sensitivity.png"):
        assert (output / name).exists()
    assert (
        cli.main(
            ["report", str(output / "comparison.json"), "--output", str(tmp_path / "again.html")]
        )
        == 0
    )
    assert '<table id="summary">' in (tmp_path / "again.html").read_text()


def test_dataset_path_and_target_column(tmp_path, capsys):
    rows = ["x1,x2,kind"] + [f"{i % 7},{(3 * i) % 5},{'a' if i % 2 else 'b'}" for i in range(60)]
    (tmp_path / "table.csv").write_text("\n".join(rows))
    argv = [
        "train",
        "--dataset",
        str(tmp_path / "table.csv"),
        "--target",
        "kind",
        "--epochs",
        "1",
        "--hidden-units",
        "4",
        "--verbose",
        "0",
    ]
    assert cli.main(argv) == 0
    assert "test accuracy" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["train", "--dataset", str(tmp_path / "missing.csv")])
    assert "Unknown dataset" in capsys.readouterr().err
