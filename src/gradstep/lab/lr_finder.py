"""The learning-rate range test (Smith, 2017; fastai's ``lr_find``).

Train for at most ``num_steps`` batches while the learning rate grows
exponentially from ``start_lr`` to ``end_lr``; record the loss of every
batch and its smoothed value, and stop once the smoothed loss exceeds four
times its lowest value (the rate has become too large). The good rates are
where the loss falls fastest: a bit below the steepest part of the curve,
and about ten times below the rate of the lowest loss. Afterwards the model
is as it was: its weights, its optimizer (never used: the test trains a fresh
copy of it) and its random generators are restored.

For step ``i`` (from 0) the rate is, as in fastai::

    lr_i = start_lr * (end_lr / start_lr) ** (i / num_steps)

and the smoothed loss is the debiased exponential moving average::

    average_i = beta * average_(i-1) + (1 - beta) * loss_i     (average_(-1) = 0)
    smoothed_i = average_i / (1 - beta ** (i + 1))

With ``seeds``, the test runs once per seed and returns an ``LRFindBand``: the
median curve, its spread, and the spread of each suggestion (see "several
seeds" below).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradstep.seeding import spawned_seeds
from gradstep.validation import check_positive_int, check_real, check_same_length

# fastai ignores the first tenth and the last five points when it suggests a rate:
# the start is flat noise and the end is the divergence itself.
_SKIP_END = 5


@dataclass(frozen=True)
class LRFindResult:
    """What the range test saw.

    Attributes:
        learning_rates: the rate of each step taken.
        losses: the loss of each step's batch.
        smoothed_losses: their debiased moving average (what is plotted).
        steep: the rate where the smoothed loss falls fastest against
            ``log(learning rate)`` (fastai's ``steep``), or None when too few
            steps were taken to tell.
        minimum: the rate of the lowest smoothed loss divided by 10 (fastai's
            ``minimum``), or None likewise.
        stopped_early: True when the loss diverged before ``num_steps``.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    steep: float | None
    minimum: float | None
    stopped_early: bool

    @property
    def suggestions(self) -> dict[str, float | None]:
        """``{'steep': ..., 'minimum': ...}``."""
        return {"steep": self.steep, "minimum": self.minimum}

    def plot(self, path=None, ax=None, skip_end: int = _SKIP_END):
        """Draw the smoothed loss against the learning rate (log scale) with the
        suggestions marked; save a PNG to ``path`` if given. Needs matplotlib
        (``pip install gradstep[plot]``). Returns the matplotlib Figure."""
        return plot_lr_find(self, path=path, ax=ax, skip_end=skip_end)


def lr_find(
    model,
    x,
    y,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    batch_size: int = 32,
    stop_div: bool = True,
    beta: float = 0.98,
    seed: int | None = 0,
    seeds=None,
) -> LRFindResult | LRFindBand:
    """Run the learning-rate range test on a compiled model, then restore it.

        >>> import numpy as np
        >>> from gradstep import layers, models
        >>> from gradstep.lab import lr_find
        >>> x = np.random.default_rng(0).normal(size=(256, 4))
        >>> y = x @ [1.0, -2.0, 0.5, 3.0]
        >>> model = models.Sequential([layers.Dense(1, input_shape=(4,))], seed=0)
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> result = lr_find(model, x, y, start_lr=1e-4, end_lr=10, num_steps=60)
        >>> result.stopped_early, 1e-3 < result.minimum < 1.0
        (True, True)

    Args:
        model: a compiled model; its optimizer's class and settings are used.
        x: the inputs.
        y: the targets.
        start_lr: the first learning rate (default ``1e-7``).
        end_lr: the rate the ramp heads to (default ``10``).
        num_steps: at most this many batches (default ``100``; at least 10).
        batch_size: samples per batch (default ``32``).
        stop_div: stop when the smoothed loss exceeds 4 times its minimum (default True).
        beta: the smoothing factor of the loss (default ``0.98``).
        seed: seeds the order of the batches (default ``0``).
        seeds: run the test several times: a count (that many seeds spawned from
            ``seed``) or a list of seeds; each run starts from the initial weights
            the model gets with that seed and takes the batches in that seed's
            order (see ``LRFindBand``).

    Returns:
        An ``LRFindResult``; with ``seeds``, an ``LRFindBand``: the median and
        spread of the curves, and the spread of each suggestion.
    """
    _check_arguments(start_lr, end_lr, num_steps, beta)
    if seeds is not None:
        settings = {
            "start_lr": start_lr,
            "end_lr": end_lr,
            "num_steps": num_steps,
            "batch_size": batch_size,
            "stop_div": stop_div,
            "beta": beta,
            "seed": seed,
        }
        return lr_find_band(model, x, y, seeds, settings)
    batch_size = check_positive_int(batch_size, "batch_size")
    x, y = np.asarray(x), np.asarray(y)
    check_same_length(x, y)
    batches = _batches(len(x), batch_size, np.random.default_rng(seed))
    saved = _save(model, x)
    trial = type(model.optimizer).from_config(
        {**model.optimizer.get_config(), "learning_rate": start_lr}
    )
    try:
        model.optimizer = trial
        record = _ramp(model, x, y, batches, start_lr, end_lr, num_steps, stop_div, beta)
    finally:
        _restore(model, saved)
    learning_rates, losses, smoothed, stopped_early = record
    steep, minimum = suggest(learning_rates, smoothed, num_steps)
    return LRFindResult(learning_rates, losses, smoothed, steep, minimum, stopped_early)


def _ramp(model, x, y, batches, start_lr, end_lr, num_steps, stop_div, beta):
    """Train with the growing rate; returns (rates, losses, smoothed losses, stopped early)."""
    learning_rates, losses, smoothed = [], [], []
    average, best = 0.0, math.inf
    for step in range(num_steps):
        learning_rate = start_lr * (end_lr / start_lr) ** (step / num_steps)
        model.optimizer.learning_rate = learning_rate
        batch = next(batches)
        with np.errstate(over="ignore", invalid="ignore"):
            loss = float(model.train_on_batch(x[batch], y[batch], return_dict=True)["loss"])
        average = beta * average + (1 - beta) * loss
        smooth = average / (1 - beta ** (step + 1))
        learning_rates.append(learning_rate)
        losses.append(loss)
        smoothed.append(smooth)
        best = min(best, smooth)
        if not math.isfinite(smooth) or (stop_div and smooth > 4 * best):
            return _arrays(learning_rates, losses, smoothed) + (True,)
    return _arrays(learning_rates, losses, smoothed) + (False,)


def suggest(learning_rates, smoothed_losses, num_steps: int) -> tuple[float | None, float | None]:
    """fastai's ``steep`` and ``minimum`` suggestions from a recorded curve.

    The first ``num_steps // 10`` points and the last 5 are left out, and so
    is everything from the first non-finite loss on. ``steep`` is the rate at
    the most negative slope ``(loss[i+1] - loss[i]) / (log lr[i+1] - log lr[i])``;
    ``minimum`` is the rate of the lowest loss divided by 10.

        >>> rates = np.logspace(-5, 0, 20)
        >>> losses = np.r_[np.full(8, 2.0), [1.8, 1.2, 0.7, 0.5], np.full(4, 0.45), [0.6, 1, 3, 9]]
        >>> steep, minimum = suggest(rates, losses, 20)
        >>> bool(rates[8] <= steep < rates[11]), bool(np.isclose(minimum, rates[12] / 10))
        (True, True)
    """
    rates = np.asarray(learning_rates, dtype=np.float64)[num_steps // 10 : -_SKIP_END]
    losses = np.asarray(smoothed_losses, dtype=np.float64)[num_steps // 10 : -_SKIP_END]
    finite = np.isfinite(losses)
    if not finite.all():
        rates, losses = rates[: np.argmin(finite)], losses[: np.argmin(finite)]
    if len(rates) < 2:
        return None, None
    slopes = np.diff(losses) / np.diff(np.log(rates))
    return float(rates[np.argmin(slopes)]), float(rates[np.argmin(losses)] / 10)


def _arrays(*lists):
    return tuple(np.asarray(values, dtype=np.float64) for values in lists)


def _batches(count, batch_size, rng):
    """Endless batches of indices: a fresh shuffle of all samples for every pass."""
    while True:
        order = rng.permutation(count)
        for start in range(0, count, batch_size):
            yield order[start : start + batch_size]


def _save(model, x) -> dict:
    """What the test changes: the weights, the optimizer and the random generators.

    An unbuilt model is built first (a forward pass on one sample draws its
    initial weights as ``fit`` would), so that it ends with those weights."""
    if not model.built:
        model.predict_on_batch(x[:1])
    return {
        "weights": model.get_weights(),
        "optimizer": model.optimizer,
        "training_state": model.get_training_state(),
    }


def _restore(model, saved) -> None:
    model.optimizer = saved["optimizer"]
    model.set_weights(saved["weights"])
    model.set_training_state(saved["training_state"])


def plot_lr_find(result: LRFindResult, path=None, ax=None, skip_end: int = _SKIP_END):
    """The range test's curve: the smoothed loss (and, faintly, each batch's loss)
    against the learning rate on a log scale, leaving out the last ``skip_end``
    points as fastai does, with the suggested rates marked. Drawn on ``ax`` if
    given, else on a new Figure (no pyplot, so no display is needed); saved to
    ``path`` (PNG, or any format matplotlib knows from the suffix) if given."""
    figure, ax = _figure_and_axes(ax)
    shown = slice(0, max(len(result.learning_rates) - skip_end, 1))
    rates = result.learning_rates[shown]
    ax.plot(rates, result.losses[shown], color="0.8", linewidth=1, label="batch loss")
    ax.plot(rates, result.smoothed_losses[shown], color="C0", linewidth=2, label="smoothed loss")
    suggestions = (("steep", result.steep, "C1"), ("minimum/10", result.minimum, "C2"))
    for name, rate, color in suggestions:
        if rate is not None:
            loss = np.interp(np.log(rate), np.log(rates), result.smoothed_losses[shown])
            ax.axvline(rate, color=color, linestyle="--", linewidth=1)
            ax.plot([rate], [loss], "o", color=color, label=f"{name}: {rate:.2e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title("Learning-rate range test")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best")
    if path is not None:
        figure.savefig(path)
    return figure


def _figure_and_axes(ax):
    """``ax`` and its figure, or a new Figure's axes (no pyplot: no display needed)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("lr_find plots need matplotlib: pip install 'gradstep[plot]'") from error
    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=(7, 4.5), dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def _check_arguments(start_lr, end_lr, num_steps, beta) -> None:
    for argument, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        check_real(
            value, argument, low=0, include_low=False, finite=False, expected="a positive number"
        )
    if not end_lr > start_lr:
        raise ValueError(
            f"end_lr must be larger than start_lr, received start_lr={start_lr}, end_lr={end_lr}"
        )
    if check_positive_int(num_steps, "num_steps") < 10:
        raise ValueError(
            f"num_steps must be at least 10 (the first tenth and the last 5 steps are not "
            f"used for suggestions), received {num_steps}"
        )
    check_real(beta, "beta", low=0, high=1, include_high=False, expected="a number in [0, 1)")


# --- several seeds -------------------------------------------------------------------
# The range test over several seeds: how much of its curve, and of its suggestion, is chance.
#
# One range test is one draw: another initialization or another order of the
# batches moves its curve, and its suggested rate with it. ``lr_find(...,
# seeds=5)`` runs the test once per seed, each from initial weights drawn with
# that seed and with the batches in that seed's order, on the same ramp of
# rates, and reports, step by step, the median of the smoothed losses and their
# spread (the middle half and the whole range), and for each suggestion the
# value of every seed with their median and range.
#
# A run that stopped because its loss diverged counts as an infinite loss at
# the steps it did not reach, so the median shows where most seeds diverge
# rather than the few that went on. The model is restored afterwards, as after
# one test.


@dataclass(frozen=True)
class LRFindBand:
    """What the range tests of several seeds saw.

    Attributes:
        seeds: the seed of each run (its initial weights and its order of batches).
        runs: each seed's ``LRFindResult``.
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
    runs: tuple[LRFindResult, ...]
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

    def plot(self, path=None, ax=None, skip_end: int = _SKIP_END):
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
        return tuple(spawned_seeds(int(seeds), 0 if base_seed is None else base_seed))
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
            runs.append(lr_find(model, x, y, **{**settings, "seed": seed}))
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
    steep, minimum = suggest(rates, quantiles[1], num_steps)
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


def plot_band(band: LRFindBand, path=None, ax=None, skip_end: int = _SKIP_END):
    """The band's figure (see ``LRFindBand.plot``)."""
    figure, ax = _figure_and_axes(ax)
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
