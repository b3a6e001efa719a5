"""One page's training run: its data, its model, its randomness, its history.

A ``Session`` owns everything it trains with: the model (whose seed draws
the initial weights and the dropout masks) and the generator of the batch
order, both from the session's seed. Nothing is global, so sessions in one
process never see each other, and ``rewind()`` replays a run exactly.

Training goes batch by batch: each epoch draws one permutation of the
training points (``numpy.random.default_rng(seed)``, one ``permutation`` per
epoch) and takes batches of ``batch_size`` from it in order (the last one
smaller), one ``train_on_batch`` each; an optimizer that uses the whole set
(GD, L-BFGS) takes it as one batch. The exported scripts (``export.py``)
repeat exactly that loop.

The losses recorded per epoch (and shown now in ``frame``) are the model's
loss on the whole training and test sets in inference mode (no dropout),
with the regularization penalty, as ``evaluate`` reports it.
"""

from __future__ import annotations

import math
import secrets
import threading

import numpy as np

from gradstep.lab.explain_model import explain_step
from gradstep.layers.core import Dense
from gradstep.playground import choices
from gradstep.playground.datasets import (
    CLASSIFICATION,
    PlaneData,
    feature_matrix,
    make_dataset,
    parse_csv,
)
from gradstep.validation import check_int

validate_config = choices.validate_config

#: Sessions in several threads take turns inside gradstep: its training keeps
#: process-wide bookkeeping (the BLAS thread limit in effect and threadpoolctl's
#: limits, entered and left around each step) that steps overlapping in two
#: threads would leave set after both ended. Their numbers were right without
#: the lock; the bookkeeping was not (tests/test_config.py saw it).
ENGINE_LOCK = threading.RLock()

#: The most points a history sends in one frame (longer ones are thinned).
MAX_HISTORY_POINTS = 500
MAX_GRID = 200
CSV_MAX_BYTES = 2_000_000
CSV_MAX_ROWS = 10_000


class Session:
    """A training run the page drives.

    Args:
        config: the page's choices (see ``gradstep.playground.choices``);
            missing fields take their defaults. A ``seed`` of None draws one.
    """

    def __init__(self, config: dict | None = None):
        self._csv: PlaneData | None = None
        self.configure(config or {})

    @staticmethod
    def catalog() -> dict:
        """Everything the page may choose (see ``choices.catalog``)."""
        return choices.catalog()

    # --- the choices ---------------------------------------------------------------------
    def configure(self, config: dict) -> dict:
        """Take new choices (checked; an uploaded CSV stays) and start over
        from the config's seed (or, when it has none, the current one).
        When the data set's task changes (circle to plane), a loss of the old
        task gives way to the new task's default. Returns the checked config."""
        csv_task = self._csv.task if self._csv else None
        checked = validate_config(self._loss_for_task(config, csv_task), csv_task)
        if checked["seed"] is None:
            checked["seed"] = getattr(self, "seed", None)
            if checked["seed"] is None:
                checked["seed"] = _new_seed()
        self.config = checked
        self.data = self._csv if checked["dataset"] == "csv" else self._make_data(checked)
        self.task = self.data.task
        self.x_train = feature_matrix(self.data.train_points, checked["features"])
        self.x_test = feature_matrix(self.data.test_points, checked["features"])
        self.y_train = self.data.train_targets.astype(np.float32).reshape(-1, 1)
        self.y_test = self.data.test_targets.astype(np.float32).reshape(-1, 1)
        self.reset(checked["seed"])
        return dict(self.config)

    def _loss_for_task(self, config, csv_task: str | None):
        """``config`` with its loss left to the default when it belongs to the
        task the session had and the new data set has another."""
        if not isinstance(config, dict) or not hasattr(self, "task"):
            return config
        dataset = config.get("dataset", choices.DEFAULT_CONFIG["dataset"])
        known = isinstance(dataset, str) and (dataset in choices.DATASETS or dataset == "csv")
        if not known or (dataset == "csv" and csv_task is None):
            return config  # validate_config names the problem
        task = choices.task_of({"dataset": dataset}, csv_task)
        loss = config.get("loss")
        if task != self.task and loss in choices.LOSSES[self.task]:
            if loss not in choices.LOSSES[task]:
                return {**config, "loss": None}
        return config

    @staticmethod
    def _make_data(config: dict) -> PlaneData:
        return make_dataset(
            config["dataset"],
            samples=config["samples"],
            noise=config["noise"],
            test_ratio=config["test_ratio"],
            seed=config["data_seed"],
        )

    def set_data_from_csv(
        self,
        data: bytes,
        x1: str,
        x2: str,
        target: str,
        *,
        max_bytes: int = CSV_MAX_BYTES,
        max_rows: int = CSV_MAX_ROWS,
    ) -> dict:
        """Train on a CSV file (see ``datasets.parse_csv``); the loss becomes
        the task's default when the current one does not fit it. Returns the
        checked config. A bad file raises ValueError and changes nothing."""
        parsed = parse_csv(
            data,
            x1,
            x2,
            target,
            max_bytes=max_bytes,
            max_rows=max_rows,
            test_ratio=self.config["test_ratio"],
            seed=self.config["data_seed"],
        )
        config = {**self.config, "dataset": "csv"}
        if config["loss"] not in choices.LOSSES[parsed.task]:
            config["loss"] = None
        previous, self._csv = self._csv, parsed
        try:
            return self.configure(config)
        except ValueError:
            self._csv = previous
            raise

    # --- starting over -------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> int:
        """New initial weights from ``seed`` (None: a new random seed); the
        history starts again. Returns the seed."""
        if seed is None:
            seed = _new_seed()
        seed = check_int(seed, "seed", minimum=0)
        if seed > choices.MAX_SEED:
            raise ValueError(f"seed must be at most {choices.MAX_SEED}, received {seed}")
        self.seed = seed
        self.config["seed"] = seed
        with ENGINE_LOCK:
            self.model = choices.build_model(self.config, self.task, seed)
        self.initial_weights = [w.copy() for w in self.model.get_weights()]
        self._order_rng = np.random.default_rng(seed)
        self.steps = 0
        self.epochs = 0
        self.diverged: str | None = None
        self._order = self._order_rng.permutation(len(self.x_train))
        self._batch = 0
        self._learning_rates = _Series()  # by update, from 0
        self._train_losses = _Series()  # by epoch, from 0 (before training)
        self._test_losses = _Series()
        self._evaluated_at: int | None = None
        self._record_losses()
        return seed

    def rewind(self) -> int:
        """Back to the initial weights of the last reset: the same run again."""
        return self.reset(self.seed)

    # --- training ------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        """The batch size in use: the config's, or the whole set for GD and L-BFGS."""
        if self.model.optimizer.full_batch:
            return len(self.x_train)
        return min(self.config["batch_size"], len(self.x_train))

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.x_train) / self.batch_size)

    def next_batch(self) -> np.ndarray:
        """The indices (into the training set) of the next step's batch."""
        start = self._batch * self.batch_size
        return self._order[start : start + self.batch_size]

    def step(self) -> float | None:
        """One optimizer step on the next batch; its loss, or None once the
        run has diverged (``diverged`` says how)."""
        if self.diverged is not None:
            return None
        rows = self.next_batch()
        self._learning_rates.append(self.steps, float(self.model.optimizer.learning_rate))
        with ENGINE_LOCK, np.errstate(all="ignore"):  # divergence is reported, not warned
            loss = float(self.model.train_on_batch(self.x_train[rows], self.y_train[rows]))
        self.steps += 1
        self._batch += 1
        if self._batch == self.steps_per_epoch:
            self._batch = 0
            self.epochs += 1
            self._order = self._order_rng.permutation(len(self.x_train))
            self._record_losses()
        if not math.isfinite(loss):
            self._diverge(f"the batch loss became {loss}")
        return loss

    def train(self, steps: int) -> int:
        """Up to ``steps`` steps (fewer if the run diverges); how many were taken."""
        steps = check_int(steps, "steps", minimum=0)
        taken = 0
        while taken < steps and self.step() is not None:
            taken += 1
        return taken

    def epoch(self) -> int:
        """Steps to the end of the current epoch (a whole one at its start);
        how many were taken."""
        return self.train(self.steps_per_epoch - self._batch)

    def _diverge(self, what: str) -> None:
        self.diverged = (
            f"Training diverged at step {self.steps} (epoch {self.epochs + 1}): {what}. "
            f"Lower the learning rate ({self.config['learning_rate']:g}) and reset or rewind."
        )

    def _record_losses(self) -> None:
        train, test = self.losses()
        self._train_losses.append(self.epochs, train)
        self._test_losses.append(self.epochs, test)
        if self.diverged is None and not (math.isfinite(train) and math.isfinite(test)):
            self._diverge(f"the training loss became {train}")

    def losses(self) -> tuple[float, float]:
        """The loss on the whole training set and on the whole test set now."""
        if self._evaluated_at != self.steps:
            with ENGINE_LOCK, np.errstate(all="ignore"):
                self._current_losses = (
                    float(self.model.test_on_batch(self.x_train, self.y_train)),
                    float(self.model.test_on_batch(self.x_test, self.y_test)),
                )
            self._evaluated_at = self.steps
        return self._current_losses

    def learning_rates(self) -> list[float]:
        """The learning rate of each step taken."""
        return list(self._learning_rates.values)

    @property
    def train_losses(self) -> list[float]:
        """The loss on the training set before training and after each epoch
        (every other one, then every fourth, ... once there are many)."""
        return list(self._train_losses.values)

    @property
    def test_losses(self) -> list[float]:
        """The loss on the test set, at the epochs of ``train_losses``."""
        return list(self._test_losses.values)

    def schedule_preview(self, steps: int) -> list[float]:
        """The learning rate of each of the first ``steps`` updates, as the
        config's schedule gives it (the page draws it before training)."""
        steps = check_int(steps, "steps", minimum=1)
        if steps > 100_000:
            raise ValueError(f"steps must be at most 100000, received {steps}")
        schedule = choices.build_schedule(self.config)
        if not callable(schedule):
            return [float(schedule)] * steps
        return [float(schedule(step)) for step in range(steps)]

    # --- what the page draws -------------------------------------------------------------
    def points(self) -> dict:
        """The data as plain lists: ``train`` and ``test`` rows ``[x1, x2, target]``."""
        return {
            "task": self.task,
            "bounds": list(self.data.bounds),
            "train": _rows(self.data.train_points, self.data.train_targets),
            "test": _rows(self.data.test_points, self.data.test_targets),
        }

    def frame(self, grid: int = 40, neuron_grid: int = 20) -> dict:
        """Everything the page draws now, as plain data (JSON; a value that
        is not finite is None; the maps and weights are rounded to 4
        decimals, losses and learning rates to 5 significant digits).

        ``boundary.values`` is the network's output over a ``grid`` x ``grid``
        plane, row-major, the first row at the top (largest x2), each value at
        its cell's centre; for classification it is the probability of class 1
        (in [0, 1]), for regression the predicted value. ``neurons`` holds the
        same for each hidden unit on a ``neuron_grid`` plane (layer by layer),
        ``inputs`` each input feature's value there. ``train_accuracy`` and
        ``test_accuracy``: the share of points classified right (None for
        regression).
        """
        grid = _check_grid(grid, "grid")
        neuron_grid = _check_grid(neuron_grid, "neuron_grid")
        train, test = self.losses()
        outputs = self._layer_outputs(self._plane(grid))
        neurons = self._layer_outputs(self._plane(neuron_grid))
        return {
            "epoch": self.epochs,
            "step": self.steps,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "steps_per_epoch": self.steps_per_epoch,
            "train_loss": _finite_or_none(train),
            "test_loss": _finite_or_none(test),
            "train_accuracy": self._accuracy(self.data.train_points, self.data.train_targets),
            "test_accuracy": self._accuracy(self.data.test_points, self.data.test_targets),
            "history": {
                "epochs": _thinned(self._train_losses.positions),
                "train_loss": _clean(_thinned(self._train_losses.values)),
                "test_loss": _clean(_thinned(self._test_losses.values)),
                "learning_rate_steps": _thinned([x + 1 for x in self._learning_rates.positions]),
                "learning_rate": _clean(_thinned(self._learning_rates.values)),
            },
            "boundary": {
                "grid": grid,
                "bounds": list(self.data.bounds),
                "values": _rounded(self._as_output(outputs[-1])),
                "range": self._output_range(),
            },
            "inputs": [_rounded(column) for column in self._plane_features(neuron_grid).T],
            "neurons": {
                "grid": neuron_grid,
                "layers": [[_rounded(unit) for unit in layer.T] for layer in neurons[:-1]],
            },
            "weights": self.weights(),
            "diagnostics": self.diagnostics(),
            "diverged": self.diverged,
        }

    def _plane(self, grid: int) -> np.ndarray:
        x1_min, x1_max, x2_min, x2_max = self.data.bounds
        centres = (np.arange(grid) + 0.5) / grid
        x1 = x1_min + centres * (x1_max - x1_min)
        x2 = x2_max - centres * (x2_max - x2_min)
        rows, columns = np.meshgrid(x2, x1, indexing="ij")
        return np.stack([columns.ravel(), rows.ravel()], axis=1)

    def _plane_features(self, grid: int) -> np.ndarray:
        return feature_matrix(self._plane(grid), self.config["features"])

    def _dense_layers(self) -> list:
        return [layer for layer in self.model.layers if isinstance(layer, Dense)]

    def _layer_outputs(self, plane: np.ndarray) -> list[np.ndarray]:
        """Each Dense layer's outputs over the plane's points, in inference
        (dropout passes inputs through), computed from the weights."""
        values = feature_matrix(plane, self.config["features"])
        outputs = []
        for layer, activation in zip(self._dense_layers(), self._activations(), strict=True):
            kernel, bias = layer.get_weights()
            with np.errstate(all="ignore"):
                values = np.asarray(activation(values @ kernel + bias), dtype=np.float32)
            outputs.append(values)
        return outputs

    def _activations(self) -> list:
        hidden = choices.activation_function(self.config["activation"])
        output = choices.activation_function(choices.output_activation(self.config, self.task))
        return [hidden] * len(self.config["hidden_layers"]) + [output]

    def _as_output(self, values: np.ndarray) -> np.ndarray:
        """Classification outputs as the probability of class 1 (a tanh output,
        for hinge losses, maps from [-1, 1])."""
        if choices.output_activation(self.config, self.task) == "tanh":
            return (values + 1) / 2
        return values

    def _accuracy(self, points: np.ndarray, targets: np.ndarray) -> float | None:
        """The share of points on the right side of the boundary (None for regression)."""
        if self.task != CLASSIFICATION:
            return None
        probability = self._as_output(self._layer_outputs(points)[-1]).ravel()
        return float(np.mean((probability >= 0.5) == (targets == 1)))

    def _output_range(self) -> list[float]:
        if self.task == CLASSIFICATION:
            return [0.0, 1.0]
        targets = np.concatenate([self.data.train_targets, self.data.test_targets])
        return [float(targets.min()), float(targets.max())]

    def weights(self) -> list[dict]:
        """Each Dense layer's kernel (rows: its inputs, columns: its units) and bias."""
        return [
            {
                "layer": layer.name,
                "kernel": [_rounded(row) for row in kernel],
                "bias": _rounded(bias),
            }
            for layer in self._dense_layers()
            for kernel, bias in [layer.get_weights()]
        ]

    def diagnostics(self) -> list[dict]:
        """Per Dense layer: the norm of its gradient on the whole training set
        (kernel and bias together) and, for a ReLU layer, the fraction of its
        units that are zero on every training point (dead).

        The gradient's forward pass is in training mode, so it draws dropout
        masks; the model's generators are put back after it, so the run
        continues as if it had not been looked at.
        """
        state = self.model.get_training_state()
        try:
            with ENGINE_LOCK, np.errstate(all="ignore"):
                _, gradients = self.model.gradients(self.x_train, self.y_train)
        finally:
            self.model.set_training_state(state)
        squares: dict[str, float] = {}
        for path, _, gradient in gradients:
            layer = path.rsplit("/", 1)[0]
            squares[layer] = squares.get(layer, 0.0) + float(
                np.sum(np.square(gradient, dtype=float))
            )
        outputs = self._layer_outputs(self.data.train_points)
        relu = self.config["activation"] == "relu"
        rows = []
        for index, layer in enumerate(self._dense_layers()):
            hidden = index < len(self.config["hidden_layers"])
            dead = float(np.mean(np.all(outputs[index] == 0, axis=0))) if relu and hidden else None
            rows.append(
                {
                    "layer": layer.name,
                    "gradient_norm": _finite_or_none(math.sqrt(squares.get(layer.name, 0.0))),
                    "dead_fraction": dead,
                }
            )
        return rows

    # --- explaining one update -----------------------------------------------------------
    def explain(self, layer: int, row: int, column: int) -> str:
        """HTML: the arithmetic of the next step's update of kernel entry
        ``[row, column]`` of Dense layer ``layer`` (0: the first hidden layer,
        as ``weights()`` orders them), on the next batch
        (``gradstep.lab.explain_step``; the model is left as it was)."""
        dense = self._dense_layers()
        layer = check_int(layer, "layer", minimum=0)
        if layer >= len(dense):
            raise ValueError(
                f"layer must be below {len(dense)} (the Dense layers), received {layer}"
            )
        kernel = dense[layer].get_weights()[0]
        row, column = check_int(row, "row", minimum=0), check_int(column, "column", minimum=0)
        if row >= kernel.shape[0] or column >= kernel.shape[1]:
            raise ValueError(
                f"row and column must name an entry of {dense[layer].name}'s kernel, of shape "
                f"{kernel.shape}, received row {row} and column {column}"
            )
        if self.diverged is not None:
            raise ValueError(f"there is no next step to explain: {self.diverged}")
        rows = self.next_batch()
        with ENGINE_LOCK:
            explanation = explain_step(
                self.model,
                self.x_train[rows],
                self.y_train[rows],
                weight=f"{dense[layer].name}/kernel",
                index=(row, column),
            )
        return explanation.html()


class _Series:
    """Values at evenly spaced positions (epochs, updates), at most
    ``MAX_KEPT``: when full, every other one goes and the spacing doubles, so
    a session that trains all day holds a few thousand numbers."""

    MAX_KEPT = 2000

    def __init__(self):
        self.positions: list[int] = []
        self.values: list[float] = []
        self.spacing = 1

    def append(self, position: int, value: float) -> None:
        if position % self.spacing:
            return
        self.positions.append(position)
        self.values.append(value)
        if len(self.values) > self.MAX_KEPT:
            self.positions, self.values = self.positions[::2], self.values[::2]
            self.spacing *= 2


def _new_seed() -> int:
    return secrets.randbelow(choices.MAX_SEED + 1)


def _check_grid(grid, argument: str) -> int:
    grid = check_int(grid, argument, minimum=2)
    if grid > MAX_GRID:
        raise ValueError(f"{argument} must be at most {MAX_GRID}, received {grid}")
    return grid


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _clean(values) -> list:
    """Numbers that vary in scale (losses, learning rates) rounded to 5
    significant digits; None where not finite."""
    array = np.asarray(values, dtype=np.float64)
    rounded = [float(f"{v:.5g}") for v in array.ravel()]
    return [v if math.isfinite(v) else None for v in rounded]


def _rounded(values) -> list:
    """Values to draw (outputs, weights) rounded to 4 decimals; None where not finite."""
    array = np.round(np.asarray(values, dtype=np.float64).ravel(), 4)
    if np.isfinite(array).all():
        return array.tolist()
    return [float(v) if math.isfinite(v) else None for v in array]


def _thinned(values: list) -> list:
    """At most ``MAX_HISTORY_POINTS`` evenly spread entries, the last always in."""
    if len(values) <= MAX_HISTORY_POINTS:
        return list(values)
    picks = np.linspace(0, len(values) - 1, MAX_HISTORY_POINTS).round().astype(int)
    return [values[i] for i in picks]


def _rows(points: np.ndarray, targets: np.ndarray) -> list[list[float]]:
    return [[float(x1), float(x2), float(t)] for (x1, x2), t in zip(points, targets, strict=True)]
