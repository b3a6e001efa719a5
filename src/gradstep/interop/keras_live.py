"""A live gradstep model as a live Keras 3 model and back, by the path a
``.keras`` file takes (``gradstep.keras_archive`` and
``gradstep.keras_reading``) without the file: Keras's config of the model,
its weights in ``get_weights`` order (the same in both), and the optimizer's
state as Keras's ``optimizer.variables``.

Keras must be installed (the ``interop`` extra) and its backend chosen before
it is first imported (``KERAS_BACKEND``); gradstep imports it only here.
"""

from __future__ import annotations

import json

import numpy as np


def _keras():
    try:
        import keras
    except ImportError as error:
        raise ImportError(
            f"to_keras and from_keras need Keras 3 and a backend ({error}): "
            "pip install 'gradstep[interop]' and set KERAS_BACKEND (e.g. 'jax')"
        ) from None
    return keras


def to_keras(model):
    """A new Keras 3 model with ``model``'s architecture and weights, compiled
    with the same optimizer, loss and metrics where Keras has them, and the
    optimizer's state (as ``model.save("x.keras")`` then
    ``keras.saving.load_model`` would give)."""
    from gradstep import keras_archive

    keras = _keras()
    config, keras_compiled = keras_archive.keras_model_config(model)
    # A JSON round trip, as through a file: Keras gets plain data only.
    config = json.loads(json.dumps(config, allow_nan=False))
    keras_model = keras.saving.deserialize_keras_object(config)
    keras_model.set_weights([np.asarray(weight) for weight in model.get_weights()])
    arrays = keras_archive.optimizer_arrays(model, keras_compiled)
    if arrays is not None:
        optimizer = keras_model.optimizer
        if not optimizer.built:
            optimizer.build(keras_model.trainable_variables)
        if len(optimizer.variables) != len(arrays):
            raise ValueError(
                f"Keras's {type(optimizer).__name__} has {len(optimizer.variables)} variables, "
                f"gradstep's state gives {len(arrays)}"
            )
        for variable, value in zip(optimizer.variables, arrays, strict=True):
            variable.assign(np.asarray(value).astype(variable.dtype))
    return keras_model


def from_keras(keras_model, custom_objects=None, compile=True):  # noqa: A002
    """A new gradstep model from a live Keras 3 model: its config (checked as a
    file's is: nothing is run, unknown classes are refused), its weights
    (checked in count, shape and dtype), and, when ``compile`` and the Keras
    model is compiled, its compile settings and optimizer's state."""
    from gradstep import keras_reading

    keras = _keras()
    source = f"Keras model {keras_model.name!r}"
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(keras_model)))
    model = keras_reading.model_from_keras_config(config, source, custom_objects, compile)
    values = [np.asarray(value) for value in keras_model.get_weights()]
    targets = model.get_weights()
    if len(values) != len(targets):
        raise ValueError(
            f"Cannot convert {source}: it has {len(values)} weights, the gradstep model its "
            f"config builds has {len(targets)}"
        )
    for index, (value, target) in enumerate(zip(values, targets, strict=True)):
        if value.shape != target.shape or value.dtype != target.dtype:
            raise ValueError(
                f"Cannot convert {source}: weight {index} has shape {value.shape} and dtype "
                f"{value.dtype}, gradstep's has shape {target.shape} and dtype {target.dtype}"
            )
    state = None
    if model.compiled and getattr(keras_model, "optimizer", None) is not None:
        arrays = [np.asarray(variable) for variable in keras_model.optimizer.variables]
        state = keras_reading.state_from_keras_arrays(model, arrays, source)
    model.set_weights(values)
    if state is not None:
        named = model.named_weights(trainable_only=True)
        model.optimizer.set_state(state, [w for _, w in named], [n for n, _ in named])
    return model
