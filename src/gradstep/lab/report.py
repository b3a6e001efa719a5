"""Plots of a comparison and a self-contained HTML report.

``plot_curves`` draws the validation loss (or metric) per epoch, the mean
over seeds, one line per optimizer and learning rate; ``plot_sensitivity``
draws the final validation loss against the learning rate, one line per
optimizer; ``write_report`` puts the table and the plots (embedded as PNG
data) in one HTML file that needs nothing else to open.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np

from gradstep.lab.compare import Comparison, table_cells


def _pyplot():
    from gradstep.lab.landscapes import _pyplot as pyplot

    return pyplot()


def _curves(trials, key):
    """{(optimizer, lr, loss, batch): mean curve over seeds}."""
    groups: dict[tuple, list[list[float]]] = {}
    for trial in trials:
        config = trial["config"]
        label = (
            config["optimizer"],
            config["learning_rate"],
            config["loss"] or "default",
            config["batch_size"],
        )
        groups.setdefault(label, []).append(trial["history"].get(key, []))
    curves = {}
    for label, runs in groups.items():
        length = min(len(run) for run in runs)
        if length:
            curves[label] = np.mean([run[:length] for run in runs], axis=0)
    return curves


def _label(key, varied):
    optimizer, rate, loss, batch = key
    parts = [optimizer, f"lr {rate:g}"]
    if "loss" in varied:
        parts.append(loss)
    if "batch" in varied:
        parts.append(f"batch {batch}")
    return ", ".join(parts)


def _varied(comparison):
    configs = [trial["config"] for trial in comparison.trials]
    varied = set()
    if len({c["loss"] for c in configs}) > 1:
        varied.add("loss")
    if len({c["batch_size"] for c in configs}) > 1:
        varied.add("batch")
    return varied


def plot_curves(comparison: Comparison, key="val_loss", output=None):
    """Mean validation ``key`` per epoch: one panel per optimizer, one line per
    learning rate (and loss or batch size when those vary); log scale for losses."""
    plt = _pyplot()
    curves = _curves(comparison.trials, key)
    names = list(dict.fromkeys(label[0] for label in curves))
    columns = min(len(names), 3) or 1
    rows = math.ceil(len(names) / columns) or 1
    figure, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.4 * rows), dpi=100, squeeze=False, sharey=True
    )
    varied = _varied(comparison)
    for ax, name in zip(axes.flat, names, strict=False):
        for label, curve in curves.items():
            if label[0] == name:
                ax.plot(
                    np.arange(1, len(curve) + 1),
                    curve,
                    label=_label(label, varied)[len(name) + 2 :],
                )
        ax.set_title(name)
        ax.set_xlabel("epoch")
        if "loss" in key:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel(key)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    figure.suptitle(f"{key} per epoch (mean over seeds)")
    figure.tight_layout()
    return _finish(plt, figure, output)


def plot_sensitivity(comparison: Comparison, output=None):
    """Final validation loss against the learning rate, one line per optimizer."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 5), dpi=100)
    by_optimizer: dict[str, list[tuple[float, float, float]]] = {}
    for row in comparison.summary:
        by_optimizer.setdefault(row["optimizer"], []).append(
            (row["learning_rate"], row["final_val_loss_mean"], row["final_val_loss_std"])
        )
    for optimizer, points in by_optimizer.items():
        points.sort()
        rates, means, spreads = (np.array(v, dtype=float) for v in zip(*points, strict=True))
        ax.errorbar(rates, means, yerr=spreads, marker="o", capsize=3, label=optimizer)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final validation loss")
    ax.set_title("Learning-rate sensitivity")
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    figure.tight_layout()
    return _finish(plt, figure, output)


def _finish(plt, figure, output):
    if output is not None:
        figure.savefig(output)
        plt.close(figure)
    return figure


def save_plots(comparison: Comparison, folder) -> list[Path]:
    """Write the loss and metric curves and the sensitivity plot as PNG files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        folder / "loss_curves.png",
        folder / f"{comparison.metric}_curves.png",
        folder / "lr_sensitivity.png",
    ]
    plot_curves(comparison, "val_loss", written[0])
    plot_curves(comparison, f"val_{comparison.metric}", written[1])
    plot_sensitivity(comparison, written[2])
    return written


def _png_data(figure_function) -> str:
    plt = _pyplot()
    figure = figure_function()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def write_report(comparison: Comparison, output, title="gradstep comparison") -> Path:
    """A self-contained HTML page with the summary table and the plots."""
    metric = comparison.metric
    images = [
        ("Validation loss per epoch", _png_data(lambda: plot_curves(comparison, "val_loss"))),
        (
            f"Validation {metric} per epoch",
            _png_data(lambda: plot_curves(comparison, f"val_{metric}")),
        ),
        ("Learning-rate sensitivity", _png_data(lambda: plot_sensitivity(comparison))),
    ]
    config = comparison.trials[0]["config"] if comparison.trials else {}
    parts = [
        *page_head(title),
        f"<p>Dataset <b>{html.escape(str(config.get('dataset', '?')))}</b>, "
        f"{config.get('epochs', '?')} epochs, {len(comparison.trials)} trials; "
        f"{_validation_words(comparison)}; mean ± standard deviation over seeds.</p>",
        _html_table(comparison.summary, metric, comparison.selection),
    ]
    if comparison.selection:
        lines = comparison.choice_text().split("\n")
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        parts.append(f'<div id="choice">{paragraphs}</div>')
    for caption, data in images:
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">')
    parts.append("<h2>Table as text</h2><pre>" + html.escape(comparison.table()) + "</pre>")
    parts.append("</body></html>")
    output = Path(output)
    output.write_text("\n".join(parts), encoding="utf-8")
    return output


#: The pages' style: plain tables and figures, readable when printed or projected.
PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}"
    "table{border-collapse:collapse;font-size:0.9em}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%;margin:1em 0}li{margin:0.4em 0}"
)


def page_head(title: str) -> list[str]:
    """The first lines of a self-contained HTML page, up to its ``<h1>``."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{PAGE_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]


def _validation_words(comparison):
    if not comparison.selection:  # a comparison saved before validation parts existed
        return "validation on the held-out test part"
    fraction = comparison.selection["validation_split"]
    return (
        f"validation on {fraction:.0%} of the training data; the test part scores only "
        "the chosen configuration, once"
    )


def _html_table(summary, metric, selection_record=None):
    headers, rows = table_cells(summary, metric, selection_record)
    head = "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"
        for cells in rows
    )
    return f'<table id="summary"><thead>{head}</thead><tbody>{body}</tbody></table>'
