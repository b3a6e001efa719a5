"""Watch optimizers walk a 2D landscape.

Each test function has its value and its gradient side by side, a sensible
start, a plotting window and its minima. :func:`walk` runs any gradstep
optimizer on it (the point is the optimizer's only parameter) and returns the
path; :func:`plot_paths` draws the paths over the contour plot (PNG), and
:func:`animate_paths` makes an animated GIF or HTML page.

    >>> path = walk("quadratic", "sgd", learning_rate=0.1, steps=100)
    >>> bool(np.linalg.norm(path[-1]) < 1e-6)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradstep import optimizers


@dataclass(frozen=True)
class TestFunction:
    """A 2D function with its gradient, start point, window and minima."""

    name: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    window: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
    minima: tuple[tuple[float, float], ...]
    log_scale: bool = False

    __test__ = False  # not a pytest test class, despite its name


def _quadratic(x, y):
    return x**2 + y**2


def _valley(x, y):
    return 0.5 * x**2 + 10 * y**2


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _saddle(x, y):
    return x**2 - y**2


def _himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _beale_gradient(p):
    x, y = p
    terms = [(1.5, 1), (2.25, 2), (2.625, 3)]
    dx = sum(2 * (c - x + x * y**k) * (y**k - 1) for c, k in terms)
    dy = sum(2 * (c - x + x * y**k) * (k * x * y ** (k - 1)) for c, k in terms)
    return np.array([dx, dy])


FUNCTIONS = {
    f.name: f
    for f in (
        TestFunction(
            "quadratic", _quadratic, lambda p: 2 * p, (-1.5, 1.0), (-2, 2, -2, 2), ((0.0, 0.0),)
        ),
        TestFunction(
            "valley",
            _valley,
            lambda p: np.array([p[0], 20 * p[1]]),
            (-3.5, 0.8),
            (-4, 4, -1.2, 1.2),
            ((0.0, 0.0),),
        ),
        TestFunction(
            "rosenbrock",
            _rosenbrock,
            lambda p: np.array(
                [-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)]
            ),
            (-1.5, 2.0),
            (-2, 2, -1, 3),
            ((1.0, 1.0),),
            log_scale=True,
        ),
        TestFunction(
            "beale",
            _beale,
            _beale_gradient,
            (1.0, 1.5),
            (-4.5, 4.5, -4.5, 4.5),
            ((3.0, 0.5),),
            log_scale=True,
        ),
        TestFunction(
            "saddle",
            _saddle,
            lambda p: np.array([2 * p[0], -2 * p[1]]),
            (-1.5, 1e-3),
            (-2, 2, -2, 2),
            (),
        ),
        TestFunction(
            "himmelblau",
            _himmelblau,
            lambda p: np.array(
                [
                    4 * p[0] * (p[0] ** 2 + p[1] - 11) + 2 * (p[0] + p[1] ** 2 - 7),
                    2 * (p[0] ** 2 + p[1] - 11) + 4 * p[1] * (p[0] + p[1] ** 2 - 7),
                ]
            ),
            (0.0, 0.0),
            (-5, 5, -5, 5),
            ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
        ),
    )
}

# Names the landscape understands beyond the optimizer registry.
_PRESETS = {
    "momentum": lambda lr: optimizers.SGD(learning_rate=lr, momentum=0.9),
    "nesterov": lambda lr: optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True),
}

# A learning rate that shows each optimizer's character on each function.
_DEFAULT_LEARNING_RATES = {
    "quadratic": 0.05,
    "valley": 0.04,
    "rosenbrock": 0.001,
    "beale": 0.01,
    "saddle": 0.05,
    "himmelblau": 0.01,
}
_ADAPTIVE_LEARNING_RATES = {
    "quadratic": 0.1,
    "valley": 0.1,
    "rosenbrock": 0.05,
    "beale": 0.1,
    "saddle": 0.1,
    "himmelblau": 0.1,
}
_ADAPTIVE = ("adam", "rmsprop", "adagrad", "adamax", "nadam", "adamw", "adadelta", "lion")


def get_function(name: str) -> TestFunction:
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ValueError(
            f"Unknown landscape function {name!r}; expected one of: {', '.join(FUNCTIONS)}"
        ) from None


def make_optimizer(name: str, learning_rate: float):
    """An optimizer by name ('sgd', 'adam', ... or the presets 'momentum', 'nesterov')."""
    if name in _PRESETS:
        return _PRESETS[name](learning_rate)
    optimizer = optimizers.get(name)
    optimizer.learning_rate = learning_rate
    return optimizer


def default_learning_rate(function: str, optimizer: str) -> float:
    table = _ADAPTIVE_LEARNING_RATES if optimizer in _ADAPTIVE else _DEFAULT_LEARNING_RATES
    return table[get_function(function).name]


def walk(function, optimizer, learning_rate=None, steps=200, start=None) -> np.ndarray:
    """The points visited, ``(steps + 1, 2)``, from ``start`` (the function's own by default).

    Args:
        function: a name in ``FUNCTIONS`` or a :class:`TestFunction`.
        optimizer: a name (see :func:`make_optimizer`) or an Optimizer instance.
        learning_rate: None picks a default that suits the function.
        steps: the number of optimizer steps.
        start: the starting point (x, y).
    """
    function = get_function(function) if isinstance(function, str) else function
    if isinstance(optimizer, str):
        rate = learning_rate or default_learning_rate(function.name, optimizer)
        optimizer = make_optimizer(optimizer, rate)
    point = np.array(start if start is not None else function.start, dtype=np.float64)
    path = [point.copy()]
    x_min, x_max, y_min, y_max = function.window
    limit = 10 * max(x_max - x_min, y_max - y_min)
    for _ in range(steps):
        optimizer.apply_gradients([(function.gradient(point), point)])
        path.append(point.copy())
        if not np.all(np.abs(point) < limit):
            break  # diverged: the path ends once it has left the map far behind
    return np.array(path)


def walk_all(function, optimizer_names, learning_rates=None, steps=200, start=None):
    """``{optimizer name: path}`` for several optimizers on one function."""
    learning_rates = learning_rates or {}
    return {
        name: walk(function, name, learning_rates.get(name), steps, start)
        for name in optimizer_names
    }


# --- drawing (matplotlib: the ``plot`` extra) -------------------------------------------
def _pyplot():
    try:
        import matplotlib
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'gradstep[plot]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _contour(ax, function: TestFunction, resolution=300):
    x_min, x_max, y_min, y_max = function.window
    xs, ys = np.meshgrid(
        np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution)
    )
    values = function.value(xs, ys)
    if function.log_scale:
        values = np.log10(values - values.min() + 1e-3)
    ax.contourf(xs, ys, values, levels=40, cmap="viridis", alpha=0.85)
    ax.contour(xs, ys, values, levels=20, colors="white", linewidths=0.4, alpha=0.6)
    for minimum in function.minima:
        ax.plot(*minimum, marker="*", color="gold", markersize=14, markeredgecolor="black")
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_min, y_max)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def plot_paths(function, paths: dict[str, np.ndarray], output=None, title=None):
    """Draw the paths over the function's contour plot; save to ``output`` (PNG) if given.

    Returns the matplotlib figure.
    """
    function = get_function(function) if isinstance(function, str) else function
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 6), dpi=100)
    _contour(ax, function)
    for (name, path), color in zip(paths.items(), _colors(len(paths)), strict=True):
        ax.plot(
            path[:, 0],
            path[:, 1],
            "-o",
            color=color,
            markersize=2,
            linewidth=1.5,
            label=f"{name} ({len(path) - 1} steps)",
        )
    ax.plot(*function.start, marker="o", color="white", markeredgecolor="black", markersize=8)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or f"Optimizers on the {function.name} function")
    figure.tight_layout()
    if output is not None:
        figure.savefig(output)
        plt.close(figure)
    return figure


def animate_paths(function, paths: dict[str, np.ndarray], output, frames=60):
    """An animation of the paths growing step by step: ``.gif`` (Pillow) or ``.html``."""
    from matplotlib import animation

    function = get_function(function) if isinstance(function, str) else function
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(6, 5), dpi=80)
    _contour(ax, function, resolution=150)
    lines = {
        name: ax.plot([], [], "-o", color=color, markersize=2, label=name)[0]
        for name, color in zip(paths, _colors(len(paths)), strict=True)
    }
    ax.legend(loc="upper right", fontsize=8)
    longest = max(len(path) for path in paths.values())
    stops = np.unique(np.linspace(1, longest, frames).astype(int))

    def draw(stop):
        for name, path in paths.items():
            lines[name].set_data(path[:stop, 0], path[:stop, 1])
        return list(lines.values())

    movie = animation.FuncAnimation(figure, draw, frames=stops, blit=True)
    output = str(output)
    if output.endswith(".html"):
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(movie.to_jshtml(fps=15))
    elif output.endswith(".gif"):
        movie.save(output, writer=animation.PillowWriter(fps=15))
    else:
        plt.close(figure)
        raise ValueError(f"animation output must end in .gif or .html, received {output!r}")
    plt.close(figure)
    return output


def _colors(count):
    palette = [
        "#e41a1c",
        "#ff7f00",
        "#f781bf",
        "#00e5ff",
        "#a65628",
        "#000000",
        "#984ea3",
        "#4daf4a",
        "#377eb8",
        "#ffff33",
    ]
    return [palette[i % len(palette)] for i in range(count)]
