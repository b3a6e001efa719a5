"""Derivatives are checked, not trusted: central differences in float64.

``check_gradients(f, grad_f, x)`` compares an analytic gradient with
``(f(x + h e_i) - f(x - h e_i)) / 2h`` for every entry ``i`` and raises
``AssertionError`` naming the worst entry when they disagree. The helpers
below apply it to an activation, a layer (input and every weight) and a loss.

    >>> import numpy as np
    >>> cube = lambda x: float(np.sum(x ** 3))
    >>> error = check_gradients(cube, lambda x: 3 * x ** 2, np.array([1.0, -2.0]))
    >>> error < 1e-6
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(fn: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6):
    """Central-difference slope of the scalar ``fn`` at every entry of ``x`` (float64)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        above = float(fn(x))
        x[index] = original - eps
        below = float(fn(x))
        x[index] = original
        grad[index] = (above - below) / (2 * eps)
    return grad


def assert_gradients_close(analytic, numeric, *, rtol=1e-5, atol=1e-7, label="gradient"):
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise AssertionError(f"{label}: analytic shape {analytic.shape} != numeric {numeric.shape}")
    error = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    if (error > allowed).any():
        worst = np.unravel_index(np.argmax(error - allowed), error.shape)
        raise AssertionError(
            f"{label} disagrees with central differences at index {tuple(int(i) for i in worst)}: "
            f"analytic {analytic[worst]!r}, numeric {numeric[worst]!r} "
            f"(max abs error {error.max():.3e})"
        )
    return float(error.max()) if error.size else 0.0


def check_gradients(fn, grad_fn, x, *, eps=1e-6, rtol=1e-5, atol=1e-7, label="gradient"):
    """Check ``grad_fn(x)`` against central differences of the scalar ``fn``.

    Returns the largest absolute difference; raises AssertionError past the tolerances.
    """
    x = np.asarray(x, dtype=np.float64)
    return assert_gradients_close(
        grad_fn(x), numerical_gradient(fn, x, eps), rtol=rtol, atol=atol, label=label
    )


def check_activation_gradients(activation, x, seed=0, **tolerances):
    """Check ``activation.backward`` as the slope of ``sum(f(x) * G)`` for a random ``G``."""
    x = np.asarray(x, dtype=np.float64)
    upstream = np.random.default_rng(seed).normal(size=x.shape)

    def value(point):
        return float(np.sum(activation(point) * upstream))

    def slope(point):
        return activation.backward(point, activation(point), upstream)

    return check_gradients(value, slope, x, label=f"activation {activation.name}", **tolerances)


def _seed_generators(layer) -> list:
    """The ``random.SeedGenerator`` objects a layer (Keras-style) holds, its
    sublayers' included: each pass restores their state, so that a layer
    drawing noise from one in ``call`` draws the same noise every time."""
    from gradstep.layers.base import Layer
    from gradstep.random import SeedGenerator

    found, seen = [], set()

    def visit(value):
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, SeedGenerator):
            found.append(value)
        elif isinstance(value, Layer):
            for attribute in vars(value).values():
                visit(attribute)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)

    visit(layer)
    return found


def check_layer_gradients(layer, x, seed=0, mask=None, **tolerances):
    """Check a float64 layer's input slope(s) and every weight's slope, in
    training mode; ``x`` is an array, or a list of arrays for a layer that
    takes several (``Add``, ``Concatenate``). The layer's generator is
    reseeded before each pass so that a random layer (dropout) draws the
    same mask every time, and the ``random.SeedGenerator`` objects it holds
    are set back to their state at the start. A layer with ``integer_inputs`` (``Embedding``)
    has no slope at its input (token indices): only its weights are checked,
    and ``x`` is passed as it is. ``mask`` goes to ``forward`` (a layer whose
    ``forward_takes_mask``), the same for every pass."""
    listed = isinstance(x, list | tuple)
    integer = layer.integer_inputs
    xs = [
        np.asarray(v) if integer else np.asarray(v, dtype=np.float64)
        for v in (x if listed else [x])
    ]
    if not layer.built:
        shapes = [(None,) + v.shape[1:] for v in xs]
        layer.build_once(shapes if listed else shapes[0])
    masked = {} if mask is None else {"mask": mask}
    streams = [(generator, generator.state) for generator in _seed_generators(layer)]

    def forward(points):
        layer.rng = np.random.default_rng(seed)
        for generator, state in streams:
            generator.state = state
        return layer.forward(list(points) if listed else points[0], training=True, **masked)

    output, saved = forward(xs)
    several = isinstance(output, list)  # a layer with several outputs (return_state)
    draw = np.random.default_rng(seed).normal
    upstream = [draw(size=o.shape) for o in output] if several else draw(size=output.shape)

    def weighted(outputs) -> float:
        if several:
            return float(sum(np.sum(o * u) for o, u in zip(outputs, upstream, strict=True)))
        return float(np.sum(outputs * upstream))

    grad_inputs, weight_grads = layer.backward(saved, upstream, input_gradient=not integer)
    grad_inputs = grad_inputs if listed else [grad_inputs]
    errors = [0.0]
    for position, (point, grad_input) in enumerate(zip(xs, grad_inputs, strict=True)):
        if integer:
            break

        def loss_at_input(values, position=position):
            points = [values if i == position else v for i, v in enumerate(xs)]
            return weighted(forward(points)[0])

        errors.append(
            assert_gradients_close(
                grad_input,
                numerical_gradient(loss_at_input, point),
                label=f"{layer.name}: input {position}",
                **tolerances,
            )
        )
    for name, weight in layer.named_weights(trainable_only=True):
        original = weight.copy()

        def loss_at_weight(values, weight=weight):
            weight[...] = values
            return weighted(forward(xs)[0])

        numeric = numerical_gradient(loss_at_weight, original)
        weight[...] = original
        errors.append(
            assert_gradients_close(
                weight_grads[name], numeric, label=f"{layer.name}: {name}", **tolerances
            )
        )
    return max(errors)


def check_model_gradients(model, x, y, sample_weight=None, **tolerances):
    """Check a compiled float64 model's slopes (``model.gradients``: the graph's
    backward pass, fan-out and shared layers summed) for every trainable
    weight against central differences of its training loss."""
    _, gradients = model.gradients(x, y, sample_weight)
    errors = [0.0]
    for path, weight, analytic in gradients:
        original = weight.copy()

        def loss_at(values, weight=weight):
            weight[...] = values
            return model.gradients(x, y, sample_weight)[0]

        numeric = numerical_gradient(loss_at, original)
        weight[...] = original
        if analytic is None:
            analytic = np.zeros_like(numeric)
        errors.append(assert_gradients_close(analytic, numeric, label=path, **tolerances))
    return max(errors)


def check_loss_gradients(loss, y_true, y_pred, sample_weight=None, **tolerances):
    """Check ``loss.gradient`` against central differences of ``loss(y_true, y_pred)``."""

    def value(point):
        return float(loss(y_true, point, sample_weight))

    def slope(point):
        return loss.gradient(y_true, point, sample_weight)

    return check_gradients(value, slope, y_pred, label=f"loss {loss.name}", **tolerances)
