"""The Diagnostics callback: its numbers are the step's own, it changes nothing, and it
says what a run that does not learn shows."""

import csv
import json
import math

import numpy as np
import pytest

import gradstep as keras
from gradstep import layers, optimizers
from gradstep.callbacks import Diagnostics


def _digits():
    (x, y), _ = keras.datasets.load("digits")
    return x[:512], y[:512]


def _tiny(seed=0):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(5, activation="relu", name="hidden"),
            layers.Dense(3, activation="softmax", name="out"),
        ],
        seed=seed,
    )
    model.compile(optimizer=optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    return model


def _tiny_data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(16, 4)).astype("float32"), rng.integers(0, 3, 16)


def test_one_step_numbers_are_the_steps_own():
    x, y = _tiny_data()
    model = _tiny()
    model.predict_on_batch(x[:1])
    kernel, bias = model.layers[1].get_weights()
    model.layers[1].set_weights([kernel * 20, bias])  # some outputs saturate, not all
    before = [w.astype(np.float64) for w in model.get_weights()]
    largest = model.predict_on_batch(x).max(axis=1)
    assert 0 < np.mean(largest >= 0.999) < 1
    _, gradients = model.gradients(x, y)
    hidden = np.maximum(x.astype(np.float64) @ before[0] + before[1], 0)
    diagnostics = Diagnostics(every=1, verbose=0)
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[diagnostics])
    after = [w.astype(np.float64) for w in model.get_weights()]

    def value(quantity, layer):
        [result] = diagnostics.values(quantity, layer)
        return result

    slope_norm = math.sqrt(
        sum(float(np.sum(g.astype(np.float64) ** 2)) for _, _, g in gradients[:2])
    )
    assert value("gradient_norm", "hidden") == pytest.approx(slope_norm, rel=1e-6)
    change = math.sqrt(
        sum(np.sum((a - b) ** 2) for a, b in zip(after[:2], before[:2], strict=True))
    )
    size = math.sqrt(sum(np.sum(b**2) for b in before[:2]))
    assert value("update_ratio", "hidden") == pytest.approx(change / size, rel=1e-6)
    assert value("weight_norm", "out") == pytest.approx(
        math.sqrt(sum(np.sum(a**2) for a in after[2:])), rel=1e-6
    )
    assert value("activation_mean", "hidden") == pytest.approx(hidden.mean(), rel=1e-5)
    assert value("activation_std", "hidden") == pytest.approx(hidden.std(), rel=1e-5)
    assert value("dead_fraction", "hidden") == pytest.approx(np.mean(~(hidden > 0).any(axis=0)))
    assert value("saturated_fraction", "out") == np.mean(largest >= 0.999)
    assert not diagnostics.values("dead_fraction", "out")  # only layers ending in a ReLU
    assert not diagnostics.values("saturated_fraction", "hidden")  # only softmax layers


def test_training_is_the_same_with_and_without_it_and_nothing_stays_wrapped():
    x, y = _digits()
    plain, watched = _tiny(), _tiny()
    x4 = x[:, :4]
    plain.fit(x4, y % 3, epochs=2, verbose=0)
    diagnostics = Diagnostics(verbose=0)
    history = watched.fit(x4, y % 3, epochs=2, verbose=0, callbacks=[diagnostics])
    for a, b in zip(plain.get_weights(), watched.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert all("forward" not in layer.__dict__ for layer in watched.layers)
    assert "step" not in watched.optimizer.__dict__
    assert len(history.history["diagnostics/hidden/gradient_norm"]) == 2
    assert history.history["diagnostics/out/weight_norm"][-1] == pytest.approx(
        math.sqrt(sum(np.sum(np.square(w, dtype=np.float64)) for w in watched.get_weights()[2:]))
    )


def test_a_deep_sigmoid_network_has_vanishing_gradients():
    x, y = _digits()
    model = keras.Sequential(
        [keras.Input((64,))]
        + [layers.Dense(32, activation="sigmoid", name=f"sigmoid_{i}") for i in range(10)]
        + [layers.Dense(10, activation="softmax", name="out")],
        seed=0,
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    diagnostics = Diagnostics(verbose=0)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[diagnostics])
    vanishing = [f.layer for f in diagnostics.findings() if f.kind == "vanishing_gradients"]
    assert "sigmoid_0" in vanishing and "sigmoid_9" not in vanishing
    text = next(str(f) for f in diagnostics.findings() if f.layer == "sigmoid_0")
    assert text.startswith("Vanishing gradients: layer 'sigmoid_0' has a gradient norm of ")
    assert "times the last layer's ('out': " in text and "threshold 0.0001 times" in text


def test_a_bad_initialization_leaves_the_relus_dead():
    x, y = _digits()
    model = keras.Sequential(
        [
            keras.Input((64,)),
            layers.Dense(
                32,
                activation="relu",
                bias_initializer=keras.initializers.Constant(-5.0),
                name="hidden",
            ),
            layers.Dense(10, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    diagnostics = Diagnostics(verbose=0)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[diagnostics])
    assert diagnostics.values("dead_fraction", "hidden") == [1.0, 1.0]
    [dead] = [f for f in diagnostics.findings() if f.kind == "dead_relus"]
    assert str(dead).startswith(
        "Dead ReLUs: 100% of the units of layer 'hidden' gave zero for every sample of the last "
        "period (threshold 50%)."
    )


def test_a_learning_rate_too_high_shows_in_the_loss_and_the_updates():
    """SGD at 1.1 on a linear regression stable below about 0.8: the loss grows about
    threefold an epoch (far from any rounding), and each step moves the weights by more
    than their size."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1))).astype("float32")
    model = keras.Sequential([keras.Input((8,)), layers.Dense(1, name="linear")], seed=0)
    model.compile(optimizer=optimizers.SGD(1.1), loss="mse")
    diagnostics = Diagnostics(verbose=0)
    model.fit(x, y, epochs=5, batch_size=256, verbose=0, callbacks=[diagnostics])
    assert [f.kind for f in diagnostics.findings()] == [
        "exploding_updates",
        "learning_rate_too_high",
    ]
    text = next(str(f) for f in diagnostics.findings() if f.kind == "learning_rate_too_high")
    assert "went up in 4 of 4 epoch-to-epoch changes (threshold: more than half)" in text


def test_a_loss_that_became_nan_is_a_learning_rate_too_high(capsys):
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizer=optimizers.SGD(learning_rate=100.0), loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32") * 100
    diagnostics = Diagnostics()
    with np.errstate(all="ignore"):
        model.fit(x, x.sum(axis=1), batch_size=8, epochs=3, verbose=0, callbacks=[diagnostics])
    assert [f.kind for f in diagnostics.findings()] == [
        "exploding_updates",
        "learning_rate_too_high",
    ]
    assert "Learning rate too high: the loss became NaN or infinite." in capsys.readouterr().out


def test_a_healthy_run_says_nothing_is_wrong():
    x, y = _digits()
    model = keras.Sequential(
        [keras.Input((64,)), layers.Dense(32, activation="relu"), layers.Dense(10, "softmax")],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    diagnostics = Diagnostics(verbose=0)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[diagnostics])
    assert diagnostics.findings() == []
    assert diagnostics.report().startswith("Diagnostics: nothing wrong found (gradients within")


def test_every_n_steps_and_the_files(tmp_path):
    x, y = _tiny_data()
    model = _tiny()
    diagnostics = Diagnostics(every=2, csv_path=tmp_path / "d.csv", verbose=0)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[diagnostics])
    steps = sorted({r["step"] for r in diagnostics.records})
    assert steps == [2, 4, 6, 8]
    with open(tmp_path / "d.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(diagnostics.records)
    assert set(rows[0]) == {"epoch", "step", "layer", "quantity", "value"}
    saved = json.loads(diagnostics.to_json(tmp_path / "d.json").read_text())
    assert saved["kind"] == "diagnostics" and saved["every"] == 2
    assert len(saved["records"]) == len(diagnostics.records)


@pytest.mark.parametrize("every", [0, -1, 1.5, "2"])
def test_every_must_be_a_positive_number_of_steps(every):
    with pytest.raises(ValueError, match="every must be a positive number of steps or None"):
        Diagnostics(every=every)


@pytest.mark.requires("matplotlib", extra="plot")
def test_plots_and_the_report_page(tmp_path, capsys):
    from gradstep import cli
    from headless_chromium import probe_title

    argv = ["train", "--dataset", "iris", "--epochs", "3", "--hidden-units", "8", "--verbose", "0"]
    assert cli.main([*argv, "--diagnose", "--diagnose-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "Diagnostics: " in out
    assert f"an HTML page of them: gradstep report {tmp_path / 'd' / 'diagnostics.json'}" in out
    pngs = sorted(path.name for path in (tmp_path / "d").glob("*.png"))
    assert pngs == sorted(
        f"{q}.png"
        for q in (
            "gradient_norm",
            "weight_norm",
            "update_ratio",
            "activation_mean",
            "activation_std",
            "dead_fraction",
            "saturated_fraction",
        )
    )
    page = tmp_path / "page.html"
    assert (
        cli.main(["report", str(tmp_path / "d" / "diagnostics.json"), "--output", str(page)]) == 0
    )
    html = page.read_text()
    assert 'id="findings"' in html and '<table id="layers">' in html
    assert probe_title(html, "layers", tmp_path) == "images 7/7 rows 2"
