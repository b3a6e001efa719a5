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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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
):
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
            order (see :mod:`gradstep.lab.lr_band`).

    Returns:
        An ``LRFindResult``; with ``seeds``, an ``LRFindBand``: the median and
        spread of the curves, and the spread of each suggestion.
    """
    _check_arguments(start_lr, end_lr, num_steps, beta)
    if seeds is not None:
        from gradstep.lab import lr_band

        settings = {
            "start_lr": start_lr,
            "end_lr": end_lr,
            "num_steps": num_steps,
            "batch_size": batch_size,
            "stop_div": stop_div,
            "beta": beta,
            "seed": seed,
        }
        return lr_band.lr_find_band(model, x, y, seeds, settings)
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
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("lr_find plots need matplotlib: pip install 'gradstep[plot]'") from error
    if ax is None:
        figure = Figure(figsize=(7, 4.5), dpi=100, layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure
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
