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
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    #: Keras's ``supports_masking``: whether the mask of the layer's input (an
    #: ``Embedding(mask_zero=True)``'s ``tokens != 0``) goes on to its output,
    #: through ``compute_mask``. A layer that does not support masking stops
    #: the mask there, and the graph warns when it is built, as Keras does.
    supports_masking = False
    #: Whether ``forward`` takes the input's mask, ``forward(x, training,
    #: mask=...)`` (a list of masks, None where unmasked, for a layer called on
    #: a list), because masked positions change its output (an average over
    #: the unmasked steps). It is passed only when some input carries a mask.
    forward_takes_mask = False

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

    # --- building ---------------------------------------------------------------------
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis included;
        a list of shapes for a layer called on a list of tensors)."""
        self.input_shape = input_shape
        self.output_shape = self.compute_output_shape(input_shape)
        self.built = True

    def build_once(self, input_shape) -> None:
        """``build`` unless built: what a first call does."""
        if not self.built:
            self.build(input_shape)
            self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def check_input_shape(self, input_shape) -> None:
        """Raise a ValueError naming the layer when inputs of ``input_shape``
        (batch axis included) do not fit it; run on every call of the layer."""

    def add_weight(
        self,
        shape,
        initializer,
        name: str,
        trainable: bool = True,
        regularizer=None,
        constraint=None,
    ) -> np.ndarray:
        """A new weight array of ``shape``, drawn from ``initializer`` with the
        layer's generator, in the layer's dtype. ``trainable=False`` keeps it
        out of the optimizer's reach (moving statistics, frozen tables). A
        ``regularizer``'s penalty on the weight is added to the training loss;
        a ``constraint`` is applied to the weight after each optimizer step."""
        from gradstep import initializers

        shape = tuple(int(d) for d in shape)
        check = _NEW_WEIGHT_CHECK.get()
        if check is not None:
            check(self, name, shape)
        dtype = self.dtype or config.floatx()
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

    def reinitialize(self, rng: np.random.Generator) -> None:
        """Draw every weight again from its initializer with ``rng``, in the
        order the weights were created (in place: arrays keep their identity)."""
        for weight in self._weights:
            weight.value[...] = weight.initializer(weight.value.shape, weight.value.dtype, rng)

    def _init_generator(self) -> np.random.Generator:
        if self.rng is not None:
            return self.rng
        from gradstep.seeding import unseeded_generator

        return unseeded_generator()

    # --- the two passes ---------------------------------------------------------------
    def forward(self, inputs, training: bool = False) -> tuple[Any, Any]:
        """``(output, saved)``: the output, and what ``backward`` needs."""
        raise NotImplementedError

    def backward(self, saved, grad_wrt_output, input_gradient: bool = True):
        """The chain rule through the layer. Returns ``(grad_wrt_input,
        weight_gradients)``: the slope with respect to the input (a list for a
        layer called on a list; None when ``input_gradient`` is False) and a
        dict from each weight's name to its slope."""
        raise NotImplementedError

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
        """For a layer that ``holds_layers``: the penalty its layers' activity
        regularizers added in the forward pass that returned ``saved``. (The
        graph applies a layer's own ``activity_regularizer`` itself.)"""
        return 0.0

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        """On symbolic tensors (from ``Input``): record the call in the graph
        and return the symbolic output. On arrays: the output; ``mask`` (a
        boolean array, for a layer whose ``forward_takes_mask``) says which
        steps count, as Keras's ``layer(x, mask=...)``."""
        if kwargs:
            raise TypeError(
                f"{type(self).__name__} {self.name!r} was called with unexpected keyword "
                f"arguments {sorted(kwargs)}"
            )
        from gradstep import graph

        if mask is not None and not self.forward_takes_mask:
            raise TypeError(
                f"{type(self).__name__} {self.name!r} takes no mask (masks reach the layers "
                "that use them through a model's graph), received mask="
                f"{type(mask).__name__}"
            )
        if graph.is_symbolic(inputs):
            if mask is not None:
                raise TypeError(
                    f"{type(self).__name__} {self.name!r}: in a graph, masks come from the "
                    "layer that makes them (Embedding(mask_zero=True)); call it without mask="
                )
            return graph.call_symbolic(self, inputs, training)
        inputs = self._as_arrays(inputs)
        shapes = _shapes_of(inputs)
        self.build_once(_with_unknown_batch(shapes))
        self.check_input_shape(shapes)
        masked = {} if mask is None else {"mask": _as_masks(mask)}
        output, saved = self.forward(inputs, training=bool(training), **masked)
        if training and self.updates_state:
            assign_state_updates(self.state_updates(saved))
        return output

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
        return array

    @property
    def output(self):
        """The symbolic output of the layer's first call in a graph (Keras's ``layer.output``)."""
        return self._first_node("output").output

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
        """Every weight array: the trainable ones, then the others (Keras's order)."""
        return [w.value for w in self._ordered_weights()]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        if not self.trainable:
            return []
        return [w.value for w in self._ordered_weights() if w.trainable]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        if not self.trainable:
            return self.weights
        return [w.value for w in self._ordered_weights() if not w.trainable]

    def named_weights(self, trainable_only: bool = False) -> list[tuple[str, np.ndarray]]:
        """``(name, array)`` for each weight in ``weights`` order (only the ones
        the optimizer updates with ``trainable_only``); a model names its
        layers' weights by path, ``"dense/kernel"``."""
        if trainable_only and not self.trainable:
            return []
        return [
            (w.name, w.value) for w in self._ordered_weights() if w.trainable or not trainable_only
        ]

    def weight_regularizers(self) -> dict[str, Any]:
        """The regularizer of each weight the optimizer updates that has one, by
        weight name (Keras adds only the trainable weights' penalties)."""
        if not self.trainable:
            return {}
        return {
            w.name: w.regularizer
            for w in self._ordered_weights()
            if w.trainable and w.regularizer is not None
        }

    def weight_constraints(self) -> dict[str, Any]:
        """The constraint of each weight the optimizer updates that has one, by weight name."""
        if not self.trainable:
            return {}
        return {
            w.name: w.constraint
            for w in self._ordered_weights()
            if w.trainable and w.constraint is not None
        }

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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def assign_state_updates(updates) -> None:
    """Copy each new value into its weight, in place."""
    for weight, value in updates:
        weight[...] = value


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
