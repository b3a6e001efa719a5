"""Sequential: a stack of layers, trained one batch at a time.

One training step, as in the lessons: forward through every layer, the loss
turns the errors into one number, its slope flows backward through every
layer (the chain rule), and the optimizer steps every weight downhill.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from gradstep import callbacks as callbacks_module
from gradstep import config, kernels, losses, optimizers
from gradstep import metrics as metrics_module
from gradstep.layers.base import Layer, unique_name
from gradstep.layers.core import InputLayer
from gradstep.seeding import model_generators
from gradstep.summary import print_summary
from gradstep.validation import (
    NotCompiledError,
    as_float_array,
    check_finite,
    check_fraction,
    check_name,
    check_non_negative_int,
    check_positive_int,
    check_same_length,
)


def _with_limited_blas_threads(method):
    """Run ``method`` with BLAS limited to ``config.blas_threads()`` threads, and
    the optimizer's kernels on the training loop's thread (``kernels.training_threads``)."""

    @functools.wraps(method)
    def limited(*args, **kwargs):
        with config.limit_blas_threads(args[0]._largest_weights()), kernels.training_threads():
            return method(*args, **kwargs)

    return limited


class Sequential:
    """A linear stack of layers, with Keras's API.

        >>> from gradstep import layers
        >>> model = Sequential([layers.Dense(2, input_shape=(3,))], seed=0)
        >>> model.count_params()
        8

    Args:
        layers: the layers, first to last.
        name: the model's name (``sequential``, ``sequential_1``, ... by default).
        seed: makes initial weights, shuffling and dropout reproducible.

    Attributes:
        terminate_on_nan: True by default: ``fit`` stops at the first batch
            whose loss or gradients are NaN or infinite, before the optimizer
            step (so the weights stay those from before that batch), prints
            which epoch and batch, and records it in ``diverged_at``. Set it to
            False for Keras's behaviour (train on, whatever the loss).
        diverged_at: ``(epoch, batch)`` (0-based) where the last ``fit``
            stopped because of NaN or infinite values, else None.
    """

    def __init__(self, layers=None, trainable=True, name=None, seed=None):
        self.name = name or unique_name("sequential")
        self.trainable = trainable
        self.seed = seed
        self._generators = model_generators(seed)
        self._input_layer: InputLayer | None = None
        self._layers: list[Layer] = []
        self.built = False
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self.terminate_on_nan = True
        self.diverged_at: tuple[int, int] | None = None
        for layer in layers or []:
            self.add(layer)

    # --- structure --------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The model's layers, first to last (an ``Input`` is not one of them)."""
        return list(self._layers)

    def add(self, layer: Layer) -> None:
        """Append a layer; the model builds as soon as the input shape is known."""
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a gradstep layer, received {layer!r}")
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("An Input can only be the first entry of a Sequential model")
            self._input_layer = layer
            return
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError(f"All layers of a model need unique names; {layer.name!r} is taken")
        self._layers.append(layer)
        self.built = False
        shape = self._declared_input_shape()
        if shape is not None:
            self.build((None,) + shape)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        layer = self._layers.pop()
        self.built = False
        return layer

    def _declared_input_shape(self) -> tuple | None:
        if self._input_layer is not None:
            return self._input_layer.input_shape_arg
        if self._layers and self._layers[0].input_shape_arg is not None:
            return self._layers[0].input_shape_arg
        return None

    def build(self, input_shape=None) -> None:
        """Create every layer's weights for inputs of ``input_shape`` (batch axis first)."""
        if input_shape is None:
            declared = self._declared_input_shape()
            if declared is None:
                raise ValueError(
                    "build() needs input_shape when no layer declares it "
                    "(give the first layer input_shape=... or start with Input(shape=...))"
                )
            input_shape = (None,) + declared
        shape = tuple(input_shape)
        self.input_shape = shape
        for layer in self._layers:
            if not layer.built:
                if layer.rng is None:
                    layer.rng = self._generators["dropout" if _uses_noise(layer) else "init"]
                layer.build(shape)
            shape = layer.output_shape
        self.output_shape = shape
        self.built = True

    def _build_from_data(self, x: np.ndarray) -> None:
        if not self.built:
            if not self._layers:
                raise ValueError("The model has no layers: add() some before training")
            if x.dtype == np.float64 and config.floatx() == "float32":
                for layer in self._layers:
                    layer.dtype = layer.dtype or "float64"
            self.build((None,) + x.shape[1:])

    @property
    def dtype(self) -> str:
        """The dtype of the weights (``'float32'`` unless set otherwise)."""
        for layer in self._layers:
            if layer.weights:
                return layer.weights[0].dtype.name
        return self._layers[0].dtype if self._layers and self._layers[0].dtype else config.floatx()

    @property
    def weights(self) -> list[np.ndarray]:
        """Every layer's weight arrays, in order (the arrays themselves, not copies)."""
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The weight arrays the optimizer updates."""
        if not self.trainable:
            return []
        return [w for layer in self._layers for w in layer.trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight array, in layer order: kernel, then bias."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` (as returned by ``get_weights``) into the model, in place."""
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(weights) != expected:
            raise ValueError(
                f"Model {self.name!r} expects {expected} weight arrays, received {len(weights)}"
            )
        position = 0
        for layer in self._layers:
            count = len(layer.weights)
            layer.set_weights(weights[position : position + count])
            position += count

    def count_params(self) -> int:
        """The number of weights in the model."""
        if not self.built:
            raise ValueError(
                f"Model {self.name!r} has not been built yet: call build() or fit() first"
            )
        return sum(layer.count_params() for layer in self._layers)

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs) -> None:
        """Print the classic Keras table of layers, output shapes and parameter counts."""
        if not self.built:
            raise ValueError(
                f"Model {self.name!r} has not been built yet: give the first layer input_shape, "
                "call build(input_shape), or fit() it before summary()"
            )
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    # --- compile ----------------------------------------------------------------------
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile="auto",
        auto_scale_loss=True,
    ):
        """Choose the optimizer, the loss and the metrics reported during training.

        ``run_eagerly``, ``steps_per_execution``, ``jit_compile`` and
        ``auto_scale_loss`` are accepted so that Keras programs run; gradstep
        always runs eagerly on NumPy, so they change nothing.
        """
        if loss is None:
            raise ValueError(
                "compile() needs a loss, e.g. loss='mse' or 'sparse_categorical_crossentropy'"
            )
        if loss_weights is not None or weighted_metrics is not None:
            raise ValueError(
                "loss_weights and weighted_metrics apply to multi-output models, "
                "which gradstep does not have yet; received a value for one of them"
            )
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        if metrics is not None and not isinstance(metrics, list | tuple):
            raise TypeError(f"metrics must be a list such as ['accuracy'], received {metrics!r}")
        for metric in metrics or []:
            _check_metric(metric)
        self._metric_identifiers = list(metrics or [])
        self._metrics: list[metrics_module.MeanMetricWrapper] | None = None
        self.compiled = True

    def get_compile_config(self) -> dict[str, Any] | None:
        """The compile settings as plain data (None before ``compile``): the
        optimizer's and the loss's class name and config, and the metric names."""
        if not self.compiled:
            return None
        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": losses.serialize(self.loss),
            "metrics": [_metric_name(metric) for metric in self._metric_identifiers],
        }

    def compile_from_config(self, config: dict[str, Any], custom_objects=None) -> None:
        """``compile`` with ``get_compile_config()``'s settings. Class names resolve
        through the ``OPTIMIZERS`` and ``LOSSES`` registries; a loss or metric of
        your own, through ``custom_objects`` (its saved name -> the function or class)."""
        custom_objects = dict(custom_objects or {})
        loss = config["loss"]
        self.compile(
            optimizer=optimizers.deserialize(config["optimizer"]),
            loss=losses.deserialize(loss, custom_objects)
            if isinstance(loss, dict)
            else losses.get(loss),
            metrics=[_saved_metric(name, custom_objects) for name in config["metrics"]],
        )

    @property
    def metrics_names(self) -> list[str]:
        """``['loss', *metrics]`` as compiled."""
        return ["loss"] + [
            m if isinstance(m, str) else getattr(m, "__name__", "metric")
            for m in self._metric_identifiers
        ]

    def _resolve_metrics(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        if self._metrics is None:
            self._metrics = [
                metrics_module.get(m, self.loss, y_true.shape, y_pred.shape)
                for m in self._metric_identifiers
            ]

    # --- one step ---------------------------------------------------------------------
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self._layers:
            x = layer.forward(x, training=training)
        return x

    def _backward(self, y_true, y_pred, sample_weight) -> float:
        """The loss, then the chain rule from the last layer to the first.

        When the last activation pairs with the loss (softmax with
        cross-entropy), the loss hands back the slope at the activation's
        input (``p - y``) and the last layer skips its activation's derivative.
        Returns the loss value. ``y_true`` has passed ``_check_targets``, so the
        loss does not check it again on every batch.
        """
        last = self._layers[-1]
        fusable = hasattr(last, "backward_from_pre_activation")
        activation_name = last.activation.name if fusable else None
        loss_value, grad, fused = self.loss._checked_value_and_gradient(
            y_true, y_pred, sample_weight, activation_name
        )
        remaining = self._layers[::-1]
        if fused:
            grad = last.backward_from_pre_activation(grad, input_gradient=len(remaining) > 1)
            remaining = remaining[1:]
        for position, layer in enumerate(remaining):
            is_first_layer = position == len(remaining) - 1
            grad = layer.backward(grad, input_gradient=not is_first_layer)
        return float(loss_value)

    def train_on_batch(self, x, y, sample_weight=None) -> dict[str, float]:
        """One gradient-descent step on one batch; returns the batch's loss and metrics."""
        self._check_compiled("train_on_batch")
        x, y = self._prepare_xy(x, y)
        self._reset_metrics()
        self._train_step(x, y, sample_weight)
        return self._logs()

    def _train_step(self, x, y, sample_weight, check_finite=False) -> str | None:
        """Forward, loss, backward, optimizer step. With ``check_finite``, a batch
        whose loss or gradients hold NaN or infinity is not applied (weights and
        optimizer stay as they were) and what was wrong is returned."""
        if self.optimizer.requires_closure:
            return self._closure_step(x, y, sample_weight, check_finite)
        y_pred = self._forward(x, training=True)
        loss_value = self._backward(y, y_pred, sample_weight)
        trained = self._trained_layers()
        params = [w for layer in trained for w in layer.trainable_weights]
        grads = [g for layer in trained for g in layer.grads]
        owners = [layer.name for layer in trained for _ in layer.grads]
        problem = _non_finite(loss_value, grads, owners) if check_finite else None
        if problem is None:
            self.optimizer.apply(grads, params, variable_names=self._weight_paths())
        self._update_metrics(y, y_pred, loss_value, len(x))
        return problem

    def _largest_weights(self) -> int:
        """Entries of the largest weight array (0 before the model is built)."""
        return max((w.size for w in self.weights), default=0)

    def _trained_layers(self) -> list[Layer]:
        """The layers whose weights the optimizer updates."""
        return [layer for layer in self._layers if layer.trainable and self.trainable]

    def _weight_paths(self) -> list[str]:
        """``"dense/kernel"``, ... for the trainable weights, in the optimizer's order."""
        return [
            f"{layer.name}/{name}"
            for layer in self._trained_layers()
            for name in layer._weight_names
        ]

    def _closure_step(self, x, y, sample_weight, check_finite=False) -> str | None:
        """One step of an optimizer that re-evaluates the loss (L-BFGS): it calls
        the closure, a forward and backward pass on this batch, as often as it
        needs. The loss and metrics logged are those before the step. With
        ``check_finite``, NaN or infinity at the first evaluation (the weights as
        they are) abandons the step before the optimizer moves anything."""
        trained = self._trained_layers()
        owners = [layer.name for layer in trained for _ in layer.trainable_weights]
        first_pass = []

        def closure():
            y_pred = self._forward(x, training=True)
            loss_value = self._backward(y, y_pred, sample_weight)
            grads = [g for layer in trained for g in layer.grads]
            if not first_pass:
                first_pass.append((y_pred, loss_value))
                problem = _non_finite(loss_value, grads, owners) if check_finite else None
                if problem is not None:
                    raise _NonFinite(problem)
            return loss_value, grads

        params = [w for layer in trained for w in layer.trainable_weights]
        problem = None
        try:
            self.optimizer.step(closure, params, variable_names=self._weight_paths())
        except _NonFinite as non_finite:
            problem = str(non_finite)
        y_pred, loss_value = first_pass[0]
        self._update_metrics(y, y_pred, loss_value, len(x))
        return problem

    def _update_metrics(self, y, y_pred, loss_value, batch_size) -> None:
        self._loss_tracker.update_state(loss_value, sample_weight=batch_size)
        self._resolve_metrics(y, y_pred)
        for metric in self._metrics:
            metric.update_state(y, y_pred)

    def _reset_metrics(self) -> None:
        self._loss_tracker = metrics_module.Mean("loss")
        for metric in self._metrics or []:
            metric.reset_state()

    def _logs(self) -> dict[str, float]:
        """The loss and metrics so far, in Keras's order: sorted by name."""
        logs = {"loss": self._loss_tracker.result()}
        for metric in self._metrics or []:
            logs[metric.name] = metric.result()
        return dict(sorted(logs.items()))

    # --- fit --------------------------------------------------------------------------
    @_with_limited_blas_threads
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
    ):
        """Train for ``epochs`` passes over the data, one optimizer step per batch.

        Returns:
            A ``History`` whose ``history`` maps
            ``'loss'``, each metric and their ``val_`` versions to per-epoch lists.
        """
        self._check_compiled("fit")
        requested_batch_size = batch_size
        batch_size = check_positive_int(32 if batch_size is None else batch_size, "batch_size")
        epochs = check_positive_int(epochs, "epochs")
        initial_epoch = check_non_negative_int(initial_epoch, "initial_epoch")
        check_fraction(validation_split, "validation_split")
        if steps_per_epoch is not None or validation_steps is not None:
            raise ValueError(
                "steps_per_epoch and validation_steps apply to generators, which "
                "gradstep does not take yet; pass arrays and leave them None"
            )
        x, y = self._prepare_xy(x, y)
        sample_weight = _sample_weights(sample_weight, class_weight, y, len(x))
        if validation_data is None and validation_split:
            x, y, sample_weight, validation_data = _split_validation(
                x, y, sample_weight, validation_split
            )
        if validation_data is not None:
            validation_data = self._prepare_validation(validation_data)
        if self.optimizer.full_batch:
            batch_size = _full_batch_size(requested_batch_size, len(x), self.optimizer)
            shuffle = False

        steps = math.ceil(len(x) / batch_size)
        history = callbacks_module.History()
        callback_list = self._callback_list(callbacks, history, verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        self.diverged_at = None
        self._reset_metrics()
        callback_list.on_train_begin()
        # BackupAndRestore sets _initial_epoch when it resumes an interrupted fit (as Keras).
        initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch
        self._initial_epoch = None
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            callback_list.on_epoch_begin(epoch)
            order = self._generators["shuffle"].permutation(len(x)) if shuffle else None
            for step in range(steps):
                batch = _batch_indices(order, step, batch_size, len(x))
                callback_list.on_train_batch_begin(step)
                weights = None if sample_weight is None else sample_weight[batch]
                problem = self._train_step(x[batch], y[batch], weights, self.terminate_on_nan)
                callback_list.on_train_batch_end(step, self._logs())
                if problem is not None:
                    self._stop_diverged(epoch, step, problem)
                if self.stop_training:
                    break
            epoch_logs = self._logs()
            if validation_data is not None and (epoch + 1) % validation_freq == 0:
                # The callbacks see the validation as an evaluate (on_test_*), as in Keras.
                val_logs = self._evaluate_arrays(
                    *validation_data, validation_batch_size or batch_size, callback_list
                )
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        if epochs > initial_epoch:
            self.optimizer.finalize_variable_values(self.trainable_weights)
        callback_list.on_train_end(logs=epoch_logs if epochs > initial_epoch else None)
        return history

    def _stop_diverged(self, epoch: int, step: int, problem: str) -> None:
        """Stop ``fit`` at a batch whose loss or gradients are not finite, and say why."""
        self.diverged_at = (epoch, step)
        self.stop_training = True
        print(
            f"Epoch {epoch + 1}, batch {step + 1}: Invalid loss, terminating training: {problem}. "
            "The weights are those from before this batch (its step was not applied). "
            f"Training diverged: try a lower learning rate (it is {self.optimizer.learning_rate:g})"
            ", or, for a classifier whose outputs saturate, a linear last layer with "
            "from_logits=True in the loss. (model.terminate_on_nan = False trains on instead.)",
            flush=True,
        )

    def _callback_list(self, callbacks, history, verbose, **params):
        verbose = _verbosity(verbose)
        chosen = list(callbacks or [])
        if verbose and not any(isinstance(c, callbacks_module.ProgbarLogger) for c in chosen):
            chosen.append(callbacks_module.ProgbarLogger(verbose))
        if history is not None:
            chosen.append(history)
        return callbacks_module.CallbackList(chosen, model=self, verbose=verbose, **params)

    # --- evaluate and predict ---------------------------------------------------------
    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose="auto",
        sample_weight=None,
        steps=None,
        callbacks=None,
        return_dict=False,
    ):
        """The loss (and metrics) on ``x, y``, without training.

        Returns:
            The loss as a float, or ``[loss, *metrics]`` when metrics were
            compiled, or a dict when ``return_dict=True``.
        """
        self._check_compiled("evaluate")
        batch_size = check_positive_int(32 if batch_size is None else batch_size, "batch_size")
        x, y = self._prepare_xy(x, y)
        weights = _sample_weights(sample_weight, None, y, len(x))
        callback_list = self._callback_list(
            callbacks, None, verbose, steps=math.ceil(len(x) / batch_size)
        )
        with config.limit_blas_threads(self._largest_weights()):
            logs = self._evaluate_arrays(x, y, weights, batch_size, callback_list)
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[metric.name] for metric in self._metrics or []]
        return values[0] if len(values) == 1 else values

    def _evaluate_arrays(self, x, y, sample_weight, batch_size, callback_list):
        self._reset_metrics()
        if callback_list is not None:
            callback_list.on_test_begin()
        for step, start in enumerate(range(0, len(x), batch_size)):
            batch = slice(start, start + batch_size)
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            y_pred = self._forward(x[batch], training=False)
            weights = None if sample_weight is None else sample_weight[batch]
            loss_value = float(self.loss(y[batch], y_pred, weights))
            self._update_metrics(y[batch], y_pred, loss_value, len(y_pred))
            if callback_list is not None:
                callback_list.on_test_batch_end(step, self._logs())
        logs = self._logs()
        if callback_list is not None:
            callback_list.on_test_end(logs)
        return logs

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x``, computed batch by batch (no training)."""
        batch_size = check_positive_int(32 if batch_size is None else batch_size, "batch_size")
        x = self._prepare_x(x)
        callback_list = self._callback_list(
            callbacks, None, verbose, steps=math.ceil(len(x) / batch_size)
        )
        callback_list.on_predict_begin()
        outputs = []
        with config.limit_blas_threads(self._largest_weights()):
            for step, start in enumerate(range(0, len(x), batch_size)):
                callback_list.on_predict_batch_begin(step)
                outputs.append(self._forward(x[start : start + batch_size], training=False))
                callback_list.on_predict_batch_end(step, {})
        callback_list.on_predict_end()
        return np.concatenate(outputs, axis=0)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, in one forward pass."""
        return self._forward(self._prepare_x(x), training=False)

    def __call__(self, x, training=False):
        return self._forward(self._prepare_x(x), training=training)

    # --- input checks -----------------------------------------------------------------
    def _check_compiled(self, method: str) -> None:
        if not self.compiled:
            raise NotCompiledError(
                f"You must call compile() before {method}(): e.g. "
                "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')"
            )

    def _prepare_x(self, x) -> np.ndarray:
        if x is None:
            raise ValueError("x is required: an array of samples, received None")
        dtype = None if not self.built else self.dtype
        x = as_float_array(x, "x", dtype=dtype)
        if x.ndim < 2:
            raise ValueError(
                f"x must have a batch axis and a feature axis, received shape {x.shape}"
            )
        self._build_from_data(x)
        x = x.astype(self.dtype, copy=False)
        expected = self.input_shape[1:]
        if x.shape[1:] != expected:
            raise ValueError(
                f"x has samples of shape {x.shape[1:]}, but the model expects {expected} "
                f"(input_shape of the first layer); received x of shape {x.shape}"
            )
        return x

    def _prepare_xy(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        x = self._prepare_x(x)
        if y is None:
            raise ValueError("y is required: the targets for x, received None")
        y = np.asarray(y)
        if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
            raise TypeError(f"y must hold numbers, received an array of dtype {y.dtype}")
        check_same_length(x, y)
        if np.issubdtype(y.dtype, np.floating):
            check_finite(y, "y")
            y = y.astype(self.dtype, copy=False)
        self._check_targets(y)
        return x, y

    def _check_targets(self, y: np.ndarray) -> None:
        """Let the loss check the targets once, so that bad labels fail before
        training; then the targets must have the output's shape (or be one
        integer label per sample), never merely broadcast against it."""
        probe = np.broadcast_to(np.array(0.5, dtype=self.dtype), (len(y),) + self.output_shape[1:])
        try:
            y_true, _ = self.loss.prepare(y, probe)
        except ValueError as error:
            raise ValueError(
                f"y does not fit the loss {self.loss.name!r} and the model's outputs of shape "
                f"{self.output_shape}: {error}"
            ) from error
        labels = np.issubdtype(y_true.dtype, np.integer) and y_true.shape == probe.shape[:-1]
        if y_true.shape != probe.shape and not labels:
            raise ValueError(
                f"y must hold one target of shape {self.output_shape[1:]} per sample (the model's "
                f"output shape) for the loss {self.loss.name!r}, received y of shape {y.shape}"
            )

    def _prepare_validation(self, validation_data):
        if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (x_val, y_val) or "
                "(x_val, y_val, val_sample_weight)"
            )
        try:
            x_val, y_val = self._prepare_xy(validation_data[0], validation_data[1])
        except (TypeError, ValueError) as error:
            raise type(error)(f"validation_data (x_val, y_val): {error}") from error
        weights = validation_data[2] if len(validation_data) == 3 else None
        return x_val, y_val, _sample_weights(weights, None, y_val, len(x_val))

    def get_config(self) -> dict[str, Any]:
        """The architecture as plain data: the name and each layer's class and config."""
        from gradstep.layers import LAYERS  # noqa: F401  (layers register themselves)

        entries = []
        if self._input_layer is not None:
            entries.append({"class_name": "InputLayer", "config": self._input_layer.get_config()})
        entries += [
            {"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in self._layers
        ]
        config = {"name": self.name, "trainable": self.trainable, "layers": entries}
        if self.built:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """The model that ``get_config()`` describes (new weights, not compiled).
        Class names resolve only through the ``LAYERS`` registry."""
        from gradstep.saving import model_from_config

        return model_from_config(config)

    # --- saving -----------------------------------------------------------------------
    def save(self, filepath, overwrite=True) -> None:
        """Write the model to one file (``.keras``, ``.gradstep`` or ``.safetensors``),
        atomically: architecture, compile settings, weights, optimizer state and
        random generator states, so that ``fit`` resumes exactly after
        ``gradstep.models.load_model``. See the file-format page."""
        from gradstep import saving

        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True) -> None:
        """Keras's ``save_weights``: writes the same file as ``save``."""
        from gradstep import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath) -> None:
        """Copy the weights (and, if compiled with the same optimizer class, the
        optimizer's state, and the generators' states) saved in ``filepath`` into
        this built model. Everything is checked first: on any error the model
        is left unchanged."""
        from gradstep import saving

        saving.load_weights(self, filepath)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True) -> Sequential:  # noqa: A002 (Keras's name)
    """The model saved by ``model.save(filepath)``, compiled (with its optimizer's
    state) unless ``compile=False``; ``custom_objects`` (name -> function or
    class) gives back a loss or metric of your own. Loading runs no code from
    the file; a bad file raises a ValueError naming the problem (see the
    file-format page)."""
    from gradstep import saving

    return saving.load_model(
        filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
    )


def _check_metric(metric) -> None:
    if isinstance(metric, str):
        check_name(
            metric, metrics_module.METRICS.names() + ["accuracy", "acc"], "metrics", "metric"
        )
    elif not (callable(metric) or isinstance(metric, metrics_module.Mean)):
        raise TypeError(
            f"each metric must be a name such as 'accuracy' or a function, received {metric!r}"
        )


def _saved_metric(name: str, custom_objects: dict[str, Any]):
    """A metric name from a file: your function from ``custom_objects``, or a
    built-in metric's name."""
    if name in custom_objects:
        return custom_objects[name]
    try:
        _check_metric(name)
    except ValueError as error:
        raise ValueError(
            f"{error} A metric function of your own comes back when you pass it, as "
            f"load_model(..., custom_objects={{{name!r}: {name}}})."
        ) from None
    return name


def _metric_name(metric) -> str:
    """The name a metric is saved under: its own, or a function's ``__name__``
    (which ``load_model(custom_objects=...)`` maps back to the function)."""
    if isinstance(metric, str):
        return metric
    name = getattr(metric, "__name__", None)
    if callable(metric) and isinstance(name, str) and name.isidentifier():
        return name
    raise ValueError(
        f"The metric {metric!r} has no name a saved file could hold (a lambda or an object); "
        "compile with metric names (e.g. 'accuracy', 'mae') or named functions to save the "
        "compile settings"
    )


class _NonFinite(Exception):
    """Raised by the closure to abandon an L-BFGS step at its first evaluation."""


def _non_finite(loss_value: float, grads: list[np.ndarray], owners: list[str]) -> str | None:
    """What is NaN or infinite among the loss and the gradients, or None."""
    if not math.isfinite(loss_value):
        return f"the loss is {loss_value}"
    for grad, owner in zip(grads, owners, strict=True):
        flat = grad.reshape(-1)
        # The sum of squares (BLAS's dot: one pass, no temporary array) is NaN or
        # infinite whenever an entry is; when finite entries overflow it, look closer.
        if not math.isfinite(np.dot(flat, flat)) and not np.isfinite(flat).all():
            return f"the gradient of layer {owner!r} holds NaN or infinite values"
    return None


def _uses_noise(layer: Layer) -> bool:
    from gradstep.layers.regularization import Dropout

    return isinstance(layer, Dropout)


def _verbosity(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, received {verbose!r}")
    return verbose


def _full_batch_size(requested, count, optimizer) -> int:
    """GD and L-BFGS take the whole data set as one batch."""
    if requested is not None and requested < count:
        raise ValueError(
            f"{type(optimizer).__name__} uses the whole data set ({count} samples) as one "
            f"batch; leave batch_size out, received batch_size={requested}"
        )
    return count


def _batch_indices(order, step, batch_size, count):
    start, stop = step * batch_size, min((step + 1) * batch_size, count)
    return slice(start, stop) if order is None else order[start:stop]


def _split_validation(x, y, sample_weight, validation_split):
    """Keras's rule: the last ``validation_split`` of the samples, before shuffling."""
    split_at = int(math.floor(len(x) * (1 - validation_split)))
    if split_at == 0 or split_at == len(x):
        raise ValueError(
            f"validation_split={validation_split} leaves no samples for training or validation "
            f"out of {len(x)}"
        )
    weights = None if sample_weight is None else sample_weight[split_at:]
    train_weights = None if sample_weight is None else sample_weight[:split_at]
    return x[:split_at], y[:split_at], train_weights, (x[split_at:], y[split_at:], weights)


def _sample_weights(sample_weight, class_weight, y, count):
    """Per-sample weights from ``sample_weight`` times ``class_weight[label]``."""
    weights = None
    if sample_weight is not None:
        weights = as_float_array(sample_weight, "sample_weight", dtype=np.float64)
        if weights.shape[0] != count:
            raise ValueError(
                f"sample_weight must have one weight per sample ({count}), "
                f"received shape {weights.shape}"
            )
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(
                f"class_weight must be a dict {{class: weight}}, received {class_weight!r}"
            )
        labels = np.asarray(y)
        if labels.ndim > 1 and labels.shape[-1] > 1:
            labels = np.argmax(labels, axis=-1)
        labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
        missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
        if missing:
            raise ValueError(
                f"class_weight has no weight for class {missing[0]}; "
                f"received weights for {sorted(class_weight)}"
            )
        per_class = np.array([class_weight[label] for label in labels.tolist()], dtype=np.float64)
        weights = per_class if weights is None else weights * per_class
    return weights
