"""The learning-rate range test: fastai's ramp, smoothing, stop rule and
suggestions, and a model left exactly as it was."""

import sys

import numpy as np
import pytest

from gradstep import layers, models, optimizers
from gradstep.lab import lr_find
from gradstep.lab.lr_finder import suggest
from gradstep.optimizers import schedules


def _data(seed=0, samples=256):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, 6)).astype(np.float32)
    y = (x @ rng.normal(size=(6, 1)) + 0.1 * rng.normal(size=(samples, 1))).astype(np.float32)
    return x, y


def _model(optimizer="sgd", seed=0, dropout=False):
    stack = [layers.Dense(16, activation="relu", input_shape=(6,))]
    stack += [layers.Dropout(0.2)] if dropout else []
    model = models.Sequential([*stack, layers.Dense(1)], seed=seed)
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_the_rate_grows_exponentially_as_in_fastai():
    x, y = _data()
    result = lr_find(_model(), x, y, start_lr=1e-6, end_lr=1e-2, num_steps=40, stop_div=False)
    steps = np.arange(40)
    np.testing.assert_allclose(result.learning_rates, 1e-6 * (1e4) ** (steps / 40), rtol=1e-12)
    assert not result.stopped_early


def test_the_smoothed_loss_is_the_debiased_moving_average():
    x, y = _data()
    result = lr_find(_model(), x, y, start_lr=1e-5, end_lr=1e-1, num_steps=30, stop_div=False)
    average, expected = 0.0, []
    for step, loss in enumerate(result.losses):
        average = 0.98 * average + 0.02 * loss
        expected.append(average / (1 - 0.98 ** (step + 1)))
    np.testing.assert_allclose(result.smoothed_losses, expected, rtol=1e-12)
    assert result.smoothed_losses[0] == result.losses[0]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_it_stops_once_the_smoothed_loss_exceeds_four_times_its_minimum():
    x, y = _data()
    result = lr_find(_model(), x, y, start_lr=1e-4, end_lr=100, num_steps=100)
    smoothed = result.smoothed_losses
    assert result.stopped_early and len(smoothed) < 100
    assert not np.isfinite(smoothed[-1]) or smoothed[-1] > 4 * smoothed.min()
    # and not one step earlier
    assert all(smoothed[i] <= 4 * smoothed[: i + 1].min() for i in range(len(smoothed) - 1))


def test_suggestions_are_fastai_steep_and_minimum_over_ten():
    x, y = _data()
    result = lr_find(_model(), x, y, start_lr=1e-5, end_lr=10, num_steps=80)
    kept = slice(80 // 10, -5)
    rates, losses = result.learning_rates[kept], result.smoothed_losses[kept]
    slopes = (losses[1:] - losses[:-1]) / (np.log(rates[1:]) - np.log(rates[:-1]))
    assert result.steep == rates[np.argmin(slopes)]
    assert result.minimum == rates[np.argmin(losses)] / 10
    assert result.suggestions == {"steep": result.steep, "minimum": result.minimum}


def test_suggest_drops_everything_from_the_first_non_finite_loss():
    rates = np.logspace(-6, 0, 30)
    losses = np.linspace(3, 1, 30)
    losses[20] = np.nan
    steep, minimum = suggest(rates, losses, 30)
    assert minimum == rates[19] / 10
    assert suggest(rates[:6], losses[:6], 6) == (None, None)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_model_is_left_as_it_was(optimizer):
    """Weights, optimizer (object, settings and state) and random generators: a fit
    after lr_find gives exactly what it gives without it."""
    x, y = _data()
    probed, untouched = _model(optimizer, dropout=True), _model(optimizer, dropout=True)
    probed.fit(x, y, epochs=1, verbose=0)
    untouched.fit(x, y, epochs=1, verbose=0)
    optimizer_before = probed.optimizer
    state_before = probed.optimizer.get_state()
    lr_find(probed, x, y, num_steps=30)
    assert probed.optimizer is optimizer_before
    state_after = probed.optimizer.get_state()
    assert state_after.keys() == state_before.keys()
    for name in state_before:
        np.testing.assert_array_equal(state_after[name], state_before[name])
    history_probed = probed.fit(x, y, epochs=2, verbose=0)
    history_untouched = untouched.fit(x, y, epochs=2, verbose=0)
    assert history_probed.history == history_untouched.history
    for ours, theirs in zip(probed.get_weights(), untouched.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_an_unbuilt_model_ends_built_with_the_initial_weights_fit_would_use():
    x, y = _data()
    unbuilt = models.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)], seed=3)
    unbuilt.compile(optimizer="sgd", loss="mse")
    twin = models.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)], seed=3)
    twin.compile(optimizer="sgd", loss="mse")
    lr_find(unbuilt, x, y, num_steps=20)
    twin.predict_on_batch(x[:1])
    for ours, theirs in zip(unbuilt.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert unbuilt.optimizer.iterations == 0


def test_an_optimizer_on_a_schedule_is_probed_with_its_settings_and_kept():
    x, y = _data()
    schedule = schedules.CosineDecay(0.01, decay_steps=100)
    model = _model(optimizers.SGD(learning_rate=schedule, momentum=0.9))
    result = lr_find(model, x, y, start_lr=1e-4, end_lr=1, num_steps=20)
    assert len(result.learning_rates) > 0
    assert model.optimizer.get_config()["learning_rate"] == schedules.serialize(schedule)
    assert model.optimizer.momentum == 0.9


def test_the_reference_model_on_digits_gets_sensible_suggestions():
    """Adam's default 1e-3 trains the reference model well; the test should point
    at rates of that order, far from both ends of the ramp."""
    from gradstep import datasets

    (x, y), _ = datasets.load("digits")
    model = models.Sequential(
        [layers.Dense(512, activation="relu", input_shape=(64,)), layers.Dense(10, "softmax")],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    result = lr_find(model, x, y)
    assert 1e-4 <= result.minimum <= 1e-1
    assert 1e-4 <= result.steep <= 1e-1


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"start_lr": 0}, "start_lr must be a positive number"),
        ({"end_lr": -1}, "end_lr must be a positive number"),
        ({"start_lr": 1.0, "end_lr": 0.1}, "end_lr must be larger than start_lr"),
        ({"num_steps": 5}, "num_steps must be at least 10"),
        ({"beta": 1.0}, r"beta must be a number in \[0, 1\)"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    x, y = _data()
    with pytest.raises(ValueError, match=message):
        lr_find(_model(), x, y, **arguments)


def _png_size(path):
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.mark.requires("matplotlib", extra="plot")
def test_the_plot_is_a_png_with_the_suggestions_marked(tmp_path):
    x, y = _data()
    result = lr_find(_model(), x, y, start_lr=1e-5, end_lr=10, num_steps=60)
    figure = result.plot(tmp_path / "lr.png")
    assert _png_size(tmp_path / "lr.png") == (700, 450)
    ax = figure.axes[0]
    batch_loss, smoothed_loss = ax.get_lines()[:2]
    shown = len(result.learning_rates) - 5  # fastai leaves out the last 5 points
    np.testing.assert_array_equal(batch_loss.get_xdata(), result.learning_rates[:shown])
    np.testing.assert_array_equal(batch_loss.get_ydata(), result.losses[:shown])
    np.testing.assert_array_equal(smoothed_loss.get_xdata(), result.learning_rates[:shown])
    np.testing.assert_array_equal(smoothed_loss.get_ydata(), result.smoothed_losses[:shown])
    marked = [line.get_xdata()[0] for line in ax.get_lines()[2:] if line.get_marker() == "o"]
    assert marked == [result.steep, result.minimum]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == [
        "batch loss",
        "smoothed loss",
        f"steep: {result.steep:.2e}",
        f"minimum/10: {result.minimum:.2e}",
    ]
    assert ax.get_xscale() == "log"


def test_without_matplotlib_the_plot_says_which_extra_to_install(monkeypatch):
    x, y = _data()
    result = lr_find(_model(), x, y, num_steps=20)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'gradstep\[plot\]'"):
        result.plot()


@pytest.mark.requires("matplotlib", extra="plot")
def test_the_command_line_prints_the_suggestions_and_writes_the_png(tmp_path, capsys):
    from gradstep import cli

    output = tmp_path / "lr.png"
    argv = ["lr-find", "--dataset", "iris", "--steps", "40", "--hidden-units", "8"]
    argv += ["--start-lr", "1e-5", "--end-lr", "100", "--optimizer", "sgd", "--batch-size", "16"]
    assert cli.main([*argv, "--seed", "2", "--output", str(output)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "Learning-rate range test: iris, sgd, batch size 16, "
        "at most 40 steps from 1e-05 towards 100"
    )
    assert lines[1].startswith(("The loss diverged at step ", "Ran all 40 steps"))
    steep = float(lines[2].removeprefix("suggested learning rate (steep): "))
    minimum = float(lines[3].removeprefix("suggested learning rate (minimum/10): "))
    assert 1e-5 <= steep <= 100 and 1e-6 <= minimum <= 10
    assert lines[4] == f"plot written to {output}"
    assert _png_size(output) == (700, 450)


def test_the_command_line_refuses_bad_values(capsys):
    from gradstep import cli

    with pytest.raises(SystemExit) as raised:
        cli.main(["lr-find", "--dataset", "iris", "--steps", "3"])
    assert raised.value.code == 2
    assert "num_steps must be at least 10" in capsys.readouterr().err
