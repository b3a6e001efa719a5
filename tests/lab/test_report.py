import base64
import io
import re

import numpy as np
import pytest

from gradstep.lab import compare, report
from headless_chromium import probe_title

pytestmark = pytest.mark.requires("matplotlib", extra="plot")


@pytest.fixture(scope="module")
def comparison():
    return compare.compare(
        "iris",
        optimizers=["sgd", "adam", "rmsprop"],
        learning_rates=[0.01, 0.1],
        epochs=3,
        seeds=2,
        hidden_units=8,
        progress=False,
        n_jobs=1,
    )


def test_plots_are_pngs_of_the_expected_size(comparison, tmp_path):
    from PIL import Image

    written = report.save_plots(comparison, tmp_path)
    assert [path.name for path in written] == [
        "loss_curves.png",
        "accuracy_curves.png",
        "lr_sensitivity.png",
    ]
    expected = {
        "loss_curves.png": (1260, 340),
        "accuracy_curves.png": (1260, 340),
        "lr_sensitivity.png": (700, 500),
    }
    for path in written:
        with Image.open(path) as image:
            assert image.size == expected[path.name]
            assert np.asarray(image.convert("L")).std() > 10


def _runs(comparison, optimizer, rate, key):
    return [
        trial["history"][key]
        for trial in comparison.trials
        if (trial["config"]["optimizer"], trial["config"]["learning_rate"]) == (optimizer, rate)
    ]


@pytest.mark.parametrize("key", ["val_loss", "val_accuracy"])
def test_curves_are_the_mean_over_seeds_one_panel_per_optimizer(comparison, key):
    figure = report.plot_curves(comparison, key)
    from matplotlib import pyplot  # once the plot has chosen the Agg backend

    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["sgd", "adam", "rmsprop"]
    assert panels[0].get_ylabel() == key
    for ax in panels:
        assert ax.get_xlabel() == "epoch"
        assert ax.get_yscale() == ("log" if key == "val_loss" else "linear")
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert list(lines) == ["lr 0.01", "lr 0.1"]
        for rate in (0.01, 0.1):
            mean = np.mean(_runs(comparison, ax.get_title(), rate, key), axis=0)
            np.testing.assert_array_equal(lines[f"lr {rate:g}"].get_xdata(), [1, 2, 3])
            np.testing.assert_allclose(lines[f"lr {rate:g}"].get_ydata(), mean)
    pyplot.close(figure)


def test_sensitivity_is_the_final_loss_per_rate_one_line_per_optimizer(comparison):
    figure = report.plot_sensitivity(comparison)
    from matplotlib import pyplot  # once the plot has chosen the Agg backend

    ax = figure.axes[0]
    assert ax.get_title() == "Learning-rate sensitivity"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("learning rate", "final validation loss")
    lines = {bars.get_label(): bars.lines[0] for bars in ax.containers}
    assert list(lines) == ["sgd", "adam", "rmsprop"]
    for optimizer, line in lines.items():
        finals = [
            np.mean([run[-1] for run in _runs(comparison, optimizer, rate, "val_loss")])
            for rate in (0.01, 0.1)
        ]
        np.testing.assert_array_equal(line.get_xdata(), [0.01, 0.1])
        np.testing.assert_allclose(line.get_ydata(), finals)
    pyplot.close(figure)


def test_report_is_self_contained(comparison, tmp_path):
    from PIL import Image

    page = report.write_report(comparison, tmp_path / "report.html").read_text()
    assert '<table id="summary">' in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    sizes = []
    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as image:
            sizes.append((image.format, image.size))
    assert sizes == [("PNG", (1260, 340)), ("PNG", (1260, 340)), ("PNG", (700, 500))]
    assert "http" not in page.replace("https://", "")  # no remote assets


def test_report_says_where_the_choice_and_the_test_score_come_from(comparison, tmp_path):
    page = report.write_report(comparison, tmp_path / "report.html").read_text()
    assert "validation on 20% of the training data; the test part scores only" in page
    assert "held-out test part" not in page
    choice = re.search(r'<div id="choice">(.*?)</div>', page).group(1)
    assert "Chosen: " in choice and "Test part, chosen configuration only" in choice
    assert "vs chosen (95%)</th>" in page


def test_report_renders_in_headless_chromium(comparison, tmp_path):
    """Every image decodes in a real browser and the table is there."""
    page = report.write_report(comparison, tmp_path / "report.html").read_text()
    assert probe_title(page, "summary", tmp_path) == "images 3/3 rows 6"
