"""The Layer contract: forward and backward side by side, weights, names.

``forward(x, training)`` computes the output and, when training, caches what
``backward`` needs. ``backward(grad_wrt_output)`` applies the chain rule: it
stores the slope of the loss for each trainable weight in ``self.grads`` and
returns the slope with respect to the layer's input.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from gradstep import config
from gradstep.registry import Registry

LAYERS = Registry("layer")

_NAME_COUNTS: collections.Counter[str] = collections.Counter()


def unique_name(prefix: str) -> str:
    """``dense``, then ``dense_1``, ``dense_2``, ... per process, as Keras names."""
    count = _NAME_COUNTS[prefix]
    _NAME_COUNTS[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def _snake_case(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


class Layer:
    """Base class of every layer.

    Args:
        name: unique per process by default (``dense``, ``dense_1``, ...).
        dtype: dtype of the weights; the model's default (``float32``) if None.
        input_shape: shape of one sample, for the first layer of a model.
        trainable: whether the optimizer updates this layer's weights.
    """

    def __init__(self, name=None, dtype=None, input_shape=None, trainable=True, **kwargs):
        if "input_dim" in kwargs:
            input_shape = (kwargs.pop("input_dim"),)
        if kwargs:
            raise TypeError(
                f"Unrecognized keyword arguments for {type(self).__name__}: {sorted(kwargs)}"
            )
        self.name = name or unique_name(_snake_case(type(self).__name__))
        self.dtype = config.standardize_dtype(dtype) if dtype is not None else None
        self.input_shape_arg = tuple(input_shape) if input_shape is not None else None
        self.trainable = trainable
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._weights: list[np.ndarray] = []
        self._weight_names: list[str] = []
        self.grads: list[np.ndarray] = []
        self.rng: np.random.Generator | None = None

    # --- building ---------------------------------------------------------------------
    def build(self, input_shape: tuple) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis included)."""
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def add_weight(self, shape, initializer, name: str) -> np.ndarray:
        from gradstep import initializers

        rng = self.rng if self.rng is not None else np.random.default_rng()
        dtype = self.dtype or config.floatx()
        weight = initializers.get(initializer)(shape, dtype=dtype, rng=rng)
        self._weights.append(weight)
        self._weight_names.append(name)
        return weight

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    # --- the two passes ---------------------------------------------------------------
    def __call__(self, x, training: bool = False):
        x = np.asarray(x)
        if not self.built:
            self.build((None,) + x.shape[1:])
        return self.forward(x, training=training)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_wrt_output: np.ndarray, input_gradient: bool = True):
        """Chain rule through the layer. Fills ``self.grads``; returns the slope
        with respect to the input (or None when ``input_gradient`` is False)."""
        raise NotImplementedError

    # --- weights ----------------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return list(self._weights) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [] if self.trainable else list(self._weights)

    def get_weights(self) -> list[np.ndarray]:
        return [w.copy() for w in self._weights]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` into the layer's arrays (in place, so an optimizer
        that already holds them keeps working)."""
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(
                f"Layer {self.name!r} expects {len(self._weights)} weight arrays, "
                f"received {len(weights)}"
            )
        for target, name, value in zip(self._weights, self._weight_names, weights, strict=True):
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(
                    f"Weight {name!r} of layer {self.name!r} has shape {target.shape}, "
                    f"received an array of shape {value.shape}"
                )
        for target, value in zip(self._weights, weights, strict=True):
            target[...] = value

    def count_params(self) -> int:
        return int(sum(w.size for w in self._weights))

    def get_config(self) -> dict[str, Any]:
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.input_shape_arg is not None:
            config_["input_shape"] = list(self.input_shape_arg)
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Layer:
        return cls(**config_)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"
