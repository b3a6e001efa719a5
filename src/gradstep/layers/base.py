"""The Layer contract: forward and backward side by side, weights, names.

``forward(inputs, training)`` returns the layer's output and ``saved``: what
the backward pass will need (the input, the pre-activation, a dropout mask).
``backward(saved, grad_wrt_output)`` applies the chain rule: it returns the
slope of the loss with respect to the layer's input(s), and the slope with
respect to each of its weights, by weight name. Nothing is kept on the layer
between the two passes, so a layer used at several places of a graph (a
shared layer) keeps one ``saved`` per use, held by the graph.

Calling a layer on a symbolic tensor (from ``Input``) records a node of a
graph (see ``gradstep.graph``); calling it on arrays computes its output.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from gradstep import config, constraints, regularizers
from gradstep.registry import Registry

LAYERS = Registry("layer")

_NAME_COUNTS: collections.Counter[str] = collections.Counter()


def unique_name(prefix: str) -> str:
    """``dense``, then ``dense_1``, ``dense_2``, ... per process, as Keras names."""
    count = _NAME_COUNTS[prefix]
    _NAME_COUNTS[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Start the names afresh: the next Dense is ``dense`` again (``clear_session``)."""
    _NAME_COUNTS.clear()


def snake_case(name: str) -> str:
    """Keras's default names: ``Dense -> dense``, ``InputLayer -> input_layer``,
    ``Conv2D -> conv2d``, ``MLP -> mlp``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


@dataclass
class _Weight:
    name: str
    value: np.ndarray
    trainable: bool
    initializer: Any
    regularizer: Any = None
    constraint: Any = None


#: A check that ``add_weight`` runs before it allocates a weight (see ``checking_new_weights``).
_NEW_WEIGHT_CHECK: contextvars.ContextVar[Callable | None] = contextvars.ContextVar(
    "new_weight_check", default=None
)


#: The ``training`` mode of the ``call`` running now: a layer called inside
#: another's ``call`` without ``training=`` takes it, as Keras passes it down.
_CALL_TRAINING: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "call_training", default=None
)


@contextlib.contextmanager
def checking_new_weights(check: Callable[[Layer, str, tuple], None]):
    """Within it, every ``add_weight`` first calls ``check(layer, name, shape)``,
    which may raise to refuse the weight before its memory is taken (loading a
    file checks each weight against the file's arrays this way)."""
    token = _NEW_WEIGHT_CHECK.set(check)
    try:
        yield
    finally:
        _NEW_WEIGHT_CHECK.reset(token)


class Layer:
    """Base class of every layer.

    A layer writes ``build`` (its weights, through ``add_weight``),
    ``compute_output_shape``, ``forward`` and ``backward``; a layer whose
    output goes through an activation last also writes
    ``backward_from_pre_activation``, so that a loss can fuse with that
    activation (softmax with cross-entropy).

    Args:
        name: unique per process by default (``dense``, ``dense_1``, ...).
        dtype: dtype of the weights; the default float type (``float32``) if None.
        input_shape: shape of one sample, for the first layer of a Sequential model.
        trainable: whether the optimizer updates this layer's weights.
        activity_regularizer: a penalty on the layer's output (a name such as
            ``'l2'`` or a ``gradstep.regularizers.Regularizer``), divided by the
            batch size and added to the loss, as Keras 3 does.
    """

    #: The activation applied last in ``forward`` (Dense's, Activation's), or None.
    activation = None
    #: Whether ``forward`` draws random numbers in training (dropout): such a
    #: layer draws from the model's dropout generator, the others initialize
    #: their weights from its init generator.
    draws_noise = False
    #: Whether the layer is made of layers (a model used as a layer), whose
    #: activity regularizers add to the loss through ``activity_penalty``.
    holds_layers = False
    #: Whether ``forward`` in training computes new values for non-trainable
    #: weights (BatchNormalization's moving statistics), given by ``state_updates``.
    updates_state = False
    #: Whether the layer takes integer inputs (token indices) as they are: an
    #: eager call does not cast them to floats, and a Sequential model that
    #: starts with it gets an integer Input.
    integer_inputs = False
    #: Whether the layer takes text (an ``Input(dtype="string")``'s strings,
    #: StringLookup and Hashing do). Text reaching any other layer is a
    #: TypeError naming the layer, when the graph is built or on a call.
    string_inputs = False
    #: Keras's ``supports_masking``: whether the mask of the layer's input (an
    #: ``Embedding(mask_zero=True)``'s ``tokens != 0``) goes on to its output,
    #: through ``compute_mask``. A layer that does not support masking stops
    #: the mask there, and the graph warns when it is built, as Keras does.
    supports_masking = False
    #: The ``training`` of a direct call on arrays that gives none: Keras takes
    #: it from ``call``'s signature, True for its image augmentation layers
    #: (``layers.RandomFlip()(images)`` flips), False for the others.
    training_default = False
    #: Whether ``call`` takes its tensors as separate positional arguments
    #: (``call(self, targets, logits)``, called ``layer(targets, logits)``):
    #: set by the first such call; the tensors then travel as a list, and
    #: ``call`` receives them spread out.
    positional_tensors = False

    #: Whether ``forward`` takes the input's mask, ``forward(x, training,
    #: mask=...)`` (a list of masks, None where unmasked, for a layer called on
    #: a list), because masked positions change its output (an average over
    #: the unmasked steps). It is passed only when some input carries a mask.
    #: A layer written with ``call`` takes it when its ``call`` names ``mask``.
    @property
    def forward_takes_mask(self) -> bool:
        return "mask" in _call_parameters(type(self))

    def __init__(
        self,
        name=None,
        dtype=None,
        input_shape=None,
        trainable=True,
        activity_regularizer=None,
        **kwargs,
    ):
        if "input_dim" in kwargs:
            input_shape = (kwargs.pop("input_dim"),)
        if "batch_input_shape" in kwargs:
            input_shape = tuple(kwargs.pop("batch_input_shape"))[1:]
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword arguments for {type(self).__name__}: {sorted(kwargs)}"
            )
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"name must be a non-empty string without '/', received {name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.dtype = config.standardize_dtype(dtype) if dtype is not None else None
        self.input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self._trainable = bool(trainable)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._weights: list[_Weight] = []
        self.inbound_nodes: list = []
        self.rng: np.random.Generator | None = None

    def __setattr__(self, name, value):
        # A layer's own layers (assigned as attributes, alone or in a list, as in
        # Keras) are tracked: their weights are the layer's too, after its own; a
        # model's are its layers.
        if isinstance(value, Layer) or (
            isinstance(value, list | tuple) and value and all(isinstance(v, Layer) for v in value)
        ):
            sublayers = self.__dict__.setdefault("_sublayers", [])
            for layer in value if isinstance(value, list | tuple) else [value]:
                if layer is not self and all(layer is not known for known in sublayers):
                    sublayers.append(layer)
        super().__setattr__(name, value)

    # --- building ---------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis included;
        a list of shapes for a layer called on a list of tensors)."""
        self.input_shape = input_shape
        self.built = True

    def build_once(self, input_shape) -> None:
        """``build`` unless built: what a first call does."""
        if not self.built:
            self.build(input_shape)
            self.built = True

    @property
    def output_shape(self):
        """The output's shape for the inputs the layer was built for."""
        if self._built_output_shape is None and self.built and self.input_shape is not None:
            self._built_output_shape = self.compute_output_shape(self.input_shape)
        return self._built_output_shape

    @output_shape.setter
    def output_shape(self, value) -> None:
        self._built_output_shape = value

    def compute_output_shape(self, input_shape):
        """The output's shape (batch axis included, None where unknown) for
        inputs of ``input_shape``. By default, found by running the layer on
        zeros of that shape twice, with the unknown sizes as 2 and as 3 (a
        size that differs between the two runs is unknown), as Keras finds it
        from ``call``. A layer whose output shape is cheap to state writes it."""
        first = _probe_shape(self, input_shape, 2)
        second = _probe_shape(self, input_shape, 3)
        if isinstance(first, list):  # several outputs: a shape for each
            return [_merged_shape(a, b) for a, b in zip(first, second, strict=True)]
        return _merged_shape(first, second)

    def check_input_shape(self, input_shape) -> None:
        """Raise a ValueError naming the layer when inputs of ``input_shape``
        (batch axis included) do not fit it; run on every call of the layer."""

    def add_weight(
        self,
        shape=None,
        initializer=None,
        dtype=None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer=None,
        constraint=None,
        aggregation=None,
        overwrite_with_gradient: bool = False,
        name: str | None = None,
    ) -> np.ndarray:
        """A new weight array of ``shape`` (Keras 3's arguments), drawn from
        ``initializer`` (``'glorot_uniform'`` for a float weight, ``'zeros'``
        otherwise, when None) with the layer's generator, in ``dtype`` (the
        layer's by default). ``trainable=False`` keeps it out of the
        optimizer's reach (moving statistics, frozen tables). A
        ``regularizer``'s penalty on the weight is added to the training loss;
        a ``constraint`` is applied to the weight after each optimizer step.
        ``name`` defaults to ``variable``, ``variable_1``, ... within the layer.
        ``autocast``, ``aggregation`` and ``overwrite_with_gradient`` are
        accepted for Keras programs and have no effect here."""
        from gradstep import initializers

        shape = tuple(int(d) for d in (() if shape is None else shape))
        name = self._weight_name(name)
        check = _NEW_WEIGHT_CHECK.get()
        if check is not None:
            check(self, name, shape)
        dtype = self._weight_dtype(dtype, name) if dtype is not None else None
        dtype = dtype or self.dtype or config.floatx()
        if initializer is None:
            initializer = "glorot_uniform" if np.dtype(dtype).kind == "f" else "zeros"
        initializer = initializers.get(initializer)
        weight = initializer(shape, dtype=dtype, rng=self._init_generator())
        self._weights.append(
            _Weight(
                name,
                weight,
                bool(trainable),
                initializer,
                regularizers.get(regularizer),
                constraints.get(constraint),
            )
        )
        return weight

    def _weight_dtype(self, dtype, name) -> str:
        try:
            return config.standardize_dtype(dtype)
        except ValueError as error:
            raise ValueError(
                f"add_weight of layer {self.name!r} (weight {name!r}): {error}. As in Keras 3, "
                "the third argument of add_weight is dtype: give the name as name=..."
            ) from None

    def _weight_name(self, name) -> str:
        if name is None:
            taken = {w.name for w in self._weights}
            name, count = "variable", 0
            while name in taken:
                count += 1
                name = f"variable_{count}"
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                f"add_weight of layer {self.name!r}: name must be a non-empty string without "
                f"'/', received {name!r}"
            )
        return name

    def reinitialize(self, rng: np.random.Generator) -> None:
        """Draw every weight again from its initializer with ``rng``, in the
        order the weights were created (in place: arrays keep their identity)."""
        for weight in self._weights:
            weight.value[...] = weight.initializer(weight.value.shape, weight.value.dtype, rng)
        for sublayer in self._sublayers_in_order():
            sublayer.reinitialize(rng)

    def _init_generator(self) -> np.random.Generator:
        if self.rng is not None:
            return self.rng
        from gradstep.seeding import unseeded_generator

        return unseeded_generator()

    # --- the two passes ---------------------------------------------------------------
    def call(self, inputs, *args, **kwargs):
        """Keras's way to write a layer: the output for ``inputs``, written with
        ``gradstep.ops`` (and other layers); its slope then comes by automatic
        differentiation. A layer either writes ``call``, or ``forward`` and
        ``backward`` (the built-in layers, for speed)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement call(inputs) with gradstep.ops, or "
            "forward(inputs, training) and backward(saved, grad)"
        )

    def forward(self, inputs, training: bool = False, mask=None) -> tuple[Any, Any]:
        """``(output, saved)``: the output, and what ``backward`` needs. This
        default runs ``call`` while a tape records its ops (see ``gradstep.ops``):
        ``saved`` is the tape."""
        from gradstep.ops import tape as tape_module

        listed = isinstance(inputs, list)
        self._call_losses: list = []
        with tape_module.Tape() as tape:
            traced = [tape.watch(x) for x in (inputs if listed else [inputs])]
            weights = [(name, tape.watch(w)) for name, w in self.named_weights(True)]
            for _name, w in self.named_weights():
                tape.watch(w)
            for sublayer in self._sublayers_in_order():
                sublayer.rng = sublayer.rng or self.rng
            mode = _CALL_TRAINING.set(bool(training))
            try:
                options = _call_options(self, training, mask)
                if self.positional_tensors and listed:
                    output = self.call(*traced, **options)
                else:
                    output = self.call(traced if listed else traced[0], **options)
            finally:
                _CALL_TRAINING.reset(mode)
        losses = self._call_losses
        self._call_losses = []
        if isinstance(output, list | tuple):  # several outputs
            arrays = type(output)(tape_module.unwrap(o) for o in output)
        else:
            arrays = tape_module.unwrap(output)
        return arrays, _Recorded(tape, traced, weights, output, losses, listed)

    def backward(self, saved, grad_wrt_output, input_gradient: bool = True):
        """The chain rule through the layer. Returns ``(grad_wrt_input,
        weight_gradients)``: the slope with respect to the input (a list for a
        layer called on a list; None when ``input_gradient`` is False) and a
        dict from each weight's name to its slope. This default walks the tape
        ``forward`` recorded (with the slopes of the losses ``call`` added)."""
        record: _Recorded = saved
        sources = (record.inputs if input_gradient else []) + [w for _, w in record.weights]
        several = isinstance(record.output, list | tuple)
        outputs = list(record.output) if several else [record.output]
        output_slopes = list(grad_wrt_output) if several else [grad_wrt_output]
        given = [(o, g) for o, g in zip(outputs, output_slopes, strict=True) if g is not None]
        slopes = record.tape.gradients(
            [o for o, _ in given] + record.losses,
            [g for _, g in given] + [1.0] * len(record.losses),
            sources,
        )
        count = len(record.inputs) if input_gradient else 0
        input_grads = slopes[:count] if record.listed else (slopes[0] if count else None)
        weight_grads = {
            name: slope for (name, _), slope in zip(record.weights, slopes[count:], strict=False)
        }
        return (input_grads if input_gradient else None), weight_grads

    def adds_losses(self, saved) -> bool:
        """Whether the forward pass that returned ``saved`` added losses
        (``add_loss`` in ``call``): then ``backward`` runs for their slope even
        when nothing downstream of the output has a loss (its slope is None)."""
        return isinstance(saved, _Recorded) and bool(saved.losses)

    def _takes_positional_tensors(self) -> bool:
        """Whether ``call`` names a second positional parameter that is not
        ``training`` or ``mask`` (a layer written with ``call``)."""
        if type(self).call is Layer.call:
            return False
        parameters = list(inspect.signature(type(self).call).parameters.values())[1:]
        positional = [
            p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        return len(positional) >= 2 and positional[1] not in ("training", "mask")

    def add_loss(self, loss) -> None:
        """Keras's ``add_loss`` in ``call``: ``loss`` (a number written with
        ``gradstep.ops``) is added to the training loss, and its slope reaches
        the weights it was computed from."""
        if not hasattr(self, "_call_losses"):
            self._call_losses = []
        self._call_losses.append(loss)

    def _sublayers_in_order(self) -> list[Layer]:
        return list(self.__dict__.get("_sublayers", []))

    def sublayers(self) -> list[Layer]:
        """The layers this layer holds as attributes (a wrapper's layer, an RNN's
        cell, a subclassed layer's own), in the order they were assigned."""
        return self._sublayers_in_order()

    def backward_from_pre_activation(self, saved, grad_wrt_pre_activation, input_gradient=True):
        """``backward`` given the slope at the input of ``activation`` (when the
        loss fused with it, e.g. softmax + cross-entropy: ``p - y``)."""
        raise NotImplementedError(f"{type(self).__name__} has no activation to fuse with a loss")

    def compute_mask(self, inputs, mask=None):
        """Keras's ``compute_mask``: the mask of the output for ``inputs`` whose
        mask is ``mask`` (None: unmasked; a list for a layer called on a list).
        Masks are boolean arrays over the leading axes of a tensor (batch,
        steps), True where a value counts. Called only for a layer that
        ``supports_masking``; this default passes the input's mask on."""
        return mask

    def output_mask(self, inputs, mask, saved):
        """The mask of the output of the forward pass that returned ``saved``
        (what the graph records): ``compute_mask`` for a layer that supports
        masking, else None, the mask stops here. A model used as a layer
        gives its own graph's output mask instead."""
        return self.compute_mask(inputs, mask) if self.supports_masking else None

    def state_updates(self, saved) -> list[tuple[np.ndarray, np.ndarray]]:
        """For a layer that ``updates_state``: ``(weight, new value)`` pairs
        that the training-mode forward pass which returned ``saved`` computed.
        They are assigned after the optimizer step (Keras's non-trainable
        variable updates), or at once by an eager call."""
        return []

    def activity_penalty(self, saved) -> float:
        """The penalty the forward pass that returned ``saved`` added to the
        loss: the losses ``call`` added (``add_loss``), or, for a layer that
        ``holds_layers``, its layers' activity penalties. (The graph applies a
        layer's own ``activity_regularizer`` itself.)"""
        if isinstance(saved, _Recorded):
            from gradstep.ops import tape as tape_module

            return float(sum(np.sum(tape_module.unwrap(loss)) for loss in saved.losses))
        return 0.0

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        """On symbolic tensors (from ``Input``): record the call in the graph
        and return the symbolic output. On arrays: the output; ``mask`` (a
        boolean array, for a layer whose ``forward_takes_mask``) says which
        steps count, as Keras's ``layer(x, mask=...)``. A layer whose ``call``
        takes several tensors (``call(self, targets, logits)``) is called with
        them as positional arguments, as in Keras: ``layer(targets, logits)``."""
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} {self.name!r} was called with unexpected keyword "
                f"arguments {sorted(kwargs)}"
            )
        from gradstep import graph

        if _is_tensor(training) and self._takes_positional_tensors():
            # layer(a, b) or layer(a, b, c): tensors where training and mask would be
            tensors = [inputs, training]
            if _is_tensor(mask):
                tensors.append(mask)
                mask = None
            inputs, training = tensors, None
            self.positional_tensors = True

        if mask is not None and not self.forward_takes_mask:
            raise TypeError(
                f"{type(self).__name__} {self.name!r} takes no mask (masks reach the layers "
                "that use them through a model's graph), received mask="
                f"{type(mask).__name__}"
            )
        if _is_traced(inputs):
            return self._call_traced(inputs, training)
        if graph.is_symbolic(inputs):
            if mask is not None:
                raise TypeError(
                    f"{type(self).__name__} {self.name!r}: in a graph, masks come from the "
                    "layer that makes them (Embedding(mask_zero=True)); call it without mask="
                )
            self._check_numbers(inputs)
            return graph.call_symbolic(self, inputs, training)
        inputs = self._as_arrays(inputs)
        shapes = _shapes_of(inputs)
        self.build_once(_with_unknown_batch(shapes))
        self.check_input_shape(shapes)
        masked = {} if mask is None else {"mask": _as_masks(mask)}
        training = bool(self.training_default if training is None else training)
        output, saved = self.forward(inputs, training=training, **masked)
        if training and self.updates_state:
            assign_state_updates(self.state_updates(saved))
        return output

    def _call_traced(self, inputs, training):
        """A call inside another layer's ``call`` while its tape records: the
        output, recorded on the tape as one step whose slope is this layer's
        ``backward`` (so a built-in layer keeps its fast hand-written pass)."""
        from gradstep.ops import tape as tape_module

        tape = tape_module.active()
        if training is None:
            training = _CALL_TRAINING.get()
        listed = isinstance(inputs, list | tuple)
        given = list(inputs) if listed else [inputs]
        values = [self._as_array(tape_module.unwrap(x)) for x in given]
        self.build_once(_with_unknown_batch(_shapes_of(values if listed else values[0])))
        self.check_input_shape(_shapes_of(values if listed else values[0]))
        output, saved = self.forward(values if listed else values[0], training=bool(training))
        if training and self.updates_state:
            assign_state_updates(self.state_updates(saved))
        traced = [i for i, x in enumerate(given) if isinstance(x, tape_module.Traced)]
        named = self.named_weights(trainable_only=True)
        leaves = [tape.watch(value) for _, value in named]

        def backward(slope):
            if isinstance(slope, _OutputSlopes):
                slope = slope.slopes
            input_grad, weight_grads = self.backward(saved, slope, input_gradient=True)
            input_grads = input_grad if listed else [input_grad]
            return [input_grads[i] for i in traced] + [weight_grads.get(n) for n, _ in named]

        sources = [given[i] for i in traced] + leaves
        if not isinstance(output, list | tuple):
            return tape.record(output, sources, backward)
        # Several outputs: one tape entry for the layer (its slope gathers the
        # outputs' slopes by position), and one per output that picks its own.
        joint = tape.record(np.zeros(0), sources, backward)
        count = len(output)
        return type(output)(
            tape.record(value, [joint], lambda slope, i=i: [_OutputSlopes.at(i, slope, count)])
            for i, value in enumerate(output)
        )

    def _as_arrays(self, inputs):
        if isinstance(inputs, list | tuple):
            return [self._as_array(x) for x in inputs]
        return self._as_array(inputs)

    def _as_array(self, x) -> np.ndarray:
        """An eager input as an array; floating input in the layer's dtype, as
        Keras casts inputs to a layer's compute dtype."""
        array = np.asarray(x)
        if self.integer_inputs and array.dtype.kind in "iu":
            return array
        if array.dtype.kind in "biuf":
            return array.astype(self.dtype or config.floatx(), copy=False)
        self._check_numbers(array)
        return array

    def _check_numbers(self, inputs) -> None:
        """A TypeError when text (a string tensor, an array of ``str`` or
        ``bytes``) reaches a layer that is not made for it."""
        if self.string_inputs:
            return
        for value in inputs if isinstance(inputs, list | tuple) else [inputs]:
            if _is_text(value):
                received = (
                    f"an array of strings (dtype {value.dtype})"
                    if isinstance(value, np.ndarray)
                    else f"the string tensor {value!r}"
                )
                raise TypeError(
                    f"{type(self).__name__} layer {self.name!r} needs numbers, received "
                    f"{received}; turn text into numbers first with StringLookup or Hashing"
                )

    @property
    def output(self):
        """The symbolic output of the layer's first call in a graph (Keras's ``layer.output``)."""
        node = self._first_node("output")
        return list(node.outputs) if node.several_outputs else node.output

    @property
    def input(self):
        """The symbolic input(s) of the layer's first call in a graph."""
        node = self._first_node("input")
        return node.output if node.is_input else node.inputs

    def _first_node(self, what: str):
        if not self.inbound_nodes:
            raise AttributeError(
                f"Layer {self.name!r} has no {what} yet: it has not been called on a symbolic "
                "tensor (from Input())"
            )
        return self.inbound_nodes[0]

    # --- weights ----------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value) -> None:
        self._trainable = bool(value)

    @property
    def weights(self) -> list[np.ndarray]:
        """Every weight array: the layer's trainable ones, then its others, then
        its own layers' (Keras's order)."""
        return [value for _, value in self.named_weights()]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [value for _, value in self.named_weights(trainable_only=True)]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        trained = {id(value) for value in self.trainable_weights}
        return [value for value in self.weights if id(value) not in trained]

    def named_weights(self, trainable_only: bool = False) -> list[tuple[str, np.ndarray]]:
        """``(name, array)`` for each weight in ``weights`` order (only the ones
        the optimizer updates with ``trainable_only``); a model names its
        layers' weights by path, ``"dense/kernel"``."""
        if trainable_only and not self.trainable:
            return []
        named = [
            (w.name, w.value) for w in self._ordered_weights() if w.trainable or not trainable_only
        ]
        for sublayer in self._sublayers_in_order():
            named += [
                (f"{sublayer.name}/{name}", value)
                for name, value in sublayer.named_weights(trainable_only)
            ]
        return named

    def weight_regularizers(self) -> dict[str, Any]:
        """The regularizer of each weight the optimizer updates that has one, by
        weight name (Keras adds only the trainable weights' penalties)."""
        if not self.trainable:
            return {}
        found = {
            w.name: w.regularizer
            for w in self._ordered_weights()
            if w.trainable and w.regularizer is not None
        }
        for sublayer in self._sublayers_in_order():
            for name, rule in sublayer.weight_regularizers().items():
                found[f"{sublayer.name}/{name}"] = rule
        return found

    def weight_constraints(self) -> dict[str, Any]:
        """The constraint of each weight the optimizer updates that has one, by weight name."""
        if not self.trainable:
            return {}
        found = {
            w.name: w.constraint
            for w in self._ordered_weights()
            if w.trainable and w.constraint is not None
        }
        for sublayer in self._sublayers_in_order():
            for name, rule in sublayer.weight_constraints().items():
                found[f"{sublayer.name}/{name}"] = rule
        return found

    def _ordered_weights(self) -> list[_Weight]:
        return [w for w in self._weights if w.trainable] + [
            w for w in self._weights if not w.trainable
        ]

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` into the layer's arrays (in place, so an optimizer
        that already holds them keeps working)."""
        weights = list(weights)
        targets = self.named_weights()
        if len(weights) != len(targets):
            raise ValueError(
                f"Layer {self.name!r} expects {len(targets)} weight arrays, received {len(weights)}"
            )
        values = [np.asarray(value) for value in weights]
        for (name, target), value in zip(targets, values, strict=True):
            if value.shape != target.shape:
                raise ValueError(
                    f"Weight {name!r} of layer {self.name!r} has shape {target.shape}, "
                    f"received an array of shape {value.shape}"
                )
        for (_, target), value in zip(targets, values, strict=True):
            target[...] = value

    def count_params(self) -> int:
        return int(sum(w.size for w in self.weights))

    def product_size(self) -> int:
        """How large the layer's matrix products are, per sample: the entries of
        its largest weight (a Dense kernel meets each sample once). A layer that
        applies a weight at many positions (a convolution) counts it once per
        position. ``fit`` and ``predict`` weigh it to choose BLAS's threads
        (``config.set_blas_threads``)."""
        return max((w.value.size for w in self._weights), default=0)

    # --- configuration ----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments as plain data. ``dtype`` is the weights'
        once they exist, so that the config does not depend on ``floatx()``."""
        dtype = self._weights[0].value.dtype.name if self._weights else self.dtype
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": dtype}
        if self.input_shape_arg is not None:
            config_["input_shape"] = list(self.input_shape_arg)
        if self.activity_regularizer is not None:
            config_["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Layer:
        return cls(**config_)

    @property
    def class_name(self) -> str:
        """The name ``summary()`` shows for the layer's type."""
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def assign_state_updates(updates) -> None:
    """Copy each new value into its weight, in place."""
    for weight, value in updates:
        weight[...] = value


def _is_traced(inputs) -> bool:
    from gradstep.ops.tape import Traced

    if isinstance(inputs, list | tuple):
        return any(isinstance(x, Traced) for x in inputs)
    return isinstance(inputs, Traced)


def _as_masks(mask):
    """An eager call's mask as a boolean array (a list of them, None kept)."""
    if isinstance(mask, list | tuple):
        return [None if m is None else np.asarray(m, dtype=bool) for m in mask]
    return np.asarray(mask, dtype=bool)


def _shapes_of(inputs):
    if isinstance(inputs, list):
        return [tuple(x.shape) for x in inputs]
    return tuple(inputs.shape)


def _with_unknown_batch(shapes):
    """Build shapes have ``None`` for the batch axis, as symbolic shapes do."""
    if isinstance(shapes, list):
        return [(None,) + shape[1:] for shape in shapes]
    return (None,) + shapes[1:]


class _Recorded(NamedTuple):
    """What a layer written with ``call`` keeps for its backward pass: the
    tape, its traced inputs and weights (by name), its output, and the losses
    ``call`` added."""

    tape: Any
    inputs: list
    weights: list
    output: Any
    losses: list
    listed: bool


def _is_tensor(value) -> bool:
    """Whether a call's argument is a tensor (symbolic, traced or an array)
    rather than a flag: ``layer(targets, logits)`` puts one where ``training`` is."""
    from gradstep import graph
    from gradstep.ops import tape as tape_module

    return isinstance(value, graph.SymbolicTensor | tape_module.Traced | np.ndarray)


def _call_options(layer: Layer, training, mask) -> dict:
    """The ``training`` and ``mask`` arguments ``layer.call`` takes, as Keras
    passes them: only to a ``call`` that names them."""
    parameters = _call_parameters(type(layer))
    options = {}
    if "training" in parameters:
        options["training"] = bool(training)
    if "mask" in parameters and mask is not None:
        options["mask"] = mask
    return options


def _is_text(value) -> bool:
    """Whether ``value`` is a string tensor or an array of strings."""
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        return kind in "US" or (kind == "O" and any(isinstance(v, str | bytes) for v in value.flat))
    return getattr(value, "dtype", None) == config.STRING_DTYPE


@functools.cache
def _call_parameters(cls) -> frozenset:
    return frozenset(inspect.signature(cls.call).parameters)


class _OutputSlopes:
    """The slopes at a layer's several outputs (None where an output has
    none), as the tape adds them up: position by position."""

    def __init__(self, slopes: list):
        self.slopes = slopes

    @classmethod
    def at(cls, index: int, slope, count: int) -> _OutputSlopes:
        return cls([slope if i == index else None for i in range(count)])

    def __add__(self, other: _OutputSlopes) -> _OutputSlopes:
        return _OutputSlopes(
            [
                a if b is None else b if a is None else a + b
                for a, b in zip(self.slopes, other.slopes, strict=True)
            ]
        )


def _merged_shape(first, second) -> tuple:
    """A shape from two probes: None where their sizes differ."""
    return tuple(a if a == b else None for a, b in zip(first, second, strict=True))


def _probe_shape(layer: Layer, input_shape, unknown: int):
    """The shape of ``layer``'s output on zeros of ``input_shape``, with the
    unknown sizes as ``unknown``."""
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    dtype = "int64" if layer.integer_inputs else (layer.dtype or config.floatx())
    zeros = [np.zeros(tuple(unknown if d is None else d for d in shape), dtype) for shape in shapes]
    listed = isinstance(input_shape, list)
    masked = {}
    if "mask" in _call_parameters(type(layer)):
        # Keras's masks cover every axis but the features: all steps count here.
        masks = [np.ones(z.shape[:-1], bool) for z in zeros]
        masked = {"mask": masks if listed else masks[0]}
    with np.errstate(all="ignore"):
        output, _ = layer.forward(zeros if listed else zeros[0], **masked)
    if isinstance(output, list | tuple):
        return [np.shape(o) for o in output]
    return np.shape(output)
