"""``model.summary()``: the classic Keras table (TF-Keras 2.15 layout).

Columns end at 45%, 85% and 100% of a 65-character line; each row starts with
a space and is followed by a blank row; sizes count the bytes of the weights
in 1024-based units.
"""

from __future__ import annotations


def print_summary(model, line_length=None, positions=None, print_fn=None) -> None:
    line_length = line_length or 65
    positions = positions or [0.45, 0.85, 1.0]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    print_fn = print_fn or print

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(_row(["Layer (type)", "Output Shape", "Param #"], positions))
    print_fn("=" * line_length)
    for layer in model.layers:
        fields = [
            f"{layer.name} ({type(layer).__name__})",
            _shape(layer.output_shape),
            layer.count_params(),
        ]
        print_fn(_row(fields, positions))
        print_fn(_row(["", "", ""], positions))
    print_fn("=" * line_length)
    trainable = sum(
        layer.count_params() for layer in model.layers if layer.trainable and model.trainable
    )
    total = model.count_params()
    itemsize = model.weights[0].dtype.itemsize if model.weights else 4
    print_fn(f"Total params: {total} ({readable_size(total * itemsize)})")
    print_fn(f"Trainable params: {trainable} ({readable_size(trainable * itemsize)})")
    non_trainable = total - trainable
    print_fn(f"Non-trainable params: {non_trainable} ({readable_size(non_trainable * itemsize)})")
    print_fn("_" * line_length)


def _row(fields, positions) -> str:
    """One table row: each field cut to fit its column, then padded to the column end."""
    line = ""
    for column, field in enumerate(str(f) for f in fields):
        start = positions[column - 1] if column else 0
        last = column == len(positions) - 1
        space = 0 if last else 2
        # Two spaces between columns, one more so that columns start aligned.
        cutoff = positions[column] - start - space - (0 if last else 1)
        if column == 0:
            line += " "
        line += field[:cutoff] + " " * space
        line += " " * (positions[column] - len(line))
    return line


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
