"""The range test over several seeds: how much of its curve, and of its suggestion, is chance.

One range test is one draw: another initialization or another order of the
batches moves its curve, and its suggested rate with it. ``lr_find(...,
seeds=5)`` runs the test once per seed, each from initial weights drawn with
that seed and with the batches in that seed's order, on the same ramp of
rates, and reports, step by step, the median of the smoothed losses and their
spread (the middle half and the whole range), and for each suggestion the
value of every seed with their median and range.

A run that stopped because its loss diverged counts as an infinite loss at
the steps it did not reach, so the median shows where most seeds diverge
rather than the few that went on. The model is restored afterwards, as after
one test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradstep.lab import lr_finder


@dataclass(frozen=True)
class LRFindBand:
    """What the range tests of several seeds saw.

    Attributes:
        seeds: the seed of each run (its initial weights and its order of batches).
        runs: each seed's :class:`~gradstep.lab.lr_finder.LRFindResult`.
        learning_rates: the ramp's rates up to the longest run.
        median: per step, the median over seeds of the smoothed loss.
        low, high: per step, the 25th and 75th percentiles (nearest rank).
        lowest, highest: per step, the smallest and largest smoothed loss.
        steep, minimum: the suggestions of the median curve (as for one run).
        initializations_varied: False when the model could not be rebuilt from
            its config with another seed (a subclassed model): then only the
            order of the batches differs between runs.
    """

    seeds: tuple[int, ...]
    runs: tuple[lr_finder.LRFindResult, ...]
    learning_rates: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    lowest: np.ndarray
    highest: np.ndarray
    steep: float | None
    minimum: float | None
    initializations_varied: bool

    @property
    def suggestions(self) -> dict[str, float | None]:
        """The median curve's ``{'steep': ..., 'minimum': ...}``."""
        return {"steep": self.steep, "minimum": self.minimum}

    def spread(self) -> dict[str, dict]:
        """For each suggestion, every seed's value, their median, lowest and highest,
        and how many decades the range covers (``log10(highest / lowest)``)."""
        spread = {}
        for name in ("steep", "minimum"):
            values = [getattr(run, name) for run in self.runs]
            known = np.array([value for value in values if value is not None], dtype=float)
            if known.size == 0:
                spread[name] = {"values": values, "median": None, "low": None, "high": None}
                continue
            spread[name] = {
                "values": values,
                "median": float(np.median(known)),
                "low": float(known.min()),
                "high": float(known.max()),
                "decades": float(np.log10(known.max() / known.min())),
            }
        return spread

    def summary(self) -> str:
        """The suggestions and their spread over seeds, as lines of text."""
        lines = [f"range test over {len(self.seeds)} seeds"]
        if not self.initializations_varied:
            lines[0] += " (data orders only: the model cannot be rebuilt with another seed)"
        for name, label in (("steep", "steep"), ("minimum", "minimum/10")):
            entry = self.spread()[name]
            if entry["median"] is None:
                lines.append(f"{label}: no suggestion (too few steps)")
                continue
            lines.append(
                f"{label}: median {entry['median']:.2e}, from {entry['low']:.2e} to "
                f"{entry['high']:.2e} ({entry['decades']:.2f} decades) over "
                f"{sum(value is not None for value in entry['values'])} seeds; "
                f"the median curve's: {_rate(getattr(self, name))}"
            )
        return "\n".join(lines)

    def plot(self, path=None, ax=None, skip_end: int = lr_finder._SKIP_END):
        """The median smoothed loss with the middle half and the whole range of the
        seeds shaded, and the suggestions of every seed marked; a PNG at ``path``
        if given. Needs matplotlib. Returns the Figure."""
        return plot_band(self, path=path, ax=ax, skip_end=skip_end)


def _rate(value):
    return "none" if value is None else f"{value:.2e}"


def seed_list(seeds, base_seed) -> tuple[int, ...]:
    """``seeds`` as given (a sequence of ints), or that many spawned from ``base_seed``."""
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 2:
            raise ValueError(f"seeds must be at least 2 runs or a list of seeds, received {seeds}")
        children = np.random.SeedSequence(0 if base_seed is None else base_seed).spawn(int(seeds))
        return tuple(int(child.generate_state(1)[0]) for child in children)
    try:
        values = tuple(int(seed) for seed in seeds)
    except (TypeError, ValueError):
        raise TypeError(
            f"seeds must be a count or a list of integers, received {seeds!r}"
        ) from None
    if len(values) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds, received {list(values)}")
    return values


def lr_find_band(model, x, y, seeds, settings: dict) -> LRFindBand:
    """Run ``lr_finder.lr_find`` once per seed; ``settings`` are its other arguments."""
    seeds = seed_list(seeds, settings.get("seed"))
    x, y = np.asarray(x), np.asarray(y)
    if not model.built:
        model.predict_on_batch(x[:1])
    weights = model.get_weights()
    runs, varied = [], True
    try:
        for seed in seeds:
            initial = _initial_weights(model, x, seed)
            varied = varied and initial is not None
            model.set_weights(weights if initial is None else initial)
            runs.append(lr_finder.lr_find(model, x, y, **{**settings, "seed": seed}))
    finally:
        model.set_weights(weights)
    return _band(seeds, runs, settings.get("num_steps", 100), varied)


def _initial_weights(model, x, seed):
    """The weights the same model built with ``seed`` starts from (None when a subclassed
    model cannot be rebuilt from its config)."""
    try:
        fresh = type(model).from_config(model.get_config(), seed=seed)
    except (TypeError, NotImplementedError, ValueError, KeyError):
        return None
    fresh.predict_on_batch(x[:1])
    return fresh.get_weights()


def _band(seeds, runs, num_steps, varied) -> LRFindBand:
    length = max(len(run.learning_rates) for run in runs)
    rates = max(runs, key=lambda run: len(run.learning_rates)).learning_rates
    curves = np.full((len(runs), length), np.inf)
    for row, run in zip(curves, runs, strict=True):
        smoothed = np.where(np.isfinite(run.smoothed_losses), run.smoothed_losses, np.inf)
        row[: len(smoothed)] = smoothed
    quantiles = np.quantile(curves, [0.25, 0.5, 0.75], axis=0, method="nearest")
    steep, minimum = lr_finder.suggest(rates, quantiles[1], num_steps)
    return LRFindBand(
        seeds=tuple(seeds),
        runs=tuple(runs),
        learning_rates=rates,
        median=quantiles[1],
        low=quantiles[0],
        high=quantiles[2],
        lowest=curves.min(axis=0),
        highest=curves.max(axis=0),
        steep=steep,
        minimum=minimum,
        initializations_varied=varied,
    )


def plot_band(band: LRFindBand, path=None, ax=None, skip_end: int = lr_finder._SKIP_END):
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("lr_find plots need matplotlib: pip install 'gradstep[plot]'") from error
    if ax is None:
        figure = Figure(figsize=(7, 4.5), dpi=100, layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    shown = slice(0, max(len(band.learning_rates) - skip_end, 1))
    rates = band.learning_rates[shown]
    top = _plot_ceiling(band, shown)
    ax.fill_between(
        rates,
        band.lowest[shown],
        np.minimum(band.highest[shown], top),
        color="C0",
        alpha=0.12,
        linewidth=0,
        label="range over seeds",
    )
    ax.fill_between(
        rates,
        band.low[shown],
        np.minimum(band.high[shown], top),
        color="C0",
        alpha=0.3,
        linewidth=0,
        label="middle half",
    )
    median = np.where(np.isfinite(band.median[shown]), band.median[shown], np.nan)
    ax.plot(rates, median, color="C0", linewidth=2, label=f"median of {len(band.seeds)} seeds")
    spread = band.spread()
    for name, label, color in (("steep", "steep", "C1"), ("minimum", "minimum/10", "C2")):
        values = [value for value in spread[name]["values"] if value is not None]
        for value in values:
            ax.axvline(value, color=color, linestyle=":", linewidth=0.8, alpha=0.7)
        if spread[name]["median"] is not None:
            ax.axvline(
                spread[name]["median"],
                color=color,
                linestyle="--",
                linewidth=1.5,
                label=f"{label}: median {spread[name]['median']:.2e} "
                f"({spread[name]['decades']:.2f} decades)",
            )
    ax.set_xscale("log")
    ax.set_ylim(top=top)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed loss")
    ax.set_title(f"Learning-rate range test over {len(band.seeds)} seeds")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if path is not None:
        figure.savefig(path)
    return figure


def _plot_ceiling(band, shown):
    """A top for the axis: a little above the highest finite median, so that a few
    diverged seeds do not squash the curve."""
    finite = band.median[shown][np.isfinite(band.median[shown])]
    if finite.size == 0:
        return 1.0
    start = finite[0]
    return float(max(finite.max(), start) * 1.25) if math.isfinite(start) else 1.0
