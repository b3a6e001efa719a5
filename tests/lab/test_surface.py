import numpy as np
import pytest

from gradstep import layers, models
from gradstep.lab import surface


def _trained_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = models.Sequential(
        [
            layers.Dense(8, activation="tanh", input_shape=(4,)),
            layers.Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=30, verbose=0)
    return model, x, y


def test_filter_normalized_direction_matches_each_filter_norm():
    weights = [np.arange(12.0).reshape(3, 4) + 1, np.ones(4)]
    direction = surface.filter_normalized_direction(weights, np.random.default_rng(0))
    np.testing.assert_allclose(
        np.linalg.norm(direction[0], axis=0), np.linalg.norm(weights[0], axis=0)
    )
    assert not direction[1].any()  # biases stay put


def test_line_and_plane_slices_are_lowest_near_the_trained_weights():
    model, x, y = _trained_model()
    before = model.get_weights()
    line = surface.loss_surface(model, x, y, dimensions=1, points=9)
    assert line.losses[4] == pytest.approx(line.center_loss, rel=1e-6)
    assert line.losses[4] <= line.losses[0] and line.losses[4] <= line.losses[-1]
    plane = surface.loss_surface(model, x, y, dimensions=2, points=5)
    assert plane.losses.shape == (5, 5) and plane.losses[2, 2] == pytest.approx(plane.center_loss)
    for restored, original in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(restored, original)


@pytest.mark.requires("matplotlib", extra="plot")
def test_plots(tmp_path):
    from PIL import Image

    model, x, y = _trained_model()
    line = surface.loss_surface(model, x, y, points=5)
    plane = surface.loss_surface(model, x, y, dimensions=2, points=5)
    line_figure = surface.plot_surface(line, tmp_path / "line.png")
    plane_figure = surface.plot_surface(plane, tmp_path / "plane.png")
    for name in ("line.png", "plane.png"):
        with Image.open(tmp_path / name) as image:
            assert (image.format, image.size) == ("PNG", (600, 450))

    ax = line_figure.axes[0]
    (curve,) = ax.get_lines()
    np.testing.assert_array_equal(curve.get_xdata(), line.alphas)
    np.testing.assert_array_equal(curve.get_ydata(), line.losses)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step along the direction", "loss")

    ax, colorbar = plane_figure.axes
    (filled,) = ax.collections  # the contours of log10 loss, spanning the slice's losses
    log_losses = np.log10(plane.losses)
    assert filled.levels[0] <= log_losses.min() and filled.levels[-1] >= log_losses.max()
    (trained,) = ax.get_lines()  # a star at the trained weights
    assert (trained.get_xdata()[0], trained.get_ydata()[0], trained.get_marker()) == (0, 0, "*")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("direction 2", "direction 1")
    assert colorbar.get_ylabel() == "log10 loss"


def test_bad_dimensions():
    model, x, y = _trained_model()
    with pytest.raises(ValueError, match="dimensions must be 1 or 2, received 3"):
        surface.loss_surface(model, x, y, dimensions=3)
