"""String names <-> classes and functions, for ``'adam'``, ``'mse'``, ``'relu'``.

Each family (activations, losses, optimizers, ...) owns one ``Registry``.
It is also the allow-list that a saved configuration is resolved through: a
name that is not registered is never looked up anywhere else.

A family whose modules are imported lazily (``gradstep.layers``) gives its
registry a table of which module registers which name (``defer``): looking a
name up imports that module first, and a name the table does not know imports
every module in it, so a lookup sees the whole family as if it had all been
imported.
"""

from __future__ import annotations

import contextvars
import difflib
import importlib
import inspect
from collections.abc import Callable
from typing import Any


class Registry:
    """A named family of objects that can be looked up by name.

    Args:
        kind: what the family holds, used in error messages ("activation").
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._classes: dict[str, type] = {}
        self._deferred: dict[str, str] = {}  # lower-cased name -> module that registers it
        self._all_imported = True

    def defer(self, modules: dict[str, str]) -> None:
        """Declare that importing ``modules[name]`` registers ``name`` (a name
        or a class name, in any case); the module is imported on the first
        lookup that needs it."""
        self._deferred.update({name.lower(): module for name, module in modules.items()})
        self._all_imported = False

    def deferred_modules(self) -> dict[str, str]:
        """The table given to ``defer``: lower-cased name -> module."""
        return dict(self._deferred)

    def _import_for(self, name: str) -> None:
        """Import the module that registers ``name``; for a name the table does
        not know, every module in it (the name may still be there, or the error
        must list every name)."""
        module = self._deferred.get(name.lower())
        if module is not None:
            importlib.import_module(module)
        elif not self._all_imported:
            self._import_all()

    def _import_all(self) -> None:
        for module in sorted(set(self._deferred.values())):
            importlib.import_module(module)
        self._all_imported = True

    def register(self, *names: str) -> Callable[[Any], Any]:
        """Decorator that registers an object under one or more names."""

        def decorate(obj: Any) -> Any:
            for name in names:
                self.add(name, obj)
            return obj

        return decorate

    def add(self, name: str, obj: Any) -> None:
        self._entries[name.lower()] = obj
        if isinstance(obj, type):
            self._classes[obj.__name__] = obj

    def lookup_class(self, class_name: str) -> type:
        """The class registered with this exact class name (for saved configs);
        else a class of yours registered with ``saving.register_keras_serializable``
        or given to ``saving.custom_object_scope`` under this name."""
        if isinstance(class_name, str) and class_name not in self._classes:
            self._import_for(class_name)
        if isinstance(class_name, str) and class_name not in self._classes:
            custom = custom_object(class_name)
            if inspect.isclass(custom):
                return custom
        if not isinstance(class_name, str) or class_name not in self._classes:
            self._import_all()
            raise ValueError(
                f"Unknown {self.kind} class {class_name!r}. Expected one of: "
                f"{', '.join(sorted(self._classes))}."
            )
        return self._classes[class_name]

    def has_class(self, class_name: str) -> bool:
        """Whether a class of this exact name is registered here (yours aside)."""
        if isinstance(class_name, str) and class_name not in self._classes:
            self._import_for(class_name)
        return class_name in self._classes

    def holds_class(self, cls: type) -> bool:
        """Whether ``cls`` itself (not a namesake) is registered."""
        class_name = getattr(cls, "__name__", None)
        if isinstance(class_name, str) and class_name not in self._classes:
            self._import_for(class_name)
        return self._classes.get(class_name) is cls

    def names(self) -> list[str]:
        if not self._all_imported:
            self._import_all()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str) and name.lower() not in self._entries:
            self._import_for(name)
        return isinstance(name, str) and name.lower() in self._entries

    def lookup(self, name: str, argument: str | None = None) -> Any:
        """Return the object registered under ``name``.

        Raises:
            ValueError: naming the argument, the received name, the closest
                registered names and the full list.
        """
        if not isinstance(name, str):
            raise TypeError(
                f"{argument or self.kind} must be a string name, received {name!r} "
                f"of type {type(name).__name__}"
            )
        if name.lower() not in self._entries:
            self._import_for(name)
        try:
            return self._entries[name.lower()]
        except KeyError:
            custom = custom_object(name)
            if custom is not None:
                return custom
            raise ValueError(self._unknown_message(name, argument)) from None

    def _unknown_message(self, name: str, argument: str | None) -> str:
        # One spelling per name: 'he_normal' and 'henormal' (from HeNormal) are one.
        close, seen = [], set()
        for match in difflib.get_close_matches(name.lower(), self._entries, n=12, cutoff=0.6):
            if match.lower().replace("_", "") not in seen and len(close) < 3:
                seen.add(match.lower().replace("_", ""))
                close.append(match)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        label = argument or self.kind
        return (
            f"Unknown {self.kind} {name!r} for {label}.{hint} "
            f"Expected one of: {', '.join(self.names())}."
        )


# --- your own objects -----------------------------------------------------------------
# Keras's saving.register_keras_serializable and custom_object_scope: the classes
# and functions of yours that a saved config may name. They are allowed explicitly
# by you (in code), so loading a file still runs only code that was imported.
_REGISTERED: dict[str, Any] = {}  # "package>Name" -> object
_REGISTERED_NAMES: dict[Any, str] = {}  # object -> "package>Name"
_SCOPE: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "custom_object_scope", default=None
)


def register(obj: Any, registered_name: str) -> None:
    _REGISTERED[registered_name] = obj
    _REGISTERED_NAMES[obj] = registered_name


def registered_objects() -> dict[str, Any]:
    """Every object registered with ``register_keras_serializable``, by its name."""
    return _REGISTERED


def registered_name_of(obj: Any) -> str | None:
    try:
        return _REGISTERED_NAMES.get(obj)
    except TypeError:  # an unhashable object is never registered
        return None


def scope_objects() -> dict[str, Any]:
    return _SCOPE.get() or {}


def enter_scope(objects: dict[str, Any]) -> contextvars.Token:
    return _SCOPE.set(dict(objects))


def leave_scope(token: contextvars.Token) -> None:
    _SCOPE.reset(token)


def custom_object(name: str) -> Any | None:
    """The object of yours that ``name`` names, or None: from the innermost
    ``custom_object_scope``, else registered under ``name`` (``'package>Name'``),
    else registered under any package with the bare ``Name`` (gradstep's
    configs name a layer by its class name alone)."""
    scope = scope_objects()
    if name in scope:
        return scope[name]
    if name in _REGISTERED:
        return _REGISTERED[name]
    for registered_name, obj in reversed(_REGISTERED.items()):
        if registered_name.split(">", 1)[-1] == name:
            return obj
    return None
