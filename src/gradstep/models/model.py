"""Model: one training loop for every kind of model.

A model is a graph of layers (``gradstep.graph``). ``Model(inputs, outputs)``
wires it explicitly (the functional API, ``Functional``), ``Sequential`` as a
chain, and a subclass of ``Model`` through its ``call`` method, traced once
on symbolic inputs. ``Model`` holds everything else, once: compile, fit,
evaluate, predict, and the train step, as in the lessons::

    outputs, saved = graph.forward(inputs)        # each node keeps what its backward needs
    loss, slopes = loss.value_and_slopes(y, outputs)   # dL/d output (p - y when fused)
    weight_grads = graph.backward(saved, slopes)  # the chain rule, fan-out summed
    optimizer.step(closure)                       # (path, weight, gradient) triples
    # then constraints, and moving statistics (BatchNormalization) are assigned

Regularizers add to the loss: the weights' penalties, and the activity
penalties that ``graph.forward`` sums; their slopes join the weights' slopes.

Saving, callbacks and the lab see the model through public methods:
``named_weights``, ``get_training_state``/``set_training_state``,
``get_compile_config``, ``resume_at_epoch``.
"""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any, NamedTuple

import numpy as np

from gradstep import callbacks as callbacks_module
from gradstep import config, kernels, optimizers, scratch, seeding
from gradstep import metrics as metrics_module
from gradstep.graph import Graph, SymbolicTensor
from gradstep.kernels import finite
from gradstep.layers.base import LAYERS, Layer, assign_state_updates, snake_case, unique_name
from gradstep.layers.core import Input
from gradstep.models import adapters, data, non_finite
from gradstep.models.compile import CompiledLoss, CompiledMetrics, CompileSettings
from gradstep.models.dense_chain import DenseChain
from gradstep.models.step_plan import ChainPlan
from gradstep.optimizers import WeightGradient
from gradstep.validation import (
    NotCompiledError,
    check_fraction,
    check_non_negative_int,
    check_positive_int,
)


def _with_limited_blas_threads(method):
    """Run ``method`` with BLAS limited to ``config.blas_threads()`` threads, the
    optimizer's kernels on the training loop's thread (``kernels.training_threads``),
    and the layers' large temporaries reused from step to step (``scratch.reusing``)."""

    @functools.wraps(method)
    def limited(*args, **kwargs):
        with (
            config.limit_blas_threads(args[0].product_size()),
            kernels.training_threads(),
            scratch.reusing(),
        ):
            return method(*args, **kwargs)

    return limited


class Model(Layer):
    """A model: layers wired into a graph, trained with Keras's API.

    ``Model(inputs, outputs)`` builds a functional model from symbolic tensors
    (see ``Functional``). Subclassing builds the layers in ``__init__`` and
    wires them in ``call(inputs)``; the model traces ``call`` once on symbolic
    inputs shaped like the first data it sees, so every layer it calls must
    have a backward pass (all of gradstep's do).

        >>> import numpy as np
        >>> from gradstep import layers
        >>> class TwoLayers(Model):
        ...     def __init__(self):
        ...         super().__init__(seed=0)
        ...         self.hidden = layers.Dense(4, activation="relu")
        ...         self.out = layers.Dense(1)
        ...     def call(self, inputs):
        ...         return self.out(self.hidden(inputs))
        >>> model = TwoLayers()
        >>> model.predict(np.ones((2, 3)), verbose=0).shape
        (2, 1)

    Args:
        name: the model's name.
        trainable: whether the optimizer updates the model's weights.
        seed: makes initial weights, shuffling and dropout reproducible.

    Attributes:
        terminate_on_nan: True by default: ``fit`` stops at the first batch
            whose loss or gradients are NaN or infinite, before the optimizer
            step (so the weights stay those from before that batch), prints
            which epoch and batch, and records it in ``diverged_at``. Set it to
            False for Keras's behaviour (train on, whatever the loss).
        diverged_at: ``(epoch, batch)`` (0-based) where the last ``fit``
            stopped because of NaN or infinite values, else None.
        non_finite_origin: where that batch's first non-finite value appeared
            (a ``models.non_finite.NonFiniteOrigin``: forward, loss or backward,
            the layer, and the NumPy operation), else None.
    """

    holds_layers = True
    updates_state = True

    def __new__(cls, *args, **kwargs):
        # Model(inputs, outputs) makes a Functional model, as in Keras (found
        # through the registry, where models/functional.py registered it).
        if cls is Model and _functional_arguments(args, kwargs):
            return Layer.__new__(LAYERS.lookup_class("Functional"))
        model = Layer.__new__(cls)
        # A subclass's constructor arguments are its config, as Keras 3 records them.
        model.__dict__["_constructor_arguments"] = _constructor_arguments(cls, args, kwargs)
        return model

    def __init__(self, *, name=None, trainable=True, seed=None, **kwargs):
        super().__init__(
            name=name or unique_name(snake_case(type(self).__name__)),
            trainable=trainable,
            **kwargs,
        )
        self.seed = seed
        self._generators = seeding.model_generators(seed)
        self._graphs: dict[bool, Graph] = {}
        self._output_structure: Any = None
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self.terminate_on_nan = True
        self.diverged_at: tuple[int, int] | None = None
        self.non_finite_origin: non_finite.NonFiniteOrigin | None = None
        self._resume_epoch: int | None = None
        self._settings: CompileSettings | None = None
        self._compiled: tuple[CompiledLoss, CompiledMetrics] | None = None
        self._trained_weights: _TrainedWeights | None = None

    # --- layers, built from the graph -------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The model's layers (a subclass's, in the order they were assigned:
        ``Layer`` tracks them as it tracks any layer's own layers)."""
        return self._sublayers_in_order()

    def get_layer(self, name=None, index=None) -> Layer:
        """A layer by ``name``, or by ``index`` in ``layers``, with Keras's errors."""
        if index is not None and name is not None:
            raise ValueError(
                f"Provide only a layer name or a layer index. Received: index={index}, name={name}."
            )
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(self.layers)} layers."
                )
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: "
                f"{[layer.name for layer in self.layers]}."
            )
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def get_config(self) -> dict[str, Any]:
        """A subclassed model's config, as Keras 3's: the arguments its
        constructor was called with (when they are plain data: numbers,
        strings, lists, dicts), with its name and ``trainable``. A subclass
        whose arguments are not plain data writes its own ``get_config``."""
        config_ = {"name": self.name, "trainable": self.trainable}
        arguments = self.__dict__.get("_constructor_arguments")
        if arguments is None:
            raise NotImplementedError(
                f"{type(self).__name__}'s constructor arguments are not plain data (numbers, "
                "strings, lists, dicts): write its get_config() to save it"
            )
        return {**config_, **arguments}

    @classmethod
    def from_config(cls, config_: dict[str, Any], seed=None):
        """A subclassed model made from ``get_config()``'s arguments (not built);
        ``Model.from_config`` of a functional model's config, the functional model."""
        if cls is Model and "layers" in config_ and "input_layers" in config_:
            return LAYERS.lookup_class("Functional").from_config(config_, seed=seed)
        return cls(**config_)

    def get_build_config(self) -> dict[str, Any] | None:
        """The input shapes the model was built for (Keras's ``build_config``)."""
        shapes = self.__dict__.get("_built_input_shapes")
        return None if shapes is None else {"input_shape": shapes}

    def build_from_config(self, build_config) -> None:
        """Build the model as ``get_build_config()`` describes."""
        if build_config and not self.built:
            self.build(build_config["input_shape"])

    def call(self, inputs, training=None):
        """A subclass wires its layers here: the outputs for ``inputs``."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement call(inputs), or be built as "
            "Model(inputs, outputs) from symbolic tensors"
        )

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return self.graph(False).inputs if self.built else []

    @property
    def string_inputs(self) -> bool:
        """A model used as a layer takes text when one of its Inputs does."""
        return any(tensor.dtype == config.STRING_DTYPE for tensor in self.inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return self.graph(False).outputs if self.built else []

    @property
    def input(self):
        """The symbolic input (a list of them for several inputs), as Keras's ``model.input``."""
        inputs = self.inputs
        return inputs[0] if len(inputs) == 1 else inputs

    @property
    def output(self):
        """The symbolic output (a list of them for several outputs)."""
        outputs = self.outputs
        return outputs[0] if len(outputs) == 1 else outputs

    @property
    def input_names(self) -> list[str]:
        return [tensor.name for tensor in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """Each output's name: the layer it comes out of (or its key when the
        outputs were given as a dict)."""
        if isinstance(self._output_structure, dict):
            return list(self._output_structure)
        return [tensor.node.layer.name for tensor in self.outputs]

    def graph(self, training: bool = False) -> Graph:
        """The graph the model runs: its layers' calls, in the order they run
        (a subclassed model traces its ``call`` once for each ``training``
        mode; the others have one graph for both)."""
        return self._graphs[training]

    def _set_graph(self, graph: Graph, traced_for_training: Graph | None = None) -> None:
        self._graphs = {False: graph, True: traced_for_training or graph}
        self._give_generators(layer for g in self._graphs.values() for layer in g.layers)
        self._compiled = None
        self.built = True

    def _give_generators(self, layers) -> None:
        """The model's generators to layers that have none: ``dropout`` to a
        layer that draws noise, ``init`` (its weights) to the others."""
        for layer in layers:
            if layer.rng is None:
                layer.rng = self._generators["dropout" if layer.draws_noise else "init"]

    def build(self, input_shape=None) -> None:
        """A subclassed model: trace ``call`` on symbolic inputs of ``input_shape``
        (batch axis first; a list or dict of shapes for several inputs)."""
        if input_shape is None:
            raise ValueError(f"build() of model {self.name!r} needs input_shape")
        self._trace(_symbolic_inputs(input_shape))

    def _build_from_data(self, x) -> None:
        """Build an unbuilt model from the first data it receives."""
        if self.built:
            return
        self._trace(_symbolic_inputs(_shapes_of_data(x)))

    def _trace(self, inputs) -> None:
        flat_inputs = (
            list(inputs.values())
            if isinstance(inputs, dict)
            else (list(inputs) if isinstance(inputs, list | tuple) else [inputs])
        )
        shapes = [list(tensor.shape) for tensor in flat_inputs]
        self._built_input_shapes = shapes[0] if len(shapes) == 1 else shapes
        self._give_generators(self.layers)  # before the trace builds them: the seed draws
        graphs = {}
        for training in (False, True):
            outputs = self._call_for_trace(inputs, training)
            self._output_structure = _structure_of(outputs)
            graphs[training] = Graph(flat_inputs, _flatten_outputs(outputs))
        self._input_structure = _structure_of(inputs)
        self._set_graph(graphs[False], graphs[True])

    def _call_for_trace(self, inputs, training: bool):
        if "training" in inspect.signature(self.call).parameters:
            return self.call(inputs, training=training)
        return self.call(inputs)

    # --- weights ----------------------------------------------------------------------
    def named_weights(self, trainable_only: bool = False) -> list[tuple[str, np.ndarray]]:
        """``(path, array)`` for every weight, in ``weights`` order: the layer's
        name and the weight's (``"dense/kernel"``)."""
        if trainable_only and not self.trainable:
            return []
        named, seen = [], set()
        for layer in self.layers:
            for name, weight in layer.named_weights(trainable_only):
                if id(weight) not in seen:
                    seen.add(id(weight))
                    named.append((f"{layer.name}/{name}", weight))
        return named

    def weight_regularizers(self) -> dict[str, Any]:
        """The regularizer of each trained weight that has one, by path."""
        return self._by_path(lambda layer: layer.weight_regularizers())

    def weight_constraints(self) -> dict[str, Any]:
        """The constraint of each trained weight that has one, by path."""
        return self._by_path(lambda layer: layer.weight_constraints())

    def _by_path(self, per_layer) -> dict[str, Any]:
        if not self.trainable:
            return {}
        found: dict[str, Any] = {}
        for layer in self.layers:
            for name, rule in per_layer(layer).items():
                found.setdefault(f"{layer.name}/{name}", rule)
        return found

    @property
    def weights(self) -> list[np.ndarray]:
        """Every layer's weight arrays, in layer order (the arrays themselves, not copies)."""
        return [weight for _, weight in self.named_weights()]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The weight arrays the optimizer updates."""
        return [weight for _, weight in self.named_weights(trainable_only=True)]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        trained = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trained]

    @Layer.trainable.setter
    def trainable(self, value) -> None:
        """Freeze (or unfreeze) the model and every one of its layers, as Keras does."""
        self._trainable = bool(value)
        for layer in self.layers:
            layer.trainable = value

    @property
    def dtype(self) -> str:
        """The dtype of the weights (``'float32'`` unless set otherwise)."""
        weights = self.weights
        return (
            weights[0].dtype.name if weights else (self.__dict__.get("_dtype") or config.floatx())
        )

    @dtype.setter
    def dtype(self, value) -> None:
        self.__dict__["_dtype"] = value

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight array, in layer order: kernel, then bias."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` (as returned by ``get_weights``) into the model, in place."""
        weights = list(weights)
        expected = len(self.weights)
        if len(weights) != expected:
            raise ValueError(
                f"Model {self.name!r} expects {expected} weight arrays, received {len(weights)}"
            )
        position = 0
        for layer in self.layers:
            count = len(layer.weights)
            layer.set_weights(weights[position : position + count])
            position += count

    def count_params(self) -> int:
        """The number of weights in the model."""
        if not self.built:
            raise ValueError(
                f"Model {self.name!r} has not been built yet: call build() or fit() first"
            )
        return int(sum(w.size for w in self.weights))

    def product_size(self) -> int:
        """The largest ``product_size`` of the model's layers (0 before the
        model is built): what ``config.limit_blas_threads`` weighs."""
        return max((layer.product_size() for layer in self.layers), default=0)

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs) -> None:
        """Print the classic Keras table of layers, output shapes and parameter counts."""
        from gradstep.summary import print_summary

        if not self.built:
            raise ValueError(
                f"Model {self.name!r} has not been built yet: give the first layer input_shape, "
                "call build(input_shape), or fit() it before summary()"
            )
        print_summary(
            self,
            line_length=line_length,
            positions=positions,
            print_fn=print_fn,
            connections=self._summary_shows_connections(),
        )

    def _summary_shows_connections(self) -> bool:
        """Whether ``summary`` has the "Connected to" column (a graph with branches)."""
        return False

    # --- the state that makes training resume exactly --------------------------------
    def get_training_state(self) -> dict[str, Any]:
        """Plain data (JSON) that makes ``fit`` continue exactly: the seed, the
        state of each of the model's generators (``init``, ``shuffle``,
        ``dropout``) and of each layer's own generator (``Dropout(seed=...)``),
        by the layer's position (see ``layer_generators``)."""
        return {
            "seed": self.seed,
            "generators": {
                name: generator.bit_generator.state for name, generator in self._generators.items()
            },
            "layer_generators": {
                path: generator.bit_generator.state
                for path, generator in self.layer_generators().items()
            },
        }

    def set_training_state(self, state: dict[str, Any]) -> None:
        """Restore ``get_training_state()``. Every part is checked before any is
        applied, so a bad state (a ValueError naming it) changes nothing."""
        if not isinstance(state, dict):
            raise ValueError(f"training state must be a dict, received {type(state).__name__}")
        saved = state.get("generators")
        if not isinstance(saved, dict) or set(saved) != set(seeding.GENERATOR_NAMES):
            raise ValueError(
                f"training_state.generators must hold the states of "
                f"{list(seeding.GENERATOR_NAMES)}, received {str(saved)[:200]}"
            )
        targets = [(self._generators[name], saved[name], f"generator {name!r}") for name in saved]
        own = state.get("layer_generators", {})
        if not isinstance(own, dict):
            raise ValueError(f"training_state.layer_generators must be a dict, received {own!r}")
        owners = self.layer_generators()
        for path, generator_state in own.items():
            if path not in owners:
                raise ValueError(
                    f"training_state.layer_generators names layer {path!r}; the layers with a "
                    f"generator of their own are {sorted(owners)}"
                )
            targets.append((owners[path], generator_state, f"the generator of layer {path!r}"))
        for generator, generator_state, what in targets:
            seeding.check_generator_state(generator, generator_state, what)
        for generator, generator_state, _ in targets:
            generator.bit_generator.state = generator_state

    def layer_generators(self) -> dict[str, np.random.Generator]:
        """The generators of layers that are not one of the model's own (a
        ``Dropout(seed=...)``, a nested model's dropout), by the layer's
        position in ``layers`` (``"3"``; ``"2/1"`` inside a nested model), so
        that a model of the same architecture with other names takes them."""
        shared = {id(generator) for generator in self._generators.values()}
        return {
            position: layer.rng
            for position, layer in _walk_layers(self)
            if isinstance(layer.rng, np.random.Generator) and id(layer.rng) not in shared
        }

    def resume_at_epoch(self, epoch: int) -> None:
        """Make the ``fit`` that is starting continue at ``epoch`` (0-based),
        whatever its ``initial_epoch``: ``BackupAndRestore`` calls it from
        ``on_train_begin`` after restoring a backup, as Keras sets ``_initial_epoch``."""
        self._resume_epoch = check_non_negative_int(epoch, "epoch")

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
        """Choose the optimizer, the loss(es) and the metrics reported during training.

        With several outputs, ``loss``, ``loss_weights``, ``metrics`` and
        ``weighted_metrics`` may be lists (one entry per output) or dicts (by
        output name), as in Keras; see ``gradstep.models.compile``.
        ``run_eagerly``, ``steps_per_execution``, ``jit_compile`` and
        ``auto_scale_loss`` are accepted so that Keras programs run; gradstep
        always runs eagerly on NumPy, so they change nothing.
        """
        self.optimizer = optimizers.get(optimizer)
        self._settings = CompileSettings(loss, loss_weights, metrics, weighted_metrics)
        self.loss = self._settings.loss
        self._compiled = None
        self._trained_weights = None
        self.compiled = True
        if self.built:
            self._compiled_for_outputs()  # report a mismatch with the outputs now

    def _compiled_for_outputs(self) -> tuple[CompiledLoss, CompiledMetrics]:
        """The compiled losses and metrics, matched to the outputs once the model is built."""
        if self._compiled is None:
            self._compiled = self._settings.for_outputs(self.graph(True), self.output_names)
        return self._compiled

    @property
    def metrics_names(self) -> list[str]:
        """``['loss', *each output's loss, *metrics]`` as logged."""
        if not self.compiled:
            return []
        if self._compiled is None or self._compiled[1].objects is None:
            return ["loss", *self._settings.metric_names()]
        compiled_loss, compiled_metrics = self._compiled
        per_output = (
            [f"{e.name}_loss" for e in compiled_loss.entries]
            if compiled_loss.tracks_outputs
            else []
        )
        return ["loss", *per_output, *compiled_metrics.names]

    def get_compile_config(self) -> dict[str, Any] | None:
        """The compile settings as plain data (None before ``compile``): the
        optimizer's and the loss's class name and config, and the metric names."""
        if not self.compiled:
            return None
        return {"optimizer": optimizers.serialize(self.optimizer), **self._settings.get_config()}

    def compile_from_config(self, config_: dict[str, Any], custom_objects=None) -> None:
        """``compile`` with ``get_compile_config()``'s settings. Class names resolve
        through the ``OPTIMIZERS`` and ``LOSSES`` registries; a loss or metric of
        your own, through ``custom_objects`` (its saved name -> the function or class)."""
        self.compile(
            optimizer=optimizers.deserialize(config_["optimizer"]),
            **CompileSettings.arguments_from_config(config_, custom_objects),
        )

    def custom_objects(self) -> dict[str, Any]:
        """The losses and metrics given to ``compile`` that are your own (not
        built in), by the names a saved file holds: what
        ``load_model(custom_objects=...)`` will need."""
        return self._settings.custom_objects() if self.compiled else {}

    # --- one step ---------------------------------------------------------------------
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient-descent step on one batch; returns the batch's loss and metrics."""
        self._check_compiled("train_on_batch")
        inputs, targets = self._prepare_xy(x, y)
        weights = data.sample_weights(
            sample_weight, class_weight, targets, len(inputs[0]), self.output_names
        )
        self._reset_metrics()
        # fit's thread rules (the model is built now, so product_size counts)
        with config.limit_blas_threads(self.product_size()), kernels.training_threads():
            self._train_step(inputs, targets, weights)
        return self._returned(self._logs(), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss (and metrics) on one batch, without training."""
        self._check_compiled("test_on_batch")
        inputs, targets = self._prepare_xy(x, y)
        weights = data.sample_weights(
            sample_weight, None, targets, len(inputs[0]), self.output_names
        )
        self._reset_metrics()
        with config.limit_blas_threads(self.product_size()):
            self._test_step(inputs, targets, weights)
        return self._returned(self._logs(), return_dict)

    def gradients(self, x, y, sample_weight=None) -> tuple[float, list[WeightGradient]]:
        """The loss on ``x, y`` (one forward pass in training mode) and its slope
        with respect to each weight the optimizer trains, as ``(path, weight,
        gradient)`` triples: what a training step hands the optimizer. Nothing
        is updated.

            >>> import numpy as np
            >>> from gradstep import Sequential, layers
            >>> neuron = layers.Dense(1, use_bias=False, input_shape=(1,), name="neuron")
            >>> model = Sequential([neuron])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> model.set_weights([np.array([[2.0]])])
            >>> loss, [(path, weight, slope)] = model.gradients([[3.0]], [[10.0]])
            >>> loss, path, float(slope[0, 0])   # error -4: slope 2 * -4 * 3
            (16.0, 'neuron/kernel', -24.0)
        """
        self._check_compiled("gradients")
        inputs, targets = self._prepare_xy(x, y)
        weights = data.sample_weights(
            sample_weight, None, targets, len(inputs[0]), self.output_names
        )
        loss, gradients, *_ = self._loss_and_gradients(inputs, targets, weights)
        return loss, gradients

    def _loss_and_gradients(self, inputs, targets, sample_weights):
        """Forward in training mode, the loss, and the chain rule back to the
        weights: ``(loss, triples, outputs, each output's loss, state updates,
        the outputs' masks)``. Runs once the inputs and targets are prepared
        (which compiles the losses)."""
        graph, compiled_loss = self._graphs[True], self._compiled[0]
        outputs, saved = graph.forward(inputs, training=True)
        if self._overrides_compute_loss():
            loss, slopes = self._overridden_loss(inputs, targets, outputs, sample_weights)
            per_output, fused_steps = [], frozenset()
        else:
            loss, slopes, per_output = compiled_loss.value_and_slopes(
                targets, outputs, sample_weights, saved.output_masks
            )
            fused_steps = compiled_loss.fused_steps
            if not compiled_loss.entries:
                self._check_some_loss(graph, saved)
        _, weight_grads = graph.backward(saved, slopes, fused_steps)
        trained = self._weights_to_train()
        loss += saved.penalty + _add_weight_penalties(trained.regularized, weight_grads)
        gradients = [
            WeightGradient(path, weight, weight_grads.get(path)) for path, weight in trained.named
        ]
        return loss, gradients, outputs, per_output, saved.state_updates, saved.output_masks

    def _plan_step(self) -> ChainPlan | DenseChain | None:
        """``fit``'s straight-line step for a chain of layers (``ChainPlan``;
        ``DenseChain`` for the Dense chains it serves), or None: the graph's
        general step (a model that overrides ``compute_loss``, or whose graph
        is not a chain)."""
        if self._overrides_compute_loss():
            return None
        trained = self._weights_to_train()
        compiled_loss, _ = self._compiled_for_outputs()
        graph = self._graphs[True]
        plan = ChainPlan.build(graph, compiled_loss, trained.named, trained.regularized)
        return DenseChain.build(plan, self.optimizer) or plan

    def _train_step(
        self, inputs, targets, sample_weights, check_finite=False, plan=None
    ) -> str | None:
        """Forward, loss, backward, optimizer step, through the optimizer's
        ``step(closure)`` (L-BFGS evaluates the closure several times; the loss
        and metrics logged are those before the step). With ``check_finite``,
        a batch whose loss or gradients hold NaN or infinity is not applied
        (weights and optimizer stay as they were) and what was wrong is returned.
        After the step, as in Keras, each constrained weight is replaced by
        ``constraint(weight)`` and the moving statistics of this batch's
        forward pass are assigned. ``plan``: ``fit``'s ``ChainPlan``, which
        gives the loss and gradients of a chain of layers without the graph's
        bookkeeping (the same numbers), or None."""
        first_pass = []
        loss_and_gradients = self._loss_and_gradients if plan is None else plan.loss_and_gradients

        def closure():
            loss, gradients, outputs, per_output, state_updates, masks = loss_and_gradients(
                inputs, targets, sample_weights
            )
            if not first_pass:
                first_pass.append((outputs, loss, per_output, state_updates, masks))
                problem = _non_finite(loss, gradients) if check_finite else None
                if problem is not None:
                    raise _NonFinite(problem)
            return loss, gradients

        problem = None
        try:
            self.optimizer.step(closure)
        except _NonFinite as non_finite:
            problem = str(non_finite)
        outputs, loss, per_output, state_updates, masks = first_pass[0]
        if problem is None:
            for weight, constraint in self._weights_to_train().constrained:
                weight[...] = constraint(weight)
            assign_state_updates(state_updates)
        self._update_metrics(targets, outputs, sample_weights, loss, per_output, masks)
        return problem

    def _test_step(self, inputs, targets, sample_weights) -> None:
        compiled_loss, _ = self._compiled_for_outputs()
        outputs, saved = self.graph(False).forward(inputs, training=False)
        masks = saved.output_masks
        if self._overrides_compute_loss():
            x, y, weights = self._loss_arguments(inputs, targets, sample_weights)
            value = self._call_compute_loss(x, y, self._structured(outputs), weights, False)
            loss = float(value)
            per_output = []
        else:
            loss, per_output = compiled_loss.values(targets, outputs, sample_weights, masks)
        loss += saved.penalty + _add_weight_penalties(self._weights_to_train().regularized)
        self._update_metrics(targets, outputs, sample_weights, loss, per_output, masks)

    # --- Keras's compute_loss hook ----------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Keras's hook for the training loss: the compiled losses of ``y_pred``
        (the model's outputs) against ``y``, weighted and summed. ``fit`` and
        ``evaluate`` compute that themselves (fusing a softmax with its
        cross-entropy); a subclass that overrides ``compute_loss`` (keras.io's
        knowledge distillation) is called instead, its result is the loss, and
        its slope comes from the tape (write it with ``gradstep.ops``). The
        losses layers add (``add_loss``) and weight penalties are added to it."""
        compiled_loss, _ = self._compiled_for_outputs()
        several = len(self.outputs) > 1
        predictions = (
            data.flatten(y_pred, self.output_names, "y_pred", "output") if several else [y_pred]
        )
        targets = data.flatten(y, self.output_names, "y", "output") if several else [y]
        weights = (
            sample_weight
            if several and sample_weight is not None
            else [sample_weight] * len(predictions)
        )
        total = 0.0
        for entry in compiled_loss.entries:
            value = entry.loss(targets[entry.index], predictions[entry.index], weights[entry.index])
            total = total + (value if entry.weight is None else value * entry.weight)
        return total

    def _check_some_loss(self, graph, saved) -> None:
        """A model compiled without a loss trains on what its layers add; with
        nothing added either, there is nothing to minimize (Keras's error)."""
        if not _graph_adds_losses(graph, saved) and not self._weights_to_train().regularized:
            raise ValueError(
                "No loss to compute: compile() was given no loss and no layer adds one with "
                "add_loss. Give compile a loss (e.g. loss='mse'), add one in a layer's call, or "
                "override compute_loss"
            )

    def _overrides_compute_loss(self) -> bool:
        return type(self).compute_loss is not Model.compute_loss

    def _call_compute_loss(self, x, y, y_pred, sample_weight, training: bool):
        """``compute_loss``, with ``training`` only if the override names it (as Keras)."""
        options = {}
        if "training" in inspect.signature(self.compute_loss).parameters:
            options["training"] = training
        return self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, **options)

    def _loss_arguments(self, inputs, targets, sample_weights) -> tuple:
        """``(x, y, sample_weight)`` for ``compute_loss`` as the user gave them:
        one array where the model has one input or output."""
        x = inputs[0] if len(inputs) == 1 else list(inputs)
        y = targets[0] if len(targets) == 1 else list(targets)
        weights = sample_weights[0] if len(sample_weights) == 1 else list(sample_weights)
        return x, y, weights

    def _overridden_loss(self, inputs, targets, outputs, sample_weights):
        """An overridden ``compute_loss``'s value and its slope at each output."""
        from gradstep.ops import tape

        x, y, weights = self._loss_arguments(inputs, targets, sample_weights)

        def loss_of(*predictions):
            y_pred = self._structured(list(predictions))
            return self._call_compute_loss(x, y, y_pred, weights, True)

        value, slopes = tape.value_and_gradients(loss_of, outputs)
        return float(value), slopes

    def _weights_to_train(self) -> _TrainedWeights:
        """The weights the optimizer updates, with their regularizers and
        constraints, fixed at the first step after ``compile`` (as in Keras, a
        change of ``trainable`` takes effect at the next ``compile``)."""
        if self._trained_weights is None:
            named = self.named_weights(trainable_only=True)
            regularizers, constraints = self.weight_regularizers(), self.weight_constraints()
            self._trained_weights = _TrainedWeights(
                named,
                [(path, w, regularizers[path]) for path, w in named if path in regularizers],
                [(w, constraints[path]) for path, w in named if path in constraints],
            )
        return self._trained_weights

    def _update_metrics(self, targets, outputs, sample_weights, loss, per_output, masks) -> None:
        batch_size = len(outputs[0])
        self._loss_tracker.update_state(loss, sample_weight=batch_size)
        compiled_loss, compiled_metrics = self._compiled
        if compiled_loss.tracks_outputs:
            for tracker, value in zip(self._output_loss_trackers, per_output, strict=True):
                tracker.update_state(value, sample_weight=batch_size)
        compiled_metrics.update(targets, outputs, sample_weights, masks)

    def _reset_metrics(self) -> None:
        self._loss_tracker = metrics_module.Mean("loss")
        if self.compiled and self.built:
            compiled_loss, compiled_metrics = self._compiled_for_outputs()
            self._output_loss_trackers = [
                metrics_module.Mean(f"{entry.name}_loss") for entry in compiled_loss.entries
            ]
            compiled_metrics.reset()

    def _logs(self) -> dict[str, float]:
        """The loss and metrics so far, in Keras's order: sorted by name."""
        logs = {"loss": self._loss_tracker.result()}
        compiled_loss, compiled_metrics = self._compiled
        if compiled_loss.tracks_outputs:
            logs.update({t.name: t.result() for t in self._output_loss_trackers})
        logs.update(compiled_metrics.results())
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

        ``x`` and ``y`` are one array each, or for several inputs (outputs) a
        list in the model's order or a dict by name. ``x`` may also bring its
        targets in batches, as in Keras: a Python generator (or iterator) of
        ``(x, y)`` or ``(x, y, sample_weight)`` tuples, a ``utils.PyDataset``
        or a PyTorch ``DataLoader`` (then ``y`` and ``sample_weight`` stay None,
        and ``steps_per_epoch`` bounds an epoch; see ``gradstep.models.adapters``).
        ``validation_data`` may be such a stream too.

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
        steps_per_epoch = _steps(steps_per_epoch, "steps_per_epoch")
        validation_steps = _steps(validation_steps, "validation_steps")
        shuffle_rng = self._generators["shuffle"] if shuffle else None
        if adapters.is_stream(x):
            if validation_split:
                adapters.refuse_validation_split(x)
            if self.optimizer.full_batch:
                raise ValueError(
                    f"{type(self.optimizer).__name__} uses the whole data set as one batch; "
                    f"pass arrays, received x of type {type(x).__name__}"
                )
            source = adapters.stream_source(x, y, sample_weight, class_weight, shuffle_rng)
            self._build_from_stream(source)
        else:
            inputs, targets = self._prepare_xy(x, y)
            weights = data.sample_weights(
                sample_weight, class_weight, targets, len(inputs[0]), self.output_names
            )
            if validation_data is None and validation_split:
                (inputs, targets, weights), split = data.split_validation(
                    inputs, targets, weights, validation_split
                )
                validation_data = adapters.ArrayBatches(split, 1)
            if self.optimizer.full_batch:
                batch_size = _full_batch_size(requested_batch_size, len(inputs[0]), self.optimizer)
                shuffle_rng = None
            source = adapters.ArrayBatches((inputs, targets, weights), batch_size, shuffle_rng)
        if validation_data is not None:
            validation_data = self._validation_source(
                validation_data, validation_batch_size or batch_size
            )
        training = adapters.Epochs(
            source, steps_per_epoch, lambda batch: self._prepare_batch(batch, class_weight)
        )
        kernels.expect_steps(
            training.num_batches and training.num_batches * (epochs - initial_epoch)
        )
        validation = (
            None
            if validation_data is None
            else adapters.Epochs(validation_data, validation_steps, self._prepare_batch)
        )

        history = callbacks_module.History()
        callback_list = self._callback_list(
            callbacks, history, verbose, epochs=epochs, steps=training.num_batches
        )
        self.stop_training = False
        self.diverged_at = None
        self.non_finite_origin = None
        self._resume_epoch = None
        self._reset_metrics()
        callback_list.on_train_begin()
        if self._resume_epoch is not None:
            initial_epoch, self._resume_epoch = self._resume_epoch, None
        plan, planned_for = _NOT_PLANNED, None  # made at the first step (the losses compiled)
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            callback_list.on_epoch_begin(epoch)
            batches = training.epoch()
            # Checked each epoch (a callback may add one): with no batch hook to
            # call, a step skips the calls and the per-batch logs.
            batch_begin = _batch_hook_in_use(callback_list, "on_train_batch_begin")
            batch_end = _batch_hook_in_use(callback_list, "on_train_batch_end")
            for step, (inputs, targets, weights) in batches:
                if batch_begin:
                    callback_list.on_train_batch_begin(step)
                if plan is _NOT_PLANNED or self._compiled is not planned_for:
                    plan, planned_for = self._plan_step(), self._compiled  # (again after compile)
                problem = self._train_step(inputs, targets, weights, self.terminate_on_nan, plan)
                if batch_end:
                    callback_list.on_train_batch_end(step, self._logs())
                if problem is not None:
                    self._stop_diverged(epoch, step, problem, (inputs, targets, weights))
                if self.stop_training:
                    break
            batches.close()
            epoch_logs = self._logs()
            if validation is not None and (epoch + 1) % validation_freq == 0:
                # The callbacks see the validation as an evaluate (on_test_*), as in Keras.
                val_logs = self._evaluate_epochs(validation, callback_list)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        if epochs > initial_epoch:
            self.optimizer.finalize_variable_values(self.trainable_weights)
        callback_list.on_train_end(logs=epoch_logs if epochs > initial_epoch else None)
        return history

    def _build_from_stream(self, source) -> None:
        """Build an unbuilt model from a stream's first batch, before training
        starts (as Keras's symbolic build reads one batch)."""
        if not self.built:
            self._prepare_inputs(source.first()[0])

    def _prepare_batch(self, batch, class_weight=None):
        """A stream's ``(x, y, sample_weight)`` as the model's checked arrays
        ``(inputs, targets, weights)``; ``class_weight`` (of a PyDataset) weighs too."""
        x, y, sample_weight = batch
        if y is None:
            raise ValueError(
                "training and evaluation need targets: batches (x, y) or (x, y, "
                "sample_weight), received a batch with x only"
            )
        inputs, targets = self._prepare_xy(x, y)
        weights = data.sample_weights(
            sample_weight, class_weight, targets, len(inputs[0]), self.output_names
        )
        return inputs, targets, weights

    def _validation_source(self, validation_data, batch_size):
        """``validation_data`` as a source: a stream, ``(x_val, y_val)`` /
        ``(x_val, y_val, val_sample_weight)`` arrays, or the arrays split off
        by ``validation_split`` (batched now, as the training batch size is known)."""
        if isinstance(validation_data, adapters.ArrayBatches):
            return adapters.ArrayBatches(validation_data.arrays, batch_size)
        if adapters.is_stream(validation_data):
            return adapters.stream_source(validation_data, None, None, None, None)
        return adapters.ArrayBatches(self._prepare_validation(validation_data), batch_size)

    def _stop_diverged(self, epoch: int, step: int, problem: str, batch) -> None:
        """Stop ``fit`` at a batch whose loss or gradients are not finite, and say why:
        where the first non-finite value appeared (``non_finite.locate`` runs the batch
        again, watching every layer), kept in ``non_finite_origin``."""
        self.diverged_at = (epoch, step)
        self.stop_training = True
        self.non_finite_origin = non_finite.locate(self, lambda: self._loss_and_gradients(*batch))
        where = "" if self.non_finite_origin is None else f"; {self.non_finite_origin}"
        print(
            f"Epoch {epoch + 1}, batch {step + 1}: Invalid loss, terminating training: {problem}"
            f"{where}. "
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

        ``x`` may be a stream of ``(x, y)`` batches as in ``fit`` (a generator,
        a ``utils.PyDataset``, a ``DataLoader``); ``steps`` then bounds the
        batches read (None: until it runs out). With arrays, ``steps`` bounds
        the batches too.

        Returns:
            The loss as a float, or ``[loss, *metrics]`` when there are metrics
            (or several outputs), or a dict when ``return_dict=True``.
        """
        self._check_compiled("evaluate")
        batch_size = check_positive_int(32 if batch_size is None else batch_size, "batch_size")
        steps = _steps(steps, "steps")
        if adapters.is_stream(x):
            source = adapters.stream_source(x, y, sample_weight, None, None)
            self._build_from_stream(source)
        else:
            inputs, targets = self._prepare_xy(x, y)
            count = len(inputs[0])
            weights = data.sample_weights(sample_weight, None, targets, count, self.output_names)
            source = adapters.ArrayBatches((inputs, targets, weights), batch_size)
        batches = adapters.Epochs(source, steps, self._prepare_batch)
        callback_list = self._callback_list(callbacks, None, verbose, steps=batches.num_batches)
        with config.limit_blas_threads(self.product_size()), scratch.reusing():
            logs = self._evaluate_epochs(batches, callback_list)
        return self._returned(logs, return_dict)

    def _returned(self, logs, return_dict):
        """Keras's results: the dict, or the values in ``metrics_names`` order
        (one number when there is only the loss)."""
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def _evaluate_epochs(self, epochs: adapters.Epochs, callback_list):
        """One epoch of test steps over ``epochs`` (an ``adapters.Epochs``)."""
        self._reset_metrics()
        callback_list.on_test_begin()
        for step, (inputs, targets, weights) in epochs.epoch():
            callback_list.on_test_batch_begin(step)
            self._test_step(inputs, targets, weights)
            callback_list.on_test_batch_end(step, self._logs())
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for ``x``, computed batch by batch (no training):
        one array, or a list (dict) of arrays for several outputs.

        ``x`` may be a stream as in ``fit`` (a generator of ``(x,)`` or
        ``(x, y)`` tuples, a ``utils.PyDataset``, a ``DataLoader``); only the
        inputs of each batch are used, and ``steps`` bounds the batches read."""
        batch_size = check_positive_int(32 if batch_size is None else batch_size, "batch_size")
        steps = _steps(steps, "steps")
        if adapters.is_stream(x):
            source = adapters.stream_source(x, None, None, None, None)
            self._build_from_stream(source)
        else:
            source = adapters.ArrayBatches((self._prepare_inputs(x),), batch_size)
        epochs = adapters.Epochs(source, steps, lambda batch: (self._prepare_inputs(batch[0]),))
        callback_list = self._callback_list(callbacks, None, verbose, steps=epochs.num_batches)
        callback_list.on_predict_begin()
        batches = []
        graph = self.graph(False)
        with config.limit_blas_threads(self.product_size()), scratch.reusing():
            for step, (inputs,) in epochs.epoch():
                callback_list.on_predict_batch_begin(step)
                batches.append(graph.forward(inputs, training=False)[0])
                callback_list.on_predict_batch_end(step, {})
        callback_list.on_predict_end()
        outputs = [np.concatenate(parts, axis=0) for parts in zip(*batches, strict=True)]
        return self._structured(outputs)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, in one forward pass."""
        inputs = self._prepare_inputs(x)
        with config.limit_blas_threads(self.product_size()):
            outputs = self.graph(False).forward(inputs, False)[0]
        return self._structured(outputs)

    def __call__(self, inputs, training=None, **kwargs):
        from gradstep.graph import is_symbolic
        from gradstep.layers.base import _is_traced

        if is_symbolic(inputs) or _is_traced(inputs):  # in a graph, or in a layer's call
            return super().__call__(inputs, training=training, **kwargs)
        if kwargs:
            raise TypeError(f"Model {self.name!r} was called with unexpected {sorted(kwargs)}")
        training = bool(training)
        arrays = self._prepare_inputs(inputs)
        outputs, saved = self.graph(training).forward(arrays, training)
        assign_state_updates(saved.state_updates)
        return self._structured(outputs)

    def _structured(self, outputs: list):
        """The outputs in the form the model's outputs were given."""
        structure = self._output_structure
        if isinstance(structure, dict):
            return dict(zip(structure, outputs, strict=True))
        if structure == "single":
            return outputs[0]
        return list(outputs)

    # --- a model used as a layer of another -------------------------------------------
    def compute_output_shape(self, input_shape):
        """Its output's shape, or a list of them (in ``outputs``' order) for a
        model with several outputs: a node of the outer graph with several."""
        shapes = [tensor.shape for tensor in self.outputs]
        return shapes if self._several_outputs() else shapes[0]

    def _several_outputs(self) -> bool:
        return len(self.outputs) > 1

    def build_once(self, input_shape) -> None:
        if not self.built:
            shapes = input_shape if isinstance(input_shape, list) else input_shape
            self.build(shapes)

    def check_input_shape(self, input_shape) -> None:
        expected = [t.shape for t in self.inputs]
        received = input_shape if isinstance(input_shape, list) else [input_shape]
        compatible = len(expected) == len(received) and all(
            len(e) == len(r)
            and all(a is None or b is None or a == b for a, b in zip(e, r, strict=True))
            for e, r in zip(expected, received, strict=True)
        )
        if not compatible:
            raise ValueError(
                f"Model {self.name!r} expects inputs of shape "
                f"{expected[0] if len(expected) == 1 else expected}, received {input_shape}"
            )

    #: A model used as a layer takes its inputs' masks into its graph, and its
    #: output carries its graph's output mask, as Keras's functional model
    #: does when it runs (its symbolic output has no mask, here as in Keras).
    forward_takes_mask = True

    @property
    def carries_masks(self) -> bool:
        """Whether a tensor of the model's graph carries a mask."""
        return any(graph.carries_masks for graph in self._graphs.values())

    def forward(self, inputs, training=False, mask=None):
        arrays = inputs if isinstance(inputs, list) else [inputs]
        masks = None if mask is None else (mask if isinstance(mask, list) else [mask])
        outputs, saved = self.graph(training).forward(arrays, training, masks)
        several = self._several_outputs()
        return (outputs if several else outputs[0]), (training, saved, isinstance(inputs, list))

    def adds_losses(self, saved) -> bool:
        training, graph_saved, _ = saved
        return _graph_adds_losses(self.graph(training), graph_saved)

    def output_mask(self, inputs, mask, saved):
        masks = saved[1].output_masks
        if self._several_outputs():
            return masks or [None] * len(self.outputs)
        return None if masks is None else masks[0]

    def activity_penalty(self, saved) -> float:
        return saved[1].penalty

    def state_updates(self, saved) -> list[tuple[np.ndarray, np.ndarray]]:
        return saved[1].state_updates

    def backward(self, saved, grad_wrt_output, input_gradient=True):
        training, graph_saved, listed = saved
        if self._several_outputs():
            output_grads = grad_wrt_output or [None] * len(self.outputs)
        else:
            output_grads = [grad_wrt_output]
        input_grads, weight_grads = self.graph(training).backward(
            graph_saved, output_grads, input_gradients=input_gradient
        )
        if input_gradient and not listed:
            input_grads = input_grads[0]
        return input_grads, weight_grads

    # --- input checks -----------------------------------------------------------------
    def _check_compiled(self, method: str) -> None:
        if not self.compiled:
            raise NotCompiledError(
                f"You must call compile() before {method}(): e.g. "
                "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')"
            )

    def _prepare_inputs(self, x) -> list[np.ndarray]:
        """``x`` as one checked array per model input (the model built from it
        if it was not)."""
        if x is None:
            raise ValueError("x is required: an array of samples, received None")
        self._build_from_data(x)
        graph = self.graph(False)
        names = [tensor.name for tensor in graph.inputs]
        values = data.flatten(x, names, "x", "input")
        single = len(names) == 1
        arrays = [
            data.input_array(
                value,
                tensor,
                "x" if single else f"x[{name!r}]",
                self._input_shape_hint(),
            )
            for value, tensor, name in zip(values, graph.inputs, names, strict=True)
        ]
        data.check_same_length(
            [("x" if single else f"x[{n!r}]", a) for n, a in zip(names, arrays, strict=True)]
        )
        return arrays

    def _input_shape_hint(self) -> str:
        return "the shape of the model's Input"

    def _prepare_xy(self, x, y) -> tuple[list[np.ndarray], list]:
        """The inputs and the targets (one per output; None for an output without
        a loss), checked against each other and by the losses, once, so that
        bad labels fail before training."""
        inputs = self._prepare_inputs(x)
        compiled_loss, _ = self._compiled_for_outputs()
        targets = data.target_arrays(y, self.outputs, self.output_names, compiled_loss.entries)
        x_label = "x" if len(inputs) == 1 else f"x[{self.input_names[0]!r}]"
        data.check_same_length(
            [(x_label, inputs[0]), *data.labelled(targets, self.output_names, "y")]
        )
        return inputs, targets

    def _prepare_validation(self, validation_data):
        if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (x_val, y_val) or "
                "(x_val, y_val, val_sample_weight)"
            )
        try:
            inputs, targets = self._prepare_xy(validation_data[0], validation_data[1])
        except (TypeError, ValueError) as error:
            raise type(error)(f"validation_data (x_val, y_val): {error}") from error
        weight = validation_data[2] if len(validation_data) == 3 else None
        weights = data.sample_weights(weight, None, targets, len(inputs[0]), self.output_names)
        return inputs, targets, weights

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

    def export(
        self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs
    ) -> None:
        """Keras's ``export``: the inference pass as an artifact for other
        runtimes. gradstep writes ``format="onnx"`` (``opset_version=`` in
        ``kwargs``; see ``gradstep.export.onnx``); Keras's other formats
        need TensorFlow, JAX or PyTorch and are refused with a ValueError."""
        if format != "onnx":
            raise ValueError(
                f"Model.export: gradstep writes format='onnx' only; received format={format!r} "
                "(Keras's 'tf_saved_model', 'openvino', 'litert' and 'torch' need their own "
                "frameworks)"
            )
        from gradstep.export.onnx import export_onnx

        export_onnx(self, filepath, verbose, input_signature=input_signature, **kwargs)

    def to_json(self, **kwargs) -> str:
        """The architecture as Keras's JSON (``serialize_keras_object`` of the
        model); ``models.model_from_json`` builds it again. ``kwargs`` go to
        ``json.dumps``."""
        import json

        from gradstep.serialization import serialize_keras_object

        return json.dumps(serialize_keras_object(self), **kwargs)


# --- helpers -----------------------------------------------------------------------------
class _TrainedWeights(NamedTuple):
    named: list  # (path, weight) of each weight the optimizer updates
    regularized: list  # (path, weight, regularizer)
    constrained: list  # (weight, constraint)


def _add_weight_penalties(regularized, weight_grads=None) -> float:
    """The weight regularizers' penalties, summed; with ``weight_grads``, each
    penalty's slope is added to its weight's slope too."""
    penalty = 0.0
    for path, weight, regularizer in regularized:
        penalty += float(regularizer(weight))
        if weight_grads is not None:
            slope = regularizer.gradient(weight)
            weight_grads[path] = weight_grads[path] + slope if path in weight_grads else slope
    return penalty


def _constructor_arguments(cls, args, kwargs) -> dict[str, Any] | None:
    """The keyword arguments ``cls(*args, **kwargs)`` binds, if they are plain
    data that a JSON config holds (else None)."""
    import json

    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except TypeError:
        return None
    arguments = dict(list(bound.arguments.items())[1:])
    for name, parameter in inspect.signature(cls.__init__).parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD and name in arguments:
            arguments.update(arguments.pop(name))
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL and name in arguments:
            return None
    try:
        json.dumps(arguments)
    except (TypeError, ValueError):
        return None
    return arguments


def _functional_arguments(args, kwargs) -> bool:
    """Keras's test: ``Model(inputs, outputs)`` (positionally or by keyword)."""
    return (
        len(args) == 2
        or (len(args) == 1 and "outputs" in kwargs)
        or ("inputs" in kwargs and "outputs" in kwargs)
    )


def _walk_layers(model, prefix: str = ""):
    """``(position, layer)`` for every layer, nested models' layers included:
    ``"3"`` is ``model.layers[3]``, ``"2/1"`` is ``model.layers[2].layers[1]``."""
    for index, layer in enumerate(model.layers):
        yield f"{prefix}{index}", layer
        if isinstance(layer, Model):
            yield from _walk_layers(layer, f"{prefix}{index}/")


def _structure_of(value):
    if isinstance(value, dict):
        return {key: None for key in value}
    if isinstance(value, list | tuple):
        return [None] * len(value)
    return "single"


def _flatten_outputs(outputs) -> list:
    if isinstance(outputs, dict):
        return list(outputs.values())
    if isinstance(outputs, list | tuple):
        return list(outputs)
    return [outputs]


def _symbolic_inputs(input_shape):
    """Inputs for tracing a subclassed model's ``call``: one per shape given."""
    if isinstance(input_shape, dict):
        return {
            name: Input(shape=tuple(shape)[1:], name=name) for name, shape in input_shape.items()
        }
    if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], list | tuple):
        return [Input(shape=tuple(shape)[1:]) for shape in input_shape]
    return Input(shape=tuple(input_shape)[1:])


def _shapes_of_data(x):
    if isinstance(x, dict):
        return {name: np.shape(value) for name, value in x.items()}
    if isinstance(x, list | tuple) and x and all(isinstance(v, np.ndarray) for v in x):
        return [np.shape(value) for value in x] if len(x) > 1 else np.shape(x[0])
    return np.shape(x)


#: The older hook each batch hook of ``Callback`` calls (Keras's names).
_OLDER_BATCH_HOOKS = {
    "on_train_batch_begin": "on_batch_begin",
    "on_train_batch_end": "on_batch_end",
}


def _batch_hook_in_use(callback_list, hook: str) -> bool:
    """Whether any callback does something at ``hook`` (``on_train_batch_begin``
    or ``on_train_batch_end``): one whose hook, or the older name the base's hook
    calls, as the callback list would find it, is not ``Callback``'s no-op."""
    for callback in callback_list.callbacks:
        for name in (hook, _OLDER_BATCH_HOOKS[hook]):
            method = getattr(callback, name, None)
            if getattr(method, "__func__", None) is not getattr(callbacks_module.Callback, name):
                return True
    return False


_NOT_PLANNED = object()  # fit's step plan before its first step


class _NonFinite(Exception):
    """Raised by the closure to abandon a step at its first evaluation."""


def _non_finite(loss_value: float, gradients: list[WeightGradient]) -> str | None:
    """What is NaN or infinite among the loss and the gradients, or None.
    (``DenseChain``'s gradients come as a list whose ``whole`` is the one
    array they are views into, read in one pass: ``finite.first_non_finite``.)"""
    if not math.isfinite(loss_value):
        return f"the loss is {loss_value}"
    arrays = (grad for _, _, grad in gradients)  # (read only when `whole` holds a NaN)
    index = finite.first_non_finite(arrays, getattr(gradients, "whole", None))
    if index is None:
        return None
    owner = gradients[index][0].rsplit("/", 1)[0]
    return f"the gradient of layer {owner!r} holds NaN or infinite values"


def _steps(steps, argument: str):
    """``steps_per_epoch``, ``validation_steps`` or ``steps``: None or a positive int."""
    return None if steps is None else check_positive_int(steps, argument)


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


def _graph_adds_losses(graph, saved) -> bool:
    """Whether the forward pass of ``graph`` that returned ``saved`` added
    losses: an activity regularizer's, or a layer's ``add_loss``."""
    return bool(saved.penalty_slopes) or any(
        step.layer.adds_losses(step_saved)
        for step, step_saved in zip(graph.steps, saved.steps, strict=True)
    )
