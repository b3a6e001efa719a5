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
