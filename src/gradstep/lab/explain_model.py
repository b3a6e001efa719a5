"""Explain the next training step of a real model, for one scalar weight.

``explain_step(model, x, y, weight="dense/kernel", index=(3, 5))`` runs the
model's own ``train_on_batch(x, y)`` once, with the update of that weight
traced (``gradstep.kernels.trace``), and then puts the model and its
optimizer back as they were. It shows:

1. the gradient, backward as the lessons' worked example does it by hand. For
   a Dense kernel entry ``W[i, j]`` and each sample ``b`` of the batch::

       slope(b) = dL/d out_j(b)  x  act'(z_j(b))  x  x_i(b)
       dL/dW[i, j] = sum over b of slope(b)

   where ``z = x @ W + bias``, ``out = act(z)`` and ``L`` is the batch's loss
   (a mean loss puts its ``1/N`` inside ``dL/d out``). A bias entry has no
   input factor. The numbers come from the layer's own backward pass (its
   saved ``x``, ``z`` and the slope it received), and the sum is checked
   against the gradient the backward pass handed the optimizer: the two
   agree to round-off (the product of matrices adds in another order);
2. the optimizer's update of that weight, every intermediate with its name and
   value as the update itself computed it (the learning rate of this update
   after its schedule, clipping, weight decay, the slots before and after,
   bias corrections, where epsilon sits, the step);
3. the new value, which is the weight after ``train_on_batch`` on the same
   batch, bit for bit (tests/lab/test_explain_step.py checks every optimizer).

While the step is traced the optimizers run their NumPy kernels, which give
the same numbers as the fused numba kernels (tests/kernels/).
"""

from __future__ import annotations

import copy
import html
import math
from dataclasses import dataclass, field

import numpy as np

from gradstep.kernels import trace

#: How many samples the text shows before it sums the rest.
SAMPLES_SHOWN = 4
_NOT_ELEMENTWISE = ("softmax", "log_softmax")


@dataclass
class SampleSlope:
    """One sample's share of a Dense weight's slope."""

    sample: int
    loss_slope: float  #: dL/d out_j at this sample (dL/d z_j when fused with the loss)
    activation_slope: float | None  #: act'(z_j); None when fused or not elementwise
    input_value: float | None  #: x_i, the value feeding the weight (None for a bias)
    slope: float  #: their product (float64)


@dataclass
class GradientPath:
    """The weight's slope, followed back through its layer."""

    layer: str
    kind: str  #: "dense kernel", "dense bias", or the layer's class for other kinds
    unit: int | None  #: the output unit (or channel) the weight feeds
    source: int | None  #: the input the weight reads (Dense kernels)
    activation: str
    fused: bool  #: the activation's slope is inside the loss's (softmax with cross-entropy)
    samples: list[SampleSlope]
    sample_count: int
    product_sum: float  #: sum over every sample of the products (float64)
    layer_slope: float | None  #: the layer's backward pass's slope for the weight
    unit_slope_sum: float | None = None  #: generic layers: sum of dL/d out at the unit

    @property
    def per_sample(self) -> bool:
        return self.kind in ("dense kernel", "dense bias")


@dataclass
class StepExplanation:
    """Everything the explanation shows, as values.

    ``update`` lists ``(name, value)`` in the order the optimizer computed
    them; the values are NumPy scalars in the weight's dtype (or float64 for
    the optimizer's own scalars)."""

    weight: str
    index: tuple[int, ...]
    optimizer: str
    update_number: int
    loss: float
    value_before: np.floating
    gradient: np.floating | None
    path: GradientPath | None
    update: list[tuple[str, object]] = field(default_factory=list)
    constraint: str | None = None
    new_value: np.floating | None = None

    def text(self) -> str:
        return "\n".join(_lines(self))

    def __str__(self) -> str:
        return self.text()

    def _repr_markdown_(self) -> str:
        return _markdown(self)

    def _repr_html_(self) -> str:
        return _html(self)

    def html(self) -> str:
        """The explanation as an HTML fragment (what a notebook shows)."""
        return _html(self)


def explain_step(model, x, y, weight: str, index, sample_weight=None) -> StepExplanation:
    """Explain the next ``model.train_on_batch(x, y)`` for ``weight[index]``.

    Args:
        model: a compiled model (the optimizer may have taken steps already).
        x: the batch's inputs, as ``train_on_batch`` takes them.
        y: the batch's targets.
        weight: the weight's path, ``"<layer name>/<weight name>"`` as
            ``model.named_weights()`` lists them (``"dense/kernel"``).
        index: the entry, a tuple (``(3, 5)``) or an int for a vector.
        sample_weight: as ``train_on_batch`` takes it.

    Returns:
        A ``StepExplanation``; ``print`` it for the text. The model, its
        optimizer and its random generators are left as they were.

    Raises:
        ValueError: an unknown weight, an index outside it, or L-BFGS (whose
            line search evaluates the loss several times per step, so there
            is no single gradient to follow).
    """
    optimizer = _check_optimizer(model)
    named = dict(model.named_weights(trainable_only=True))
    if weight not in named:
        raise ValueError(
            f"explain_step: model {model.name!r} has no trainable weight {weight!r}; "
            f"its trainable weights are {sorted(named)}"
        )
    variable = named[weight]
    position = _flat_index(variable, index, weight)
    layer = _layer_of(model, weight)
    saved_model, saved_optimizer = _snapshot(model, optimizer)
    captured: list = []
    try:
        _capture_backward(layer, captured)
        with trace.watch(variable, position) as recorded:
            value_before = variable.reshape(-1)[position].copy()
            update_number = optimizer.iterations + 1
            loss = model.train_on_batch(x, y, sample_weight=sample_weight)
            new_value = variable.reshape(-1)[position].copy()
    finally:
        _release_backward(layer)
        _restore(model, optimizer, saved_model, saved_optimizer)
    loss = float(loss[0] if isinstance(loss, list | tuple) else loss)
    unravelled = tuple(int(i) for i in np.unravel_index(position, variable.shape))
    gradient = recorded.value("gradient g (from the backward pass)")
    if gradient is None:
        gradient = recorded.value("gradient of this call")
    constraints = model.weight_constraints()
    return StepExplanation(
        weight=weight,
        index=unravelled,
        optimizer=type(optimizer).__name__,
        update_number=update_number,
        loss=loss,
        value_before=value_before,
        gradient=gradient,
        path=_gradient_path(layer, weight, unravelled, captured),
        update=list(recorded.entries),
        constraint=type(constraints[weight]).__name__ if weight in constraints else None,
        new_value=new_value,
    )


# --- running the step -------------------------------------------------------------------
def _check_optimizer(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("explain_step needs a compiled model: call model.compile(...) first")
    from gradstep.optimizers.lbfgs import LBFGS

    if isinstance(optimizer, LBFGS):
        raise ValueError(
            f"explain_step cannot explain a step of {type(optimizer).__name__}: L-BFGS's line "
            "search evaluates the loss and gradient several times per step and moves every "
            "weight along a direction built from the last steps' curvature pairs, so no single "
            "gradient and update rule lead to one weight's new value. Explain a first-order "
            "optimizer (sgd, adam, ...) instead"
        )
    return optimizer


def _flat_index(variable: np.ndarray, index, weight: str) -> int:
    index = (index,) if np.isscalar(index) else tuple(index)
    if len(index) != variable.ndim or any(
        not isinstance(i, int | np.integer) or not 0 <= i < n
        for i, n in zip(index, variable.shape, strict=False)
    ):
        raise ValueError(
            f"explain_step: index must name one entry of {weight!r}, of shape "
            f"{variable.shape}: {variable.ndim} non-negative integers below it, "
            f"received {index!r}"
        )
    return int(np.ravel_multi_index(index, variable.shape))


def _layer_of(model, weight: str):
    name = weight.rsplit("/", 1)[0]
    try:
        return model.get_layer(name)
    except ValueError:
        return None  # inside a nested model: the update is still traced


def _snapshot(model, optimizer):
    weights = model.get_weights()
    training_state = model.get_training_state()
    # The optimizer's attributes, copied, except the model's weights it refers to.
    keep = {id(w): w for w in model.weights}
    return (weights, training_state), copy.deepcopy(optimizer.__dict__, keep)


def _restore(model, optimizer, saved_model, saved_optimizer) -> None:
    weights, training_state = saved_model
    model.set_weights(weights)
    model.set_training_state(training_state)
    slots, state = optimizer.__dict__.get("_slots"), optimizer.__dict__.get("_state")
    same_slots = _same_arrays(slots, saved_optimizer.get("_slots"))
    same_state = _same_arrays(state, saved_optimizer.get("_state"))
    for key in list(optimizer.__dict__):
        if key not in saved_optimizer:
            del optimizer.__dict__[key]
    for key, value in saved_optimizer.items():
        if key == "_slots" and same_slots:
            for mine, theirs in zip(slots.values(), value.values(), strict=True):
                for array, saved in zip(mine, theirs, strict=True):
                    if array is not None:
                        array[...] = saved  # in place: slots keep their placement
        elif key == "_state" and same_state:
            for array, saved in zip(state.values(), value.values(), strict=True):
                array[...] = saved
        else:
            optimizer.__dict__[key] = value


def _same_arrays(current, saved) -> bool:
    """Whether two dicts of arrays (or of lists of arrays) have the same layout."""
    if (
        not isinstance(current, dict)
        or not isinstance(saved, dict)
        or current.keys() != saved.keys()
    ):
        return False
    for mine, theirs in zip(current.values(), saved.values(), strict=True):
        if isinstance(mine, list):
            if not isinstance(theirs, list) or len(mine) != len(theirs):
                return False
            if any(
                (a is None) != (b is None) or (a is not None and a.shape != b.shape)
                for a, b in zip(mine, theirs, strict=True)
            ):
                return False
        elif np.shape(mine) != np.shape(theirs):
            return False
    return True


def _capture_backward(layer, captured: list) -> None:
    """Shadow the layer's backward methods for one step, to keep what they
    receive and return: its saved forward values and the slope at its output."""
    if layer is None:
        return

    depth = [0]  # Dense.backward calls backward_from_pre_activation: keep the outer call

    def wrap(method, fused: bool):
        def recording(saved, grad, *args, **kwargs):
            depth[0] += 1
            try:
                result = method(saved, grad, *args, **kwargs)
            finally:
                depth[0] -= 1
            if depth[0] == 0:
                captured.append((saved, grad, fused, result[1]))
            return result

        return recording

    layer.backward = wrap(layer.backward, False)
    if hasattr(layer, "backward_from_pre_activation"):
        layer.backward_from_pre_activation = wrap(layer.backward_from_pre_activation, True)


def _release_backward(layer) -> None:
    if layer is None:
        return
    for name in ("backward", "backward_from_pre_activation"):
        layer.__dict__.pop(name, None)


# --- the gradient, backward -----------------------------------------------------------
def _gradient_path(layer, weight, index, captured) -> GradientPath | None:
    if layer is None or not captured:
        return None
    from gradstep.layers.core import Dense

    short = weight.rsplit("/", 1)[-1]
    saved, grad, fused, own = captured[0]
    layer_slope = _entry(own.get(short), index)
    if type(layer) is Dense and short in ("kernel", "bias") and len(captured) == 1:
        return _dense_path(layer, short, index, saved, grad, fused, layer_slope)
    unit = index[-1]
    unit_sum = None
    grad_array = grad[0] if isinstance(grad, list | tuple) else grad
    if isinstance(grad_array, np.ndarray) and grad_array.ndim and grad_array.shape[-1] > unit:
        unit_sum = math.fsum(grad_array[..., unit].astype(np.float64).ravel())
    activation = getattr(getattr(layer, "activation", None), "name", "")
    return GradientPath(
        layer=layer.name,
        kind=type(layer).__name__,
        unit=unit,
        source=None,
        activation=activation,
        fused=fused,
        samples=[],
        sample_count=0,
        product_sum=math.nan,
        layer_slope=layer_slope,
        unit_slope_sum=unit_sum,
    )


def _dense_path(layer, short, index, saved, grad, fused, layer_slope) -> GradientPath:
    x, pre_activation, output = saved
    unit = index[-1]
    rows = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731  (a sequence's steps are samples too)
    x, pre_activation, output, grad = rows(x), rows(pre_activation), rows(output), rows(grad)
    name = layer.activation.name
    loss_slope = grad[:, unit].astype(np.float64)
    if fused:
        activation_slope = None
        slope_at_pre = loss_slope
    elif name in _NOT_ELEMENTWISE:
        activation_slope = None
        slope_at_pre = layer.activation.backward(pre_activation, output, grad)[:, unit]
        slope_at_pre = slope_at_pre.astype(np.float64)
    else:
        ones = np.ones_like(pre_activation)
        activation_slope = layer.activation.backward(pre_activation, output, ones)[:, unit]
        activation_slope = activation_slope.astype(np.float64)
        slope_at_pre = loss_slope * activation_slope
    source = index[0] if short == "kernel" else None
    inputs = x[:, source].astype(np.float64) if source is not None else None
    products = slope_at_pre * inputs if inputs is not None else slope_at_pre
    samples = [
        SampleSlope(
            sample=b,
            loss_slope=float(loss_slope[b]),
            activation_slope=None if activation_slope is None else float(activation_slope[b]),
            input_value=None if inputs is None else float(inputs[b]),
            slope=float(products[b]),
        )
        for b in range(min(SAMPLES_SHOWN, len(products)))
    ]
    return GradientPath(
        layer=layer.name,
        kind=f"dense {short}",
        unit=unit,
        source=source,
        activation=name,
        fused=fused,
        samples=samples,
        sample_count=len(products),
        product_sum=math.fsum(products),
        layer_slope=layer_slope,
    )


def _entry(array, index):
    if array is None:
        return None
    return np.asarray(array)[index]


# --- text -------------------------------------------------------------------------------
def _number(value) -> str:
    """The shortest text that reads back as the same number in its own dtype."""
    if value is None:
        return "-"
    if isinstance(value, float):
        value = np.float64(value)
    if isinstance(value, np.floating):
        return str(value + value.dtype.type(0))  # + 0 prints -0.0 as 0.0
    return str(value)


def _lines(step: StepExplanation) -> list[str]:
    lines = [
        f"Update {step.update_number} of {step.optimizer}, weight {step.weight}"
        f"{list(step.index)}: {_number(step.value_before)}",
        f"loss on this batch before the step: {step.loss:.6g}",
        "",
        "1. The gradient, backward",
    ]
    lines += ["   " + line for line in _gradient_lines(step)]
    lines += ["", "2. The optimizer's update of this weight"]
    update = _shown(step)
    width = max((len(name) for name, _ in update), default=0)
    lines += [f"   {name:<{width}} = {_number(value)}" for name, value in update]
    if step.constraint:
        lines.append(f"   then the weight's constraint {step.constraint} applies")
    lines += [
        "",
        f"New value: {_number(step.new_value)} (was {_number(step.value_before)}), the weight "
        "after train_on_batch on this batch, bit for bit",
    ]
    return lines


def _shown(step: StepExplanation) -> list[tuple[str, object]]:
    """The update's entries, without a clipped gradient that is the gradient."""
    gradient = step.gradient
    return [
        (name, value)
        for name, value in step.update
        if not (name == "gradient after clipping" and _same(value, gradient))
    ]


def _same(a, b) -> bool:
    return b is not None and np.array_equal(a, b)


def _gradient_lines(step: StepExplanation) -> list[str]:
    path = step.path
    lines = []
    if path is not None and path.per_sample:
        lines += _per_sample_lines(path)
    elif path is not None:
        lines.append(
            f"{path.layer} is a {path.kind}: the product form per sample is shown for Dense "
            "kernels and biases only."
        )
        if path.unit_slope_sum is not None:
            lines.append(
                f"slope of the loss at the layer's output, unit {path.unit} (the one this weight "
                f"feeds), summed over the batch: {_number(path.unit_slope_sum)}"
            )
        if path.layer_slope is not None:
            lines.append(f"the layer's backward pass gives dL/dw = {_number(path.layer_slope)}")
    else:
        lines.append("(this weight's layer is inside a nested model: its gradient is shown as is)")
    lines.append(
        f"gradient from the backward pass (what the optimizer receives): {_number(step.gradient)}"
    )
    if path is not None and path.layer_slope is not None and step.gradient is not None:
        extra = float(step.gradient) - float(path.layer_slope)
        if extra != 0.0:
            lines.append(
                f"  of which {_number(np.float64(extra))} is the slope of the weight's "
                "regularizer (or of other uses of the weight)"
            )
    return lines


def _per_sample_lines(path: GradientPath) -> list[str]:
    j = path.unit
    feeds = f"unit {j} of {path.layer} (activation {path.activation})"
    if path.kind == "dense kernel":
        head = f"W[{path.source}, {j}] multiplies input {path.source} into {feeds}."
    else:
        head = f"bias[{j}] is added into {feeds}."
    factors = []
    if path.fused:
        factors.append(f"dL/dz_{j} (the {path.activation}'s slope is fused with the loss's)")
    elif path.activation in _NOT_ELEMENTWISE:
        factors.append(f"dL/dz_{j} (through the {path.activation}, which mixes the units)")
    else:
        factors += [f"dL/dout_{j}", f"act'(z_{j})"]
    if path.source is not None:
        factors.append(f"x_{path.source}")
    lines = [
        head,
        "per sample: slope = " + " x ".join(factors),
        "(a mean loss's 1/N is inside the loss slope)",
    ]
    for s in path.samples:
        numbers = [s.loss_slope]
        if s.activation_slope is not None:
            numbers.append(s.activation_slope)
        if s.input_value is not None:
            numbers.append(s.input_value)
        text = " x ".join(f"{v + 0.0:.6g}" for v in numbers)
        lines.append(f"  sample {s.sample}: {text} = {s.slope + 0.0:.6g}")
    rest = path.sample_count - len(path.samples)
    if rest > 0:
        lines.append(f"  ... and {rest} more samples")
    samples = "1 sample" if path.sample_count == 1 else f"{path.sample_count} samples"
    lines.append(f"sum over the batch ({samples}): {path.product_sum:.6g}")
    return lines


def _markdown(step: StepExplanation) -> str:
    lines = [
        f"**Update {step.update_number} of {step.optimizer}, weight `{step.weight}"
        f"{list(step.index)}`**: {_number(step.value_before)} → **{_number(step.new_value)}**",
        "",
        "*The gradient, backward*",
        "",
    ]
    lines += [f"- {line.strip()}" for line in _gradient_lines(step)]
    lines += ["", "*The optimizer's update*", "", "| quantity | value |", "|---|---|"]
    lines += [
        f"| {name.replace('|', '&#124;')} | {_number(value)} |" for name, value in _shown(step)
    ]
    lines += ["", f"New value: **{_number(step.new_value)}**"]
    return "\n".join(lines)


def _html(step: StepExplanation) -> str:
    gradient = "".join(f"<li>{html.escape(line.strip())}</li>" for line in _gradient_lines(step))
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(_number(value))}</td></tr>"
        for name, value in _shown(step)
    )
    title = html.escape(
        f"Update {step.update_number} of {step.optimizer}, weight {step.weight}{list(step.index)}"
    )
    return (
        f"<div><p><b>{title}</b>: {html.escape(_number(step.value_before))} &rarr; "
        f"<b>{html.escape(_number(step.new_value))}</b></p>"
        f"<p><i>The gradient, backward</i></p><ul>{gradient}</ul>"
        f"<p><i>The optimizer's update</i></p><table>{rows}</table>"
        f"<p>New value: <b>{html.escape(_number(step.new_value))}</b></p></div>"
    )
