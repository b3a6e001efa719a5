import numpy as np
import pytest

from gradstep.lab import landscapes
from gradstep.testing import check_gradients


@pytest.mark.parametrize("name", list(landscapes.FUNCTIONS))
def test_gradients_pass_central_differences(name):
    function = landscapes.FUNCTIONS[name]
    for point in np.random.default_rng(0).uniform(-2, 2, size=(5, 2)):
        check_gradients(
            lambda p: function.value(p[0], p[1]), function.gradient, point, rtol=1e-6, atol=1e-5
        )


@pytest.mark.parametrize("name", ["quadratic", "valley", "rosenbrock", "beale", "himmelblau"])
def test_minima_are_minima(name):
    function = landscapes.FUNCTIONS[name]
    for minimum in function.minima:
        np.testing.assert_allclose(function.gradient(np.array(minimum)), 0, atol=1e-4)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam", "rmsprop"])
def test_every_optimizer_reaches_the_bottom_of_the_bowl(optimizer):
    path = landscapes.walk("quadratic", optimizer, steps=500)
    assert np.linalg.norm(path[-1]) < 0.1  # adaptive steps hover within ~lr of the minimum


def test_adam_walks_down_the_rosenbrock_valley():
    path = landscapes.walk("rosenbrock", "adam", learning_rate=0.02, steps=3000)
    assert np.linalg.norm(path[-1] - [1, 1]) < 0.05


def test_the_saddle_is_escaped_and_divergence_ends_the_path():
    path = landscapes.walk("saddle", "sgd", steps=500)
    assert len(path) < 501 and abs(path[-1][1]) > 10


def test_walk_uses_the_given_optimizer_instance():
    from gradstep import optimizers

    optimizer = optimizers.SGD(learning_rate=0.25)
    path = landscapes.walk("quadratic", optimizer, steps=1, start=(1.0, -2.0))
    np.testing.assert_allclose(path[1], [0.5, -1.0])  # p - 0.25 * 2p
    assert optimizer.iterations == 1


def test_unknown_names():
    with pytest.raises(ValueError, match="Unknown landscape function 'rosenbrok'.*rosenbrock"):
        landscapes.walk("rosenbrok", "sgd")
    with pytest.raises(ValueError, match="Unknown optimizer 'sgdd'"):
        landscapes.walk("quadratic", "sgdd")


@pytest.mark.requires("matplotlib", extra="plot")
def test_plot_png_gif_and_html(tmp_path):
    from PIL import Image

    paths = landscapes.walk_all("himmelblau", ["sgd", "adam"], steps=50)
    figure = landscapes.plot_paths("himmelblau", paths, output=tmp_path / "paths.png")
    with Image.open(tmp_path / "paths.png") as image:
        assert image.size == (700, 600)
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 20  # a picture, not a blank canvas
    ax = figure.axes[0]
    assert ax.get_title() == "Optimizers on the himmelblau function"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    drawn = {line.get_label(): line for line in ax.get_lines()}
    for name, path in paths.items():
        line = drawn[f"{name} ({len(path) - 1} steps)"]
        np.testing.assert_array_equal(line.get_xydata(), path)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == [f"{name} ({len(path) - 1} steps)" for name, path in paths.items()]

    landscapes.animate_paths("himmelblau", paths, tmp_path / "paths.gif", frames=5)
    with Image.open(tmp_path / "paths.gif") as movie:
        assert (movie.size, movie.n_frames) == ((480, 400), 5)
    landscapes.animate_paths("himmelblau", paths, tmp_path / "paths.html", frames=5)
    assert (tmp_path / "paths.html").read_text().count("data:image/png;base64,") == 5
    with pytest.raises(ValueError, match="must end in .gif or .html"):
        landscapes.animate_paths("himmelblau", paths, tmp_path / "paths.mp4", frames=5)
