"""Why a network does not learn: per-layer numbers recorded while it trains, and what they say.

``gradstep.callbacks.Diagnostics`` is a callback (its hooks are written here,
in ``DiagnosticsRecorder``, and ``callbacks`` adds them to ``Callback``). Over
each period (an epoch, or ``every`` steps) it records, for each of the model's
layers:

- ``gradient_norm``: the L2 norm of the slopes the optimizer received for the
  layer's trainable weights, averaged over the period's steps;
- ``weight_norm``: the L2 norm of the layer's trainable weights at the period's end;
- ``update_ratio``: ``||w_after - w_before|| / ||w_before||`` of one step (the
  optimizer's update against the weights), averaged over the period's steps;
- ``activation_mean`` and ``activation_std``: of the layer's outputs in
  training, over every sample of the period;
- ``dead_fraction`` (layers that end in a ReLU): the fraction of units (the
  last axis) whose output was zero for every sample of the period;
- ``saturated_fraction`` (layers that end in a softmax): the fraction of
  samples whose largest probability is at least ``saturation`` (0.999).

They go to the History (``history.history["diagnostics/dense/gradient_norm"]``,
per epoch), to ``records`` (one row per period, layer and quantity), to a CSV
(``csv_path``) and to plots (``plot(directory)``: one figure per quantity,
layers as lines). At the end of training ``findings()`` says plainly what the
numbers show, each with its threshold:

- vanishing gradients: a layer's gradient norm below ``vanishing_ratio``
  (1e-4) times the last layer's;
- exploding updates: an update-to-weight ratio above ``exploding_ratio`` (1e-1);
- dead ReLUs: more than ``dead_fraction`` (half) of a layer's units dead;
- a learning rate too high: the training loss went up in more than half of the
  epoch-to-epoch changes (at least three epochs), ended above where it started,
  or became NaN or infinite.

The callback watches by wrapping, for the length of ``fit``, the layers'
``forward`` and the optimizer's ``step`` on the instances (nothing else in the
step changes, and the numbers of training are the same with it and without).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QUANTITIES = (
    "gradient_norm",
    "weight_norm",
    "update_ratio",
    "activation_mean",
    "activation_std",
    "dead_fraction",
    "saturated_fraction",
)


@dataclass(frozen=True)
class Finding:
    """One thing the diagnostics saw: its ``kind``, the ``layer`` (or None), and the text."""

    kind: str
    layer: str | None
    text: str

    def __str__(self) -> str:
        return self.text


class DiagnosticsRecorder:
    """What ``gradstep.callbacks.Diagnostics`` does (it is this and ``Callback``):
    record per-layer gradient, weight, update and activation numbers while training,
    and say what they show. See the module's docstring for each quantity.

    Args:
        every: record every ``every`` training steps (None: once per epoch).
        csv_path: also write the records to this CSV file at the end of training.
        plot_dir: also draw one PNG per quantity into this directory (matplotlib).
        verbose: print the findings at the end of training.
        saturation: a softmax output is saturated when its largest probability
            is at least this.
        vanishing_ratio: a layer's gradient norm below this times the last
            layer's is reported as vanishing.
        exploding_ratio: an update-to-weight ratio above this is reported as
            exploding.
        dead_fraction: more than this share of a layer's ReLU units dead is
            reported.
    """

    def __init__(
        self,
        every: int | None = None,
        csv_path=None,
        plot_dir=None,
        verbose: int = 1,
        saturation: float = 0.999,
        vanishing_ratio: float = 1e-4,
        exploding_ratio: float = 1e-1,
        dead_fraction: float = 0.5,
    ):
        super().__init__()
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError(
                f"every must be a positive number of steps or None, received {every!r}"
            )
        self.every = every
        self.csv_path, self.plot_dir, self.verbose = csv_path, plot_dir, verbose
        self.saturation = float(saturation)
        self.vanishing_ratio = float(vanishing_ratio)
        self.exploding_ratio = float(exploding_ratio)
        self.dead_threshold = float(dead_fraction)
        self.records: list[dict] = []
        self.losses: list[float] = []
        self.diverged = False
        self._unwrap: list = []

    # --- the run ----------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.records, self.losses, self.diverged = [], [], False
        self._layers = [
            layer for layer in self.model.layers if type(layer).__name__ != "InputLayer"
        ]
        self._weights = _weights_by_layer(self.model)
        self._period = _Period(self._layers)
        self._epoch, self._steps = 0, 0
        self._wrap()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._before = {
            name: [np.array(w, dtype=np.float64) for w in weights]
            for name, weights in self._weights.items()
        }

    def on_train_batch_end(self, batch, logs=None):
        for name, weights in self._weights.items():
            before = self._before[name]
            change = _norm([w - b for w, b in zip(weights, before, strict=True)])
            size = _norm(before)
            self._period.updates[name].append(change / size if size > 0 else math.inf)
        self._steps += 1
        if self.every is not None and self._steps % self.every == 0:
            self._close_period(step=self._steps)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        if "loss" in logs:
            self.losses.append(float(logs["loss"]))
        if self.model.diverged_at is not None:
            self.diverged = True
        if self.every is None:
            for record in self._close_period(step=self._steps):
                logs[f"diagnostics/{record['layer']}/{record['quantity']}"] = record["value"]

    def on_train_end(self, logs=None):
        self._restore()
        if self.model.diverged_at is not None:
            self.diverged = True
        if self.every is not None and self._period.steps:
            self._close_period(step=self._steps)
        if self.csv_path is not None:
            self.to_csv(self.csv_path)
        if self.plot_dir is not None:
            self.plot(self.plot_dir)
        if self.verbose:
            print(self.report())

    def _close_period(self, step):
        rows = self._period.rows(self._weights, self.saturation)
        records = [
            {"epoch": self._epoch, "step": step, "layer": layer, "quantity": q, "value": v}
            for layer, q, v in rows
        ]
        self.records.extend(records)
        self._period = _Period(self._layers)
        return records

    # --- watching ---------------------------------------------------------------------
    def _wrap(self):
        for layer in self._layers:
            original = layer.__dict__.get("forward", _ABSENT)
            method = layer.forward
            object.__setattr__(layer, "forward", self._watched_forward(layer, method))
            self._unwrap.append((layer, "forward", original))
        optimizer = self.model.optimizer
        original = optimizer.__dict__.get("step", _ABSENT)
        object.__setattr__(optimizer, "step", self._watched_step(optimizer.step))
        self._unwrap.append((optimizer, "step", original))

    def _restore(self):
        for owner, name, original in reversed(self._unwrap):
            if original is _ABSENT:
                owner.__dict__.pop(name, None)
            else:
                object.__setattr__(owner, name, original)
        self._unwrap = []

    def _watched_forward(self, layer, method):
        def forward(inputs, *args, **kwargs):
            result = method(inputs, *args, **kwargs)
            training = kwargs.get("training", args[0] if args else False)
            if training:
                self._period.see_output(layer, result[0], self.saturation)
            return result

        return forward

    def _watched_step(self, step):
        def watched(closure, *args, **kwargs):
            first = []

            def recording_closure():
                loss, gradients = closure()
                if not first:
                    first.append(True)
                    self._period.see_gradients(gradients)
                return loss, gradients

            return step(recording_closure, *args, **kwargs)

        return watched

    # --- what it says -----------------------------------------------------------------
    def values(self, quantity: str, layer: str) -> list[float]:
        """The recorded values of one quantity for one layer, period by period."""
        return [
            r["value"] for r in self.records if r["quantity"] == quantity and r["layer"] == layer
        ]

    def findings(self) -> list[Finding]:
        """What the records show, each with its threshold in the text."""
        found = []
        found += self._vanishing()
        found += self._exploding()
        found += self._dead()
        found += self._learning_rate()
        return found

    def report(self) -> str:
        """The findings as text (or that none was found, with the thresholds)."""
        findings = self.findings()
        if not findings:
            return (
                "Diagnostics: nothing wrong found (gradients within "
                f"{self.vanishing_ratio:g}x of the last layer's, updates at most "
                f"{self.exploding_ratio:g} of the weights, at most "
                f"{self.dead_threshold:.0%} of ReLUs dead, the loss going down)."
            )
        return "Diagnostics:\n" + "\n".join(f"- {finding}" for finding in findings)

    def _last(self, quantity):
        """Each layer's value of ``quantity`` in the last period that has it."""
        last = {}
        for record in self.records:
            if record["quantity"] == quantity and math.isfinite(record["value"]):
                last[record["layer"]] = record["value"]
        return last

    def _vanishing(self):
        norms = self._last("gradient_norm")
        if len(norms) < 2:
            return []
        last_layer = list(norms)[-1]
        reference = norms[last_layer]
        found = []
        for layer, norm in list(norms.items())[:-1]:
            if reference > 0 and norm < self.vanishing_ratio * reference:
                found.append(
                    Finding(
                        "vanishing_gradients",
                        layer,
                        f"Vanishing gradients: layer {layer!r} has a gradient norm of {norm:.3g}, "
                        f"{norm / reference:.2g} times the last layer's ({last_layer!r}: "
                        f"{reference:.3g}); threshold {self.vanishing_ratio:g} times. Its weights "
                        "barely move: try ReLU instead of sigmoid or tanh, He initialization, "
                        "BatchNormalization, or fewer layers.",
                    )
                )
        return found

    def _exploding(self):
        found = []
        worst: dict[str, float] = {}
        for record in self.records:
            if record["quantity"] == "update_ratio" and record["value"] > self.exploding_ratio:
                worst[record["layer"]] = max(worst.get(record["layer"], 0.0), record["value"])
        for layer, ratio in worst.items():
            found.append(
                Finding(
                    "exploding_updates",
                    layer,
                    f"Exploding updates: at layer {layer!r}, a step changed the weights by "
                    f"{ratio:.3g} of their size (threshold {self.exploding_ratio:g}; about 1e-3 "
                    "is usual). "
                    "Lower the learning rate, or clip the gradients (clipnorm=1.0).",
                )
            )
        return found

    def _dead(self):
        found = []
        for layer, fraction in self._last("dead_fraction").items():
            if fraction > self.dead_threshold:
                found.append(
                    Finding(
                        "dead_relus",
                        layer,
                        f"Dead ReLUs: {fraction:.0%} of the units of layer {layer!r} gave zero "
                        "for every sample of the last period (threshold "
                        f"{self.dead_threshold:.0%}). "
                        "They pass no slope and cannot recover: check the initialization "
                        "(he_normal for ReLU), the biases, and the learning rate; or use "
                        "LeakyReLU.",
                    )
                )
        return found

    def _learning_rate(self):
        losses = self.losses
        if self.diverged or any(not math.isfinite(loss) for loss in losses):
            return [
                Finding(
                    "learning_rate_too_high",
                    None,
                    "Learning rate too high: the loss became NaN or infinite. Lower the learning "
                    "rate (gradstep.lab.lr_find suggests one).",
                )
            ]
        if len(losses) < 3:
            return []
        rises = sum(later > earlier for earlier, later in zip(losses, losses[1:], strict=False))
        changes = len(losses) - 1
        if rises > changes / 2 or losses[-1] > losses[0]:
            return [
                Finding(
                    "learning_rate_too_high",
                    None,
                    f"Learning rate too high: the training loss went up in {rises} of "
                    f"{changes} epoch-to-epoch changes (threshold: more than half) and ended at "
                    f"{losses[-1]:.4g} against {losses[0]:.4g} after the first epoch. Lower the "
                    "learning rate (gradstep.lab.lr_find suggests one).",
                )
            ]
        return []

    # --- files ------------------------------------------------------------------------
    def to_csv(self, path) -> Path:
        """The records as CSV: epoch, step, layer, quantity, value."""
        path = Path(path)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(
                handle, fieldnames=["epoch", "step", "layer", "quantity", "value"]
            )
            writer.writeheader()
            writer.writerows(self.records)
        return path

    def to_json(self, path) -> Path:
        """The records, the losses and the findings as JSON (what ``gradstep report`` reads)."""
        path = Path(path)
        path.write_text(
            json.dumps(
                {
                    "kind": "diagnostics",
                    "every": self.every,
                    "records": self.records,
                    "losses": self.losses,
                    "findings": [f.__dict__ for f in self.findings()],
                },
                indent=1,
            )
        )
        return path

    def plot(self, directory) -> list[Path]:
        """One PNG per recorded quantity, layers as lines, into ``directory``."""
        from gradstep.diagnostics_plots import plot_quantities

        return plot_quantities(self.records, self.every, directory)


_ABSENT = object()


def _norm(arrays) -> float:
    """The L2 norm of several arrays taken together, in float64."""
    return math.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays))


def _weights_by_layer(model) -> dict[str, list[np.ndarray]]:
    """Each top-level layer's trainable weights (a nested model's, all of them)."""
    grouped: dict[str, list[np.ndarray]] = {}
    for path, weight in model.named_weights(trainable_only=True):
        grouped.setdefault(path.split("/", 1)[0], []).append(weight)
    return grouped


def _ends_in(layer, name: str) -> bool:
    activation = getattr(layer, "activation", None)
    if activation is not None and getattr(activation, "__name__", None) == name:
        return True
    if activation is not None and type(activation).__name__.lower() == name:
        return True
    return type(layer).__name__.lower() == name


class _Period:
    """What one period saw, accumulated step by step."""

    def __init__(self, layers):
        self.layers = layers
        self.steps = 0
        self.gradients: dict[str, list[float]] = {}
        self.updates: dict[str, list[float]] = {layer.name: [] for layer in layers}
        self.sums: dict[str, list[float]] = {}  # layer -> [count, sum, sum of squares]
        self.active: dict[str, np.ndarray] = {}  # layer -> units ever positive
        self.saturated: dict[str, list[int]] = {}  # layer -> [saturated samples, samples]

    def see_gradients(self, gradients):
        self.steps += 1
        squares: dict[str, float] = {}
        for path, _, slope in gradients:
            if slope is not None:
                layer = path.split("/", 1)[0]
                squares[layer] = squares.get(layer, 0.0) + float(
                    np.sum(np.square(slope, dtype=np.float64))
                )
        for layer, square in squares.items():
            self.gradients.setdefault(layer, []).append(math.sqrt(square))

    def see_output(self, layer, output, saturation):
        if not isinstance(output, np.ndarray) or not np.issubdtype(output.dtype, np.floating):
            return
        values = output.astype(np.float64, copy=False)
        totals = self.sums.setdefault(layer.name, [0, 0.0, 0.0])
        totals[0] += values.size
        totals[1] += float(values.sum())
        totals[2] += float(np.square(values).sum())
        if values.ndim >= 2 and _ends_in(layer, "relu"):
            positive = (values > 0).reshape(-1, values.shape[-1]).any(axis=0)
            seen = self.active.get(layer.name)
            self.active[layer.name] = positive if seen is None else seen | positive
        if values.ndim >= 2 and _ends_in(layer, "softmax"):
            largest = values.reshape(-1, values.shape[-1]).max(axis=1)
            counts = self.saturated.setdefault(layer.name, [0, 0])
            counts[0] += int(np.sum(largest >= saturation))
            counts[1] += largest.size

    def rows(self, weights, saturation):
        rows = []
        for layer in self.layers:
            name = layer.name
            if name in weights:
                if self.gradients.get(name):
                    rows.append((name, "gradient_norm", float(np.mean(self.gradients[name]))))
                norm = math.sqrt(
                    sum(float(np.sum(np.square(w, dtype=np.float64))) for w in weights[name])
                )
                rows.append((name, "weight_norm", norm))
                if self.updates.get(name):
                    rows.append((name, "update_ratio", float(np.mean(self.updates[name]))))
            if name in self.sums and self.sums[name][0]:
                count, total, squares = self.sums[name]
                mean = total / count
                rows.append((name, "activation_mean", mean))
                rows.append(
                    (name, "activation_std", math.sqrt(max(squares / count - mean**2, 0.0)))
                )
            if name in self.active:
                rows.append((name, "dead_fraction", float(1.0 - self.active[name].mean())))
            if name in self.saturated and self.saturated[name][1]:
                saturated, samples = self.saturated[name]
                rows.append((name, "saturated_fraction", saturated / samples))
        return rows
