"""String names <-> classes and functions, for ``'adam'``, ``'mse'``, ``'relu'``.

Each family (activations, losses, optimizers, ...) owns one ``Registry``.
It is also the allow-list that a saved configuration is resolved through: a
name that is not registered is never looked up anywhere else.
"""

from __future__ import annotations

import difflib
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
        """The class registered with this exact class name (for saved configs)."""
        if not isinstance(class_name, str) or class_name not in self._classes:
            raise ValueError(
                f"Unknown {self.kind} class {class_name!r}. Expected one of: "
                f"{', '.join(sorted(self._classes))}."
            )
        return self._classes[class_name]

    def holds_class(self, cls: type) -> bool:
        """Whether ``cls`` itself (not a namesake) is registered."""
        return self._classes.get(getattr(cls, "__name__", None)) is cls

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
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
        try:
            return self._entries[name.lower()]
        except KeyError:
            raise ValueError(self._unknown_message(name, argument)) from None

    def _unknown_message(self, name: str, argument: str | None) -> str:
        close = difflib.get_close_matches(name.lower(), self._entries, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        label = argument or self.kind
        return (
            f"Unknown {self.kind} {name!r} for {label}.{hint} "
            f"Expected one of: {', '.join(self.names())}."
        )
