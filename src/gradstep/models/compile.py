"""What ``compile()`` asks for, matched to the model's outputs, as Keras does.

A single loss applies to every output; a list gives one per output, a dict
one per output name (``None`` or a missing name: no loss for that output).
The total loss is the sum of the outputs' losses, each times its
``loss_weights`` entry when given. When an output comes straight out of an
activation that its loss pairs with (softmax with categorical
cross-entropy, sigmoid with binary cross-entropy), the pairing is decided
here, once: the loss then hands back the slope at the activation's input
(``p - y``) and that layer skips its activation's derivative.

Metrics follow the same rules: a list for a model with one output; for
several outputs a list with one entry (a metric or a list of metrics) per
output, or a dict by output name. Their logs are named
``<output name>_<metric>`` when there are several outputs, and each output's
own loss is logged as ``<output name>_loss``.

An output that carries a mask (Keras's: from ``Embedding(mask_zero=True)``
through the layers that pass it on) counts only its unmasked positions, in
its loss (the mean over them, as Keras's ``apply_mask``) and in its metrics
(as a weight of 0 or 1, times the sample weights of a weighted metric).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gradstep import losses as losses_module
from gradstep import metrics as metrics_module
from gradstep.validation import check_name, check_real


class OutputLoss(NamedTuple):
    """The loss of one output: its position and name, the Loss, its weight in
    the total (None: 1, without a multiplication), and the step of the graph
    whose activation fuses with it (None: no fusion)."""

    index: int
    name: str
    loss: losses_module.Loss
    weight: float | None
    fused_step: int | None


def resolve_losses(loss):
    """``loss`` with each entry resolved to a Loss (names, functions, configs);
    None (no output has a loss: the model trains on the losses its layers add
    with ``add_loss``, as Keras allows)."""
    if loss is None:
        return None
    if isinstance(loss, dict):
        return {
            key: None if value is None else losses_module.get(value) for key, value in loss.items()
        }
    if isinstance(loss, list | tuple):
        return [None if value is None else losses_module.get(value) for value in loss]
    return losses_module.get(loss)


class CompileSettings:
    """What ``compile()`` received, checked: the losses (resolved to Loss
    objects, one or a list or dict of them), ``loss_weights``, ``metrics`` and
    ``weighted_metrics``; and their saved form (``get_config``)."""

    def __init__(self, loss, loss_weights=None, metrics=None, weighted_metrics=None):
        self.loss = resolve_losses(loss)
        check_metrics(metrics)
        check_metrics(weighted_metrics, "weighted_metrics")
        self.loss_weights = loss_weights
        self.metrics = metrics
        self.weighted_metrics = weighted_metrics

    def for_outputs(self, graph, output_names: list[str]):
        """The losses and metrics matched to a model's outputs."""
        loss = CompiledLoss(self.loss, self.loss_weights, graph, output_names)
        metrics = CompiledMetrics(self.metrics, self.weighted_metrics, output_names, loss.entries)
        return loss, metrics

    def metric_names(self) -> list[str]:
        """The metrics' names as given (before the first batch names them fully)."""
        return [
            m
            if isinstance(m, str)
            else m.name
            if isinstance(m, metrics_module.Metric)
            else getattr(m, "__name__", "metric")
            for m in _flat(self.metrics)
        ]

    def get_config(self) -> dict[str, Any]:
        """The losses' configs and the metrics' names (plain data)."""
        config = {
            "loss": _map_losses(self.loss, losses_module.serialize),
            "metrics": _map_metrics(self.metrics, metric_name) or [],
        }
        if self.loss_weights is not None:
            config["loss_weights"] = self.loss_weights
        if self.weighted_metrics is not None:
            config["weighted_metrics"] = _map_metrics(self.weighted_metrics, metric_name)
        return config

    @staticmethod
    def arguments_from_config(config: dict[str, Any], custom_objects=None) -> dict[str, Any]:
        """``compile``'s loss and metric arguments from ``get_config()``: class
        names resolve through ``LOSSES``, a loss or metric of your own through
        ``custom_objects`` (its saved name -> the function or class)."""
        custom_objects = dict(custom_objects or {})

        def loss_from(entry):
            if isinstance(entry, dict) and "class_name" in entry:
                return losses_module.deserialize(entry, custom_objects)
            return losses_module.get(entry)

        def metric_from(name):
            return saved_metric(name, custom_objects)

        return {
            "loss": _map_losses(config["loss"], loss_from),
            "metrics": _map_metrics(config["metrics"], metric_from),
            "loss_weights": config.get("loss_weights"),
            "weighted_metrics": _map_metrics(config.get("weighted_metrics"), metric_from),
        }

    def custom_objects(self) -> dict[str, Any]:
        """The losses and metrics that are not built in, by their saved names."""
        custom = {}
        for loss in _flat(self.loss):
            if isinstance(loss, losses_module.LossFunctionWrapper):
                custom[getattr(loss.fn, "__name__", "")] = loss.fn
            elif not losses_module.LOSSES.holds_class(type(loss)):
                custom[type(loss).__name__] = type(loss)
        for metric in _flat(self.metrics) + _flat(self.weighted_metrics):
            if isinstance(metric, metrics_module.MeanMetricWrapper):
                if not metrics_module.is_builtin_function(metric.fn):
                    custom[getattr(metric.fn, "__name__", "")] = metric.fn
            elif isinstance(metric, metrics_module.Metric) or (
                isinstance(metric, type) and issubclass(metric, metrics_module.Metric)
            ):
                metric_class = metric if isinstance(metric, type) else type(metric)
                if not metrics_module.METRICS.holds_class(metric_class):
                    custom[metric_class.__name__] = metric_class
            elif callable(metric) and not isinstance(metric, str):
                custom[getattr(metric, "__name__", "")] = metric
        return custom


def check_metrics(metrics, argument: str = "metrics") -> None:
    """Each metric must be a known name, a function or a metric object."""
    if metrics is None:
        return
    if not isinstance(metrics, list | tuple | dict):
        raise TypeError(f"{argument} must be a list such as ['accuracy'], received {metrics!r}")
    entries = metrics.values() if isinstance(metrics, dict) else metrics
    for entry in entries:
        for metric in entry if isinstance(entry, list | tuple) else [entry]:
            check_metric(metric)


def check_metric(metric) -> None:
    if isinstance(metric, str):
        named = getattr(metrics_module, metric, None)
        if isinstance(named, type) and metrics_module.METRICS.holds_class(named):
            return  # a class name, e.g. 'AUC'
        check_name(metric, metrics_module.names(), "metrics", "metric")
    elif isinstance(metric, dict):
        metrics_module.deserialize(metric)
    elif not (callable(metric) or isinstance(metric, metrics_module.Metric)):
        raise TypeError(
            f"each metric must be a name such as 'accuracy' or a function, received {metric!r} "
            "(a gradstep.metrics.Metric object or class is accepted too)"
        )


def per_output(value, output_names: list[str], argument: str) -> list:
    """``value`` (one entry for every output, a list, or a dict by output name)
    as one entry per output; a missing name gives None."""
    count = len(output_names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(output_names))
        if unknown:
            raise ValueError(
                f"{argument} names output {unknown[0]!r}, which the model does not have; "
                f"its outputs are {output_names}"
            )
        return [value.get(name) for name in output_names]
    if isinstance(value, list | tuple):
        if len(value) != count:
            raise ValueError(
                f"{argument} must have one entry per model output ({count}: {output_names}), "
                f"received {len(value)}"
            )
        return list(value)
    return [value] * count


class CompiledLoss:
    """The losses of ``compile(loss=..., loss_weights=...)`` for a model's outputs."""

    def __init__(self, loss, loss_weights, graph, output_names: list[str]):
        per_loss = per_output(loss, output_names, "loss")
        if loss_weights is not None and not isinstance(loss_weights, list | tuple | dict):
            _check_weight(loss_weights)
        weights = per_output(loss_weights, output_names, "loss_weights")
        self.entries = [
            OutputLoss(index, name, entry, _check_weight(weight), _fused_step(graph, index, entry))
            for index, (name, entry, weight) in enumerate(
                zip(output_names, per_loss, weights, strict=True)
            )
            if entry is not None
        ]
        if not self.entries and loss is not None:
            raise ValueError(f"compile() needs a loss for at least one output of {output_names}")
        self.fused_steps = frozenset(
            entry.fused_step for entry in self.entries if entry.fused_step is not None
        )
        self.tracks_outputs = len(self.entries) > 1

    def value_and_slopes(self, targets, outputs, sample_weights, masks=None):
        """The total loss, the slope at each output (None for one without a
        loss; at the activation's input for a fused output), and each
        output's own loss. ``targets`` passed the losses' checks before
        training, so they are not checked again per batch. ``masks``: each
        output's mask (None: unmasked), or None when no output has one."""
        slopes = [None] * len(outputs)
        values = []
        total = 0.0
        for entry in self.entries:
            value, slope = entry.loss.value_and_gradient(
                targets[entry.index],
                outputs[entry.index],
                sample_weights[entry.index],
                fused=entry.fused_step is not None,
                targets_checked=True,
                mask=None if masks is None else masks[entry.index],
            )
            value = float(value)
            if entry.weight is not None:
                value_weighted = value * entry.weight
                slope = slope * slope.dtype.type(entry.weight)
            else:
                value_weighted = value
            slopes[entry.index] = slope
            values.append(value)
            total = value_weighted if len(values) == 1 else total + value_weighted
        return total, slopes, values

    def values(self, targets, outputs, sample_weights, masks=None):
        """The total loss and each output's own loss (no slopes)."""
        values = [
            float(
                entry.loss(
                    targets[entry.index],
                    outputs[entry.index],
                    sample_weights[entry.index],
                    mask=None if masks is None else masks[entry.index],
                )
            )
            for entry in self.entries
        ]
        weighted = [
            v if e.weight is None else v * e.weight
            for v, e in zip(values, self.entries, strict=True)
        ]
        total = weighted[0] if weighted else 0.0  # none: the layers' added losses alone
        for value in weighted[1:]:
            total += value
        return total, values


class CompiledMetrics:
    """The metrics of ``compile(metrics=..., weighted_metrics=...)`` for a model's
    outputs, made on the first batch (``'accuracy'`` picks its kind from the
    shapes of the targets and outputs, as Keras does)."""

    def __init__(self, metrics, weighted_metrics, output_names: list[str], output_losses):
        self.output_names = output_names
        self._requested = {
            "metrics": self._split(metrics, "metrics"),
            "weighted_metrics": self._split(weighted_metrics, "weighted_metrics"),
        }
        self._losses = output_losses
        self.objects: list[tuple[int, bool, Any]] | None = None  # (output, weighted, metric)

    def _split(self, metrics, argument):
        if not metrics:
            return [[] for _ in self.output_names]
        if len(self.output_names) == 1 and not isinstance(metrics, dict):
            return [list(metrics)]
        entries = per_output(metrics, self.output_names, argument)
        if not isinstance(metrics, list | tuple | dict):
            raise ValueError(f"{argument} must be a list or a dict, received {metrics!r}")
        return [
            [] if e is None else list(e) if isinstance(e, list | tuple) else [e] for e in entries
        ]

    @property
    def identifiers(self) -> dict[str, list[list]]:
        """What compile received, one list per output."""
        return self._requested

    def build(self, targets, outputs) -> None:
        losses = {entry.index: entry.loss for entry in self._losses}
        objects = []
        for weighted, argument in ((False, "metrics"), (True, "weighted_metrics")):
            for index, requested in enumerate(self._requested[argument]):
                if targets[index] is None:
                    continue
                for identifier in requested:
                    metric = metrics_module.get(
                        identifier, losses.get(index), targets[index].shape, outputs[index].shape
                    )
                    objects.append((index, weighted, metric))
        self.objects = objects
        self.names = self._log_names()
        self._named = [(n, metric) for n, (_, _, metric) in zip(self.names, objects, strict=True)]

    def _log_names(self) -> list[str]:
        names, taken = [], set()
        prefix_outputs = len(self.output_names) > 1
        for index, weighted, metric in self.objects:
            prefix = f"{self.output_names[index]}_" if prefix_outputs else ""
            name = f"{prefix}{metric.name}"
            if name in taken and weighted:
                name = f"{prefix}weighted_{metric.name}"
            base, count = name, 1
            while name in taken:
                name, count = f"{base}_{count}", count + 1
            taken.add(name)
            names.append(name)
        return names

    def update(self, targets, outputs, sample_weights, masks=None) -> None:
        if self.objects is None:
            self.build(targets, outputs)
        for index, weighted, metric in self.objects:
            weights = sample_weights[index] if weighted else None
            if masks is not None and masks[index] is not None:
                weights = masked_weights(weights, masks[index])
            metric.update_state(targets[index], outputs[index], weights)

    def reset(self) -> None:
        for _, _, metric in self.objects or []:
            metric.reset_state()

    def results(self) -> dict[str, Any]:
        """Each metric's value so far: a float, an array (a metric with several
        thresholds or classes), or the entries of a dict that ``result()`` returns."""
        logs = {}
        for name, metric in self._named if self.objects else []:
            value = metric.result()
            if isinstance(value, dict):
                logs.update({key: _log_value(v) for key, v in value.items()})
            else:
                logs[name] = _log_value(value)
        return logs


def _log_value(value):
    """A metric's result as logged: a Python float, or a NumPy array."""
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value.astype(np.float64)


def masked_weights(sample_weight, mask):
    """A metric's weights for an output with ``mask``: 1 where it counts, 0
    where masked, times ``sample_weight`` (Keras's ``apply_mask`` with the
    ``'sum'`` reduction; a trailing axis of 1 squeezed or added first)."""
    mask = np.asarray(mask, dtype=np.float64)
    if sample_weight is None:
        return mask
    weights = np.asarray(sample_weight, dtype=np.float64)
    if mask.ndim == weights.ndim + 1 and mask.shape[-1] == 1:
        if weights.ndim == 1:
            weights = weights[:, None]
        else:
            mask = mask[..., 0]
    elif weights.ndim == mask.ndim + 1 and weights.shape[-1] == 1:
        if mask.ndim == 1:
            mask = mask[:, None]
        else:
            weights = weights[..., 0]
    return weights * mask


def _check_weight(weight):
    """A loss weight: a finite number, or None (no multiplication)."""
    weight = check_real(weight, "loss_weights entries", allow_none=True, expected="numbers")
    return None if weight is None else float(weight)


def _fused_step(graph, index: int, loss) -> int | None:
    """The step whose activation this output's loss fuses with, or None: the
    loss must pair with the activation the output comes out of, and nothing
    else may use that output or penalize it (its slope would then not be the
    loss's alone)."""
    if loss is None or loss.fused_activation is None:
        return None
    tensor = graph.outputs[index]
    node = tensor.node
    activation = node.layer.activation
    if node.is_input or activation is None or activation.name != loss.fused_activation:
        return None
    if activation.get_config().get("axis", -1) != -1:
        return None
    if graph.consumers(tensor) or sum(t is tensor for t in graph.outputs) > 1:
        return None
    if node.layer.activity_regularizer is not None:
        return None
    return graph.step_index(node)


def _map_losses(loss, function):
    """``loss`` (one, a list or a dict of them) with ``function`` applied to each."""
    if isinstance(loss, dict) and "class_name" not in loss:
        return {key: None if value is None else function(value) for key, value in loss.items()}
    if isinstance(loss, list | tuple):
        return [None if value is None else function(value) for value in loss]
    return None if loss is None else function(loss)


def _map_metrics(metrics, function):
    """``metrics`` (a list, a list of lists, or a dict of lists) with ``function``
    applied to each metric."""
    if metrics is None:
        return None

    def entry(value):
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return [function(v) for v in value]
        return function(value)

    if isinstance(metrics, dict):
        return {key: entry(value) for key, value in metrics.items()}
    return [entry(value) for value in metrics]


def _flat(structure) -> list:
    """The entries of a loss or metrics argument: one, a list, a list of lists
    or a dict of them; None entries left out."""
    if structure is None:
        return []
    if isinstance(structure, dict) and "class_name" not in structure:
        structure = list(structure.values())
    if not isinstance(structure, list | tuple):
        return [structure]
    flat = []
    for entry in structure:
        flat.extend(_flat(entry))
    return flat


def saved_metric(name, custom_objects: dict[str, Any]):
    """A metric from a file: a metric's config (its class from ``METRICS`` or
    ``custom_objects``), your function from ``custom_objects``, or a built-in
    metric's name."""
    if isinstance(name, dict):
        try:
            return metrics_module.deserialize(name, custom_objects)
        except ValueError as error:
            class_name = name.get("class_name")
            raise ValueError(
                f"{error} A metric class of your own comes back when you pass it, as "
                f"load_model(..., custom_objects={{{class_name!r}: {class_name}}})."
            ) from None
    if name in custom_objects:
        return custom_objects[name]
    try:
        check_metric(name)
    except ValueError as error:
        raise ValueError(
            f"{error} A metric function of your own comes back when you pass it, as "
            f"load_model(..., custom_objects={{{name!r}: {name}}})."
        ) from None
    return name


def metric_name(metric):
    """What a metric is saved as: its name, a metric object's class and config
    (``{"class_name", "config"}``), or a function's ``__name__`` (which
    ``load_model(custom_objects=...)`` maps back to the function)."""
    if isinstance(metric, str | dict):
        return metric
    if isinstance(metric, type) and issubclass(metric, metrics_module.Metric):
        return metric.__name__
    if isinstance(metric, metrics_module.MeanMetricWrapper) and type(metric) is (
        metrics_module.MeanMetricWrapper
    ):
        metric = metric.fn
    elif isinstance(metric, metrics_module.Metric):
        return metrics_module.serialize(metric)
    name = getattr(metric, "__name__", None)
    if callable(metric) and isinstance(name, str) and name.isidentifier():
        return name
    raise ValueError(
        f"The metric {metric!r} has no name a saved file could hold (a lambda or an object); "
        "compile with metric names (e.g. 'accuracy', 'mae') or named functions to save the "
        "compile settings"
    )
