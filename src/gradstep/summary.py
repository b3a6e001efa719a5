"""``model.summary()``: the classic Keras table (TF-Keras 2.15's layout).

A model whose graph is a chain (a Sequential, a subclassed model, or a
functional model without branches or shared layers) gets three columns that
end at 45%, 85% and 100% of a 65-character line. Any other graph gets a
fourth column, "Connected to", that names the inputs of each layer's calls
as ``layer[call][output]``, on a 98-character line with columns ending at
30%, 60%, 70% and 100%. Each row starts with a space and is followed by a
blank row; a field too long for its column continues on the next line,
broken after a ``),`` or ``',`` where one falls; sizes count the bytes of the
weights in 1024-based units.
"""

from __future__ import annotations

_LINE_BREAKS = ("),", "},", "],", "',")


def print_summary(
    model, line_length=None, positions=None, print_fn=None, connections=False
) -> None:
    """Print ``model``'s table; ``connections`` adds the "Connected to" column."""
    chain = not connections
    if chain:
        line_length = line_length or 65
        positions = positions or [0.45, 0.85, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [0.3, 0.6, 0.70, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    print_fn = print_fn or print

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    _print_row(header, positions, print_fn)
    print_fn("=" * line_length)
    every_node = list({id(n): n for t in (False, True) for n in model.graph(t).nodes}.values())
    for layer in model.layers:
        nodes = [node for node in every_node if node.layer is layer]
        fields = [f"{layer.name} ({layer.class_name})", _output_shape(layer, nodes)]
        fields.append(layer.count_params())
        if not chain:
            fields.append(_connections(nodes))
        _print_row(fields, positions, print_fn)
        print_fn(" " * line_length)
    print_fn("=" * line_length)
    _print_totals(model, print_fn)
    print_fn("_" * line_length)


def is_chain(graph) -> bool:
    """TF-Keras's test of a graph that prints as a chain: no depth with two
    nodes, no node with two inputs and no layer called twice."""
    depths = [graph.depths[node] for node in graph.nodes]
    if len(depths) != len(set(depths)):
        return False
    if any(len(node.input_tensors) > 1 for node in graph.nodes):
        return False
    layers = [node.layer for node in graph.nodes]
    return len({id(layer) for layer in layers}) == len(layers)


def _output_shape(layer, nodes) -> str:
    shapes = {tuple(tensor.shape for tensor in node.outputs) for node in nodes}
    if len(shapes) != 1:
        return "multiple"
    several = shapes.pop()
    if len(several) > 1:
        return "[" + ", ".join(_shape(shape) for shape in several) + "]"
    shape = _shape(several[0])
    # TF-Keras shows an InputLayer's output shape as a list of one shape.
    return f"[{shape}]" if nodes[0].is_input else shape


def _connections(nodes) -> str:
    return str(
        [
            f"{tensor.node.layer.name}[{tensor.node.index}][{tensor.index}]"
            for node in nodes
            for tensor in node.input_tensors
        ]
    )


def _print_totals(model, print_fn) -> None:
    weights = model.weights
    itemsize = weights[0].dtype.itemsize if weights else 4
    total = model.count_params()
    trainable = int(sum(w.size for w in model.trainable_weights))
    non_trainable = total - trainable
    print_fn(f"Total params: {total} ({readable_size(total * itemsize)})")
    print_fn(f"Trainable params: {trainable} ({readable_size(trainable * itemsize)})")
    print_fn(f"Non-trainable params: {non_trainable} ({readable_size(non_trainable * itemsize)})")


def _print_row(fields, positions, print_fn) -> None:
    """One table row, TF-Keras's way: each field cut to its column, the rest
    carried to the next line (after a ``),`` or ``',`` where one falls)."""
    left_to_print = [str(field) for field in fields]
    while any(left_to_print):
        line = ""
        for column, text in enumerate(left_to_print):
            start = positions[column - 1] if column else 0
            last = column == len(positions) - 1
            space = 0 if last else 2
            # Two spaces between columns, one more so that columns start aligned.
            cutoff = positions[column] - start - space - (0 if last else 1)
            fitting = text[:cutoff]
            breaks = [fitting.find(b) + len(b) for b in _LINE_BREAKS if fitting.find(b) >= 0]
            if breaks:
                cutoff = min(breaks)
                fitting = fitting[:cutoff]
            if column == 0:
                line += " "
            line += fitting + " " * space
            left_to_print[column] = text[cutoff:]
            line += " " * (positions[column] - len(line))
        print_fn(line)


def _shape(shape) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + (",)" if len(shape) == 1 else ")")
    )


def readable_size(num_bytes: float) -> str:
    """``153640 -> '150.04 KB'``; ``0 -> '0.00 Byte'`` (Keras's wording)."""
    for unit in ("Byte", "KB", "MB", "GB", "TB"):
        if num_bytes / 1024 < 1:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"
