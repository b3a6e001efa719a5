"""Sequential: a model whose graph is a chain of layers.

It only builds its chain; training, evaluation and saving are ``Model``'s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradstep import config
from gradstep.graph import Graph, SymbolicTensor
from gradstep.layers.base import LAYERS, Layer
from gradstep.layers.core import InputLayer
from gradstep.models.model import Model
from gradstep.validation import as_float_array


@LAYERS.register("Sequential")
class Sequential(Model):
    """A linear stack of layers, with Keras's API.

        >>> from gradstep import layers
        >>> model = Sequential([layers.Dense(2, input_shape=(3,))], seed=0)
        >>> model.count_params()
        8

    Args:
        layers: the layers, first to last (an ``Input`` may come first).
        name: the model's name (``sequential``, ``sequential_1``, ... by default).
        seed: makes initial weights, shuffling and dropout reproducible.
    """

    def __init__(self, layers=None, trainable=True, name=None, seed=None):
        super().__init__(name=name, trainable=trainable, seed=seed)
        self._input_layer: InputLayer | None = None
        self._layers: list[Layer] = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        """The model's layers, first to last (an ``Input`` is not one of them)."""
        return list(self.__dict__.get("_layers", []))

    def add(self, layer) -> None:
        """Append a layer; the model builds as soon as the input shape is known."""
        if isinstance(layer, SymbolicTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
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
        if not self._layers:
            raise ValueError("The model has no layers: add() some before training")
        shape = tuple(input_shape)
        entry = self._input_layer
        if entry is None or entry.output.shape[1:] != shape[1:]:
            entry = InputLayer(batch_shape=shape, dtype=self._implied_input_dtype())
        tensor = entry.output
        self._give_generators(self._layers)  # before the calls build them: the seed draws
        for layer in self._layers:
            tensor = layer(tensor)
        self.input_shape = entry.output.shape
        self.output_shape = tensor.shape
        self._output_structure = "single"
        self._set_graph(Graph([entry.output], [tensor]))

    def _implied_input_dtype(self) -> str | None:
        """The dtype of the Input a model without one gets: integers for a
        first layer that takes token indices (Embedding), else the first
        layer's float type."""
        first = self._layers[0]
        return "int64" if first.integer_inputs else first.dtype

    def _build_from_data(self, x) -> None:
        if self.built:
            return
        if not self._layers:
            raise ValueError("The model has no layers: add() some before training")
        if isinstance(x, list | tuple) and len(x) == 1 and isinstance(x[0], np.ndarray):
            x = x[0]
        if self._layers[0].integer_inputs:
            shape = np.shape(x)
            self.build((None,) + tuple(shape[1:]) if len(shape) else (None,))
            return
        array = as_float_array(x, "x")
        if array.ndim < 2:
            raise ValueError(
                f"x must have a batch axis and a feature axis, received shape {array.shape}"
            )
        if array.dtype == np.float64 and config.floatx() == "float32":
            # float64 data trains in float64, unless the layers say otherwise.
            for layer in self._layers:
                layer.dtype = layer.dtype or "float64"
        self.build((None,) + array.shape[1:])

    def _input_shape_hint(self) -> str:
        return "input_shape of the first layer"

    def get_config(self) -> dict[str, Any]:
        """The architecture as plain data: the name and each layer's class and config."""
        entries = []
        if self._input_layer is not None:
            entries.append({"class_name": "InputLayer", "config": self._input_layer.get_config()})
        entries += [
            {"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in self._layers
        ]
        config_ = {"name": self.name, "trainable": self.trainable, "layers": entries}
        if self.built:
            config_["build_input_shape"] = list(self.input_shape)
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any], seed=None) -> Sequential:
        """The model that ``get_config()`` describes (new weights, not compiled).
        Class names resolve only through the ``LAYERS`` registry."""
        layers = [
            LAYERS.lookup_class(entry["class_name"]).from_config(entry["config"])
            for entry in config_["layers"]
        ]
        model = cls(
            layers, trainable=config_.get("trainable", True), name=config_.get("name"), seed=seed
        )
        shape = config_.get("build_input_shape")
        if shape is not None:
            shape = tuple(shape)
            if model.built and model.input_shape != shape:
                raise ValueError(
                    f"build_input_shape {shape} contradicts the input shape {model.input_shape} "
                    "that the layers declare"
                )
            model.build(shape)
        return model
