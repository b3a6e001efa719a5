"""``Lambda``: a function of ``gradstep.ops`` as a layer.

Its ``call`` is the function, so its slope comes from the tape like any
layer written with ``call``. Keras saves a Lambda's function as Python
bytecode; gradstep never runs code from a file, so a model with a Lambda
saves only when the function is registered (``saving.register_keras_serializable``)
and is looked up by name when loaded.
"""

from __future__ import annotations

from gradstep.layers.base import LAYERS, Layer


@LAYERS.register("Lambda")
class Lambda(Layer):
    """Keras's ``Lambda(function, output_shape=None, mask=None, arguments=None)``:
    the output is ``function(inputs, **arguments)``, written with ``ops``.

    Args:
        function: the function of the inputs (a tensor, or a list of them).
        output_shape: the output's shape without the batch axis, or a
            function of the input shape; found by running the layer when None.
        mask: None, or a function ``mask(inputs, mask)`` giving the output's mask.
        arguments: keyword arguments passed to ``function``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                f"Lambda {self.name!r}: function must be callable, received {function!r}"
            )
        self.function = function
        self.arguments = dict(arguments or {})
        self.output_shape_arg = output_shape
        self.mask_function = mask
        self.supports_masking = mask is not None

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self.output_shape_arg is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape_arg):
            return tuple(self.output_shape_arg(input_shape))
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch, *self.output_shape_arg)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask_function):
            return self.mask_function(inputs, mask)
        return self.mask_function

    def get_config(self):
        from gradstep import serialization

        name = serialization.get_registered_name(self.function)
        if serialization.get_registered_object(name) is not self.function:
            raise ValueError(
                f"Lambda {self.name!r}: its function {self.function!r} cannot be saved (gradstep "
                "never saves code): register it with saving.register_keras_serializable() to "
                "save it by name"
            )
        return {
            **super().get_config(),
            "function": name,
            "output_shape": self.output_shape_arg if not callable(self.output_shape_arg) else None,
            "arguments": self.arguments,
        }

    @classmethod
    def from_config(cls, config_):
        from gradstep import serialization

        config_ = dict(config_)
        function = serialization.get_registered_object(config_.pop("function"))
        if function is None:
            raise ValueError(
                "Lambda: its function is not registered; register it with "
                "saving.register_keras_serializable() or pass it in custom_objects"
            )
        return cls(function, **config_)
