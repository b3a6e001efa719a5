"""Keras's object (de)serialization: ``saving.serialize_keras_object``,
``deserialize_keras_object``, ``register_keras_serializable`` and
``custom_object_scope``.

An object becomes plain data, Keras 3's form::

    {"module": "keras.layers", "class_name": "Dense", "config": {...},
     "registered_name": None}

and comes back by looking its class up: first among your objects (the
innermost ``custom_object_scope``, then those registered with
``register_keras_serializable`` under ``registered_name``, then the
``custom_objects`` argument), then in gradstep's registries (layers,
initializers, regularizers, constraints, losses, optimizers). Nothing else is
ever looked up or imported: a config cannot name a class that the program
did not register or import into a registry, and never runs pickled code.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from gradstep import registry


# --- registering your own objects ----------------------------------------------------
def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Decorator: register a class (or function) of yours as ``'package>Name'``
    (``Name`` defaults to its ``__name__``), so that a saved model that uses it
    loads back without ``custom_objects``. A class must have ``get_config``."""

    def decorate(obj):
        class_name = name if name is not None else obj.__name__
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        registry.register(obj, f"{package}>{class_name}")
        return obj

    return decorate


def get_registered_name(obj) -> str:
    """``'package>Name'`` for a registered object, else its ``__name__``."""
    return registry.registered_name_of(obj) or obj.__name__


def get_registered_object(name: str, custom_objects=None, module_objects=None):
    """The object ``name`` names: in the active ``custom_object_scope``, then the
    registered ones, then ``custom_objects``, then ``module_objects``; else None."""
    scope = registry.scope_objects()
    if name in scope:
        return scope[name]
    if name in registry.registered_objects():
        return registry.registered_objects()[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def get_custom_objects() -> dict[str, Any]:
    """The registered objects by their ``'package>Name'`` (Keras's global dict)."""
    return registry.registered_objects()


class CustomObjectScope:
    """``with custom_object_scope({"MyLayer": MyLayer}):`` makes those names
    resolve while configs are read (``load_model``, ``model_from_json``,
    ``deserialize_keras_object``). As in Keras, an inner scope replaces the
    outer one for its duration."""

    def __init__(self, custom_objects=None):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(
                f"custom_objects must be a dict of name -> class or function, "
                f"received {custom_objects!r}"
            )
        self.custom_objects = dict(custom_objects or {})
        self._token = None

    def __enter__(self):
        self._token = registry.enter_scope(self.custom_objects)
        return self

    def __exit__(self, *exc_info):
        registry.leave_scope(self._token)


custom_object_scope = CustomObjectScope


# --- objects <-> plain data ----------------------------------------------------------
_BUILTIN_MODULES = {
    "layers": "keras.layers",
    "models": "keras.models",
    "initializers": "keras.initializers",
    "regularizers": "keras.regularizers",
    "constraints": "keras.constraints",
    "losses": "keras.losses",
    "optimizers": "keras.optimizers",
    "activations": "keras.activations",
    "metrics": "keras.metrics",
}


def serialize_keras_object(obj):
    """Plain data for ``obj`` in Keras 3's form: JSON values as they are, tuples
    and arrays marked as Keras marks them, an object with ``get_config`` as
    ``{module, class_name, config, registered_name}``, a registered function
    by its name."""
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return {
            "class_name": "__numpy__",
            "config": {"value": obj.tolist(), "dtype": obj.dtype.name},
        }
    if isinstance(obj, tuple):
        return {
            "class_name": "__tuple__",
            "config": {"value": [serialize_keras_object(item) for item in obj]},
        }
    if isinstance(obj, list):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        name = get_registered_name(obj)
        return {
            "module": obj.__module__,
            "class_name": "function",
            "config": name,
            "registered_name": name,
        }
    if hasattr(obj, "get_config"):
        cls = type(obj)
        registered = registry.registered_name_of(cls)
        builtin = _builtin_module(cls)
        return {
            "module": builtin or cls.__module__,
            "class_name": cls.__name__,
            "config": _plain_config(obj.get_config()),
            "registered_name": None if builtin and not registered else (registered or cls.__name__),
        }
    raise TypeError(
        f"Cannot serialize {obj!r} of type {type(obj).__name__}: it is not plain data and has "
        "no get_config()"
    )


def _plain_config(value):
    """A ``get_config`` as JSON data: tuples as lists (as a layer's
    ``from_config`` takes them back), objects inside serialized."""
    if isinstance(value, dict):
        return {key: _plain_config(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_config(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return serialize_keras_object(value)


def _builtin_module(cls) -> str | None:
    """``'keras.layers'`` for a gradstep layer class, ..., None for a class of yours."""
    parts = cls.__module__.split(".")
    if parts[0] != "gradstep" or len(parts) < 2:
        return None
    return _BUILTIN_MODULES.get(parts[1])


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object ``serialize_keras_object`` described. Class names resolve
    through your objects (scope, registered, ``custom_objects``) and then
    gradstep's registries only. ``safe_mode`` is accepted for Keras programs:
    loading never runs code from the data, so it changes nothing."""
    if config is None or isinstance(config, bool | int | float):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects)
        return config if found is None else found
    if isinstance(config, list):
        return [deserialize_keras_object(item, custom_objects) for item in config]
    if not isinstance(config, dict):
        raise TypeError(f"Cannot deserialize {config!r} of type {type(config).__name__}")
    if "class_name" not in config:
        return {
            key: deserialize_keras_object(value, custom_objects) for key, value in config.items()
        }
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "__numpy__":
        return np.asarray(inner["value"], dtype=inner["dtype"])
    if class_name == "__tuple__":
        return tuple(deserialize_keras_object(item, custom_objects) for item in inner["value"])
    if class_name == "function":
        return _resolve_function(inner, config.get("registered_name"), custom_objects)
    cls = _resolve_class(
        class_name, config.get("registered_name"), config.get("module"), custom_objects
    )
    inner = dict(inner or {})
    from_config = getattr(cls, "from_config", None)
    if from_config is None:
        return cls(**inner)
    return from_config(inner)


def _resolve_function(name, registered_name, custom_objects):
    for candidate in (registered_name, name):
        if candidate is not None:
            found = get_registered_object(candidate, custom_objects)
            if found is not None:
                return found
    from gradstep import activations

    if isinstance(name, str) and name in activations.ACTIVATIONS:
        return activations.ACTIVATIONS.lookup(name)
    raise ValueError(
        f"Unknown function {name!r}: register it with @saving.register_keras_serializable() "
        "or pass it in custom_objects"
    )


def _resolve_class(class_name, registered_name, module, custom_objects) -> type:
    for candidate in (registered_name, class_name):
        if isinstance(candidate, str):
            found = get_registered_object(candidate, custom_objects)
            if found is not None:
                return found
    registries = _builtin_registries()
    wanted = (module or "").replace("keras.", "", 1).split(".")[0]
    ordered = sorted(registries.items(), key=lambda item: item[0] != wanted)
    for _, family in ordered:
        if isinstance(class_name, str) and family.has_class(class_name):
            return family.lookup_class(class_name)
    raise ValueError(
        f"Unknown class {class_name!r} (registered_name {registered_name!r}): it is not one of "
        "gradstep's, nor registered with @saving.register_keras_serializable(), nor in "
        "custom_objects"
    )


def _builtin_registries() -> dict:
    from gradstep.constraints import CONSTRAINTS
    from gradstep.initializers import INITIALIZERS
    from gradstep.layers import LAYERS
    from gradstep.losses.base import LOSSES
    from gradstep.optimizers.base import OPTIMIZERS
    from gradstep.regularizers import REGULARIZERS

    return {
        "layers": LAYERS,
        "models": LAYERS,
        "initializers": INITIALIZERS,
        "regularizers": REGULARIZERS,
        "constraints": CONSTRAINTS,
        "losses": LOSSES,
        "optimizers": OPTIMIZERS,
    }
