import csv
import re
import subprocess
import sys

import numpy as np
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


def test_train_convnet_reaches_97_percent_on_digits(capsys):
    """`gradstep train --model convnet`: digits' 64 pixels as 8x8 images, two
    convolution blocks (as examples/digits_convnet.py, which gets the same
    numbers), at least 0.97 test accuracy."""
    assert cli.main(["train", "--model", "convnet", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    for row in ("(Reshape)", "(None, 8, 8, 1)", "(Conv2D)", "max_pooling2d", "(None, 2, 2, 64)"):
        assert row in out
    assert "Total params: 21386 (83.54 KB)" in out
    last_line = out.strip().splitlines()[-1]
    assert (
        float(re.fullmatch(r"test accuracy: ([0-9.]+) - test loss: [0-9.]+", last_line)[1]) >= 0.97
    )


def test_convnet_needs_images(capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(["train", "--model", "convnet", "--dataset", "iris"])
    assert raised.value.code == 2
    assert "--model convnet needs images" in capsys.readouterr().err


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


def _pixels(path):
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image)


@pytest.mark.requires("matplotlib", extra="plot")
def test_landscape_writes_the_plot_and_the_animation(tmp_path, capsys):
    from PIL import Image

    from gradstep.lab import landscapes

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
    out = capsys.readouterr().out
    # The library's own plot of the same walks (its content is tested in tests/lab/).
    paths = landscapes.walk_all("himmelblau", ["sgd", "adam"], {"sgd": 0.01, "adam": 0.1}, 40)
    landscapes.plot_paths("himmelblau", paths, output=tmp_path / "library.png")
    assert _pixels(tmp_path / "h.png").shape == (600, 700, 4)
    np.testing.assert_array_equal(_pixels(tmp_path / "h.png"), _pixels(tmp_path / "library.png"))
    for name, path in paths.items():
        x, y = path[-1]
        assert f"{name}: 40 steps, ended at ({x:.4g}, {y:.4g}), value " in out
    with Image.open(tmp_path / "h.gif") as movie:  # a frame per point: 60 are asked, 41 exist
        assert (movie.size, movie.n_frames) == ((480, 400), 41)


@pytest.mark.requires("matplotlib", extra="plot")
def test_compare_then_report(tmp_path, capsys):
    from gradstep.lab import compare, report

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
    comparison = compare.Comparison.from_json(output / "comparison.json")
    assert len(comparison.trials) == 8  # 2 optimizers x 2 rates x 2 seeds
    assert out.startswith(comparison.table())
    with open(output / "comparison.csv", newline="") as handle:
        rows = [(row["optimizer"], float(row["learning_rate"])) for row in csv.DictReader(handle)]
    assert rows == [("sgd", 0.01), ("sgd", 0.1), ("adam", 0.01), ("adam", 0.1)]
    # The plots are the library's plots of the comparison written to comparison.json.
    library = report.save_plots(comparison, tmp_path / "library")
    for path, size in zip(library, [(840, 340), (840, 340), (700, 500)], strict=True):
        assert _pixels(output / path.name).shape == (size[1], size[0], 4)
        np.testing.assert_array_equal(_pixels(output / path.name), _pixels(path))
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


def test_explain_a_step_of_the_reference_model(capsys):
    """--dataset: the reference model after --step - 1 steps, then that step
    explained; the printed new value is the real step's, bit for bit."""
    import numpy as np

    from gradstep import datasets

    argv = ["explain", "--dataset", "iris", "--optimizer", "rmsprop", "--step", "4"]
    argv += ["--weight", "dense/kernel[2, 5]", "--hidden-units", "8", "--batch-size", "16"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "3 steps of rmsprop with batches of 16 (seed 0), then step 4" in out
    assert "Update 4 of RMSprop, weight dense/kernel[2, 5]" in out
    assert "per sample: slope = dL/dout_5 x act'(z_5) x x_2" in out
    assert "s after = rho * s + (1 - rho) * g*g" in out

    args = cli.build_parser().parse_args(argv)
    data = datasets.load_dataset("iris")
    model = cli._reference_model(args, data)
    assert model.layers[0].name == "dense_2"  # the next names after the explained model's
    batches = cli._seeded_batches(len(data.x_train), 16, np.random.default_rng(0))
    for _ in range(4):
        rows = next(batches)
        model.train_on_batch(data.x_train[rows], data.y_train[rows])
    real = model.layers[0].kernel[2, 5]
    assert f"New value: {str(real)} (was" in out


def test_explain_rejects_a_weight_without_an_entry():
    with pytest.raises(SystemExit):
        cli.main(["explain", "--dataset", "iris", "--weight", "dense/kernel"])
    assert cli._weight_entry("dense/kernel[3, 5]") == ("dense/kernel", (3, 5))
    assert cli._weight_entry("out/bias[2]") == ("out/bias", (2,))
