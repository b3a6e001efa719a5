"""The ``gradstep`` command.

    gradstep train [--epochs 20] [--batch-size 32] [--optimizer adam] ...

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
    train.add_argument("--dataset", default="digits", choices=datasets.NAMES)
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
    train.add_argument("--hidden-units", type=int, default=512)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    train.set_defaults(handler=run_train)
    return parser


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


def run_train(args) -> int:
    from gradstep import callbacks, layers, models, optimizers

    (x_train, y_train), (x_test, y_test) = datasets.load(args.dataset)
    task = datasets.task_of(args.dataset)
    activation, default_loss, metrics = _TASK_DEFAULTS[task]
    units = int(y_train.max()) + 1 if task == "multiclass" else 1

    model = models.Sequential(seed=args.seed)
    model.add(layers.Dense(args.hidden_units, activation="relu", input_shape=x_train.shape[1:]))
    model.add(layers.Dense(units, activation=activation))
    optimizer = optimizers.get(args.optimizer)
    if args.learning_rate is not None:
        optimizer.learning_rate = args.learning_rate
    model.compile(optimizer=optimizer, loss=args.loss or default_loss, metrics=metrics)
    model.summary()
    divergence = callbacks.TerminateOnNaN()
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        verbose=args.verbose,
        callbacks=[divergence],
    )
    if divergence.terminated_at is not None:
        epoch, batch = divergence.terminated_at
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
