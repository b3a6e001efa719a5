"""One gradient-descent step, with its arithmetic printed as the lessons do it by hand.

A small network without biases: each layer multiplies the node values by its
weights, and hidden layers apply the activation. For every weight, its slope
is the product of

    (a) the slope of the loss at the node the weight feeds into,
    (b) the value of the node that feeds the weight,
    (c) the slope of the activation at the value fed into that node,

and the step is ``new weight = weight - learning_rate * slope``. The numbers
come from gradstep's own layers, loss and optimizer; the printed products are
checked against them.

    >>> step = explain_step(weights=[[1.0, 2.0]], inputs=[3.0, 4.0], target=6.0)
    >>> step.error_before, step.error_after
    (5.0, 2.5)
    >>> step.slopes[0].ravel().tolist()
    [30.0, 40.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradstep import activations, layers, losses, optimizers


@dataclass
class WeightSlope:
    """How one weight's slope is made, and where the step takes it."""

    layer: int
    source: int
    node: int
    weight: float
    slope_at_node: float
    value_feeding: float
    activation_slope: float
    slope: float
    new_weight: float


@dataclass
class ExplainedStep:
    """Everything one step computed: values, errors, slopes, updates."""

    node_values: list[np.ndarray]
    prediction: np.ndarray
    target: np.ndarray
    error_before: float
    loss_before: float
    slopes: list[np.ndarray]
    new_weights: list[np.ndarray]
    error_after: float
    loss_after: float
    learning_rate: float
    loss_name: str
    activation_name: str
    details: list[WeightSlope]

    def text(self) -> str:
        return _render(self)


def explain_step(
    weights,
    inputs,
    target,
    activation="relu",
    output_activation="linear",
    loss="mse",
    learning_rate=0.01,
) -> ExplainedStep:
    """One step of gradient descent on one sample.

    Args:
        weights: one matrix per layer, shaped (nodes feeding the layer, nodes
            of the layer); a layer given as a flat list feeds one node, and a
            flat list of numbers is a one-layer network with one output.
        inputs: the input node values.
        target: the true value(s).
        activation: of the hidden layers. Defaults to 'relu'.
        output_activation: of the output layer. Defaults to 'linear'.
        loss: a loss name. Defaults to 'mse' (for one output: the squared error,
            whose slope at the prediction is 2 * error).
        learning_rate: Defaults to 0.01.
    """
    matrices = _as_matrices(weights)
    values = np.asarray(inputs, dtype=np.float64).reshape(1, -1)
    target = np.asarray(target, dtype=np.float64).reshape(1, -1)
    _check_shapes(matrices, values, target)
    network = _network(matrices, activation, output_activation)
    loss_fn = losses.get(loss)

    node_values, saved = _forward(network, values)
    prediction = node_values[-1]
    loss_before = float(loss_fn(target, prediction))
    grad = loss_fn.gradient(target, prediction)
    slope_at_nodes, slopes = [grad], []
    for layer, layer_saved in zip(reversed(network), reversed(saved), strict=True):
        grad, weight_grads = layer.backward(layer_saved, grad)
        slope_at_nodes.insert(0, grad)
        slopes.insert(0, weight_grads["kernel"])
    details = _decompose(network, node_values, slope_at_nodes, slopes, learning_rate)

    optimizers.SGD(learning_rate=learning_rate).apply_gradients(
        zip(slopes, [layer.kernel for layer in network], strict=True)
    )
    after = _forward(network, values)[0][-1]
    return ExplainedStep(
        node_values=[v[0] for v in node_values],
        prediction=prediction[0],
        target=target[0],
        error_before=_error(prediction, target),
        loss_before=loss_before,
        slopes=slopes,
        new_weights=[layer.kernel.copy() for layer in network],
        error_after=_error(after, target),
        loss_after=float(loss_fn(target, after)),
        learning_rate=learning_rate,
        loss_name=loss_fn.name,
        activation_name=activations.get(activation).name,
        details=details,
    )


def worked_examples() -> list[ExplainedStep]:
    """The two examples of the lessons: one weight (2, input 3, target 10: error
    -4, slope -24, new weight 2.24) and two weights ([1, 2], input [3, 4],
    target 6: error 5, slopes [30, 40], new weights [0.7, 1.6], error 2.5)."""
    return [
        explain_step(weights=[[2.0]], inputs=[3.0], target=10.0),
        explain_step(weights=[[1.0, 2.0]], inputs=[3.0, 4.0], target=6.0),
    ]


def _as_matrices(weights) -> list[np.ndarray]:
    """One matrix per layer, shaped (nodes feeding it, its nodes); a flat list of
    numbers, or a layer given as a flat list, is the weights into one node."""
    if all(np.ndim(w) == 0 for w in weights):
        weights = [weights]
    matrices = [np.asarray(matrix, dtype=np.float64) for matrix in weights]
    return [matrix.reshape(-1, 1) if matrix.ndim == 1 else matrix for matrix in matrices]


def _check_shapes(matrices, values, target):
    width = values.shape[1]
    for index, matrix in enumerate(matrices):
        if matrix.shape[0] != width:
            raise ValueError(
                f"weights of layer {index + 1} must have {width} rows (one per node feeding it), "
                f"received shape {matrix.shape}"
            )
        width = matrix.shape[1]
    if target.shape[1] != width:
        raise ValueError(
            f"target must have {width} value(s), one per output node, received {target.shape[1]}"
        )


def _network(matrices, activation, output_activation):
    network = []
    for index, matrix in enumerate(matrices):
        last = index == len(matrices) - 1
        layer = layers.Dense(
            matrix.shape[1],
            use_bias=False,
            dtype="float64",
            activation=output_activation if last else activation,
        )
        layer.build((None, matrix.shape[0]))
        layer.set_weights([matrix])
        network.append(layer)
    return network


def _forward(network, values):
    """Each layer's output, and what each layer's backward pass needs."""
    node_values, saved = [values], []
    for layer in network:
        output, layer_saved = layer.forward(node_values[-1], training=True)
        node_values.append(output)
        saved.append(layer_saved)
    return node_values, saved


def _error(prediction, target) -> float:
    return float(np.sum(prediction - target))


def _decompose(network, node_values, slope_at_nodes, slopes, learning_rate):
    details = []
    for index, layer in enumerate(network):
        feeding = node_values[index][0]
        pre_activation = feeding @ layer.kernel
        output = layer.activation(pre_activation[None])[0]
        slope_at_node = slope_at_nodes[index + 1][0]
        activation_slope = layer.activation.backward(
            pre_activation[None], output[None], np.ones((1, len(output)))
        )[0]
        for source, node in np.ndindex(layer.kernel.shape):
            product = slope_at_node[node] * feeding[source] * activation_slope[node]
            assert np.isclose(product, slopes[index][source, node]), "chain rule mismatch"
            weight = float(layer.kernel[source, node])
            details.append(
                WeightSlope(
                    index + 1,
                    source + 1,
                    node + 1,
                    weight,
                    float(slope_at_node[node]),
                    float(feeding[source]),
                    float(activation_slope[node]),
                    float(product),
                    weight - learning_rate * float(product),
                )
            )
    return details


def _number(value: float) -> str:
    return f"{value + 0.0:.6g}"  # + 0.0 prints -0.0 as 0


def _vector(values) -> str:
    return "[" + ", ".join(_number(v) for v in np.ravel(values)) + "]"


def _render(step: ExplainedStep) -> str:
    lines = ["Forward pass"]
    lines.append(f"  input nodes: {_vector(step.node_values[0])}")
    for index, values in enumerate(step.node_values[1:-1], 1):
        lines.append(f"  hidden layer {index} ({step.activation_name}): {_vector(values)}")
    lines.append(f"  prediction: {_vector(step.prediction)}   target: {_vector(step.target)}")
    lines.append(f"  error = prediction - target = {_number(step.error_before)}")
    lines.append(f"  loss ({step.loss_name}) = {_number(step.loss_before)}")
    lines.append("")
    lines.append(
        "Slopes: (slope of the loss at the node) x (value feeding the weight) "
        "x (slope of the activation)"
    )
    for d in step.details:
        lines.append(
            f"  layer {d.layer} weight {d.source}->{d.node}: {_number(d.slope_at_node)} x "
            f"{_number(d.value_feeding)} x {_number(d.activation_slope)} = {_number(d.slope)}"
        )
    lines.append("")
    lines.append(
        f"Update: new weight = weight - learning_rate * slope "
        f"(learning_rate = {_number(step.learning_rate)})"
    )
    for d in step.details:
        lines.append(
            f"  layer {d.layer} weight {d.source}->{d.node}: {_number(d.weight)} - "
            f"{_number(step.learning_rate)} * {_number(d.slope)} = {_number(d.new_weight)}"
        )
    lines.append("")
    lines.append(
        f"Error after the step: {_number(step.error_after)}  "
        f"(loss {_number(step.loss_before)} -> {_number(step.loss_after)})"
    )
    return "\n".join(lines)
