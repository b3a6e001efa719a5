"""The range test over several seeds: each run is the one-seed test of that seed's
model and batch order, the band is their order statistics, and the model is restored."""

import numpy as np
import pytest

from gradstep import layers, models
from gradstep.lab import LRFindBand, lr_find
from gradstep.lab.lr_finder import seed_list

SETTINGS = {"start_lr": 1e-4, "end_lr": 10.0, "num_steps": 40, "batch_size": 16}


def _data(samples=128):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, 6)).astype(np.float32)
    y = (x @ rng.normal(size=(6, 1))).astype(np.float32)
    return x, y


def _model(seed=0):
    model = models.Sequential(
        [layers.Input((6,)), layers.Dense(16, activation="relu"), layers.Dense(1)], seed=seed
    )
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_each_run_is_the_one_seed_test_of_that_seeds_model_and_order():
    x, y = _data()
    band = lr_find(_model(), x, y, seeds=[3, 11, 12], **SETTINGS)
    assert isinstance(band, LRFindBand) and band.seeds == (3, 11, 12)
    assert band.initializations_varied
    for seed, run in zip(band.seeds, band.runs, strict=True):
        alone = lr_find(_model(seed), x, y, seed=seed, **SETTINGS)
        np.testing.assert_array_equal(run.smoothed_losses, alone.smoothed_losses)
        assert (run.steep, run.minimum) == (alone.steep, alone.minimum)
    assert not np.array_equal(band.runs[0].losses[:5], band.runs[1].losses[:5])


def test_the_band_is_the_order_statistics_with_diverged_runs_counted_infinite():
    x, y = _data()
    band = lr_find(_model(), x, y, seeds=5, **SETTINGS)
    length = max(len(run.learning_rates) for run in band.runs)
    curves = np.full((5, length), np.inf)
    for row, run in zip(curves, band.runs, strict=True):
        row[: len(run.smoothed_losses)] = run.smoothed_losses
    np.testing.assert_array_equal(band.median, np.sort(curves, axis=0)[2])
    np.testing.assert_array_equal(band.low, np.sort(curves, axis=0)[1])
    np.testing.assert_array_equal(band.high, np.sort(curves, axis=0)[3])
    np.testing.assert_array_equal(band.lowest, curves.min(axis=0))
    assert any(run.stopped_early for run in band.runs)  # sgd on mse diverges before 10
    assert np.isinf(band.highest[-1])
    np.testing.assert_array_equal(
        band.learning_rates[: len(band.runs[0].learning_rates)], band.runs[0].learning_rates
    )


def test_the_spread_of_each_suggestion_over_seeds():
    x, y = _data()
    band = lr_find(_model(), x, y, seeds=4, **SETTINGS)
    spread = band.spread()
    for name in ("steep", "minimum"):
        values = [getattr(run, name) for run in band.runs]
        assert spread[name]["values"] == values
        assert spread[name]["median"] == pytest.approx(np.median(values))
        assert (spread[name]["low"], spread[name]["high"]) == (min(values), max(values))
        assert spread[name]["decades"] == pytest.approx(np.log10(max(values) / min(values)))
    text = band.summary()
    assert text.startswith("range test over 4 seeds\nsteep: median ")
    assert "decades) over 4 seeds; the median curve's: " in text


def test_the_model_is_restored():
    x, y = _data()
    model = _model()
    model.predict_on_batch(x[:1])
    before = model.get_weights()
    optimizer = model.optimizer
    lr_find(model, x, y, seeds=2, **SETTINGS)
    for kept, now in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
    assert model.optimizer is optimizer


def test_a_subclassed_model_varies_only_the_order_and_says_so():
    class Small(models.Model):
        def __init__(self):
            super().__init__(seed=0)
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    x, y = _data()
    model = Small()
    model.compile(optimizer="sgd", loss="mse")
    band = lr_find(model, x, y, seeds=2, **SETTINGS)
    assert not band.initializations_varied
    assert "(data orders only" in band.summary()


@pytest.mark.parametrize(
    ("seeds", "error", "message"),
    [
        (1, ValueError, "seeds must be at least 2 runs or a list of seeds, received 1"),
        ([4], ValueError, r"seeds must hold at least 2 seeds, received \[4\]"),
        ("abc", TypeError, "seeds must be a count or a list of integers, received 'abc'"),
    ],
)
def test_bad_seeds_are_named(seeds, error, message):
    with pytest.raises(error, match=message):
        seed_list(seeds, 0)


def test_counted_seeds_are_spawned_from_the_seed():
    assert seed_list(3, 0) == seed_list(3, 0) != seed_list(3, 1)
    assert len(set(seed_list(3, 0))) == 3


@pytest.mark.requires("matplotlib", extra="plot")
def test_the_plot_and_the_command_line(tmp_path, capsys):
    from PIL import Image

    from gradstep import cli

    output = tmp_path / "band.png"
    argv = ["lr-find", "--dataset", "iris", "--steps", "30", "--hidden-units", "8", "--seeds", "3"]
    assert cli.main([*argv, "--output", str(output)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "range test over 3 seeds"
    assert lines[2].startswith("steep: median ") and lines[3].startswith("minimum/10: median ")
    assert lines[4] == f"plot written to {output}"
    with Image.open(output) as image:
        assert image.size == (700, 450)
    with pytest.raises(SystemExit):
        cli.main([*argv[:-1], "0"])
    assert "--seeds must be at least 1, received 0" in capsys.readouterr().err
