"""The ``gradstep`` command.

    gradstep train [--epochs 20] [--batch-size 32] [--optimizer adam] ...
    gradstep lr-find [--dataset digits] [--output lr_find.png] [--start-lr 1e-7] ...
    gradstep compare --optimizers sgd,adam --learning-rates 1e-3,1e-2 [--seeds 3] ...
    gradstep report comparison/comparison.json [--output report.html]
    gradstep landscape --function rosenbrock --optimizers sgd,momentum,adam ...
    gradstep explain [--weights 1,2 --inputs 3,4 --target 6] ...
    gradstep explain --dataset digits --optimizer adam --step 100 --weight dense/kernel[3,5]
    gradstep playground [--host 127.0.0.1] [--port 0] [--open | --no-browser]

``--dataset`` takes a built-in name (digits, iris, wine, breast_cancer,
diabetes) or the path of a .csv, .npz or .npy file (``--target`` names a CSV's
target column).

With no command, ``gradstep`` (and ``python -m gradstep``) runs ``train``:
the reference Keras model on scikit-learn's digits.
"""

from __future__ import annotations

import argparse
import sys

from gradstep import datasets


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradstep",
        description="Train neural networks with the loss, the optimizer and the learning rate "
        "first-class, inspectable and verified.",
    )
    commands = parser.add_subparsers(dest="command")
    train = commands.add_parser(
        "train", help="train the reference model (Dense 512 relu -> Dense softmax) on a dataset"
    )
    _add_dataset_arguments(train)
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--optimizer", default="adam", help="an optimizer name: adam, sgd, rmsprop")
    train.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="the optimizer's learning rate (its Keras default if omitted)",
    )
    train.add_argument(
        "--loss", default=None, help="a loss name (default: the dataset's natural loss)"
    )
    train.add_argument(
        "--model",
        default="dense",
        choices=("dense", "convnet"),
        help="dense: the reference model; convnet: two Conv2D 3x3 + MaxPooling2D blocks, "
        "then Dense softmax, for images (digits' 64 pixels are read as 8x8)",
    )
    train.add_argument("--hidden-units", type=int, default=512)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    train.add_argument(
        "--diagnose",
        action="store_true",
        help="record per-layer gradient, weight, update and activation numbers, print what "
        "they show, and write them (JSON, CSV, plots) to --diagnose-dir",
    )
    train.add_argument("--diagnose-dir", default="diagnostics")
    train.set_defaults(handler=run_train)
    _add_lr_find_parser(commands)
    _add_compare_parser(commands)
    _add_report_parser(commands)
    _add_landscape_parser(commands)
    _add_explain_parser(commands)
    _add_playground_parser(commands)
    return parser


_DATASET_HELP = (
    f"a built-in dataset ({', '.join(datasets.NAMES)}) or the path of a .csv, .npz or .npy file"
)


def _add_dataset_arguments(parser) -> None:
    parser.add_argument("--dataset", default="digits", help=_DATASET_HELP)
    parser.add_argument(
        "--target", default=None, help="the target column of a CSV file (default: the last)"
    )


def _add_lr_find_parser(commands) -> None:
    lr_find = commands.add_parser(
        "lr-find",
        help="run the learning-rate range test on the reference model and plot it to a PNG",
        description="Train the reference model for at most --steps batches while the "
        "learning rate grows exponentially from --start-lr towards --end-lr; print the "
        "suggested rates (fastai's steep and minimum/10) and write the loss curve to "
        "--output. The plot needs matplotlib (pip install 'gradstep[plot]').",
    )
    _add_dataset_arguments(lr_find)
    lr_find.add_argument("--output", default="lr_find.png", help="the PNG to write")
    lr_find.add_argument("--start-lr", type=float, default=1e-7)
    lr_find.add_argument("--end-lr", type=float, default=10.0)
    lr_find.add_argument("--steps", type=int, default=100, help="at most this many batches")
    lr_find.add_argument("--optimizer", default="adam", help="an optimizer name: adam, sgd, ...")
    lr_find.add_argument("--batch-size", type=int, default=32)
    lr_find.add_argument(
        "--loss", default=None, help="a loss name (default: the dataset's natural loss)"
    )
    lr_find.add_argument("--hidden-units", type=int, default=512)
    lr_find.add_argument("--seed", type=int, default=0)
    lr_find.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="run the test for this many seeds (initial weights and batch order) and plot "
        "the median curve with its spread",
    )
    lr_find.set_defaults(handler=run_lr_find, learning_rate=None)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["train", *argv]
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as error:
        parser.exit(2, f"gradstep: error: {error}\n")


_TASK_DEFAULTS = {
    # task -> (last activation, loss, metrics, output units from the labels)
    "multiclass": ("softmax", "sparse_categorical_crossentropy", ["accuracy"]),
    "binary": ("sigmoid", "binary_crossentropy", ["accuracy"]),
    "regression": (None, "mse", ["mae"]),
}


def _load(args) -> datasets.Dataset:
    return datasets.load_dataset(args.dataset, target=args.target)


def _reference_model(args, data: datasets.Dataset):
    """Dense(hidden_units, relu) -> Dense(outputs), compiled for the dataset's task."""
    from gradstep import layers, models, optimizers

    activation, default_loss, metrics = _TASK_DEFAULTS[data.task]
    units = len(data.classes) if data.task == "multiclass" else 1

    model = models.Sequential(seed=args.seed)
    model.add(layers.Input(shape=data.x_train.shape[1:]))
    if data.x_train.ndim > 2:
        model.add(layers.Flatten())
    model.add(layers.Dense(args.hidden_units, activation="relu"))
    model.add(layers.Dense(units, activation=activation))
    optimizer = optimizers.get(args.optimizer)
    if args.learning_rate is not None:
        optimizer.learning_rate = args.learning_rate
    model.compile(optimizer=optimizer, loss=args.loss or default_loss, metrics=metrics)
    return model


def _convnet_model(args, data: datasets.Dataset):
    """keras.io's MNIST convnet, scaled to small images: Conv2D 32 and 64 (3x3,
    'same', relu), each followed by MaxPooling2D 2x2, then Flatten, Dropout
    0.25 and the task's output layer."""
    from gradstep import layers, models, optimizers

    image_shape = _image_shape(data.x_train.shape[1:])
    activation, default_loss, metrics = _TASK_DEFAULTS[data.task]
    units = len(data.classes) if data.task == "multiclass" else 1
    model = models.Sequential(seed=args.seed)
    model.add(layers.Input(shape=data.x_train.shape[1:]))
    if image_shape != data.x_train.shape[1:]:
        model.add(layers.Reshape(image_shape))
    for filters in (32, 64):
        model.add(layers.Conv2D(filters, (3, 3), padding="same", activation="relu"))
        model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dropout(0.25))
    model.add(layers.Dense(units, activation=activation))
    optimizer = optimizers.get(args.optimizer)
    if args.learning_rate is not None:
        optimizer.learning_rate = args.learning_rate
    model.compile(optimizer=optimizer, loss=args.loss or default_loss, metrics=metrics)
    return model


def _image_shape(sample_shape: tuple) -> tuple:
    """A sample as an image (height, width, channels): 64 features as 8x8x1
    (any square count of features), (h, w) as (h, w, 1)."""
    if len(sample_shape) == 1:
        side = int(round(sample_shape[0] ** 0.5))
        if side * side == sample_shape[0] and side >= 4:
            return (side, side, 1)
    elif len(sample_shape) == 2:
        return (*sample_shape, 1)
    elif len(sample_shape) == 3:
        return tuple(sample_shape)
    raise ValueError(
        "--model convnet needs images: samples of shape (height, width), "
        "(height, width, channels), or a square number of features (at least 16), "
        f"received samples of shape {tuple(sample_shape)}"
    )


def run_train(args) -> int:
    data = _load(args)
    (x_train, y_train), (x_test, y_test) = data.splits()
    builder = _convnet_model if args.model == "convnet" else _reference_model
    model = builder(args, data)
    model.summary()
    diagnostics = _diagnostics(args)
    # fit stops at the first NaN or infinite loss and prints where (terminate_on_nan).
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=args.verbose,
        callbacks=[] if diagnostics is None else [diagnostics],
    )
    if diagnostics is not None:
        _write_diagnostics(diagnostics, args.diagnose_dir)
    if model.diverged_at is not None:
        epoch, batch = model.diverged_at
        print(
            f"gradstep: error: the loss became NaN or infinite at epoch {epoch + 1}, batch "
            f"{batch + 1}: training diverged. Try a lower --learning-rate "
            f"(it was {model.optimizer.learning_rate:g}).",
            file=sys.stderr,
        )
        return 1
    results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print(" - ".join(f"test {name}: {value:.4f}" for name, value in results.items()))
    return 0


def _diagnostics(args):
    if not args.diagnose:
        return None
    from pathlib import Path

    from gradstep.callbacks import Diagnostics

    Path(args.diagnose_dir).mkdir(parents=True, exist_ok=True)
    return Diagnostics(csv_path=Path(args.diagnose_dir) / "diagnostics.csv")


def _write_diagnostics(diagnostics, directory) -> None:
    from pathlib import Path

    written = [diagnostics.to_json(Path(directory) / "diagnostics.json"), diagnostics.csv_path]
    try:
        written += diagnostics.plot(directory)
    except ImportError as error:
        print(f"gradstep: no plots: {error}", file=sys.stderr)
    print("diagnostics written: " + ", ".join(str(path) for path in written))
    print(f"an HTML page of them: gradstep report {Path(directory) / 'diagnostics.json'}")


def run_lr_find(args) -> int:
    from gradstep.lab import lr_find

    if args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, received {args.seeds}")
    data = _load(args)
    x_train, y_train = data.x_train, data.y_train
    model = _reference_model(args, data)
    print(
        f"Learning-rate range test: {args.dataset}, {args.optimizer}, batch size "
        f"{args.batch_size}, at most {args.steps} steps from {args.start_lr:g} towards "
        f"{args.end_lr:g}"
    )
    result = lr_find(
        model,
        x_train,
        y_train,
        start_lr=args.start_lr,
        end_lr=args.end_lr,
        num_steps=args.steps,
        batch_size=args.batch_size,
        seed=args.seed,
        seeds=args.seeds if args.seeds > 1 else None,
    )
    if args.seeds > 1:
        print(result.summary())
        return _plot_lr_find(result, args.output)
    steps = len(result.learning_rates)
    if result.stopped_early:
        print(f"The loss diverged at step {steps}, learning rate {result.learning_rates[-1]:.3g}")
    else:
        print(f"Ran all {steps} steps, up to learning rate {result.learning_rates[-1]:.3g}")
    for name, rate in (("steep", result.steep), ("minimum/10", result.minimum)):
        text = f"{rate:.3g}" if rate is not None else "none (too few steps before divergence)"
        print(f"suggested learning rate ({name}): {text}")
    return _plot_lr_find(result, args.output)


def _plot_lr_find(result, output) -> int:
    try:
        result.plot(output)
    except ImportError as error:
        print(f"gradstep: error: {error}", file=sys.stderr)
        return 1
    print(f"plot written to {output}")
    return 0


# --- the lab --------------------------------------------------------------------------
def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _numbers(text: str, argument: str) -> list[float]:
    try:
        return [float(value) for value in _names(text)]
    except ValueError:
        raise ValueError(f"{argument} must be comma-separated numbers, received {text!r}") from None


def _add_compare_parser(commands) -> None:
    compare = commands.add_parser(
        "compare",
        help="train every combination of optimizers, learning rates, losses and batch sizes",
        description="Train every combination for every seed (in parallel through joblib) on "
        "the training data less a validation part, print a table of final and best "
        "validation loss and accuracy (mean and spread over seeds), epochs to reach --target, "
        "wall time and each configuration's paired difference to the one chosen on the "
        "validation part; then score the chosen configuration once on the test part, and "
        "write JSON, CSV and plots to --output-dir.",
    )
    _add_dataset_arguments(compare)
    compare.add_argument("--optimizers", default="sgd,rmsprop,adam,adagrad")
    compare.add_argument("--learning-rates", default="1e-3,1e-2,1e-1")
    compare.add_argument("--losses", default=None, help="loss names (default: the task's)")
    compare.add_argument("--batch-sizes", default="32")
    compare.add_argument("--epochs", type=int, default=20)
    compare.add_argument("--seeds", type=int, default=3, help="trials per combination")
    compare.add_argument("--hidden-units", type=int, default=64)
    compare.add_argument(
        "--target-metric",
        type=float,
        default=None,
        help="validation accuracy (regression: MAE) to reach",
    )
    compare.add_argument(
        "--validation-split",
        type=float,
        default=0.2,
        help="fraction of the training data to choose on (stratified for classification)",
    )
    compare.add_argument(
        "--select-by",
        default="val_loss",
        choices=("val_loss", "val_metric"),
        help="choose the lowest mean final validation loss, or the best validation metric",
    )
    compare.add_argument("--jobs", type=int, default=-1, help="parallel workers (-1: all cores)")
    compare.add_argument("--backend", default=None, choices=("loky", "dask", "ray"))
    compare.add_argument(
        "--address", default=None, help="a running Dask scheduler or Ray cluster to use"
    )
    compare.add_argument("--output-dir", default="comparison")
    compare.add_argument("--report", default=None, help="also write this HTML report")
    compare.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    compare.set_defaults(handler=run_compare)


def run_compare(args) -> int:
    from pathlib import Path

    from gradstep.lab import compare

    losses = _names(args.losses) if args.losses else [None]
    batch_sizes = [int(size) for size in _numbers(args.batch_sizes, "--batch-sizes")]
    with _cluster(args.backend, args.address):
        result = compare.compare(
            args.dataset,
            optimizers=_names(args.optimizers),
            learning_rates=_numbers(args.learning_rates, "--learning-rates"),
            losses=losses,
            batch_sizes=batch_sizes,
            epochs=args.epochs,
            seeds=args.seeds,
            hidden_units=args.hidden_units,
            target=args.target_metric,
            target_column=args.target,
            n_jobs=args.jobs,
            backend=args.backend,
            validation_split=args.validation_split,
            select_by=args.select_by,
        )
    print(result.table())
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    result.to_json(output / "comparison.json")
    result.to_csv(output / "comparison.csv")
    written = [output / "comparison.json", output / "comparison.csv"]
    if not args.no_plots or args.report:
        from gradstep.lab import report

        if not args.no_plots:
            written += report.save_plots(result, output)
        if args.report:
            written.append(report.write_report(result, args.report))
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


class _cluster:
    """Connect to a running Dask scheduler or Ray cluster named by --address."""

    def __init__(self, backend, address):
        self.backend, self.address = backend, address
        self._close = None

    def __enter__(self):
        if self.address is None:
            return self
        if self.backend == "dask":
            from distributed import Client

            client = Client(self.address)
            self._close = client.close
        elif self.backend == "ray":
            import ray

            ray.init(address=self.address)
            self._close = ray.shutdown
        else:
            raise ValueError("--address needs --backend dask or --backend ray")
        return self

    def __exit__(self, *exc):
        if self._close is not None:
            self._close()
        return False


def _add_report_parser(commands) -> None:
    report = commands.add_parser(
        "report",
        help="write a self-contained HTML report of a saved comparison or diagnosed run",
        description="Read the comparison.json that `gradstep compare` wrote (or the "
        "diagnostics.json of `gradstep train --diagnose`) and write one HTML page with the "
        "tables, the findings and the plots embedded.",
    )
    report.add_argument(
        "comparison",
        help="the comparison.json written by gradstep compare, or the diagnostics.json "
        "written by gradstep train --diagnose",
    )
    report.add_argument("--output", default="report.html")
    report.set_defaults(handler=run_report)


def run_report(args) -> int:
    from gradstep.lab import compare, diagnostics_report, report

    if diagnostics_report.is_diagnostics(args.comparison):
        written = diagnostics_report.write_report(args.comparison, args.output)
        print(f"report written to {written}")
        return 0
    result = compare.Comparison.from_json(args.comparison)
    print(f"report written to {report.write_report(result, args.output)}")
    return 0


def _add_landscape_parser(commands) -> None:
    from gradstep.lab.landscapes import FUNCTIONS

    landscape = commands.add_parser(
        "landscape",
        help="run optimizers on a 2D test function and draw their paths",
        description="Run each optimizer from the function's start point and draw the paths "
        "over its contour plot (PNG); --animate also writes a GIF or HTML animation. "
        "Optimizer names: any optimizer, plus momentum and nesterov (SGD with momentum 0.9).",
    )
    landscape.add_argument("--function", default="rosenbrock", choices=list(FUNCTIONS))
    landscape.add_argument("--optimizers", default="sgd,momentum,adam")
    landscape.add_argument(
        "--learning-rates",
        default=None,
        help="one rate for all, or name=rate pairs (default: a rate that suits each)",
    )
    landscape.add_argument("--steps", type=int, default=300)
    landscape.add_argument("--start", default=None, help="the start point x,y")
    landscape.add_argument("--output", default="landscape.png")
    landscape.add_argument("--animate", default=None, help="also write this .gif or .html")
    landscape.set_defaults(handler=run_landscape)


def run_landscape(args) -> int:
    from gradstep.lab import landscapes

    names = _names(args.optimizers)
    rates = _landscape_rates(args.learning_rates, names)
    start = _numbers(args.start, "--start") if args.start else None
    if start is not None and len(start) != 2:
        raise ValueError(f"--start must be two numbers x,y, received {args.start!r}")
    paths = landscapes.walk_all(args.function, names, rates, args.steps, start)
    for name, path in paths.items():
        x, y = path[-1]
        value = landscapes.get_function(args.function).value(x, y)
        print(f"{name}: {len(path) - 1} steps, ended at ({x:.4g}, {y:.4g}), value {value:.4g}")
    landscapes.plot_paths(args.function, paths, output=args.output)
    print(f"plot written to {args.output}")
    if args.animate:
        print(
            f"animation written to {landscapes.animate_paths(args.function, paths, args.animate)}"
        )
    return 0


def _landscape_rates(text, names):
    if not text:
        return {}
    if "=" not in text:
        rate = _numbers(text, "--learning-rates")
        if len(rate) != 1:
            raise ValueError("--learning-rates takes one rate, or name=rate pairs")
        return dict.fromkeys(names, rate[0])
    rates = {}
    for pair in _names(text):
        name, _, value = pair.partition("=")
        rates[name.strip()] = _numbers(value, "--learning-rates")[0]
    return rates


def _add_explain_parser(commands) -> None:
    explain = commands.add_parser(
        "explain",
        help="print the arithmetic of one gradient-descent step by hand",
        description="Print the forward pass, the error, each weight's slope as (slope of the "
        "loss at the node) x (value feeding the weight) x (slope of the activation), the "
        "update w - lr * slope, and the error after the step. With no options: the two "
        "worked examples of the lessons. With --dataset: train the reference model (as "
        "'gradstep train' builds it) for --step - 1 batches, then explain batch --step for "
        "one weight: its gradient as a product of local slopes, every value of the "
        "optimizer's update, and the new value (that of the real step, bit for bit).",
    )
    explain.add_argument(
        "--weights",
        default=None,
        help="a flat list 1,2 (one output node) or JSON, one matrix per layer, shaped "
        "(nodes feeding it, its nodes): '[[[1,-1],[1,1]],[[2],[-1]]]'",
    )
    explain.add_argument("--inputs", default=None, help="the input node values, e.g. 3,4")
    explain.add_argument("--target", default=None, help="the true value(s), e.g. 6")
    explain.add_argument("--activation", default="relu", help="of the hidden layers")
    explain.add_argument("--output-activation", default="linear")
    explain.add_argument(
        "--loss", default=None, help="default: mse, or with --dataset the dataset's natural loss"
    )
    explain.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="default: 0.01, or with --dataset the optimizer's own default",
    )
    explain.add_argument(
        "--dataset", default=None, help="explain a step of the reference model: " + _DATASET_HELP
    )
    explain.add_argument("--optimizer", default="adam", help="with --dataset: adam, sgd, ...")
    explain.add_argument(
        "--step", type=int, default=1, help="with --dataset: the step to explain (1 = the first)"
    )
    explain.add_argument(
        "--weight",
        default="dense/kernel[0,0]",
        help="with --dataset: the weight's path and the entry, e.g. dense/kernel[3,5]",
    )
    explain.add_argument("--batch-size", type=int, default=32)
    explain.add_argument("--hidden-units", type=int, default=512)
    explain.add_argument("--seed", type=int, default=0)
    explain.set_defaults(handler=run_explain)


def run_explain(args) -> int:
    from gradstep.lab import explain

    if args.dataset is not None:
        return _explain_model_step(args)
    given = [args.weights, args.inputs, args.target]
    if not any(given):
        for number, step in enumerate(explain.worked_examples(), 1):
            print(f"Worked example {number}\n{'=' * 16}")
            print(step.text())
            print()
        return 0
    if not all(given):
        raise ValueError("--weights, --inputs and --target go together")
    step = explain.explain_step(
        weights=_weights(args.weights),
        inputs=_numbers(args.inputs, "--inputs"),
        target=_numbers(args.target, "--target"),
        activation=args.activation,
        output_activation=args.output_activation,
        loss=args.loss or "mse",
        learning_rate=0.01 if args.learning_rate is None else args.learning_rate,
    )
    print(step.text())
    return 0


def _explain_model_step(args) -> int:
    """Train the reference model for ``--step - 1`` batches (of ``--batch-size``,
    drawn without replacement in an order fixed by ``--seed``, epoch after
    epoch), then explain the next one for ``--weight``."""
    import numpy as np

    from gradstep.lab.explain_model import explain_step

    if args.step < 1:
        raise ValueError(f"--step must be at least 1, received {args.step}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, received {args.batch_size}")
    weight, index = _weight_entry(args.weight)
    data = datasets.load_dataset(args.dataset)
    from gradstep import backend

    backend.clear_session(free_memory=False)  # layer names as in a new session: dense, dense_1
    model = _reference_model(argparse.Namespace(**{**vars(args), "target": None}), data)
    x, y = data.x_train, data.y_train
    batches = _seeded_batches(len(x), args.batch_size, np.random.default_rng(args.seed))
    for _ in range(args.step - 1):
        rows = next(batches)
        model.train_on_batch(x[rows], y[rows])
    rows = next(batches)
    print(
        f"{args.dataset}: the reference model, {args.step - 1} steps of {args.optimizer} "
        f"with batches of {args.batch_size} (seed {args.seed}), then step {args.step}:\n"
    )
    print(explain_step(model, x[rows], y[rows], weight=weight, index=index).text())
    return 0


def _weight_entry(text: str) -> tuple[str, tuple[int, ...]]:
    """``"dense/kernel[3,5]"`` -> ``("dense/kernel", (3, 5))``."""
    import re

    match = re.fullmatch(r"\s*([^\[\]]+?)\s*\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]\s*", text)
    if match is None:
        raise ValueError(
            "--weight must be a weight's path and one entry's index, e.g. dense/kernel[3,5] "
            f"or dense/bias[2], received {text!r}"
        )
    return match.group(1), tuple(int(i) for i in match.group(2).split(","))


def _seeded_batches(count: int, batch_size: int, rng):
    """Row indices of successive batches: a new permutation each epoch."""
    while True:
        order = rng.permutation(count)
        for start in range(0, count, batch_size):
            yield order[start : start + batch_size]


def _weights(text: str):
    import json

    if text.strip().startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"--weights is not valid JSON: {error}") from None
    return _numbers(text, "--weights")


# --- the playground ---------------------------------------------------------------------
def _add_playground_parser(commands) -> None:
    playground = commands.add_parser(
        "playground",
        help="a local web page where a small network learns a 2-D data set live",
        description="Serve the playground on --host (127.0.0.1: this computer only) and print "
        "its URL, with a random token that every request must carry. Ctrl-C stops it. "
        "Needs the playground extra: pip install 'gradstep[playground]'.",
    )
    playground.add_argument("--host", default="127.0.0.1")
    playground.add_argument("--port", type=int, default=0, help="0: any free port")
    browser = playground.add_mutually_exclusive_group()
    browser.add_argument(
        "--open", action="store_true", dest="open_browser", help="open the page in the browser"
    )
    browser.add_argument(
        "--no-browser",
        action="store_false",
        dest="open_browser",
        help="only print the URL (the default)",
    )
    playground.set_defaults(handler=run_playground)


def run_playground(args) -> int:
    try:
        from gradstep.playground import server
    except ImportError as error:
        print(
            f"gradstep: error: the playground needs aiohttp ({error}): "
            "pip install 'gradstep[playground]'",
            file=sys.stderr,
        )
        return 1
    try:
        server.serve(host=args.host, port=args.port, open_browser=args.open_browser)
    except OSError as error:  # the port is taken, the host is not this machine's, ...
        print(f"gradstep: error: cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0
