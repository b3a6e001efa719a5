"""The diagnostics' figures: one per quantity, the layers as lines (matplotlib, no pyplot)."""

from __future__ import annotations

from pathlib import Path

TITLES = {
    "gradient_norm": "Gradient norm per layer",
    "weight_norm": "Weight norm per layer",
    "update_ratio": "Update-to-weight ratio per step",
    "activation_mean": "Activation mean",
    "activation_std": "Activation standard deviation",
    "dead_fraction": "Fraction of dead ReLU units",
    "saturated_fraction": "Fraction of saturated softmax outputs",
}
LOG_SCALE = {"gradient_norm", "update_ratio"}


def figure(records, every, quantity):
    """The Figure of one quantity: x is the epoch (or the step, when recorded every
    ``every`` steps), one line per layer."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "diagnostics plots need matplotlib: pip install 'gradstep[plot]'"
        ) from error
    lines: dict[str, tuple[list, list]] = {}
    for record in records:
        if record["quantity"] == quantity:
            x = record["step"] if every else record["epoch"] + 1
            xs, ys = lines.setdefault(record["layer"], ([], []))
            xs.append(x)
            ys.append(record["value"])
    plot = Figure(figsize=(6.4, 4), dpi=100, layout="constrained")
    ax = plot.add_subplot()
    for layer, (xs, ys) in lines.items():
        ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, label=layer)
    if quantity in LOG_SCALE and all(y > 0 for _, ys in lines.values() for y in ys):
        ax.set_yscale("log")
    ax.set_title(TITLES[quantity])
    ax.set_xlabel("step" if every else "epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, alpha=0.3)
    if lines:
        ax.legend(fontsize="small")
    return plot


def plot_quantities(records, every, directory) -> list[Path]:
    """One PNG per quantity present in ``records``, into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    present = {record["quantity"] for record in records}
    for quantity in TITLES:
        if quantity in present:
            path = directory / f"{quantity}.png"
            figure(records, every, quantity).savefig(path)
            written.append(path)
    return written
